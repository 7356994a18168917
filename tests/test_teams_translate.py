"""Teams activities in, neutral values out."""

from __future__ import annotations

from microsoft_agents.activity import Activity
from teams_fakes import (
    LEADS_CHANNEL,
    REPORTER,
    TEAM,
    TENANT,
    bot_added_to_team,
    channel_message,
    personal_message,
)

from adapters.teams.references import reference_doc, to_reference
from adapters.teams.translate import (
    Place,
    delivery_id,
    person_of,
    place_of,
    read_message,
    team_of,
)
from bot.model import Platform

URL = "http://127.0.0.1:9/"


def _activity(doc: dict[str, object]) -> Activity:
    return Activity.model_validate(doc)


def test_a_personal_message_gives_the_person_text_and_place() -> None:
    activity = _activity(personal_message(URL, "  Report  "))
    person = person_of(activity)
    assert (person.platform, person.workspace, person.user_id) == (
        Platform.TEAMS,
        TENANT,
        REPORTER["id"],
    )
    assert person.name == "Megan Bowen"
    assert place_of(activity) is Place.PERSONAL
    said = read_message(activity)
    assert said.text == "Report" and said.action is None and not said.has_files


def test_a_button_press_and_a_choice_set_arrive_in_value() -> None:
    press = read_message(
        _activity(
            personal_message(URL, value={"reportbot": "answer", "step": "danger", "action": "no"})
        )
    )
    assert (press.action, press.step, press.text) == ("no", "danger", "")
    chosen = read_message(
        _activity(
            personal_message(URL, value={"reportbot": "answer", "step": "harm", "choices": "a, b,"})
        )
    )
    assert chosen.values == ("a", "b") and chosen.action is None
    nothing = read_message(
        _activity(personal_message(URL, value={"reportbot": "answer", "step": "harm"}))
    )
    assert nothing.values == ()


def test_a_leaders_press_is_a_case_action() -> None:
    value = {"reportbot": "case", "action": "case:sent:TT-2026-0001"}
    said = read_message(_activity(channel_message(URL, value=value)))
    assert said.is_case_action and said.action == "case:sent:TT-2026-0001"


def test_a_mention_is_removed_from_channel_text() -> None:
    activity = _activity(channel_message(URL, "Use this channel"))
    assert read_message(activity).text == "Use this channel"
    assert place_of(activity) is Place.CHANNEL
    place = team_of(activity)
    assert place is not None and (place.team_id, place.channel_id) == (TEAM["id"], LEADS_CHANNEL)


def test_the_install_channel_is_the_selected_channel() -> None:
    place = team_of(_activity(bot_added_to_team(URL)))
    assert place is not None and place.channel_id == LEADS_CHANNEL
    assert team_of(_activity(personal_message(URL, "hi"))) is None


def test_delivery_ids_are_stable_and_scoped_to_the_conversation() -> None:
    one = _activity(personal_message(URL, "a", activity_id="1"))
    again = _activity(personal_message(URL, "b", activity_id="1"))
    elsewhere = _activity(channel_message(URL, "a", activity_id="1"))
    assert delivery_id(one) == delivery_id(again) != delivery_id(elsewhere)


def test_a_stored_reference_round_trips_without_names_or_activity_ids() -> None:
    doc = reference_doc(_activity(personal_message(URL, "hi")))
    assert "name" not in doc.get("user", {}) and "activityId" not in doc
    reference = to_reference(doc)
    assert reference.service_url == URL and reference.conversation.tenant_id == TENANT
    assert reference.activity_id is None

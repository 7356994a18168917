"""Slack payloads → neutral turns: pure functions, fed the shapes Slack really sends."""

from __future__ import annotations

import pytest
from slack_fakes import LEADERS, STAFF, TEAM, block_actions, command_form, home_event, message_event

from adapters.slack import translate
from adapters.slack.translate import Malformed, unslack


@pytest.mark.parametrize(
    ("slack", "typed"),
    [
        ("<https://www.tiktok.com/@fake>", "https://www.tiktok.com/@fake"),
        ("<https://vm.tiktok.com/ZM1|vm.tiktok.com/ZM1>", "https://vm.tiktok.com/ZM1"),
        ("<http://evil.example|tiktok.com>", "http://evil.example"),
        ("<mailto:a@b.example|a@b.example>", "a@b.example"),
        ("<!channel> and <!here>", "@channel and @here"),
        ("<@U123> <#C123|staff>", "@U123 #staff"),
        ("<!subteam^S123|@leaders>", "@leaders"),
        ("&lt;!channel&gt; &amp;lt;", "<!channel> &lt;"),
        ("@fake.account", "@fake.account"),
    ],
)
def test_unslack_gives_back_what_was_typed(slack: str, typed: str) -> None:
    assert unslack(slack) == typed


def test_a_slash_command_starts_in_the_dm_with_its_link() -> None:
    body = command_form(STAFF, "<https://www.tiktok.com/@fake>", trigger="111.222.xxx")
    inbound = translate.from_command(body)
    turn = inbound.turn
    assert turn.action == "start" and turn.text == "https://www.tiktok.com/@fake"
    assert turn.delivery_id == "slack:command:111.222.xxx"
    assert turn.address == {"channel": STAFF, "user": STAFF}  # the DM, not the channel
    assert turn.person.key == f"slack:{TEAM}:{STAFF}" and inbound.name_hint == STAFF.lower()


def test_a_dm_message_becomes_a_turn_keyed_by_the_event_id() -> None:
    turn = translate.from_message(message_event(STAFF, "hello", event_id="Ev1"))
    assert turn is not None
    assert turn.turn.delivery_id == "slack:event:Ev1" and turn.turn.text == "hello"
    assert turn.turn.address == {"channel": "D0STAFF", "user": STAFF}


@pytest.mark.parametrize(
    "change",
    [
        {"bot_id": "B0BOT"},
        {"subtype": "message_changed"},
        {"subtype": "bot_message"},
        {"channel_type": "channel"},
    ],
)
def test_messages_not_typed_to_the_bot_are_ignored(change: dict[str, str]) -> None:
    payload = message_event(STAFF, "hello")
    payload["event"].update(change)
    assert translate.from_message(payload) is None


def test_a_button_press_carries_its_step_and_a_stable_delivery_id() -> None:
    action = {"action_id": "answer:danger:1", "value": "no", "type": "button"}
    payload = block_actions(STAFF, action, channel="D0STAFF", message_ts="111.222", action_ts="9.9")
    inbound = translate.from_action(payload)
    assert inbound is not None and inbound.step == "danger"
    assert inbound.turn.action == "no"
    assert inbound.turn.delivery_id == f"slack:action:111.222:9.9:{STAFF}"
    assert translate.from_action(payload) == inbound


def test_continue_reads_the_ticked_boxes_from_the_state() -> None:
    state = {
        "pick:harm:0": {
            "pick:harm": {
                "type": "checkboxes",
                "selected_options": [{"value": "a"}, {"value": "b"}],
            }
        },
        "pick:harm:1": {"pick:harm": {"type": "checkboxes", "selected_options": [{"value": "c"}]}},
        "other": {"x": {"selected_options": [{"value": "nope"}]}},
    }
    action = {"action_id": "continue:harm", "value": "continue", "type": "button"}
    inbound = translate.from_action(
        block_actions(STAFF, action, channel="D0STAFF", message_ts="1", state=state)
    )
    assert inbound is not None and inbound.turn.values == ("a", "b", "c") and inbound.step == "harm"


def test_a_case_button_asks_for_leadership_and_replies_only_to_the_presser() -> None:
    action = {"action_id": "case:sent", "value": "case:sent:TT-2026-0001", "type": "button"}
    inbound = translate.from_action(block_actions(STAFF, action, channel=LEADERS, message_ts="1"))
    assert inbound is not None and inbound.leader_action
    assert inbound.turn.action == "case:sent:TT-2026-0001"
    assert inbound.turn.address == {"channel": LEADERS, "user": STAFF, "ephemeral": "yes"}


def test_ticking_a_box_or_a_link_button_is_not_a_turn() -> None:
    tick = {"action_id": "pick:harm", "type": "checkboxes", "selected_options": []}
    assert (
        translate.from_action(block_actions(STAFF, tick, channel="D0STAFF", message_ts="1")) is None
    )


@pytest.mark.parametrize(
    "body",
    [
        {"type": "block_actions", "actions": []},
        {"type": "block_actions", "actions": [{"action_id": "answer:x:0"}], "user": {}},
        {"type": "block_actions", "actions": [{"action_id": "case:sent"}], "user": {"id": "U1"}},
    ],
)
def test_payloads_without_slacks_usual_fields_are_malformed(body: dict[str, object]) -> None:
    with pytest.raises(Malformed):
        translate.from_action(body)


def test_home_opened_on_the_home_tab_only() -> None:
    event = home_event(STAFF)
    person = translate.home_person(event)
    assert person is not None and person.user_id == STAFF
    event["event"]["tab"] = "messages"
    assert translate.home_person(event) is None


def test_in_an_org_wide_install_people_are_named_by_the_org_from_any_of_its_workspaces() -> None:
    org = {"enterprise_id": "E0TRUST", "is_enterprise_install": "true"}
    for team in ("T0ONE", "T0TWO"):
        command = translate.from_command(command_form(STAFF, "x", team=team) | org)
        assert command.turn.person.workspace == "E0TRUST"
    event = message_event(STAFF, "hello", team="T0TWO") | {"enterprise_id": "E0TRUST"}
    event["authorizations"][0]["is_enterprise_install"] = True
    said = translate.from_message(event)
    assert said is not None and said.turn.person.workspace == "E0TRUST"
    workspace_level = command_form(STAFF, "x", team="T0ONE") | {"enterprise_id": "E0TRUST"}
    assert translate.from_command(workspace_level).turn.person.workspace == "T0ONE"


@pytest.mark.parametrize(
    ("sent", "typed"),
    [
        (":+1:", "👍"),
        (":two:", "2️⃣"),
        (":shrug::skin-tone-3:", "🤷"),
        ("at 10:30:00", "at 10:30:00"),
    ],
)
def test_an_emoji_slack_sends_as_a_short_code_is_given_back_as_typed(sent: str, typed: str) -> None:
    assert unslack(sent) == typed

"""The leadership channel: where cases go, who may act on them, and cards updated in place."""

from __future__ import annotations

import asyncio

import pytest
from teams_fakes import (
    DEV_ENV,
    LEADER,
    LEADS_CHANNEL,
    OTHER_CHANNEL,
    OUTSIDER,
    STAFF_CHANNEL,
    STAFF_TEAM,
    TEAM,
    TEAM_GROUP,
    TEAM_LINK,
    TeamsHarness,
    bot_added_to_team,
    button,
    channel_message,
    complete_report,
    connector_stand_in,
    harness,
    installation_update,
    texts,
)

from bot.model import CaseStatus
from storage.memory import MemoryStore

THREAD = f"{LEADS_CHANNEL};messageid=1575667808184"


async def _press_on_card(h: TeamsHarness, value: str, user: dict[str, str]) -> int:
    card = h.connector.posts_to(LEADS_CHANNEL)[-1].card
    activity = channel_message(h.service_url, value=button(card, value), user=user)
    status = await h.send(activity)
    await h.deliver()
    return status


async def test_a_leaders_press_updates_the_card_in_place_with_who_and_when() -> None:
    async with harness() as h:
        h.connector.members.add((TEAM["id"], LEADER["id"]))
        await h.install()
        reference = await complete_report(h)
        posted = h.connector.posts_to(LEADS_CHANNEL)[-1]
        posts_before = len(h.connector.posts_to(LEADS_CHANNEL))

        assert await _press_on_card(h, f"case:sent:{reference}", LEADER) == 200

        assert len(h.connector.posts_to(LEADS_CHANNEL)) == posts_before  # the card changed
        told = texts(h.chat_cards()[-1])  # and the reporter is told, in their own chat
        assert f"{reference} has been sent to POSH (by Adele Vance)" in told
        [update] = h.connector.updates
        assert update.conversation == LEADS_CHANNEL
        assert update.activity_id == "activity-" + str(_number(h, posted))
        words = texts(update.card)
        assert "Sent to POSH – Adele Vance, Tue 10 Mar 2026, 11:00" in words
        assert "Sent to POSH" not in [a["title"] for a in update.card["actions"]]
        case = await h.runtime.store.case(reference)
        assert case is not None and case.status == CaseStatus.SENT_TO_POSH
        assert case.history[-1].who == "Adele Vance"
        member_checks = [c for c in h.connector.calls if c.method == "MEMBER"]
        assert [(c.conversation, c.activity_id) for c in member_checks] == [
            (TEAM["id"], LEADER["id"])
        ]


def _number(h: TeamsHarness, posted: object) -> int:
    return [c for c in h.connector.calls if c.method == "POST"].index(posted) + 1


async def test_someone_outside_the_leadership_team_is_told_so_and_nothing_changes() -> None:
    async with harness() as h:
        h.connector.members.add((TEAM["id"], LEADER["id"]))
        await h.install()
        reference = await complete_report(h)

        assert await _press_on_card(h, f"case:close:{reference}", OUTSIDER) == 200

        assert h.connector.updates == []
        [told] = h.connector.posts_to(THREAD)
        assert "Only members of the leadership channel can update cases" in texts(told.card)
        case = await h.runtime.store.case(reference)
        assert case is not None and case.status == CaseStatus.REPORTED_IN_APP
        assert all(entry.who != OUTSIDER["name"] for entry in case.history)


async def test_a_forged_press_from_a_personal_chat_is_checked_against_the_team() -> None:
    """botbuilder's TeamsInfo.get_team_member would ask the chat, where the sender is a member."""
    async with harness() as h:
        h.connector.members.add((TEAM["id"], LEADER["id"]))
        await h.install()
        reference = await complete_report(h)
        await h.press({"reportbot": "case", "action": f"case:close:{reference}"})
        case = await h.runtime.store.case(reference)
        assert case is not None and case.status == CaseStatus.REPORTED_IN_APP
        assert "Only members" in texts(h.chat_cards()[-1])


async def test_use_this_channel_moves_new_cases_and_says_so_in_both_channels() -> None:
    async with harness() as h:
        h.connector.members.add((TEAM["id"], LEADER["id"]))
        await h.install()
        move = channel_message(h.service_url, "use this channel", channel=OTHER_CHANNEL)
        assert await h.send(move) == 200
        await h.deliver()
        [moved] = h.connector.posts_to(f"{OTHER_CHANNEL};messageid=1575667808184")
        assert "from now on" in texts(moved.card)
        assert "moved by Adele Vance" in texts(h.connector.posts_to(LEADS_CHANNEL)[-1].card)

        reference = await complete_report(h)
        [card] = h.connector.posts_to(OTHER_CHANNEL)
        assert f"TikTok report {reference}" in texts(card.card)


async def test_only_a_member_of_the_leadership_team_can_move_cases_to_another_team() -> None:
    async with harness() as h:
        await h.install()
        staff_room = {"id": "19:staffroom@thread.tacv2", "name": "All staff"}
        move = channel_message(
            h.service_url, "use this channel", channel=OTHER_CHANNEL, team=staff_room
        )
        await h.send(move)
        await h.deliver()
        assert "nothing changed" in texts(h.connector.posts[-1].card)
        reference = await complete_report(h)
        assert f"TikTok report {reference}" in texts(h.connector.posts_to(LEADS_CHANNEL)[-1].card)


async def test_installation_update_and_conversation_update_greet_the_channel_once() -> None:
    async with harness() as h:
        statuses = await asyncio.gather(  # Teams sends both, at the same moment
            h.send(installation_update(h.service_url)), h.send(bot_added_to_team(h.service_url))
        )
        assert statuses == [200, 200]
        await h.deliver()
        [greeting] = h.connector.posts_to(LEADS_CHANNEL)
        assert "I'll post the case here" in texts(greeting.card)


async def test_a_case_waits_while_the_bot_is_in_no_team_and_goes_when_it_is_added() -> None:
    async with harness() as h:
        await h.install()
        assert await h.send(installation_update(h.service_url, "remove")) == 200
        reference = await complete_report(h)
        assert len(h.connector.posts_to(LEADS_CHANNEL)) == 1  # only the first greeting

        await h.install()  # added again: greeted again, and the waiting card goes
        channel = h.connector.posts_to(LEADS_CHANNEL)
        assert sum(f"TikTok report {reference}" in texts(c.card) for c in channel) == 1
        assert sum("I'll post the case here" in texts(c.card) for c in channel) == 2


async def test_a_leader_can_list_open_cases_in_a_personal_chat_and_others_cannot() -> None:
    async with harness() as h:
        h.connector.members.add((TEAM["id"], LEADER["id"]))
        await h.install()
        reference = await complete_report(h)
        await h.say("cases")
        assert "Only members of the leadership channel" in texts(h.chat_cards()[-1])
        await h.say("cases", user=LEADER)
        leader_chat = h.connector.posts_to(f"a:chat-{LEADER['id']}")
        assert reference in texts(leader_chat[-1].card)


async def test_a_mention_in_a_channel_points_to_the_personal_chat() -> None:
    async with harness() as h:
        await h.install()
        await h.send(channel_message(h.service_url, "report"))
        await h.deliver()
        assert "personal chat" in texts(h.connector.posts_to(THREAD)[-1].card)


async def test_when_membership_cannot_be_checked_nothing_changes_and_a_retry_works() -> None:
    async with harness() as h:
        h.connector.members.add((TEAM["id"], LEADER["id"]))
        await h.install()
        reference = await complete_report(h)
        h.connector.fail(503)
        await _press_on_card(h, f"case:removed:{reference}", LEADER)
        assert "couldn't check just now whether you're in the leadership team" in texts(
            h.connector.posts_to(THREAD)[-1].card
        )
        case = await h.runtime.store.case(reference)
        assert case is not None and case.status == CaseStatus.REPORTED_IN_APP

        await _press_on_card(h, f"case:removed:{reference}", LEADER)
        case = await h.runtime.store.case(reference)
        assert case is not None and case.status == CaseStatus.REMOVED
        assert len(h.connector.updates) == 1


async def test_use_this_channel_needs_a_member_even_within_the_leadership_team() -> None:
    """A shared channel of the leadership team can hold people from outside it."""
    async with harness() as h:
        await h.install()
        move = channel_message(h.service_url, "use this channel", channel=OTHER_CHANNEL)
        await h.send(move)
        await h.deliver()
        assert "nothing changed" in texts(h.connector.posts[-1].card)
        reference = await complete_report(h)
        assert f"TikTok report {reference}" in texts(h.connector.posts_to(LEADS_CHANNEL)[-1].card)
        assert not h.connector.posts_to(OTHER_CHANNEL)


async def test_no_team_can_take_the_cases_from_a_team_the_bot_was_removed_from_unheard() -> None:
    """Nobody can vouch for the move, so any team could have claimed them: nothing moves."""
    async with harness() as h:
        await h.install()
        h.connector.fail(403)  # the members check: BotNotInConversationRoster
        move = channel_message(
            h.service_url, "use this channel", channel=STAFF_CHANNEL, team=STAFF_TEAM
        )
        await h.send(move)
        await h.deliver()
        told = h.connector.posts_to(f"{STAFF_CHANNEL};messageid=1575667808184")
        assert "REPORTBOT_TEAMS_LEADERSHIP_TEAM" in texts(told[-1].card)
        reference = await complete_report(h)
        assert f"TikTok report {reference}" in texts(h.connector.posts_to(LEADS_CHANNEL)[-1].card)
        assert not h.connector.posts_to(STAFF_CHANNEL)


# --- choosing the leadership team deliberately ------------------------------------------------


def _case_cards_in(h: TeamsHarness, channel: str) -> list[str]:
    words = [texts(c.card) for c in h.connector.posts_to(channel)]
    return [w for w in words if "TikTok report TT-" in w]


async def test_after_a_removal_the_next_team_to_add_the_bot_does_not_get_the_cases() -> None:
    async with harness() as h:
        h.connector.members.add((STAFF_TEAM["id"], OUTSIDER["id"]))
        await h.install()  # the first team ever: it receives cases
        await h.remove()
        await h.install(STAFF_TEAM, STAFF_CHANNEL)
        [greeting] = h.connector.posts_to(STAFF_CHANNEL)
        assert "not to this one" in texts(greeting.card)

        reference = await complete_report(h)
        move = channel_message(
            h.service_url, "use this channel", channel=STAFF_CHANNEL, team=STAFF_TEAM, user=OUTSIDER
        )
        await h.send(move)
        await h.deliver()
        assert "nothing changed" in texts(h.connector.posts[-1].card)
        h.clock.advance(minutes=10)
        await h.deliver()
        assert _case_cards_in(h, STAFF_CHANNEL) == []

        await h.install()  # the leadership team adds it back: the waiting card goes there
        [card] = _case_cards_in(h, LEADS_CHANNEL)
        assert reference in card


@pytest.mark.parametrize("named", [TEAM_LINK, TEAM["id"], TEAM_GROUP])
async def test_with_the_team_named_only_that_team_receives_cases(named: str) -> None:
    env = {**DEV_ENV, "REPORTBOT_TEAMS_LEADERSHIP_TEAM": named}
    async with harness(env) as h:
        h.connector.members.add((TEAM["id"], LEADER["id"]))
        h.connector.members.add((STAFF_TEAM["id"], LEADER["id"]))
        await h.install(STAFF_TEAM, STAFF_CHANNEL)  # added elsewhere first: greeted, no more
        assert "leadership team named in my settings" in texts(h.connector.posts[-1].card)
        reference = await complete_report(h)
        move = channel_message(
            h.service_url, "use this channel", channel=STAFF_CHANNEL, team=STAFF_TEAM
        )
        await h.send(move)
        await h.deliver()
        assert "Nothing changed" in texts(h.connector.posts[-1].card)
        assert _case_cards_in(h, STAFF_CHANNEL) == []

        await h.install()
        [card] = _case_cards_in(h, LEADS_CHANNEL)
        assert reference in card
        # Its members can still move cases within it; named by group id, the bot has learnt
        # the team's id from the install.
        move = channel_message(h.service_url, "use this channel", channel=OTHER_CHANNEL)
        await h.send(move)
        await h.deliver()
        [moved] = h.connector.posts_to(f"{OTHER_CHANNEL};messageid=1575667808184")
        assert "from now on" in texts(moved.card)


async def test_a_channel_chosen_before_the_team_was_named_receives_no_more_cases() -> None:
    store = MemoryStore()
    async with connector_stand_in() as stand_in:
        async with harness(store=store, connector=stand_in) as before:
            await before.install(STAFF_TEAM, STAFF_CHANNEL)
        env = {**DEV_ENV, "REPORTBOT_TEAMS_LEADERSHIP_TEAM": TEAM_LINK}
        async with harness(env, store=store, connector=stand_in) as after:
            reference = await complete_report(after)
            after.clock.advance(minutes=10)
            await after.deliver()
            assert _case_cards_in(after, STAFF_CHANNEL) == []
            await after.install()
            [card] = _case_cards_in(after, LEADS_CHANNEL)
            assert reference in card


async def test_start_up_warns_when_the_leadership_team_is_not_named(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with harness():
        pass
    assert "REPORTBOT_TEAMS_LEADERSHIP_TEAM is not set" in caplog.text
    caplog.clear()
    async with harness({**DEV_ENV, "REPORTBOT_TEAMS_LEADERSHIP_TEAM": TEAM_LINK}):
        pass
    assert "REPORTBOT_TEAMS_LEADERSHIP_TEAM" not in caplog.text


# --- typed case commands ------------------------------------------------------------------


async def test_a_leader_can_type_case_commands_and_an_outsider_cannot() -> None:
    async with harness() as h:
        h.connector.members.add((TEAM["id"], LEADER["id"]))
        await h.install()
        reference = await complete_report(h)

        await h.say(f"sent {reference}", user=OUTSIDER)
        case = await h.runtime.store.case(reference)
        assert case is not None and case.status == CaseStatus.REPORTED_IN_APP
        outsider_chat = h.connector.posts_to(f"a:chat-{OUTSIDER['id']}")
        assert "Only members of the leadership channel" in texts(outsider_chat[-1].card)

        await h.say(f"sent {reference}", user=LEADER)
        case = await h.runtime.store.case(reference)
        assert case is not None and case.status == CaseStatus.SENT_TO_POSH
        assert case.history[-1].who == LEADER["name"]
        await h.say(f"note {reference} POSH called back", user=LEADER)
        case = await h.runtime.store.case(reference)
        assert case is not None and case.history[-1].note == "POSH called back"

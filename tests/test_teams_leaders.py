"""The leadership channel: where cases go, who may act on them, and cards updated in place."""

from __future__ import annotations

import asyncio

from teams_fakes import (
    LEADER,
    LEADS_CHANNEL,
    OTHER_CHANNEL,
    OUTSIDER,
    TEAM,
    TeamsHarness,
    bot_added_to_team,
    button,
    channel_message,
    complete_report,
    harness,
    installation_update,
    texts,
)

from bot.model import CaseStatus

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
        posts_before = len(h.connector.posts)

        assert await _press_on_card(h, f"case:sent:{reference}", LEADER) == 200

        assert len(h.connector.posts) == posts_before  # nothing new: the card changed
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
        assert "couldn't check your team membership" in texts(h.connector.posts_to(THREAD)[-1].card)
        case = await h.runtime.store.case(reference)
        assert case is not None and case.status == CaseStatus.REPORTED_IN_APP

        await _press_on_card(h, f"case:removed:{reference}", LEADER)
        case = await h.runtime.store.case(reference)
        assert case is not None and case.status == CaseStatus.REMOVED
        assert len(h.connector.updates) == 1


async def test_cases_can_be_moved_away_from_a_team_the_bot_was_removed_from_unheard() -> None:
    async with harness() as h:
        await h.install()
        h.connector.fail(403)  # the members check: BotNotInConversationRoster
        staff_room = {"id": "19:newleads@thread.tacv2", "name": "New leadership"}
        move = channel_message(
            h.service_url, "use this channel", channel=OTHER_CHANNEL, team=staff_room
        )
        await h.send(move)
        await h.deliver()
        reference = await complete_report(h)
        assert f"TikTok report {reference}" in texts(h.connector.posts_to(OTHER_CHANNEL)[-1].card)

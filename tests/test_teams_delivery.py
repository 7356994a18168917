"""Nothing lost, nothing twice: outages, redeliveries and restarts against the stand-in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from microsoft_agents.activity import Activity
from store_helpers import due_items, enqueue, pending, put_meta
from teams_fakes import (
    LEADER,
    LEADS_CHANNEL,
    PERSONAL_CHAT,
    REPORTER,
    REPORTER_KEY,
    START,
    TEAM,
    TENANT,
    TIKTOK_LINK,
    TeamsHarness,
    answer_until,
    button,
    channel_message,
    complete_report,
    connector_stand_in,
    harness,
    personal_message,
    question_step,
    texts,
)

from adapters.casework import scrub_post
from adapters.teams import render
from adapters.teams.references import reference_doc
from bot import retention
from bot.clock import FakeClock
from bot.model import Audience, CaseStatus, Notice, Person, Platform
from bot.outbox import outbox_item
from storage.memory import MemoryStore


def _case_cards(h: TeamsHarness) -> list[str]:
    return [
        texts(c.card)
        for c in h.connector.posts_to(LEADS_CHANNEL)
        if "TikTok report TT-" in texts(c.card)
    ]


async def test_a_connector_outage_delays_the_channel_card_and_it_arrives_exactly_once() -> None:
    async with harness() as h:
        await h.install()
        await answer_until(h, "summary")  # then submit during an outage
        h.connector.fail(500)
        h.connector.fail(429, headers={"Retry-After": "7"})
        h.connector.hang()
        h.connector.fail(502, times=3)

        await h.press(button(h.chat_cards()[-1], "submit"))
        for _ in range(8):  # time passes; the courier keeps trying
            h.clock.advance(seconds=30)
            await h.deliver()

        assert len(_case_cards(h)) == 1
        handoffs = [c for c in h.chat_cards() if "0344 381 4772" in texts(c)]
        assert len(handoffs) == 1
        assert any(c.method == "FAILED" for c in h.connector.calls)
        assert await due_items(h.runtime.store, h.courier.platform, h.clock.now()) == []


@pytest.mark.parametrize("status", [429, 412, 500, 502, 503, 504])
async def test_retry_after_is_honoured(status: int) -> None:
    """The SDK retries nothing and ignores Retry-After: the outbox waits what Teams asks."""
    async with harness() as h:
        h.connector.fail(status, headers={"Retry-After": "7"})
        await h.say("report")
        assert [c.method for c in h.connector.calls] == ["FAILED"]  # one try, no retries inside
        intro = "I'll help you report"
        assert not any(intro in texts(c) for c in h.chat_cards())
        h.clock.advance(seconds=6)
        await h.deliver()
        assert not any(intro in texts(c) for c in h.chat_cards())
        h.clock.advance(seconds=1)
        await h.deliver()
        assert sum(intro in texts(c) for c in h.chat_cards()) == 1


async def test_a_refused_chat_message_is_not_retried() -> None:
    async with harness() as h:
        # e.g. the person blocked the bot: the turn's message, then each of its cards alone
        h.connector.fail(403, times=3)
        await h.say("report")
        for _ in range(3):
            h.clock.advance(hours=1)
            await h.deliver()
        assert [c.method for c in h.connector.calls] == ["FAILED"] * 3
        assert await due_items(h.runtime.store, h.courier.platform, h.clock.now()) == []


async def test_a_redelivered_message_is_answered_once() -> None:
    async with harness() as h:
        first = personal_message(h.service_url, "report", activity_id="1485983408511")
        assert await h.send(first) == 200
        assert await h.send(first) == 200
        await h.deliver()
        assert len(h.chat_cards()) == 2  # one introduction, one question
        link = personal_message(h.service_url, TIKTOK_LINK, activity_id="1485983408512")
        for _ in range(3):
            await h.send(link)
        await h.deliver()
        conversation = await h.runtime.store.conversation(REPORTER_KEY)
        assert conversation is not None and len(conversation.answers["links"]) == 1


async def test_a_redelivered_press_changes_the_case_and_the_card_once() -> None:
    async with harness() as h:
        h.connector.members.add((TEAM["id"], LEADER["id"]))
        await h.install()
        reference = await complete_report(h)
        card = h.connector.posts_to(LEADS_CHANNEL)[-1].card
        press = channel_message(
            h.service_url, value=button(card, f"case:assign:{reference}"), activity_id="17001"
        )
        for _ in range(3):
            assert await h.send(press) == 200
        await h.deliver()
        assert len(h.connector.updates) == 1
        case = await h.runtime.store.case(reference)
        assert case is not None and [e.action for e in case.history].count("assigned") == 1


async def test_the_leadership_channel_survives_a_restart(tmp_path: Path) -> None:
    clock = FakeClock(START)
    async with connector_stand_in() as stand_in:
        async with harness(data_dir=tmp_path, connector=stand_in, clock=clock) as first:
            await first.install()
        async with harness(data_dir=tmp_path, connector=stand_in, clock=clock) as second:
            reference = await complete_report(second)
            assert len(_case_cards(second)) == 1
            assert f"TikTok report {reference}" in _case_cards(second)[0]
            case = await second.runtime.store.case(reference)
            assert case is not None and case.status == CaseStatus.REPORTED_IN_APP


async def test_replies_owed_before_a_restart_are_sent_after_it(tmp_path: Path) -> None:
    clock = FakeClock(START)
    async with connector_stand_in() as stand_in:
        async with harness(data_dir=tmp_path, connector=stand_in, clock=clock) as first:
            stand_in[0].fail(503)
            await first.say("report")
        async with harness(data_dir=tmp_path, connector=stand_in, clock=clock) as second:
            clock.advance(minutes=10)
            await second.deliver()
            [owed] = second.connector.posts  # the introduction and the question, together
            assert owed.conversation == PERSONAL_CHAT and len(owed.cards) == 2


async def _delete(h: TeamsHarness, reference: str) -> None:
    """What `reportbot retention delete` does: a tombstone, then the scrub of the post."""
    case = await h.runtime.store.case(reference)
    assert case is not None
    now = h.clock.now()
    tomb = retention.tombstone(case, "Head", now, "retention review")
    await h.runtime.store.delete_case(reference, tomb)
    await enqueue(h.runtime.store, [scrub_post(tomb, now)])
    await h.deliver()


async def test_a_deleted_case_s_card_is_overwritten_with_one_content_free_line() -> None:
    async with harness() as h:
        await h.install()
        reference = await complete_report(h)
        posted = h.connector.posts_to(LEADS_CHANNEL)[-1]
        posts_before = len(h.connector.posts)

        await _delete(h, reference)

        [update] = h.connector.updates
        assert update.activity_id == posted.activity_id
        deleted = f"Case {reference} was deleted under the school's retention schedule."
        assert texts(update.card) == deleted
        assert "actions" not in update.card and "POSH" not in str(update.body)
        assert update.body["summary"] == deleted
        assert len(h.connector.posts) == posts_before  # overwritten, never posted anew
        assert posted.card != update.card


async def test_a_deleted_case_that_never_reached_a_channel_is_never_posted() -> None:
    async with harness() as h:
        reference = await complete_report(h)  # no leadership channel yet: its card waits
        await _delete(h, reference)
        await h.install()
        h.clock.advance(minutes=10)
        await h.deliver()
        channel = [texts(c.card) for c in h.connector.posts_to(LEADS_CHANNEL)]
        assert len(channel) == 1 and "I'll post the case here" in channel[0]
        assert h.connector.updates == []
        assert await pending(h.runtime.store, h.courier.platform) == []


async def test_a_card_teams_took_before_timing_out_may_appear_twice_never_zero_times(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The Bot Connector cannot be searched for a post: after a timeout the card is posted
    again (the README says so). Later changes update the copy whose id the bot holds."""
    async with harness() as h:
        h.connector.members.add((TEAM["id"], LEADER["id"]))
        await h.install()
        await answer_until(h, "summary")
        h.connector.take_then_hang(LEADS_CHANNEL)

        await h.press(button(h.chat_cards()[-1], "submit"))  # taken, then the bot times out
        h.clock.advance(minutes=5)
        await h.deliver()

        cards = _case_cards(h)
        assert 1 <= len(cards) <= 2
        assert "appears twice" in caplog.text
        reference = (await h.runtime.store.cases())[-1].reference
        copies = [c for c in h.connector.posts_to(LEADS_CHANNEL) if reference in texts(c.card)]
        card = copies[0].card  # the older copy's buttons work too
        await h.send(channel_message(h.service_url, value=button(card, f"case:assign:{reference}")))
        await h.deliver()
        [update] = h.connector.updates
        assert update.activity_id == copies[-1].activity_id
        assert await pending(h.runtime.store, h.courier.platform) == []


async def _card_posted_twice(h: TeamsHarness) -> tuple[str, list[str]]:
    """Teams takes the case card, but its answer comes after the bot stopped waiting; the
    bot posts the card again, then the first answer arrives. Returns the case and card ids."""
    await h.install()
    await answer_until(h, "summary")
    h.connector.take_then_hang(LEADS_CHANNEL)
    await h.press(button(h.chat_cards()[-1], "submit"))  # taken, then the bot times out
    h.clock.advance(minutes=5)
    await h.deliver()  # posted again
    h.connector.release()  # the first post's answer arrives at last
    await h.settle()
    await h.deliver()
    reference = (await h.runtime.store.cases())[-1].reference
    copies = [
        c.activity_id for c in h.connector.posts_to(LEADS_CHANNEL) if reference in texts(c.card)
    ]
    assert len(copies) == 2
    return reference, copies


async def test_every_card_posted_for_a_case_is_kept_and_the_deletion_scrubs_them_all() -> None:
    """Before: only the newest card's id was kept, and the older copy kept the whole case."""
    async with harness() as h:
        reference, copies = await _card_posted_twice(h)
        receipt = await h.runtime.store.get_meta(f"post:teams:{reference}")
        assert receipt is not None
        kept = [p["post"]["activity_id"] for p in receipt["posts"]]
        assert kept == copies[::-1]  # late one last
        assert "TikTok" not in str(receipt) and "Patel" not in str(receipt)  # ids only

        await _delete(h, reference)

        deleted = f"Case {reference} was deleted under the school's retention schedule."
        scrubbed = {u.activity_id for u in h.connector.updates if texts(u.card) == deleted}
        assert scrubbed == set(copies)
        assert await pending(h.runtime.store, h.courier.platform) == []


async def test_a_status_change_reaches_every_copy_of_the_card() -> None:
    async with harness() as h:
        h.connector.members.add((TEAM["id"], LEADER["id"]))
        reference, copies = await _card_posted_twice(h)
        older = h.connector.posts_to(LEADS_CHANNEL)[-2].card
        updates_before = len(h.connector.updates)
        press = channel_message(h.service_url, value=button(older, f"case:sent:{reference}"))
        assert await h.send(press) == 200
        await h.deliver()
        changed = h.connector.updates[updates_before:]
        assert {u.activity_id for u in changed} == set(copies)
        assert all("Sent to POSH – Adele Vance" in texts(u.card) for u in changed)


async def test_a_late_answer_that_comes_before_the_retry_means_no_second_card() -> None:
    async with harness() as h:
        await h.install()
        await answer_until(h, "summary")
        h.connector.take_then_hang(LEADS_CHANNEL)
        await h.press(button(h.chat_cards()[-1], "submit"))
        h.connector.release()
        await h.settle()  # the answer arrived: the card is known
        h.clock.advance(minutes=5)
        await h.deliver()  # the retry finds it and posts nothing new
        assert len(_case_cards(h)) == 1
        reference = (await h.runtime.store.cases())[-1].reference
        receipt = await h.runtime.store.get_meta(f"post:teams:{reference}")
        assert receipt is not None and len(receipt["posts"]) == 1
        assert await pending(h.runtime.store, h.courier.platform) == []


class CountingStore(MemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.meta_writes: list[str] = []

    async def put_meta(self, key: str, value: Any) -> None:
        self.meta_writes.append(key)
        await super().put_meta(key, value)


async def test_a_new_person_s_first_message_costs_no_write_of_its_own() -> None:
    """The chat's reference travels in the replies' address, stored with the step."""
    store = CountingStore()
    async with harness(store=store) as h:
        assert await h.say("report") == 200
        assert len(h.chat_cards()) == 2
        assert store.meta_writes == []


async def test_a_reply_queued_by_an_earlier_version_still_finds_its_chat() -> None:
    """Earlier versions kept the reference in meta and only the chat's id in the address."""
    async with harness() as h:
        await h.say("hello")
        activity = Activity.model_validate(personal_message(h.service_url, "hello"))
        await put_meta(
            h.runtime.store, f"teams:conversation:{PERSONAL_CHAT}", reference_doc(activity)
        )
        old = outbox_item(
            Person(Platform.TEAMS, TENANT, REPORTER["id"]),
            Audience.PERSON,
            {"conversation": PERSONAL_CHAT},
            Notice("queued before the upgrade"),
            "old-item",
            h.clock.now(),
        )
        await enqueue(h.runtime.store, [old])
        await h.deliver()
        assert "queued before the upgrade" in texts(h.chat_cards()[-1])


async def test_a_turns_replies_are_one_message_of_stacked_cards() -> None:
    async with harness() as h:
        await h.say("report")
        [message] = h.connector.posts_to(PERSONAL_CHAT)
        assert message.body["attachmentLayout"] == "list"  # one under another, not a carousel
        intro, question = message.cards
        assert "I'll help you report" in texts(intro) and question_step(question) == "links"


def test_cards_past_the_size_teams_takes_go_in_more_than_one_message() -> None:
    def of(chars: int) -> render.Message:
        return render.Message({"type": "AdaptiveCard", "body": [{"text": "x" * chars}]}, "s")

    assert render.joined([of(100), of(100), of(100)]) == [[0, 1, 2]]
    assert render.joined([of(15_000), of(15_000), of(100)]) == [[0], [1, 2]]
    joined = render.join([of(1), of(2), of(3)])
    assert joined.card == of(1).card and joined.more == (of(2).card, of(3).card)


async def test_a_message_taken_without_an_id_is_delivered_once_and_holds_nothing_up() -> None:
    """Found with the Agents Playground, which answers a message of stacked cards 202 with no
    body: that was taken for a failure, tried again five minutes later, and the person's next
    reply waited behind it."""
    async with harness() as h:
        h.connector.take_without_id(PERSONAL_CHAT)
        await h.say("report")
        assert len(h.connector.posts_to(PERSONAL_CHAT)) == 1
        await h.say(TIKTOK_LINK)
        assert len(h.connector.posts_to(PERSONAL_CHAT)) == 2  # answered at once
        h.clock.advance(minutes=10)
        await h.deliver()
        assert len(h.connector.posts_to(PERSONAL_CHAT)) == 2  # and never sent again
        assert await pending(h.runtime.store, h.courier.platform) == []


async def _card_taken_without_id(h: TeamsHarness) -> str:
    await h.install()
    await answer_until(h, "summary")
    h.connector.take_without_id(LEADS_CHANNEL)
    await h.press(button(h.chat_cards()[-1], "submit"))
    return (await h.runtime.store.cases())[-1].reference


async def test_a_card_taken_without_an_id_is_said_and_a_change_comes_as_a_new_card(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with harness() as h:
        h.connector.members.add((TEAM["id"], LEADER["id"]))
        reference = await _card_taken_without_id(h)
        assert f"Teams took the card for {reference} without giving its id" in caplog.text
        [card] = [c for c in h.connector.posts_to(LEADS_CHANNEL) if reference in texts(c.card)]
        press = channel_message(h.service_url, value=button(card.card, f"case:sent:{reference}"))
        assert await h.send(press) == 200
        await h.deliver()
        cards = [c for c in h.connector.posts_to(LEADS_CHANNEL) if reference in texts(c.card)]
        assert len(cards) == 2 and "Sent to POSH" in texts(cards[-1].card)
        assert h.connector.updates == []  # nothing sent to an id Teams never gave


async def test_a_card_taken_without_an_id_that_a_deletion_cannot_reach_is_counted() -> None:
    """Never dropped quietly: /healthz counts the scrub Teams cannot be asked for."""
    async with harness() as h:
        reference = await _card_taken_without_id(h)
        await _delete(h, reference)
        undelivered = await h.courier.undelivered()
        assert undelivered["leadership_posts"] == {"count": 1, "cases": [reference]}

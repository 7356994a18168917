"""One leadership-post algorithm (bot.leadership) on Slack and Teams, end to end.

Every post made for a case is kept, as a list, in the same write as its delivered mark; old
single receipts are read as that list; a deletion scrubs every post kept; and a post whose
delivered mark was not saved is found by the retry instead of being made twice.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from slack_fakes import (
    LEADER,
    LEADERS,
    START,
    FakeSlack,
    all_text,
    report,
    slack_env,
    slack_harness,
)
from store_helpers import enqueue, pending, put_meta
from teams_fakes import (
    LEADS_CHANNEL,
    TeamsHarness,
    answer_until,
    button,
    complete_report,
    harness,
    texts,
)

from adapters.casework import scrub_post
from bot import retention
from bot.clock import FakeClock
from bot.errors import StorageError
from bot.model import Platform
from bot.ports import Clock, Delivered, Store
from storage.memory import MemoryStore

DELETED = "Case {ref} was deleted under the school's retention schedule."


class LosesAMark(MemoryStore):
    """The write that keeps a new post's id (with its delivered mark) fails once, as on a full
    disk or a dropped database connection: the platform has the post, the outbox does not."""

    def __init__(self) -> None:
        super().__init__()
        self.armed = False

    async def delivered(self, done: Sequence[Delivered]) -> None:
        if self.armed and any(d.receipt is not None for d in done):
            self.armed = False
            raise StorageError("No space left on device")
        await super().delivered(done)


async def _delete(store: Store, ref: str, clock: Clock) -> None:
    """What `reportbot retention delete` does: a tombstone, then the scrub of the posts."""
    case = await store.case(ref)
    assert case is not None
    now = clock.now()
    tomb = retention.tombstone(case, "Head", now, "retention review")
    await store.delete_case(ref, tomb)
    await enqueue(store, [scrub_post(tomb, now)])


# --- Slack -----------------------------------------------------------------------------------


async def test_slack_an_update_queued_behind_a_delayed_post_updates_that_post() -> None:
    """Before: the update, sent at once by the turn that made it, overtook the post waiting
    for its retry; finding no post it made one, then the retry made another, and only that
    one was kept – the deletion left the first showing the whole case."""
    async with slack_harness() as h:
        h.fake.fail("chat.postMessage", 500, channel=LEADERS)
        ref = await report(h)
        assert h.fake.posts(LEADERS) == []  # the post waits for its retry
        await h.say(LEADER, f"assign {ref}")  # an update, queued behind it
        h.clock.advance(minutes=5)
        await h.deliver()

        [post] = h.fake.posts(LEADERS)
        assert "Lee Leader" in all_text(post)  # the update reached the one post
        await _delete(h.runtime.store, ref, h.clock)
        await h.deliver()
        [scrubbed] = h.fake.posts(LEADERS)
        assert all_text(scrubbed).startswith(DELETED.format(ref=ref))
        assert "Patel" not in all_text(scrubbed)


async def test_slack_an_old_single_receipt_is_read_as_the_list_and_scrubbed() -> None:
    async with slack_harness() as h:
        ref = await report(h)
        [post] = h.fake.posts(LEADERS)
        key = f"post:slack:{ref}"
        await put_meta(h.runtime.store, key, {"channel": LEADERS, "ts": post["ts"]})  # as before

        await h.press_case(LEADER, "assign")
        assert h.fake.called("chat.update")[-1]["ts"] == post["ts"]
        assert len(h.fake.posts(LEADERS)) == 1
        h.fake.messages[LEADERS].clear()  # deleted by hand in Slack: the next change reposts
        await h.say(LEADER, f"sent {ref}")
        [again] = h.fake.posts(LEADERS)
        receipt = await h.runtime.store.get_meta(key)
        assert receipt is not None  # the gone post is forgotten, the new one kept, as a list
        assert [p["post"] for p in receipt["posts"]] == [{"channel": LEADERS, "ts": again["ts"]}]

        await _delete(h.runtime.store, ref, h.clock)
        await h.deliver()
        [scrubbed] = h.fake.posts(LEADERS)
        assert scrubbed["ts"] == again["ts"]
        assert all_text(scrubbed).startswith(DELETED.format(ref=ref))


async def test_slack_a_post_whose_mark_was_not_saved_is_found_after_a_restart() -> None:
    store, fake, clock = LosesAMark(), FakeSlack(), FakeClock(START)
    env = slack_env(await fake.start())
    try:
        await _mark_lost_then_restart(store, fake, clock, env)
    finally:
        await fake.close()


async def _mark_lost_then_restart(
    store: LosesAMark, fake: FakeSlack, clock: FakeClock, env: dict[str, str]
) -> None:
    async with slack_harness(store=store, fake=fake, clock=clock, env=env) as first:
        store.armed = True
        with pytest.raises(StorageError):
            await report(first)  # Slack takes the post; its mark is not saved
        assert len(fake.posts(LEADERS)) == 1
        [ref] = [c.reference for c in await store.cases()]
    clock.advance(minutes=3)  # the first instance's claim lapses
    async with slack_harness(store=store, fake=fake, clock=clock, env=env) as second:
        await second.deliver()
        assert len(fake.posts(LEADERS)) == 1  # looked in the channel, found it
        looked = [c for c in fake.called("conversations.history") if c["channel"] == LEADERS]
        assert len(looked) == 1
        assert await pending(store) == []
        await second.press_case(LEADER, "assign")
        assert fake.called("chat.update")[-1]["ts"] == fake.posts(LEADERS)[0]["ts"]
        receipt = await store.get_meta(f"post:slack:{ref}")
        assert receipt is not None and len(receipt["posts"]) == 1


# --- Teams -----------------------------------------------------------------------------------


def _cards_of(h: TeamsHarness, ref: str) -> list[str]:
    return [c.activity_id for c in h.connector.posts_to(LEADS_CHANNEL) if ref in texts(c.card)]


async def test_teams_a_card_whose_mark_was_not_saved_is_found_by_the_retry() -> None:
    store = LosesAMark()
    async with harness(store=store) as h:
        await h.install()
        await answer_until(h, "summary")
        store.armed = True
        with pytest.raises(StorageError):
            await h.press(button(h.chat_cards()[-1], "submit"))
        [ref] = [c.reference for c in await store.cases()]
        [card] = _cards_of(h, ref)
        h.clock.advance(minutes=3)  # the claim lapses; the courier tries again
        await h.deliver()
        assert _cards_of(h, ref) == [card]  # not posted twice
        receipt = await store.get_meta(f"post:teams:{ref}")
        assert receipt is not None
        assert [p["post"]["activity_id"] for p in receipt["posts"]] == [card]
        assert await pending(store, Platform.TEAMS) == []


@pytest.mark.parametrize("shape", ["single", "cards"])
async def test_teams_old_receipts_are_read_as_the_list_and_every_card_is_scrubbed(
    shape: str,
) -> None:
    async with harness() as h:
        await h.install()
        ref = await complete_report(h)
        [first] = h.connector.posts_to(LEADS_CHANNEL)[-1:]
        key = f"post:teams:{ref}"
        kept = await h.runtime.store.get_meta(key)
        assert kept is not None
        reference = kept["posts"][0]["post"]["reference"]
        copy = {"activity_id": "activity-older-copy", "reference": reference}
        if shape == "single":  # the very first receipts: the newest card only
            old = {"activity_id": first.activity_id, "reference": reference}
            cards = [first.activity_id]
        else:  # then every card, the newest also at the top level
            old = {
                "activity_id": first.activity_id,
                "reference": reference,
                "cards": [
                    {**copy, "item": ""},
                    {"activity_id": first.activity_id, "reference": reference, "item": "x"},
                ],
            }
            cards = ["activity-older-copy", first.activity_id]
        await put_meta(h.runtime.store, key, old)

        await _delete(h.runtime.store, ref, h.clock)
        await h.deliver()
        scrubbed = [
            u.activity_id for u in h.connector.updates if texts(u.card) == DELETED.format(ref=ref)
        ]
        assert scrubbed == cards
        assert len(h.connector.posts_to(LEADS_CHANNEL)) == 2  # the greeting and the card only


async def test_teams_a_card_answered_late_after_the_case_was_deleted_is_scrubbed_too() -> None:
    async with harness() as h:
        await h.install()
        await answer_until(h, "summary")
        h.connector.take_then_hang(LEADS_CHANNEL)
        await h.press(button(h.chat_cards()[-1], "submit"))  # taken; the bot stops waiting
        h.clock.advance(minutes=5)
        await h.deliver()  # posted again
        [ref] = [c.reference for c in await h.runtime.store.cases()]
        await _delete(h.runtime.store, ref, h.clock)
        await h.deliver()
        h.connector.release()  # the first card's answer arrives only now
        await h.settle()
        await h.deliver()

        copies = _cards_of(h, ref)
        assert len(copies) == 2
        deleted = DELETED.format(ref=ref)
        assert {u.activity_id for u in h.connector.updates if texts(u.card) == deleted} == set(
            copies
        )
        assert await pending(h.runtime.store, Platform.TEAMS) == []

"""The courier: order within a lane, retries with backoff, permanent refusals kept aside."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from store_helpers import enqueue, pending

from bot.clock import FakeClock
from bot.codec import reply_from_dict, reply_to_dict
from bot.delivery import Courier
from bot.errors import DeliveryRefused, RetryLater
from bot.model import JSON, Audience, CaseCard, Notice, OutboxItem, Person, Platform
from bot.outbox import outbox_item
from storage.memory import MemoryStore

NOW = datetime(2026, 11, 25, 11, tzinfo=UTC)


def item(n: int, chat: str = "D1") -> OutboxItem:
    reply = {"type": "notice", "text": f"message {n}", "tone": "info", "title": ""}
    return OutboxItem(f"i{n}", Platform.SLACK, Audience.PERSON, "T1", {"channel": chat}, reply, NOW)


class Flaky:
    """Fails the listed texts the first time, with the given error."""

    def __init__(self, failures: dict[str, Exception]) -> None:
        self.failures = failures
        self.sent: list[str] = []

    async def send(self, i: OutboxItem) -> JSON | None:
        text = str(i.reply["text"])
        if text in self.failures:
            raise self.failures.pop(text)
        self.sent.append(text)
        return None


async def test_a_message_waiting_for_its_retry_holds_back_later_ones_to_the_same_chat() -> None:
    store, clock = MemoryStore(), FakeClock(NOW)
    sender = Flaky({"message 1": RetryLater("429", retry_after=30)})
    courier = Courier(store, sender, Platform.SLACK, clock, owner="test")
    await enqueue(store, [item(1), item(2), item(3, chat="D2")])
    assert await courier.drain() == 1  # only the other chat's message
    await enqueue(store, [item(4)])
    assert await courier.drain() == 0  # message 1 is not due yet: 2 and 4 wait behind it
    clock.advance(seconds=30)
    assert await courier.drain() == 3
    assert sender.sent == ["message 3", "message 1", "message 2", "message 4"]


async def test_backoff_grows_and_honours_retry_after() -> None:
    store, clock = MemoryStore(), FakeClock(NOW)
    sender = Flaky({"message 1": RetryLater("500")})
    courier = Courier(store, sender, Platform.SLACK, clock, base_delay=2, owner="test")
    await enqueue(store, [item(1)])
    await courier.drain()
    [waiting] = await pending(store, Platform.SLACK)
    assert waiting.attempts == 1 and waiting.due_at is not None
    assert 1.5 <= (waiting.due_at - NOW).total_seconds() <= 2.5


async def test_a_permanent_refusal_is_kept_aside_and_does_not_block_others() -> None:
    store, clock = MemoryStore(), FakeClock(NOW)
    sender = Flaky({"message 1": DeliveryRefused("channel_not_found")})
    courier = Courier(store, sender, Platform.SLACK, clock, owner="test")
    await enqueue(store, [item(1), item(2, chat="D2")])
    await courier.drain()
    assert sender.sent == ["message 2"]
    assert await pending(store, Platform.SLACK) == []


class RefusesFullCards:
    """A platform that will not take a full case card; with `minimal_too`, nor a minimal one."""

    def __init__(self, *, minimal_too: bool = False) -> None:
        self.minimal_too = minimal_too
        self.sent: list[JSON] = []
        self.to: list[dict[str, str]] = []

    async def send(self, i: OutboxItem) -> JSON | None:
        if i.reply["type"] == "case_card" and (self.minimal_too or not i.reply.get("minimal")):
            raise DeliveryRefused("invalid_blocks")
        self.sent.append(i.reply)
        self.to.append(i.address)
        return {"ts": "1.1"} if i.reply["type"] == "case_card" else None


def leadership_post(ref: str = "TT-2026-0001") -> OutboxItem:
    reporter = Person(Platform.SLACK, "T1", "U1")
    card = CaseCard(ref)
    return outbox_item(reporter, Audience.LEADERSHIP, {"channel": "D1"}, card, f"case:{ref}", NOW)


async def test_a_refused_leadership_card_falls_back_to_the_minimal_card() -> None:
    store, clock = MemoryStore(), FakeClock(NOW)
    sender = RefusesFullCards()
    courier = Courier(store, sender, Platform.SLACK, clock, owner="test")
    await enqueue(store, [leadership_post()])
    assert await courier.drain() == 1
    assert sender.sent == [reply_to_dict(CaseCard("TT-2026-0001", minimal=True))]
    assert await store.get_meta("post:slack:TT-2026-0001") == {"ts": "1.1"}  # updates find it
    assert await store.undelivered(Platform.SLACK) == []


async def test_when_even_the_minimal_card_is_refused_the_reporter_is_told(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store, clock = MemoryStore(), FakeClock(NOW)
    sender = RefusesFullCards(minimal_too=True)
    courier = Courier(store, sender, Platform.SLACK, clock, owner="test")
    await enqueue(store, [leadership_post()])
    await courier.drain()
    [failed] = await store.undelivered(Platform.SLACK)
    assert failed.audience == Audience.LEADERSHIP and failed.failed == "invalid_blocks"
    assert failed.failed_at == NOW
    assert await courier.undelivered() == {
        "leadership_posts": {"count": 1, "cases": ["TT-2026-0001"]},
        "messages": {"count": 0, "cases": []},
    }
    assert "refused for good" in caplog.text and "TT-2026-0001" in caplog.text
    await courier.drain()
    [told] = sender.sent
    notice = reply_from_dict(told)
    assert isinstance(notice, Notice) and notice.tone == "danger"
    assert "couldn't send report TT-2026-0001 to the leadership team" in notice.text
    assert "DSL" in notice.text and "headteacher" in notice.text
    assert sender.to == [{"channel": "D1"}]  # the reporter's chat
    assert await pending(store, Platform.SLACK) == []


async def test_a_refused_update_falls_back_to_a_minimal_update() -> None:
    store, clock = MemoryStore(), FakeClock(NOW)
    sender = RefusesFullCards()
    courier = Courier(store, sender, Platform.SLACK, clock, owner="test")
    reporter = Person(Platform.SLACK, "T1", "U1")
    update = outbox_item(
        reporter, Audience.LEADERSHIP, {}, CaseCard("TT-2026-0001", update=True), "u", NOW
    )
    await enqueue(store, [update])
    assert await courier.drain() == 1
    assert sender.sent == [reply_to_dict(CaseCard("TT-2026-0001", update=True, minimal=True))]


async def test_a_message_refused_for_good_does_not_hold_back_the_rest_of_its_chat() -> None:
    store, clock = MemoryStore(), FakeClock(NOW)
    sender = Flaky({"message 1": DeliveryRefused("is_archived")})
    courier = Courier(store, sender, Platform.SLACK, clock, owner="test")
    await enqueue(store, [item(1), item(2)])
    assert await courier.drain() == 1
    assert sender.sent == ["message 2"]
    assert [i.id for i in await store.undelivered(Platform.SLACK)] == ["i1"]

"""The courier: order within a lane, retries with backoff, permanent refusals kept aside."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.clock import FakeClock
from bot.delivery import Courier
from bot.errors import DeliveryRefused, RetryLater
from bot.model import JSON, Audience, OutboxItem, Platform
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
    courier = Courier(store, sender, Platform.SLACK, clock)
    await store.enqueue([item(1), item(2), item(3, chat="D2")])
    assert await courier.drain() == 1  # only the other chat's message
    await store.enqueue([item(4)])
    assert await courier.drain() == 0  # message 1 is not due yet: 2 and 4 wait behind it
    clock.advance(seconds=30)
    assert await courier.drain() == 3
    assert sender.sent == ["message 3", "message 1", "message 2", "message 4"]


async def test_backoff_grows_and_honours_retry_after() -> None:
    store, clock = MemoryStore(), FakeClock(NOW)
    sender = Flaky({"message 1": RetryLater("500")})
    courier = Courier(store, sender, Platform.SLACK, clock, base_delay=2)
    await store.enqueue([item(1)])
    await courier.drain()
    [waiting] = await store.pending(Platform.SLACK)
    assert waiting.attempts == 1 and waiting.due_at is not None
    assert 1.5 <= (waiting.due_at - NOW).total_seconds() <= 2.5


async def test_a_permanent_refusal_is_kept_aside_and_does_not_block_others() -> None:
    store, clock = MemoryStore(), FakeClock(NOW)
    sender = Flaky({"message 1": DeliveryRefused("channel_not_found")})
    courier = Courier(store, sender, Platform.SLACK, clock)
    await store.enqueue([item(1), item(2, chat="D2")])
    await courier.drain()
    assert sender.sent == ["message 2"]
    assert await store.pending(Platform.SLACK) == []

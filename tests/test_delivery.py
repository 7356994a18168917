"""The courier: order within a lane, retries with backoff, permanent refusals kept aside."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from store_helpers import enqueue, make_case, pending, save

from bot.clock import FakeClock
from bot.delivery import Courier
from bot.errors import DeliveryRefused, RetryLater, StorageError
from bot.facts import Facts
from bot.model import JSON, Audience, CaseCard, Notice, OutboxItem, Person, Platform
from bot.outbox import outbox_item
from bot.ports import Delivered, LeadershipPosts, Sender, UnitOfWork, each_alone, one_at_a_time
from bot.views import CardForm, Resolved, ResolvedCard
from storage.memory import MemoryStore

NOW = datetime(2026, 11, 25, 11, tzinfo=UTC)


def courier(store: MemoryStore, sender: Sender, clock: FakeClock, **kw: float) -> Courier:
    """A Slack courier; `sender` is its leadership channel too when it has one."""
    posts: LeadershipPosts = sender if isinstance(sender, RefusesFullCards) else NoChannel()
    return Courier(store, sender, posts, Platform.SLACK, clock, facts=Facts(), owner="test", **kw)


class NoChannel:
    """A leadership channel the person-only tests never reach."""

    async def private(self) -> bool:
        raise AssertionError("no leadership post expected")

    async def post(self, item: OutboxItem, card: ResolvedCard) -> JSON:
        raise AssertionError("no leadership post expected")

    async def update(self, post: JSON, card: ResolvedCard) -> bool:
        raise AssertionError("no leadership post expected")

    async def find_earlier(self, item: OutboxItem) -> JSON | None:
        raise AssertionError("no leadership post expected")

    async def scrub(self, post: JSON, text: str) -> None:
        raise AssertionError("no leadership post expected")


def item(n: int, chat: str = "D1") -> OutboxItem:
    reply = {"type": "notice", "text": f"message {n}", "tone": "info", "title": ""}
    return OutboxItem(f"i{n}", Platform.SLACK, Audience.PERSON, "T1", {"channel": chat}, reply, NOW)


class Flaky:
    """Fails the listed texts the first time, with the given error."""

    def __init__(self, failures: dict[str, Exception]) -> None:
        self.failures = failures
        self.sent: list[str] = []

    async def send(self, i: OutboxItem, reply: Resolved) -> None:
        assert isinstance(reply, Notice)
        if reply.text in self.failures:
            raise self.failures.pop(reply.text)
        self.sent.append(reply.text)

    def joined(self, replies: Sequence[Resolved]) -> list[list[int]]:
        return each_alone(replies)

    async def send_together(self, items: Sequence[OutboxItem], replies: Sequence[Resolved]) -> None:
        await one_at_a_time(self, items, replies)


async def test_a_message_waiting_for_its_retry_holds_back_later_ones_to_the_same_chat() -> None:
    store, clock = MemoryStore(), FakeClock(NOW)
    sender = Flaky({"message 1": RetryLater("429", retry_after=30)})
    courier_ = courier(store, sender, clock)
    await enqueue(store, [item(1), item(2), item(3, chat="D2")])
    assert await courier_.drain() == 1  # only the other chat's message
    await enqueue(store, [item(4)])
    assert await courier_.drain() == 0  # message 1 is not due yet: 2 and 4 wait behind it
    clock.advance(seconds=30)
    assert await courier_.drain() == 3
    assert sender.sent == ["message 3", "message 1", "message 2", "message 4"]


async def test_backoff_grows_and_honours_retry_after() -> None:
    store, clock = MemoryStore(), FakeClock(NOW)
    sender = Flaky({"message 1": RetryLater("500")})
    courier_ = courier(store, sender, clock, base_delay=2)
    await enqueue(store, [item(1)])
    await courier_.drain()
    [waiting] = await pending(store, Platform.SLACK)
    assert waiting.attempts == 1 and waiting.due_at is not None
    assert 1.5 <= (waiting.due_at - NOW).total_seconds() <= 2.5


async def test_a_permanent_refusal_is_kept_aside_and_does_not_block_others() -> None:
    store, clock = MemoryStore(), FakeClock(NOW)
    sender = Flaky({"message 1": DeliveryRefused("channel_not_found")})
    courier_ = courier(store, sender, clock)
    await enqueue(store, [item(1), item(2, chat="D2")])
    await courier_.drain()
    assert sender.sent == ["message 2"]
    assert await pending(store, Platform.SLACK) == []


class RefusesFullCards:
    """A platform that will not take a full case card; with `minimal_too`, nor a minimal one."""

    def __init__(self, *, minimal_too: bool = False) -> None:
        self.minimal_too = minimal_too
        self.sent: list[Resolved] = []
        self.to: list[dict[str, str]] = []

    async def send(self, i: OutboxItem, reply: Resolved) -> None:
        self.sent.append(reply)
        self.to.append(i.address)

    def joined(self, replies: Sequence[Resolved]) -> list[list[int]]:
        return each_alone(replies)

    async def send_together(self, items: Sequence[OutboxItem], replies: Sequence[Resolved]) -> None:
        await one_at_a_time(self, items, replies)

    async def private(self) -> bool:
        return True

    async def post(self, item: OutboxItem, card: ResolvedCard) -> JSON:
        self._take(card)
        return {"ts": "1.1"}

    async def update(self, post: JSON, card: ResolvedCard) -> bool:
        self._take(card)
        return True

    async def find_earlier(self, item: OutboxItem) -> JSON | None:
        return None

    async def scrub(self, post: JSON, text: str) -> None:
        raise AssertionError("nothing is deleted here")

    def _take(self, card: ResolvedCard) -> None:
        if card.form != CardForm.MINIMAL or self.minimal_too:
            raise DeliveryRefused("invalid_blocks")
        self.sent.append(card)


async def leadership_post(store: MemoryStore, ref: str = "TT-2026-0001") -> OutboxItem:
    await save(store, make_case(ref))
    reporter = Person(Platform.SLACK, "T1", "U1")
    card = CaseCard(ref)
    return outbox_item(reporter, Audience.LEADERSHIP, {"channel": "D1"}, card, f"case:{ref}", NOW)


def forms(sent: list[Resolved]) -> list[tuple[CardForm, bool]]:
    return [(c.form, c.update) for c in sent if isinstance(c, ResolvedCard)]


async def test_a_refused_leadership_card_falls_back_to_the_minimal_card() -> None:
    store, clock = MemoryStore(), FakeClock(NOW)
    sender = RefusesFullCards()
    courier_ = courier(store, sender, clock)
    await enqueue(store, [await leadership_post(store)])
    assert await courier_.drain() == 1
    assert forms(sender.sent) == [(CardForm.MINIMAL, False)]
    assert await store.get_meta("post:slack:TT-2026-0001") == {  # updates find it
        "posts": [{"post": {"ts": "1.1"}, "item": "case:TT-2026-0001"}]
    }
    assert await store.undelivered(Platform.SLACK) == []


async def test_when_even_the_minimal_card_is_refused_the_reporter_is_told(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store, clock = MemoryStore(), FakeClock(NOW)
    sender = RefusesFullCards(minimal_too=True)
    courier_ = courier(store, sender, clock)
    await enqueue(store, [await leadership_post(store)])
    await courier_.drain()
    [failed] = await store.undelivered(Platform.SLACK)
    assert failed.audience == Audience.LEADERSHIP and failed.failed == "invalid_blocks"
    assert failed.failed_at == NOW
    assert await courier_.undelivered() == {
        "leadership_posts": {"count": 1, "cases": ["TT-2026-0001"]},
        "messages": {"count": 0, "cases": []},
        "leadership_posts_shortened": {"count": 1, "cases": ["TT-2026-0001"]},
    }
    assert "refused for good" in caplog.text and "TT-2026-0001" in caplog.text
    await courier_.drain()
    [notice] = sender.sent
    assert isinstance(notice, Notice) and notice.tone == "danger"
    assert "couldn't send report TT-2026-0001 to the leadership team" in notice.text
    assert "DSL" in notice.text and "headteacher" in notice.text
    assert sender.to == [{"channel": "D1"}]  # the reporter's chat
    assert await pending(store, Platform.SLACK) == []


async def test_a_refused_update_falls_back_to_a_minimal_update() -> None:
    store, clock = MemoryStore(), FakeClock(NOW)
    sender = RefusesFullCards()
    courier_ = courier(store, sender, clock)
    await save(store, make_case("TT-2026-0001"))
    await store.commit(UnitOfWork(meta={"post:slack:TT-2026-0001": {"ts": "1.1"}}))
    reporter = Person(Platform.SLACK, "T1", "U1")
    update = outbox_item(
        reporter, Audience.LEADERSHIP, {}, CaseCard("TT-2026-0001", update=True), "u", NOW
    )
    await enqueue(store, [update])
    assert await courier_.drain() == 1
    assert forms(sender.sent) == [(CardForm.MINIMAL, True)]


async def test_a_message_refused_for_good_does_not_hold_back_the_rest_of_its_chat() -> None:
    store, clock = MemoryStore(), FakeClock(NOW)
    sender = Flaky({"message 1": DeliveryRefused("is_archived")})
    courier_ = courier(store, sender, clock)
    await enqueue(store, [item(1), item(2)])
    assert await courier_.drain() == 1
    assert sender.sent == ["message 2"]
    assert [i.id for i in await store.undelivered(Platform.SLACK)] == ["i1"]


# -- a turn's replies to one person go together ---------------------------------------------------


def turn_item(turn: str, n: int, chat: str = "D1", kind: str = "notice") -> OutboxItem:
    """Reply `n` of a turn, as the engine names them ("<delivery id>:<n>")."""
    found = item(n, chat)
    reply = found.reply if kind == "notice" else {"type": "file", "kind": "cases", "subject": ""}
    return replace(found, id=f"{turn}:{n}", reply=reply)


class Joins:
    """A platform that shows a turn's replies as one message (at most `per_message` replies
    to a message): what went, message by message, in the order it went."""

    def __init__(self, failures: list[Exception | None] | None = None, per_message: int = 10):
        self.messages: list[list[str]] = []
        self.failures = failures or []  # for the joined sends in turn (None: it goes)
        self.refuses = ""  # a text no message may hold
        self.per_message = per_message

    def joined(self, replies: Sequence[Resolved]) -> list[list[int]]:
        n, size = len(replies), self.per_message
        return [list(range(at, min(n, at + size))) for at in range(0, n, size)]

    async def send(self, i: OutboxItem, reply: Resolved) -> None:
        await self.send_together([i], [reply])

    async def send_together(self, items: Sequence[OutboxItem], replies: Sequence[Resolved]) -> None:
        texts = [r.text if isinstance(r, Notice) else type(r).__name__ for r in replies]
        failure = self.failures.pop(0) if len(items) > 1 and self.failures else None
        if failure is not None:
            raise failure
        if self.refuses and self.refuses in texts:
            raise DeliveryRefused("invalid_blocks")
        self.messages.append(texts)


async def test_a_turns_replies_go_as_one_message_and_other_turns_and_files_apart() -> None:
    store, clock = MemoryStore(), FakeClock(NOW)
    sender = Joins()
    later = [replace(turn_item("Ev2", n), created_at=NOW + timedelta(seconds=1)) for n in (3, 4)]
    await enqueue(
        store,
        [
            *(turn_item("Ev1", n) for n in (0, 1, 2)),
            replace(turn_item("Ev1", 5, chat="D2"), reply={**item(5).reply, "text": "other 5"}),
            *later,
            turn_item("Ev3", 6, kind="file"),
            turn_item("Ev3", 7),
        ],
    )
    assert await courier(store, sender, clock).drain() == 8
    assert [m for m in sender.messages if m != ["other 5"]] == [  # D1, in the order it went
        ["message 0", "message 1", "message 2"],
        ["message 3", "message 4"],  # a later turn: a message of its own
        ["ResolvedFile"],  # a file always goes alone
        ["message 7"],
    ]
    assert ["other 5"] in sender.messages  # another person's chat
    assert await pending(store, Platform.SLACK) == []


async def test_a_run_that_must_wait_waits_whole_and_goes_together_when_due() -> None:
    store, clock = MemoryStore(), FakeClock(NOW)
    sender = Joins([RetryLater("429", retry_after=30)])
    courier_ = courier(store, sender, clock)
    await enqueue(store, [*(turn_item("Ev1", n) for n in (0, 1)), turn_item("Ev2", 2)])
    assert await courier_.drain() == 0  # the later turn's reply waits behind the run
    clock.advance(seconds=30)
    assert await courier_.drain() == 3
    assert sender.messages == [["message 0", "message 1"], ["message 2"]]


async def test_when_a_runs_second_message_must_wait_only_it_goes_again() -> None:
    store, clock = MemoryStore(), FakeClock(NOW)
    sender = Joins([None, RetryLater("429", retry_after=30)], per_message=2)
    courier_ = courier(store, sender, clock)
    await enqueue(store, [turn_item("Ev1", n) for n in range(4)])
    assert await courier_.drain() == 2
    clock.advance(seconds=30)
    assert await courier_.drain() == 2
    assert sender.messages == [["message 0", "message 1"], ["message 2", "message 3"]]


async def test_a_run_refused_together_goes_part_by_part_and_only_the_refused_part_fails() -> None:
    store, clock = MemoryStore(), FakeClock(NOW)
    sender = Joins(per_message=2)
    sender.refuses = "message 3"  # e.g. a block Slack cannot show, in the run's second message
    await enqueue(store, [turn_item("Ev1", n) for n in range(4)])
    assert await courier(store, sender, clock).drain() == 3
    assert sender.messages == [["message 0", "message 1"], ["message 2"]]  # none twice
    [failed] = [i for i in await store.outbox_items() if i.failed]
    assert failed.id == "Ev1:3" and failed.failed == "invalid_blocks"


class SlowMarks(MemoryStore):
    """A store whose "sent" marks wait until `release` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()

    async def delivered(self, done: Sequence[Delivered]) -> None:
        await self.release.wait()
        await super().delivered(done)


async def test_the_next_round_goes_while_the_last_ones_marks_are_being_written() -> None:
    class Chats(Joins):  # message 1 going is when another chat's message comes in
        async def send_together(
            self, items: Sequence[OutboxItem], replies: Sequence[Resolved]
        ) -> None:
            await super().send_together(items, replies)
            if items[0].id == "i1":
                await enqueue(store, [item(2, chat="D2")])

    store, clock, sender = SlowMarks(), FakeClock(NOW), Chats()
    await enqueue(store, [item(1)])
    drain = asyncio.create_task(courier(store, sender, clock).drain())
    for _ in range(100):
        await asyncio.sleep(0)
    assert sender.messages == [["message 1"], ["message 2"]]  # not held up by the write
    assert not drain.done()  # a drain ends with what went marked
    store.release.set()
    assert await drain == 2
    assert await store.outbox_items() == []


async def test_the_courier_sends_a_turns_reply_while_the_last_drains_marks_are_written() -> None:
    """The courier's own loop does not wait for a drain's "sent" marks before the next: in a
    rush the marks queue behind the turns' own writes, and a reply handed over meanwhile
    waited for them (30-40 ms with twenty people)."""
    store, clock, sender = SlowMarks(), FakeClock(NOW), Joins()
    courier_ = courier(store, sender, clock)
    until = NOW + timedelta(minutes=2)
    first, second = (
        replace(turn_item(f"Ev{n}", 0, chat=f"D{n}"), claimed_by="test", claimed_until=until)
        for n in (1, 2)
    )
    courier_.start()
    try:
        for handed in (first, second):
            await enqueue(store, [handed])
            courier_.take([handed])
            for _ in range(100):
                await asyncio.sleep(0)
        assert sender.messages == [["message 0"], ["message 0"]]  # both, marks still waiting
        assert len(await store.outbox_items()) == 2
        store.release.set()
        for _ in range(100):
            await asyncio.sleep(0)
        assert await store.outbox_items() == []
    finally:
        store.release.set()
        await courier_.stop()


async def test_a_failed_write_of_the_marks_is_reported_and_made_by_the_next_drain() -> None:
    class DownOnce(MemoryStore):
        def __init__(self) -> None:
            super().__init__()
            self.down = True

        async def delivered(self, done: Sequence[Delivered]) -> None:
            if self.down:
                self.down = False
                raise StorageError("disk full")
            await super().delivered(done)

    store, clock, sender = DownOnce(), FakeClock(NOW), Joins()
    courier_ = courier(store, sender, clock)
    await enqueue(store, [item(1)])
    with pytest.raises(StorageError):
        await courier_.drain()  # sent, but not marked: said, for the courier's loop to log
    assert [i.id for i in await store.outbox_items()] == ["i1"]
    assert await courier_.drain() == 0  # nothing sent again; the marks written now
    assert sender.messages == [["message 1"]] and await store.outbox_items() == []


async def test_a_turns_reply_waits_behind_an_earlier_one_waiting_for_its_retry() -> None:
    store, clock = MemoryStore(), FakeClock(NOW)
    sender = Flaky({"message 1": RetryLater("429", retry_after=30)})
    courier_ = courier(store, sender, clock)
    await enqueue(store, [item(1)])
    assert await courier_.drain() == 0  # message 1 waits 30 s
    # The person answers again: the turn's reply is claimed in its own write and handed over.
    until = NOW + timedelta(minutes=2)
    later = replace(turn_item("Ev2", 0), attempts=1, claimed_by="test", claimed_until=until)
    await enqueue(store, [later])
    courier_.take([later])
    assert await courier_.drain() == 0 and sender.sent == []  # it does not go first
    clock.advance(seconds=30)
    assert await courier_.drain() == 2
    assert sender.sent == ["message 1", "message 0"]  # in the order they were made

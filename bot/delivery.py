"""The courier: delivers what the outbox holds, in order, until each item has gone.

A platform outage delays a message but never loses it: temporary failures are retried with
backoff (honouring a server's Retry-After) for as long as it takes, across restarts, because
the item stays in the store until the platform has accepted it. Items for one recipient go in
order: while one is waiting, the ones queued after it wait too.

Each reply is resolved here, before any platform code runs (`bot.resolve`): a sender gets it
complete. A leadership case card goes through `bot.leadership`, the one post algorithm, and
the posts it keeps for the case come back as the item's receipt.

A permanent refusal is never silent. A leadership case card the platform will not take falls
back to its minimal form (the reference, and how to read the case); if even that is refused,
the person who filed the report is told to tell their DSL themselves. Every item refused for
good is logged, kept as failed (counted on /healthz through `undelivered`) and pruned later.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from enum import Enum

from bot import leadership
from bot.codec import reply_from_dict, reply_to_dict
from bot.errors import DeliveryRefused, RetryLater, StorageError, error_reference, log_bug
from bot.facts import Facts
from bot.model import JSON, Audience, CaseCard, Notice, OutboxItem, Person, Platform
from bot.outbox import item_lane, outbox_item, to_reply_to, together
from bot.ports import Clock, Delivered, LeadershipPosts, Sender, Store, UnitOfWork
from bot.resolve import Resolver
from bot.views import Resolved

log = logging.getLogger(__name__)

MARKS_AT_STOP = 5.0  # seconds a stop waits for the last "sent" marks to be written

# How long /healthz lists a case whose full leadership card was refused (as refused items).
SHORTENED_KEPT = timedelta(days=14)

NOT_TOLD = (
    "I couldn't send report {ref} to the leadership team automatically. Please tell your "
    "Designated Safeguarding Lead (DSL) or headteacher about it yourself now, and quote {ref}. "
    "Your report is saved."
)


class Went(Enum):
    """What became of a delivery attempt that did not deliver."""

    LATER = "later"  # to be retried: the items queued behind it wait
    REFUSED = "refused"  # for good: kept aside as failed


def _to_people(lane: list[OutboxItem]) -> bool:
    return lane[0].audience == Audience.PERSON  # a lane is one chat, or one case's post


class Courier:
    """Delivers one platform's items: those a turn claimed in its own commit (handed over by
    `take`, so they go at once), and whatever else is due (claimed here, with a lease)."""

    def __init__(
        self,
        store: Store,
        sender: Sender,
        posts: LeadershipPosts,
        platform: Platform,
        clock: Clock,
        *,
        facts: Facts,
        owner: str,
        lease: timedelta = timedelta(minutes=2),
        base_delay: float = 1.0,
        max_delay: float = 300.0,
        before_round: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.store = store
        self.sender = sender
        self.posts = posts
        self.platform = platform
        self.clock = clock
        self.resolver = Resolver(store, facts, clock)
        self.owner = owner
        self.lease = lease
        self.base_delay = base_delay
        self.max_delay = max_delay
        self._before_round = before_round
        self._taken: list[OutboxItem] = []
        self._wake = asyncio.Event()
        self._draining = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._marks: list[Delivered] = []  # sent, not yet marked in the store
        self._writing: list[Delivered] = []  # being marked now
        self._waiting: dict[str, datetime] = {}  # lanes put off for a retry, until when
        self._marker: asyncio.Task[None] | None = None
        self._mark_error: BaseException | None = None

    def take(self, items: Sequence[OutboxItem]) -> None:
        """Items committed already claimed by this instance: send them now, in order."""
        mine = [i for i in items if i.platform == self.platform and i.claimed_by == self.owner]
        if mine:
            self._taken += mine
            self.wake()

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"courier-{self.platform}")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        self._mark([])  # what went is marked, if the store can
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._marked(), MARKS_AT_STOP)
        if left := len(self._marks) + len(self._writing):
            log.warning(
                "%d %s deliveries sent but not marked at stop: they are checked for (Slack) "
                "or may be sent again (Teams) after the restart",
                left,
                self.platform,
            )

    def use_facts(self, facts: Facts) -> None:
        """The school's settings changed: resolve replies with these facts from now on."""
        self.resolver.facts = facts

    async def drain(self, *, marks: bool = True) -> int:
        """Deliver everything there is to deliver now; returns how many items went. With
        `marks`, return once what went is marked in the store; the courier's own loop does
        not wait (what a turn hands over meanwhile goes at once, see `_mark`), and hears of
        a failed write at its next drain."""
        async with self._draining:  # one drain at a time, or an item could go twice
            self._raise_mark_error()
            if self._before_round is not None:  # e.g. catch up on the school's settings
                await self._before_round()
            self._mark([])  # what a failed write left, once `_run` has waited
            sent = 0
            while True:
                taken, claimed = await self._next_batch()
                if not taken and not claimed:
                    break
                sent += await self._round(taken, claimed)
                if not claimed and not self._taken:
                    # Only a turn's own items went, and nothing else was due: asking the
                    # store again now would find nothing (what falls due later wakes it).
                    break
            if marks:
                await self._marked()
            return sent

    async def _next_batch(self) -> tuple[list[OutboxItem], list[OutboxItem]]:
        """The items turns handed over, and the others the store has due (claimed now)."""
        taken, self._taken = self._taken, []
        claimed = await self.store.claim(self.platform, self.owner, self.clock.now(), self.lease)
        # Not those sent and still being marked (a write slower than the lease).
        ids = {i.id for i in taken} | {d.item_id for d in (*self._marks, *self._writing)}
        return taken, [i for i in claimed if i.id not in ids]

    async def _round(self, taken: list[OutboxItem], claimed: list[OutboxItem]) -> int:
        lanes: dict[str, list[OutboxItem]] = {}
        for item in sorted([*taken, *claimed], key=lambda item: item.seq):
            lanes.setdefault(item_lane(item), []).append(item)
        await self._hold_behind_retries(lanes, {i.id for i in claimed})
        # Lanes go out side by side, so one slow chat does not hold up everyone else's; people's
        # chats first, and the leadership posts once their replies are out: a post's card, its
        # channel check and its receipt's write would share the loop with the replies people
        # wait for (in a rush of submits, twenty people's).
        people = [items for items in lanes.values() if _to_people(items)]
        posts = [items for items in lanes.values() if not _to_people(items)]
        lanes_done: list[list[Delivered] | BaseException] = []
        for group in (people, posts):
            lanes_done += await asyncio.gather(
                *(self._deliver_lane(items) for items in group), return_exceptions=True
            )
        done = [d for lane in lanes_done if not isinstance(lane, BaseException) for d in lane]
        self._mark([d for d in done if d.receipt is None])
        for lane in lanes_done:
            if isinstance(lane, BaseException):  # (a receipt not saved) once the rest are marked
                raise lane
        return len(done)

    async def _hold_behind_retries(
        self, lanes: dict[str, list[OutboxItem]], claimed: set[str]
    ) -> None:
        """A turn's items for a chat whose earlier item waits for a retry wait behind it: the
        store's claim keeps a lane in order, and what a turn hands over would skip it. (A lane
        the store let this round claim from is not waiting any more.)"""
        now = self.clock.now()
        self._waiting = {lane: due for lane, due in self._waiting.items() if due > now}
        for lane, items in lanes.items():
            if any(i.id in claimed for i in items):
                self._waiting.pop(lane, None)
        held = [i for lane in [*lanes] if lane in self._waiting for i in lanes.pop(lane)]
        if held:
            await self.store.reschedule(*held)  # claim freed: claimed with the lane, in order

    def _mark(self, marks: list[Delivered]) -> None:
        """Mark what went, in the background: the next round need not wait for the write
        (the items stay claimed until it is made, and are not claimed again meanwhile)."""
        self._marks += marks
        if self._marks and (self._marker is None or self._marker.done()):
            self._marker = asyncio.create_task(self._write_marks())
            self._marker.add_done_callback(self._mark_written)

    async def _write_marks(self) -> None:
        while self._marks:
            self._writing, self._marks = self._marks, []
            try:
                await self.store.delivered(self._writing)  # one write for what went meanwhile
            except BaseException:
                self._marks = self._writing + self._marks  # kept, for the next drain to write
                raise
            finally:
                self._writing = []

    def _mark_written(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            self._mark_error = task.exception()  # retrieved here, raised by `_marked`

    async def _marked(self) -> None:
        """Wait for the marks; a failed write raises here, for `_run` to report (and the
        next drain, after its backoff, writes what it left)."""
        if self._marker is not None:
            await asyncio.wait([self._marker])  # a drain cancelled here leaves the write be
        self._raise_mark_error()

    def _raise_mark_error(self) -> None:
        error, self._mark_error = self._mark_error, None
        if error is not None:
            raise error

    async def _deliver_lane(self, items: list[OutboxItem]) -> list[Delivered]:
        """A lane's items in order, stopping at the first that must wait for a retry (one
        refused for good is kept aside, and the next goes). Those with a receipt are marked
        delivered already; the rest are the round's to mark."""
        sent: list[Delivered] = []
        runs = together(items)
        for r, run in enumerate(runs):
            for n, went in enumerate(await self._deliver_run(run)):
                if isinstance(went, Delivered):
                    if went.receipt is not None:
                        # A case's posts changed: written at once, with the mark, so that the
                        # lane's next item reads them, and so that a platform that cannot be
                        # searched for an earlier post (Teams) does not post twice after a crash.
                        await self.store.delivered([went])
                    sent.append(went)
                elif went is Went.LATER:
                    behind = [*run[n + 1 :], *(i for later in runs[r + 1 :] for i in later)]
                    if behind:  # claimed but not sent: free them to wait behind it
                        await self.store.reschedule(*behind)
                    return sent
        return sent

    async def _deliver_run(self, run: list[OutboxItem]) -> list[Delivered | Went]:
        """One turn's replies to a person, in as few messages as the platform shows them,
        one message at a time, stopping at the first that must wait (outcomes in run order)."""
        if len(run) == 1:
            return [await self._deliver(run[0])]
        place = Person(run[0].platform, run[0].workspace, "")
        try:
            replies = [await self.resolver.reply(reply_from_dict(i.reply), place) for i in run]
        except Exception:  # each on its own, so that only the one that cannot be made fails
            return await self._one_by_one(run)
        outcomes: list[Delivered | Went] = []
        for message in self.sender.joined(replies):
            items = [run[n] for n in message]
            outcomes += await self._deliver_message(items, [replies[n] for n in message])
            if outcomes[-1] is Went.LATER:
                break
        return outcomes

    async def _deliver_message(
        self, items: list[OutboxItem], replies: list[Resolved]
    ) -> list[Delivered | Went]:
        """One message of several replies. Refused, each goes on its own, so that only a part
        the platform will not take (a block it cannot show) is lost."""
        if len(items) == 1:
            return [await self._deliver(items[0])]
        try:
            await self.sender.send_together(items, replies)
            return [Delivered(i.id) for i in items]
        except DeliveryRefused:
            return await self._one_by_one(items)
        except RetryLater as e:  # the first waits for the retry; the rest behind it
            await self._retry(items[0], e.retry_after, str(e))
        except Exception as e:
            code = error_reference()
            log_bug(log, code, e)
            await self._retry(items[0], None, f"unexpected {type(e).__name__} ({code})")
        return [Went.LATER]

    async def _one_by_one(self, run: list[OutboxItem]) -> list[Delivered | Went]:
        outcomes: list[Delivered | Went] = []
        for item in run:
            outcomes.append(await self._deliver(item))
            if outcomes[-1] is Went.LATER:
                break
        return outcomes

    async def _run(self) -> None:
        failures = 0
        while True:
            self._wake.clear()
            try:
                await self.drain(marks=False)
                failures = 0
            except StorageError as e:
                failures += 1
                if failures == 1:  # once per outage, not once a second
                    log.error(
                        "%s deliveries paused: the outbox cannot be saved (%s)", self.platform, e
                    )
            except Exception as e:  # the courier must outlive any one bad item or store hiccup
                failures += 1
                log_bug(log, error_reference(), e)
            if failures:
                await asyncio.sleep(min(60.0, 0.5 * 2 ** min(failures, 7)))
            else:
                await self._sleep_until_due()

    async def _sleep_until_due(self) -> None:
        if self._wake.is_set():  # a turn handed over items meanwhile: no need to ask when
            return
        due = await self.store.next_due_at(self.platform)
        timeout = None
        if due is not None:
            timeout = max(0.05, min(60.0, (due - self.clock.now()).total_seconds()))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout)

    async def _deliver(self, item: OutboxItem) -> Delivered | Went:
        """Send one item; `item.attempts` counts its claims, this one included (more than one:
        an earlier attempt may have got through, so a post is looked for before it is made)."""
        try:
            return await self._send(item)
        except RetryLater as e:
            await self._retry(item, e.retry_after, str(e))
            return Went.LATER
        except DeliveryRefused as e:
            return await self._refused(item, str(e)[:200])
        except Exception as e:
            code = error_reference()
            log_bug(log, code, e)
            await self._retry(item, None, f"unexpected {type(e).__name__} ({code})")
            return Went.LATER

    async def _send(self, item: OutboxItem) -> Delivered:
        """Resolve the reply and send it; a case card's receipt: the case's posts, if changed."""
        reply = reply_from_dict(item.reply)
        if item.audience == Audience.LEADERSHIP and isinstance(reply, CaseCard):
            key = leadership.receipt_key(self.platform, reply.reference)
            kept = leadership.kept_posts(await self.store.get_meta(key))
            if reply.update and not kept and await self._first_post_queued(reply.reference):
                return Delivered(item.id)  # that post will show the case as it is when it goes
            case = await self.resolver.card(reply.reference)
            now_kept = await leadership.deliver(item, reply, case, kept, self.posts)
            if now_kept != kept:
                return Delivered(item.id, key, leadership.kept_doc(now_kept))
            return Delivered(item.id)
        if item.audience == Audience.LEADERSHIP and not isinstance(reply, Notice):
            raise DeliveryRefused(f"the leadership channel cannot show {type(reply).__name__}")
        place = Person(item.platform, item.workspace, "")  # whose school's records it may show
        await self.sender.send(item, await self.resolver.reply(reply, place))
        return Delivered(item.id)

    async def _refused(self, item: OutboxItem, reason: str) -> Delivered | Went:
        """A permanent refusal: a full case card is tried once more as its minimal form, which
        names the case and says where to read it; anything else fails for good."""
        minimal = _minimal(item)
        if minimal is not None:
            log.error(
                "the %s leadership post for %s was refused (%s); sending a minimal card instead",
                self.platform,
                item.case_reference,
                reason,
            )
            await self._note_shortened(item.case_reference)
            item.reply = minimal
            return await self._deliver(item)
        if item.reply_to:  # first, so a crash before the next write still leaves them told
            await self._tell_reporter(item)
        item.failed, item.failed_at = reason, self.clock.now()
        await self.store.reschedule(item)
        log.error(
            "delivery refused for good: outbox item %s (%s, case %s): %s",
            item.id,
            item.audience,
            item.case_reference or "none",
            reason,
        )
        return Went.REFUSED

    async def _note_shortened(self, reference: str) -> None:
        """Keep, for /healthz, that a case's full card was refused: leaders got only its
        minimal form. References and times only; entries go after SHORTENED_KEPT."""
        key = f"shortened:{self.platform}"
        now = self.clock.now()
        kept = _recent(await self.store.get_meta(key), now)
        kept[reference] = now.isoformat()
        await self.store.commit(UnitOfWork(meta={key: kept}))

    async def _tell_reporter(self, item: OutboxItem) -> None:
        """Leadership were not told, so the person who reported must be, in plain words."""
        ref = item.case_reference
        notice = Notice(NOT_TOLD.format(ref=ref), tone="danger", title="Leadership not told")
        await self.store.commit(
            UnitOfWork(outbox=[to_reply_to(item, notice, "not-told", self.clock.now())])
        )
        self.wake()

    async def _first_post_queued(self, reference: str) -> bool:
        """Is the case's first leadership post still waiting (e.g. for a retry)? An update
        made meanwhile (claimed by its turn, it can go first) then has nothing to update."""
        return any(
            i.platform == self.platform
            and i.audience == Audience.LEADERSHIP
            and i.case_reference == reference
            and i.reply.get("type") == "case_card"
            and not i.reply.get("update")
            and not i.failed
            for i in await self.store.outbox_items()
        )

    async def late_post(self, item: OutboxItem, post: JSON) -> None:
        """A post whose id arrived after the attempt that made it gave up (Teams): queued as
        an update behind the rest of the case's lane, which keeps it and brings it up to date."""
        queued = leadership.late_post_item(item, post, self.clock.now())
        await self.store.commit(UnitOfWork(outbox=[queued]))
        self.wake()

    async def tell(
        self, item_id: str, workspace: str, address: dict[str, str], notice: Notice
    ) -> None:
        """A message a front end itself owes a chat or channel (a welcome, a confirmation),
        through the outbox like the rest. Ids come from what caused it: once only."""
        place = Person(self.platform, workspace, "")  # a chat or channel, not a person
        item = outbox_item(place, Audience.PERSON, address, notice, item_id, self.clock.now())
        await self.store.commit(UnitOfWork(outbox=[item]))
        self.wake()

    async def hurry_leadership(self) -> None:
        """Leadership posts waiting (for a channel to post in) go now, not at their next look."""
        now = self.clock.now()
        for item in await self.store.outbox_items():
            waiting = item.platform == self.platform and not item.failed and not item.claimed_by
            if (
                waiting
                and item.audience == Audience.LEADERSHIP
                and item.due_at
                and item.due_at > now
            ):
                item.due_at = now
                await self.store.reschedule(item)
        self.wake()

    async def undelivered(self) -> JSON:
        """What was refused for good and not yet pruned: counts and case references only."""
        failed = await self.store.undelivered(self.platform)
        summary: JSON = {}
        for audience, key in (
            (Audience.LEADERSHIP, "leadership_posts"),
            (Audience.PERSON, "messages"),
        ):
            items = [i for i in failed if i.audience == audience]
            cases = sorted({i.case_reference for i in items if i.case_reference})
            summary[key] = {"count": len(items), "cases": cases}
        held = await self.store.get_meta(f"shortened:{self.platform}")
        shortened = sorted(_recent(held, self.clock.now()))
        summary["leadership_posts_shortened"] = {"count": len(shortened), "cases": shortened}
        return summary

    async def _retry(self, item: OutboxItem, retry_after: float | None, reason: str) -> None:
        backoff = min(self.max_delay, self.base_delay * 2 ** min(item.attempts - 1, 16))
        delay = retry_after if retry_after is not None else backoff * random.uniform(0.8, 1.2)
        item.due_at = self.clock.now() + timedelta(seconds=delay)
        await self.store.reschedule(item)
        self._waiting[item_lane(item)] = item.due_at
        log.warning(
            "delivery of %s to %s failed (%s); attempt %d, retrying in %.1fs",
            item.id,
            self.platform,
            reason,
            item.attempts,
            delay,
        )


def _recent(held: JSON | None, now: datetime) -> dict[str, str]:
    """The shortened-card entries (reference: when) younger than SHORTENED_KEPT."""
    entries = held.items() if isinstance(held, dict) else ()
    return {
        ref: at
        for ref, at in entries
        if isinstance(at, str) and now - datetime.fromisoformat(at) < SHORTENED_KEPT
    }


def _minimal(item: OutboxItem) -> JSON | None:
    """The minimal form of a leadership case card, or None if the item has no smaller form."""
    if item.audience != Audience.LEADERSHIP or item.reply.get("type") != "case_card":
        return None
    card = reply_from_dict(item.reply)
    if not isinstance(card, CaseCard) or card.minimal:
        return None
    return reply_to_dict(replace(card, minimal=True))

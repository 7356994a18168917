"""The courier: delivers what the outbox holds, in order, until each item has gone.

A platform outage delays a message but never loses it: temporary failures are retried with
backoff (honouring a server's Retry-After) for as long as it takes, across restarts, because
the item stays in the store until the platform has accepted it. Items for one recipient go in
order: while one is waiting, the ones queued after it wait too.

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
from collections.abc import Sequence
from datetime import timedelta
from enum import Enum

from bot import codec
from bot.codec import reply_to_dict
from bot.errors import DeliveryRefused, RetryLater, StorageError, error_reference, log_bug
from bot.model import JSON, Audience, CaseCard, Notice, OutboxItem, Platform
from bot.outbox import lane_of, to_reply_to
from bot.ports import Clock, Delivered, Sender, Store, UnitOfWork

log = logging.getLogger(__name__)

NOT_TOLD = (
    "I couldn't send report {ref} to the leadership team automatically. Please tell your "
    "Designated Safeguarding Lead (DSL) or headteacher about it yourself now, and quote {ref}. "
    "Your report is saved."
)


class Went(Enum):
    """What became of a delivery attempt that did not deliver."""

    LATER = "later"  # to be retried: the items queued behind it wait
    REFUSED = "refused"  # for good: kept aside as failed


class Courier:
    """Delivers one platform's items: those a turn claimed in its own commit (handed over by
    `take`, so they go at once), and whatever else is due (claimed here, with a lease)."""

    def __init__(
        self,
        store: Store,
        sender: Sender,
        platform: Platform,
        clock: Clock,
        *,
        owner: str,
        lease: timedelta = timedelta(minutes=2),
        base_delay: float = 1.0,
        max_delay: float = 300.0,
    ) -> None:
        self.store = store
        self.sender = sender
        self.platform = platform
        self.clock = clock
        self.owner = owner
        self.lease = lease
        self.base_delay = base_delay
        self.max_delay = max_delay
        self._taken: list[OutboxItem] = []
        self._wake = asyncio.Event()
        self._draining = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

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

    async def drain(self) -> int:
        """Deliver everything there is to deliver now; returns how many items went."""
        async with self._draining:  # one drain at a time, or an item could go twice
            sent = 0
            while batch := await self._next_batch():
                sent += await self._round(batch)
            return sent

    async def _next_batch(self) -> list[OutboxItem]:
        taken, self._taken = self._taken, []
        claimed = await self.store.claim(self.platform, self.owner, self.clock.now(), self.lease)
        ids = {i.id for i in taken}
        return [*taken, *(i for i in claimed if i.id not in ids)]

    async def _round(self, batch: list[OutboxItem]) -> int:
        lanes: dict[str, list[OutboxItem]] = {}
        for item in sorted(batch, key=lambda i: i.seq):
            lanes.setdefault(lane_of(codec.outbox_to_dict(item)), []).append(item)
        # Lanes go out side by side, so one slow chat does not hold up everyone else's.
        done = await asyncio.gather(*(self._deliver_lane(items) for items in lanes.values()))
        delivered = [d for lane in done for d in lane]
        if delivered:
            await self.store.delivered(delivered)  # one write for the round, off the reply path
        return len(delivered)

    async def _deliver_lane(self, items: list[OutboxItem]) -> list[Delivered]:
        """A lane's items in order, stopping at the first that must wait for a retry (one
        refused for good is kept aside, and the next goes)."""
        sent: list[Delivered] = []
        for n, item in enumerate(items):
            went = await self._deliver(item)
            if isinstance(went, Delivered):
                sent.append(went)
            elif went is Went.LATER:
                if items[n + 1 :]:  # claimed but not sent: free them to wait behind it
                    await self.store.reschedule(*items[n + 1 :])
                break
        return sent

    async def _run(self) -> None:
        failures = 0
        while True:
            self._wake.clear()
            try:
                await self.drain()
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
        due = await self.store.next_due_at(self.platform)
        timeout = None
        if due is not None:
            timeout = max(0.05, min(60.0, (due - self.clock.now()).total_seconds()))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout)

    async def _deliver(self, item: OutboxItem) -> Delivered | Went:
        """Send one item; `item.attempts` counts its claims, this one included (more than one:
        an earlier attempt may have got through, and the sender looks before sending)."""
        try:
            receipt = await self.sender.send(item)
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
        if receipt and _is_case_card(item):  # a post (or a repost) whose id updates need
            return Delivered(item.id, f"post:{self.platform}:{item.case_reference}", receipt)
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

    async def _tell_reporter(self, item: OutboxItem) -> None:
        """Leadership were not told, so the person who reported must be, in plain words."""
        ref = item.case_reference
        notice = Notice(NOT_TOLD.format(ref=ref), tone="danger", title="Leadership not told")
        await self.store.commit(
            UnitOfWork(outbox=[to_reply_to(item, notice, "not-told", self.clock.now())])
        )
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
        return summary

    async def _retry(self, item: OutboxItem, retry_after: float | None, reason: str) -> None:
        backoff = min(self.max_delay, self.base_delay * 2 ** min(item.attempts - 1, 16))
        delay = retry_after if retry_after is not None else backoff * random.uniform(0.8, 1.2)
        item.due_at = self.clock.now() + timedelta(seconds=delay)
        await self.store.reschedule(item)
        log.warning(
            "delivery of %s to %s failed (%s); attempt %d, retrying in %.1fs",
            item.id,
            self.platform,
            reason,
            item.attempts,
            delay,
        )


def _minimal(item: OutboxItem) -> JSON | None:
    """The minimal form of a leadership case card, or None if the item has no smaller form."""
    reply = item.reply
    if item.audience != Audience.LEADERSHIP or reply.get("type") != "case_card":
        return None
    if reply.get("minimal"):
        return None
    card = CaseCard(str(reply["reference"]), bool(reply.get("update")), minimal=True)
    return reply_to_dict(card)


def _is_case_card(item: OutboxItem) -> bool:
    """The leadership post of a case, whose id later updates must find."""
    return item.audience == Audience.LEADERSHIP and item.reply.get("type") == "case_card"

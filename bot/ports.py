"""The interfaces the engine needs from the world, declared here so `bot/` depends on nothing.

`storage/` implements `Store` (TinyDB on disk, Postgres for a hosted deployment, and an
in-memory twin for tests); the same contract tests run against all of them. Adapters implement
`Sender`, `LeadershipPosts` and `Membership`.

The store's one write is `commit(UnitOfWork)`: everything a turn (or a background job)
changes – the delivery mark, the conversation, cases, new references, outbox items and small
facts – applied together or not at all. A redelivered turn is recognised by that write itself,
and a case changed meanwhile by someone else makes it fail with `Conflict` rather than
overwrite: the caller reads again and tries once more.

Outbox items are sent by whoever holds their claim: the turn that made them claims them in its
own commit (so its replies go out at once, with no second write), and a courier claims what is
left (`claim`), each claim ending at a lease so that a crashed instance's items are sent by
another. An item's `attempts` count claims, so a sender knows to look before sending again.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from typing import Protocol

from bot.errors import Conflict as Conflict  # its home is bot.errors; storage/ imports it here
from bot.model import JSON, Case, Conversation, OutboxItem, Person, Platform
from bot.views import Resolved, ResolvedCard

PAGE_SIZE = 100  # cases a page: decoded in about 5 ms (a stall of two pages at most)


class _Keep(Enum):
    KEEP = "keep"


KEEP = _Keep.KEEP
"""`UnitOfWork.conversation = KEEP`: this unit does not touch the conversation."""


@dataclass
class UnitOfWork:
    """Everything one turn or job changes, written in one atomic step.

    - `delivery_id`: the inbound delivery this unit answers; if it was applied before, the
      whole unit is skipped and `commit` returns False.
    - `conversation`: the person's conversation after the turn (None ends it; KEEP: as it is).
    - `cases`: cases to write. Each carries the `version` it was read at (0 for a new case,
      which must not exist); the store writes version + 1, or raises `Conflict`.
    - `outbox`: items to queue; an id queued or delivered before is ignored.
    - `meta`: small facts to set (None removes one).
    """

    person_key: str = ""
    conversation: Conversation | _Keep | None = KEEP
    delivery_id: str | None = None
    cases: Sequence[Case] = field(default_factory=list)
    outbox: Sequence[OutboxItem] = field(default_factory=list)
    meta: Mapping[str, JSON | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Delivered:
    """A sent item, with the receipt worth keeping (the post's id), if any."""

    item_id: str
    receipt_key: str = ""
    receipt: JSON | None = None


class Store(Protocol):
    # -- reads ---------------------------------------------------------------------------------
    async def conversation(self, person_key: str) -> Conversation | None: ...

    async def conversations(self) -> list[Conversation]:
        """Every conversation held (a subject access request searches them)."""
        ...

    async def seen(self, delivery_id: str) -> bool:
        """A quick look, before the work of a turn; `commit` is what decides."""
        ...

    async def case(self, reference: str) -> Case | None: ...

    async def case_for_conversation(self, conversation_id: str) -> Case | None: ...

    async def cases(
        self, *, open_only: bool = False, reporter: str = "", handles: Sequence[str] = ()
    ) -> list[Case]:
        """Cases oldest first; filters: still open, made by `reporter` (a person key), about
        any of `handles` (TikTok accounts). Open cases and handles are found by index."""
        ...

    def case_pages(self, size: int = PAGE_SIZE) -> AsyncIterator[list[Case]]:
        """Every case, oldest first as `cases()` orders them, `size` at a time. For a reader
        of every case (a leader's export): keeping only what it makes of each page, it never
        holds them all decoded at once, whose garbage collection would stall the event loop."""
        ...

    async def cases_due(self, now: datetime) -> list[Case]:
        """Open cases whose next reminder (`Case.remind_at`) has come, by index."""
        ...

    async def take_reference(self, year: int) -> str:
        """Hand out the next reference of the year, e.g. TT-2026-0007: two callers never get
        the same one, and a saved case's is never handed out again (even after a delete). A
        submit that then fails leaves a gap, as a database sequence does. Postgres makes it
        durable in a write of its own (instances share the counter; choosing it inside the
        submit's write would make every submit at once but one retry); TinyDB, one process,
        keeps it in memory until the case's own write counts it, so a number no case was
        saved with (and so no one saw) may be handed out again after a restart."""
        ...

    async def get_meta(self, key: str) -> JSON | None: ...

    # -- the one write ---------------------------------------------------------------------------
    async def commit(self, unit: UnitOfWork) -> bool:
        """Apply the unit atomically. False: its delivery was applied before (nothing done).

        Raises `Conflict` (nothing written) if a case or reference was taken meanwhile. Items
        in the unit that carry a claim (`claimed_by`) are the committer's to send now.
        """
        ...

    # -- the outbox --------------------------------------------------------------------------------
    async def claim(
        self, platform: Platform, owner: str, now: datetime, lease: timedelta, limit: int = 50
    ) -> list[OutboxItem]:
        """Take the items of a platform that are due and not claimed by anyone (or whose claim
        has lapsed), oldest first: each is returned with `attempts` + 1 and a claim until
        `now + lease`. Whole lanes only: after an item that is waiting, its lane waits too."""
        ...

    async def delivered(self, done: Sequence[Delivered]) -> None:
        """Mark items sent, in one write, keeping their receipts; their ids are remembered so
        they never go twice."""
        ...

    async def reschedule(self, *items: OutboxItem) -> None:
        """Save failed attempts: the item's due time or permanent failure, claim released.
        Items already delivered or dropped are skipped, and so are items claimed since by
        another instance (this one's lease ran out): their claim is theirs, not ours to free."""
        ...

    async def next_due_at(self, platform: Platform) -> datetime | None:
        """When the courier next has something to do (an item due, or a claim lapsing)."""
        ...

    async def undelivered(self, platform: Platform) -> list[OutboxItem]:
        """Items the platform refused for good (`failed`), oldest first, until pruned."""
        ...

    async def outbox_items(self) -> list[OutboxItem]:
        """Every item not yet delivered, failed ones too, every platform, oldest first."""
        ...

    # -- a reviewed deletion -------------------------------------------------------------------
    async def delete_case(self, reference: str, tombstone: Case) -> None:
        """Replace a case by a content-free tombstone (a reviewed, recorded deletion).

        Also drops every stored copy of what it said: outbox items about it, pending or
        failed (those tagged with the case, and those of the conversation it was reported in),
        that conversation if it is still held, and the meta kept for it (keys ending `:REF`),
        except the content-free post receipts (`post:PLATFORM:REF`), so that its leadership
        posts can still be found and scrubbed.
        """
        ...

    async def close(self) -> None: ...


class SchoolStores(Protocol):
    """A database that holds many schools, each row under its school (Postgres): a store
    scoped to each, and which of them have work waiting."""

    def for_school(self, school: str) -> Store: ...

    async def schools_with_work(self, now: datetime) -> list[str]: ...

    async def refused_by_school(self) -> dict[str, dict[str, int]]:
        """Each school's items refused for good, counted by audience (`Audience` values)."""
        ...


class Sender(Protocol):
    """A front end's delivery of one outbox item, its reply already resolved: a person's
    message, or a notice (a reminder) for the leadership channel. Case cards for the
    leadership channel go through `LeadershipPosts` instead.

    Raises `bot.errors.RetryLater` for a temporary failure, `bot.errors.DeliveryRefused` for a
    permanent one.
    """

    async def send(self, item: OutboxItem, reply: Resolved) -> None: ...

    def joined(self, replies: Sequence[Resolved]) -> list[list[int]]:
        """One turn's replies to a person (`bot.outbox.together`), as the platform shows them:
        which go in one message (their indices, in order; each reply in exactly one)."""
        ...

    async def send_together(self, items: Sequence[OutboxItem], replies: Sequence[Resolved]) -> None:
        """One message of the replies `joined` put together: all of it goes, or it raises.
        Once-only as `send` is: on a later attempt, what already went is not sent again."""
        ...


def each_alone(replies: Sequence[Resolved]) -> list[list[int]]:
    """`Sender.joined` for a front end that shows each reply on its own."""
    return [[n] for n in range(len(replies))]


async def one_at_a_time(
    sender: Sender, items: Sequence[OutboxItem], replies: Sequence[Resolved]
) -> None:
    """`Sender.send_together` for a front end that shows each reply on its own."""
    for item, reply in zip(items, replies, strict=True):
        await sender.send(item, reply)


class LeadershipPosts(Protocol):
    """A front end's leadership channel, as `bot.leadership` drives it: every decision (which
    form of the card, update or post, when to look for an earlier post, what to scrub) is made
    there, once for every platform. A post id is the platform's own, content-free (e.g. Slack's
    channel and ts). Each call raises as `Sender.send` does.
    """

    async def private(self) -> bool:
        """May case details be shown where the cards go?"""
        ...

    async def post(self, item: OutboxItem, card: ResolvedCard) -> JSON:
        """Post the card; returns the new post's id."""
        ...

    async def update(self, post: JSON, card: ResolvedCard) -> bool:
        """Replace that post's content with the card; False if the post is gone."""
        ...

    async def find_earlier(self, item: OutboxItem) -> JSON | None:
        """The post an earlier attempt at `item` made after all (by the item's id), if the
        platform can tell."""
        ...

    async def scrub(self, post: JSON, text: str) -> None:
        """Overwrite a deleted case's post with `text` (a post that is gone is left)."""
        ...


class Membership(Protocol):
    """Who leads: the platform's answer to "is this person in the leadership channel/team?".

    Asked by the engine only for a leader's request. None means the platform could not say in
    time; nothing is changed then, and the person is asked to try again.
    """

    async def is_leader(self, person: Person, case_reference: str = "") -> bool | None: ...


class Clock(Protocol):
    def now(self) -> datetime: ...

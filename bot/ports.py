"""The interfaces the engine needs from the world, declared here so `bot/` depends on nothing.

`storage/` implements `Store` (TinyDB on disk, and an in-memory twin for tests); the same
contract tests run against both. Adapters implement `Sender`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from bot.model import JSON, Case, Conversation, OutboxItem, Platform


@dataclass
class StepCommit:
    """Everything one inbound turn changes, written in one atomic step.

    Marking the delivery as seen, saving the conversation and queueing the replies together
    means a crash leaves either all of a step or none of it, and a redelivery is recognised.
    `conversation=None` ends the person's conversation.
    """

    person_key: str
    conversation: Conversation | None
    delivery_id: str | None = None
    outbox: Sequence[OutboxItem] = field(default_factory=list)


class Store(Protocol):
    # -- conversations and deliveries: small, rewritten on every message ----------------------
    async def conversation(self, person_key: str) -> Conversation | None: ...

    async def conversations(self) -> list[Conversation]:
        """Every conversation in progress (for a subject access request)."""
        ...

    async def seen(self, delivery_id: str) -> bool: ...

    async def commit(self, step: StepCommit) -> None: ...

    # -- the outbox ------------------------------------------------------------------------------
    async def enqueue(self, items: Sequence[OutboxItem]) -> None:
        """Queue items; an id already queued or delivered is ignored."""
        ...

    async def due(self, platform: Platform, now: datetime, limit: int = 50) -> list[OutboxItem]:
        """Pending items for a platform whose time has come, oldest first."""
        ...

    async def pending(self, platform: Platform, limit: int = 200) -> list[OutboxItem]:
        """Every undelivered, not permanently failed item for a platform, oldest first."""
        ...

    async def next_due_at(self, platform: Platform) -> datetime | None: ...

    async def undelivered(self, platform: Platform) -> list[OutboxItem]:
        """Items the platform refused for good (`failed`), oldest first, until pruned."""
        ...

    async def outbox_items(self) -> list[OutboxItem]:
        """Every item not yet delivered, failed ones too, every platform, oldest first."""
        ...

    async def delivered(self, *item_ids: str) -> None:
        """Mark items as sent, in one write; their ids are remembered so they never go twice."""
        ...

    async def reschedule(self, *items: OutboxItem) -> None:
        """Save items' attempts, due time or permanent failure, in one write.

        Items already delivered or dropped are skipped.
        """
        ...

    # -- the case archive: grows, so a write must not rewrite every case ---------------------
    async def next_reference(self, year: int) -> str:
        """A new reference such as TT-2026-0007, never handed out before, even after deletes."""
        ...

    async def save_case(self, case: Case) -> None: ...

    async def case(self, reference: str) -> Case | None: ...

    async def case_for_conversation(self, conversation_id: str) -> Case | None: ...

    async def cases(
        self, *, open_only: bool = False, reporter: str = "", handles: Sequence[str] = ()
    ) -> list[Case]:
        """Cases oldest first; filters: still open, made by `reporter` (a person key), about
        any of `handles` (TikTok accounts)."""
        ...

    async def delete_case(self, reference: str, tombstone: Case) -> None:
        """Replace a case by a content-free tombstone (a reviewed, recorded deletion).

        Also drops every outbox item about it, pending or failed: those tagged with the case,
        and those of the conversation it was reported in (`Case.conversation_id`: the summary
        shown before it was submitted). And the meta kept for it (keys ending `:REF`), except
        the content-free post receipts (`post:PLATFORM:REF`), so the leadership post can still
        be found and scrubbed.
        """
        ...

    # -- small facts adapters keep: Teams conversation references, ids of posts to update -------
    async def get_meta(self, key: str) -> JSON | None: ...

    async def put_meta(self, key: str, value: JSON) -> None: ...

    async def close(self) -> None: ...


class Sender(Protocol):
    """A front end's delivery of one outbox item.

    Returns a receipt (e.g. the posted message's id) worth keeping, or None. Raises
    `bot.errors.RetryLater` for a temporary failure, `bot.errors.DeliveryRefused` for a
    permanent one.
    """

    async def send(self, item: OutboxItem) -> JSON | None: ...


class Clock(Protocol):
    def now(self) -> datetime: ...

"""The in-memory twin of the stores, for tests and for trying the bot without a disk.

It keeps what it stores as plain JSON (through `bot.codec`), like the other stores, so a value
that would not survive a round trip to disk fails here too. A unit of work is checked whole
before anything is changed, so a `Conflict` leaves everything as it was.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timedelta

from bot import codec
from bot.errors import Conflict
from bot.model import JSON, OPEN_STATUSES, Case, Conversation, OutboxItem, Platform
from bot.outbox import about_case, claimable, claimed, next_wake
from bot.ports import PAGE_SIZE, Delivered, UnitOfWork
from bot.references import reference
from storage.atomic import json_copy
from storage.pages import decoded_pages

_OPEN = frozenset(str(s) for s in OPEN_STATUSES)


class MemoryStore:
    def __init__(self) -> None:
        self._conversations: dict[str, JSON] = {}
        self._seen: set[str] = set()
        self._outbox: dict[str, JSON] = {}
        self._sent: set[str] = set()
        self._seq = 0
        self._cases: dict[str, JSON] = {}
        self._counters: dict[str, int] = {}
        self._meta: dict[str, JSON] = {}

    # -- reads ---------------------------------------------------------------------------------
    async def conversation(self, person_key: str) -> Conversation | None:
        doc = self._conversations.get(person_key)
        return codec.conversation_from_dict(json_copy(doc)) if doc else None

    async def conversations(self) -> list[Conversation]:
        docs = self._conversations.values()
        return [codec.conversation_from_dict(json_copy(d)) for d in docs]

    async def seen(self, delivery_id: str) -> bool:
        return delivery_id in self._seen

    async def case(self, reference: str) -> Case | None:
        doc = self._cases.get(reference.strip().upper())
        return codec.case_from_dict(json_copy(doc)) if doc else None

    async def case_for_conversation(self, conversation_id: str) -> Case | None:
        for doc in self._cases.values():
            if doc.get("conversation_id") == conversation_id:
                return codec.case_from_dict(json_copy(doc))
        return None

    async def cases(
        self, *, open_only: bool = False, reporter: str = "", handles: Sequence[str] = ()
    ) -> list[Case]:
        found = [codec.case_from_dict(json_copy(d)) for d in self._cases.values()]
        if open_only:
            found = [c for c in found if c.is_open]
        if reporter:
            found = [c for c in found if c.reporter.key == reporter]
        if handles:
            found = [c for c in found if set(handles) & set(c.handles)]
        return sorted(found, key=lambda c: (c.created_at, c.reference))

    async def case_pages(self, size: int = PAGE_SIZE) -> AsyncIterator[list[Case]]:
        async for page in decoded_pages(list(self._cases.values()), size):
            yield page

    async def cases_due(self, now: datetime) -> list[Case]:
        due = [
            d
            for d in self._cases.values()
            if d.get("status") in _OPEN
            and d.get("remind_at")
            and datetime.fromisoformat(d["remind_at"]) <= now
        ]
        found = [codec.case_from_dict(json_copy(d)) for d in due]
        return sorted(found, key=lambda c: (c.remind_at or now, c.reference))

    async def take_reference(self, year: int) -> str:
        number = self._counters[str(year)] = self._counters.get(str(year), 0) + 1
        return reference(year, number)

    async def get_meta(self, key: str) -> JSON | None:
        value = self._meta.get(key)
        return json_copy(value) if value is not None else None

    # -- the one write ---------------------------------------------------------------------------
    async def commit(self, unit: UnitOfWork) -> bool:
        if unit.delivery_id and unit.delivery_id in self._seen:
            return False
        self._check(unit)
        if unit.delivery_id:
            self._seen.add(unit.delivery_id)
        if unit.conversation is None:
            self._conversations.pop(unit.person_key, None)
        elif isinstance(unit.conversation, Conversation):
            unit.conversation.version += 1
            doc = codec.conversation_to_dict(unit.conversation)
            self._conversations[unit.person_key] = json_copy(doc)
        for case in unit.cases:
            case.version += 1
            self._cases[case.reference] = json_copy(codec.case_to_dict(case))
        self._enqueue(unit.outbox)
        for key, value in unit.meta.items():
            if value is None:
                self._meta.pop(key, None)
            else:
                self._meta[key] = json_copy(value)
        return True

    def _check(self, unit: UnitOfWork) -> None:
        """Raise `Conflict` before anything changes, if the unit read something now stale."""
        if isinstance(unit.conversation, Conversation):
            held = self._conversations.get(unit.person_key)
            if (int(held.get("version", 0)) if held else 0) != unit.conversation.version:
                raise Conflict(f"the conversation of {unit.person_key} was changed meanwhile")
        for case in unit.cases:
            stored = self._cases.get(case.reference)
            version = int(stored.get("version", 0)) if stored else 0
            if (stored is None) != (case.version == 0) or version != case.version:
                raise Conflict(f"{case.reference} was changed meanwhile")

    def _enqueue(self, items: Sequence[OutboxItem]) -> None:
        for item in items:
            if item.id in self._outbox or item.id in self._sent:
                continue
            self._seq += 1
            item.seq = self._seq
            self._outbox[item.id] = json_copy(codec.outbox_to_dict(item))

    # -- the outbox --------------------------------------------------------------------------------
    async def claim(
        self, platform: Platform, owner: str, now: datetime, lease: timedelta, limit: int = 50
    ) -> list[OutboxItem]:
        taken = claimable(self._outbox.values(), str(platform), now)[:limit]
        out = []
        for doc in taken:
            self._outbox[doc["id"]] = claimed(doc, owner, now + lease)
            out.append(codec.outbox_from_dict(json_copy(self._outbox[doc["id"]])))
        return out

    async def delivered(self, done: Sequence[Delivered]) -> None:
        for d in done:
            self._outbox.pop(d.item_id, None)
            self._sent.add(d.item_id)
            if d.receipt_key and d.receipt is not None:
                self._meta[d.receipt_key] = json_copy(d.receipt)

    async def reschedule(self, *items: OutboxItem) -> None:
        for item in items:
            held = self._outbox.get(item.id)
            if held is not None and held.get("claimed_by", "") in ("", item.claimed_by):
                item.claimed_by, item.claimed_until = "", None
                self._outbox[item.id] = json_copy(codec.outbox_to_dict(item))

    async def next_due_at(self, platform: Platform) -> datetime | None:
        return next_wake(self._outbox.values(), str(platform))

    async def undelivered(self, platform: Platform) -> list[OutboxItem]:
        docs = [d for d in self._outbox.values() if d["platform"] == platform and d.get("failed")]
        docs.sort(key=lambda d: int(d.get("seq", 0)))
        return [codec.outbox_from_dict(json_copy(d)) for d in docs]

    async def outbox_items(self) -> list[OutboxItem]:
        docs = sorted(self._outbox.values(), key=lambda d: int(d.get("seq", 0)))
        return [codec.outbox_from_dict(json_copy(d)) for d in docs]

    # -- a reviewed deletion -------------------------------------------------------------------
    async def delete_case(self, reference: str, tombstone: Case) -> None:
        if tombstone.reference != reference:
            raise ValueError("the tombstone must carry the reference of the case it replaces")
        stored = self._cases.get(reference) or {}
        conversation = stored.get("conversation_id", "")
        tombstone.version = int(stored.get("version", 0)) + 1
        self._cases[reference] = json_copy(codec.case_to_dict(tombstone))
        self._outbox = {
            k: v for k, v in self._outbox.items() if not about_case(v, reference, conversation)
        }
        self._conversations = {
            k: v
            for k, v in self._conversations.items()
            if not (conversation and v.get("id") == conversation)
            and v.get("case_reference") != reference
        }
        self._meta = {
            k: v
            for k, v in self._meta.items()
            if k.startswith("post:") or not k.endswith(f":{reference}")
        }

    async def close(self) -> None:
        return None

"""The in-memory twin of the TinyDB store, for tests and for trying the bot without a disk.

It keeps what it stores as plain JSON (through `bot.codec`), like the file store, so a value
that would not survive a round trip to disk fails here too.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from datetime import datetime

from bot import codec
from bot.model import JSON, Case, Conversation, OutboxItem, Platform
from bot.outbox import about_case
from bot.ports import StepCommit


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

    async def conversation(self, person_key: str) -> Conversation | None:
        doc = self._conversations.get(person_key)
        return codec.conversation_from_dict(copy.deepcopy(doc)) if doc else None

    async def conversations(self) -> list[Conversation]:
        return [
            codec.conversation_from_dict(copy.deepcopy(d)) for d in self._conversations.values()
        ]

    async def outbox_items(self) -> list[OutboxItem]:
        docs = sorted(self._outbox.values(), key=lambda d: int(d.get("seq", 0)))
        return [codec.outbox_from_dict(copy.deepcopy(d)) for d in docs]

    async def seen(self, delivery_id: str) -> bool:
        return delivery_id in self._seen

    async def commit(self, step: StepCommit) -> None:
        if step.conversation is None:
            self._conversations.pop(step.person_key, None)
        else:
            # deepcopy: the codec's dicts share nested values (answers, reply) with the caller
            doc = copy.deepcopy(codec.conversation_to_dict(step.conversation))
            self._conversations[step.person_key] = doc
        if step.delivery_id:
            self._seen.add(step.delivery_id)
        await self.enqueue(step.outbox)

    async def enqueue(self, items: Sequence[OutboxItem]) -> None:
        for item in items:
            if item.id in self._outbox or item.id in self._sent:
                continue
            self._seq += 1
            item.seq = self._seq
            self._outbox[item.id] = copy.deepcopy(codec.outbox_to_dict(item))

    async def due(self, platform: Platform, now: datetime, limit: int = 50) -> list[OutboxItem]:
        items = [codec.outbox_from_dict(copy.deepcopy(d)) for d in self._outbox.values()]
        ready = [
            i
            for i in items
            if i.platform == platform and not i.failed and (i.due_at is None or i.due_at <= now)
        ]
        return sorted(ready, key=lambda i: i.seq)[:limit]

    async def pending(self, platform: Platform, limit: int = 200) -> list[OutboxItem]:
        docs = [
            d for d in self._outbox.values() if d["platform"] == platform and not d.get("failed")
        ]
        docs.sort(key=lambda d: int(d.get("seq", 0)))
        return [codec.outbox_from_dict(copy.deepcopy(d)) for d in docs[:limit]]

    async def next_due_at(self, platform: Platform) -> datetime | None:
        # Runs every time a courier goes to sleep: read the two times, decode nothing else.
        times = [
            datetime.fromisoformat(d.get("due_at") or d["created_at"])
            for d in self._outbox.values()
            if d["platform"] == platform and not d.get("failed")
        ]
        return min(times, default=None)

    async def undelivered(self, platform: Platform) -> list[OutboxItem]:
        docs = [d for d in self._outbox.values() if d["platform"] == platform and d.get("failed")]
        docs.sort(key=lambda d: int(d.get("seq", 0)))
        return [codec.outbox_from_dict(copy.deepcopy(d)) for d in docs]

    async def delivered(self, *item_ids: str) -> None:
        for item_id in item_ids:
            self._outbox.pop(item_id, None)
            self._sent.add(item_id)

    async def reschedule(self, *items: OutboxItem) -> None:
        for item in items:
            if item.id in self._outbox:
                self._outbox[item.id] = copy.deepcopy(codec.outbox_to_dict(item))

    async def next_reference(self, year: int) -> str:
        n = self._counters.get(str(year), 0) + 1
        self._counters[str(year)] = n
        return f"TT-{year}-{n:04d}"

    async def save_case(self, case: Case) -> None:
        self._cases[case.reference] = copy.deepcopy(codec.case_to_dict(case))

    async def case(self, reference: str) -> Case | None:
        doc = self._cases.get(reference.strip().upper())
        return codec.case_from_dict(copy.deepcopy(doc)) if doc else None

    async def case_for_conversation(self, conversation_id: str) -> Case | None:
        for doc in self._cases.values():
            if doc.get("conversation_id") == conversation_id:
                return codec.case_from_dict(copy.deepcopy(doc))
        return None

    async def cases(
        self, *, open_only: bool = False, reporter: str = "", handles: Sequence[str] = ()
    ) -> list[Case]:
        found = [codec.case_from_dict(copy.deepcopy(d)) for d in self._cases.values()]
        if open_only:
            found = [c for c in found if c.is_open]
        if reporter:
            found = [c for c in found if c.reporter.key == reporter]
        if handles:
            found = [c for c in found if set(handles) & set(c.handles)]
        return sorted(found, key=lambda c: (c.created_at, c.reference))

    async def delete_case(self, reference: str, tombstone: Case) -> None:
        conversation = (self._cases.get(reference) or {}).get("conversation_id", "")
        self._cases[reference] = copy.deepcopy(codec.case_to_dict(tombstone))
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

    async def get_meta(self, key: str) -> JSON | None:
        value = self._meta.get(key)
        return copy.deepcopy(value) if value is not None else None

    async def put_meta(self, key: str, value: JSON) -> None:
        self._meta[key] = copy.deepcopy(value)

    async def close(self) -> None:
        return None

"""live.json: what changes on every message, kept apart from the growing case archive.

Tables: conversations (by person key), seen delivery ids, the outbox, sent item ids, meta and
counters (the outbox seq and one reference counter per year). Seen and sent ids carry the time
they were recorded and are pruned on write, so the file stays small; so are outbox items a
platform refused for good, FAILED_KEPT after they failed (they are on /healthz until then).

`LiveFile` is used only on the store's worker thread. Its `view` (lookups by natural key, built
from what is on disk after each successful write) is read from the event loop.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from tinydb import where

from bot import codec
from bot.model import JSON
from bot.outbox import about_case
from storage.atomic import Tables, unreadable
from storage.tables import docs, get_table, need, open_tinydb, put, stamp

CONVERSATIONS, SEEN, OUTBOX, SENT, META, COUNTERS = (
    "conversations",
    "seen",
    "outbox",
    "sent",
    "meta",
    "counters",
)
SEEN_KEPT = timedelta(days=3)  # platforms redeliver within minutes; 3 days is ample
SENT_KEPT = timedelta(days=14)
FAILED_KEPT = timedelta(days=14)  # long enough to be seen on /healthz and dealt with

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LiveView:
    """live.json as lookups by natural key. Built from what is on disk; never mutated."""

    conversations: dict[str, JSON] = field(default_factory=dict)  # person key -> conversation
    seen: dict[str, str] = field(default_factory=dict)  # delivery id -> first seen (UTC)
    outbox: dict[str, JSON] = field(default_factory=dict)  # item id -> pending item
    sent: dict[str, str] = field(default_factory=dict)  # item id -> delivered at (UTC)
    meta: dict[str, JSON] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, data: Tables) -> LiveView:
        return cls(
            conversations={d["person_key"]: d["conversation"] for d in docs(data, CONVERSATIONS)},
            seen={d["id"]: d["at"] for d in docs(data, SEEN)},
            outbox={d["id"]: d for d in docs(data, OUTBOX)},
            sent={d["id"]: d["at"] for d in docs(data, SENT)},
            meta={d["key"]: d["value"] for d in docs(data, META)},
            counters={d["name"]: d["value"] for d in docs(data, COUNTERS)},
        )


def _check_stamped(doc: JSON) -> None:
    need(doc, "id", str)
    datetime.fromisoformat(need(doc, "at", str))


_LIVE_CHECKS: dict[str, Callable[[JSON], object]] = {
    CONVERSATIONS: lambda d: (
        need(d, "person_key", str),
        codec.conversation_from_dict(d["conversation"]),
    ),
    SEEN: _check_stamped,
    OUTBOX: lambda d: (need(d, "id", str), codec.outbox_from_dict(d)),
    SENT: _check_stamped,
    META: lambda d: (need(d, "key", str), d["value"]),
    COUNTERS: lambda d: (need(d, "name", str), need(d, "value", int)),
}


def _check_live(path: Path, data: Tables) -> None:
    """Refuse a live.json whose documents would not decode (the message names no content)."""
    for table, check in _LIVE_CHECKS.items():
        for doc_id, doc in data.get(table, {}).items():
            try:
                check(doc)
            except (KeyError, TypeError, ValueError, AttributeError):
                raise unreadable(
                    path, f"document {doc_id} of table {table!r} is malformed"
                ) from None


class LiveFile:
    """live.json. Used only on the store's worker thread, except `view`, read from anywhere."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.db, self.storage = open_tinydb(path)
        self.view = LiveView()
        self._view_of: Tables | None = None
        self._batching = False
        self._batch_view: LiveView | None = None

    def load(self) -> None:
        data = self.storage.load()
        _check_live(self.path, data)
        self._refresh()

    def close(self) -> None:
        self.db.close()

    # -- writing -------------------------------------------------------------------------------
    @contextmanager
    def batch(self, now: datetime) -> Iterator[None]:
        """Several writes as one (group commit): one file write and one fsync for them all.

        If anything inside raises, none of them reaches the disk.
        """
        try:
            with self.storage.transaction():
                self._batching = True
                yield
                self._prune(now)
        finally:
            self._batching, self._batch_view = False, None
            self._refresh()

    @property
    def _state(self) -> LiveView:
        """What the writes so far hold: the batch's view inside a batch, else the disk's."""
        return self._batch_view or self.view

    @contextmanager
    def _writing(self, now: datetime) -> Iterator[None]:
        """One atomic write of everything done inside, plus pruning; then a fresh view."""
        if self._batching:
            yield
            # Later writes in the batch must see this one (they check for duplicates), while
            # readers keep the view of what is on disk until the batch is.
            self._batch_view = LiveView.of(self.storage.read() or {})
            return
        try:
            with self.storage.transaction():
                yield
                self._prune(now)
        finally:
            # Also after an error: the file may have been replaced before it (a failed folder
            # fsync), and the view must follow the file either way.
            self._refresh()

    def _refresh(self) -> None:
        snapshot = self.storage.snapshot()
        if snapshot is not self._view_of:  # a new snapshot means a write happened
            # One reference assignment: readers see the old view or the new one, whole.
            self.view = LiveView.of(snapshot)
            self._view_of = snapshot

    def _prune(self, now: datetime) -> None:
        for table, kept, stamps in (
            (SEEN, SEEN_KEPT, self._state.seen),
            (SENT, SENT_KEPT, self._state.sent),
        ):
            cutoff = stamp(now - kept)
            if stamps and min(stamps.values()) < cutoff:
                get_table(self.db, table).remove(where("at") < cutoff)
        failed_cutoff = now - FAILED_KEPT
        stale = [d["id"] for d in self._state.outbox.values() if _failed_before(d, failed_cutoff)]
        if stale:
            get_table(self.db, OUTBOX).remove(where("id").one_of(stale))
            log.warning(
                "dropped %d message(s) refused for good more than %d days ago",
                len(stale),
                FAILED_KEPT.days,
            )

    def _set_counter(self, name: str, value: int) -> None:
        put(get_table(self.db, COUNTERS), {"name": name, "value": value}, where("name") == name)

    def _enqueue(self, docs: Sequence[JSON]) -> list[int | None]:
        """Queue new items with the next seqs; returns each item's seq, or None if ignored."""
        seq = self._state.counters.get("seq", 0)
        taken: set[str] = set()
        seqs: list[int | None] = []
        accepted: list[JSON] = []
        for doc in docs:
            item_id = doc["id"]
            if item_id in self._state.outbox or item_id in self._state.sent or item_id in taken:
                seqs.append(None)
                continue
            seq += 1
            accepted.append({**doc, "seq": seq})
            taken.add(item_id)
            seqs.append(seq)
        if accepted:
            get_table(self.db, OUTBOX).insert_multiple(accepted)
            self._set_counter("seq", seq)
        return seqs

    def commit(
        self,
        person_key: str,
        conversation: JSON | None,
        delivery_id: str | None,
        docs: Sequence[JSON],
        now: datetime,
    ) -> list[int | None]:
        with self._writing(now):
            conversations = get_table(self.db, CONVERSATIONS)
            if conversation is None:
                conversations.remove(where("person_key") == person_key)
            else:
                doc = {"person_key": person_key, "conversation": conversation}
                put(conversations, doc, where("person_key") == person_key)
            if delivery_id and delivery_id not in self._state.seen:
                get_table(self.db, SEEN).insert({"id": delivery_id, "at": stamp(now)})
            seqs = self._enqueue(docs)
        return seqs

    def enqueue(self, docs: Sequence[JSON], now: datetime) -> list[int | None]:
        with self._writing(now):
            seqs = self._enqueue(docs)
        return seqs

    def delivered(self, item_ids: Sequence[str], now: datetime) -> None:
        with self._writing(now):
            for item_id in dict.fromkeys(item_ids):
                if item_id in self._state.outbox:
                    get_table(self.db, OUTBOX).remove(where("id") == item_id)
                if item_id not in self._state.sent:
                    get_table(self.db, SENT).insert({"id": item_id, "at": stamp(now)})

    def reschedule(self, docs: list[JSON], now: datetime) -> None:
        docs = [d for d in docs if d["id"] in self._state.outbox]
        if not docs:
            return  # delivered or dropped meanwhile: nothing to save
        with self._writing(now):
            for doc in docs:
                put(get_table(self.db, OUTBOX), doc, where("id") == doc["id"])

    def next_number(self, year: int, floor: int, now: datetime) -> int:
        """The next reference number of `year`, saved before it is handed out."""
        name = f"ref:{year}"
        # `floor` (the highest number in the archive) keeps numbers unique even if live.json
        # was lost and restarted from empty.
        number = max(self._state.counters.get(name, 0), floor) + 1
        with self._writing(now):
            self._set_counter(name, number)
        return number

    def forget_case(self, reference: str, conversation_id: str, now: datetime) -> None:
        """Drop every message about a deleted case, pending or failed (those of the
        conversation it came from too), that conversation if it is still held, and the meta
        kept for the case.

        Post receipts (`post:…`) stay: they hold no content, and the deleted case's leadership
        post must still be found to be scrubbed.
        """
        suffix = f":{reference}"

        def forgettable(key: object) -> bool:
            return str(key).endswith(suffix) and not str(key).startswith("post:")

        doomed = [
            item_id
            for item_id, doc in self._state.outbox.items()
            if about_case(doc, reference, conversation_id)
        ]

        def its_conversation(doc: object) -> bool:  # still being made, or waiting in END
            conv = doc if isinstance(doc, dict) else {}
            found = conversation_id and conv.get("id") == conversation_id
            return bool(found) or conv.get("case_reference") == reference

        with self._writing(now):
            get_table(self.db, OUTBOX).remove(where("id").one_of(doomed))
            get_table(self.db, META).remove(where("key").test(forgettable))
            get_table(self.db, CONVERSATIONS).remove(where("conversation").test(its_conversation))

    def put_meta(self, key: str, value: JSON, now: datetime) -> None:
        with self._writing(now):
            put(get_table(self.db, META), {"key": key, "value": value}, where("key") == key)


def _failed_before(doc: JSON, cutoff: datetime) -> bool:
    """A failed item whose failure (or, for items from before `failed_at`, creation) is old."""
    if not doc.get("failed"):
        return False
    return datetime.fromisoformat(str(doc.get("failed_at") or doc["created_at"])) < cutoff

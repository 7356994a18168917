"""live.json: what changes on every message, kept apart from the growing case archive.

Tables: conversations (by person key), seen delivery ids, the outbox, sent item ids, meta,
counters (the outbox seq and one reference counter per year), and the journal. Seen and sent
ids carry the time they were recorded and are pruned on write, so the file stays small; so are
outbox items a platform refused for good, FAILED_KEPT after they failed (they are on /healthz
until then).

The journal is what makes a unit of work one atomic write although cases live in other files:
a unit's cases (and the facts kept beside them) are written here, in the same live.json write
as the rest of the unit, then copied to their shards; the entries go at the next write once
copied. At start, entries a crash left are copied again (idempotent: a shard already holding
that version is left alone).

`LiveFile` is used only on the store's worker thread. Its `view` (lookups by natural key, built
from what is on disk after each successful write) is read from the event loop.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from tinydb import where

from bot import codec
from bot.errors import Conflict
from bot.model import JSON
from bot.outbox import about_case, claimed
from bot.ports import KEEP, _Keep
from storage.atomic import Tables, unreadable
from storage.references import reference
from storage.tables import docs, get_table, need, open_tinydb, put, stamp

CONVERSATIONS, SEEN, OUTBOX, SENT, META, COUNTERS, JOURNAL = (
    "conversations",
    "seen",
    "outbox",
    "sent",
    "meta",
    "counters",
    "journal",
)
SEEN_KEPT = timedelta(days=3)  # platforms redeliver within minutes; 3 days is ample
SENT_KEPT = timedelta(days=14)
FAILED_KEPT = timedelta(days=14)  # long enough to be seen on /healthz and dealt with

log = logging.getLogger(__name__)


class ArchiveIndex(Protocol):
    def version(self, reference: str) -> int: ...

    def highest(self, year: int) -> int: ...


@dataclass
class UnitDocs:
    """A unit of work in its stored form (codec dicts), as the worker thread writes it."""

    person_key: str
    conversation: JSON | _Keep | None
    delivery_id: str | None
    cases: dict[str, JSON]  # reference -> the case as it is to be stored (new version)
    new: dict[str, bool]  # reference -> the unit creates it
    outbox: list[JSON]
    meta: dict[str, JSON | None]  # facts kept in live.json
    case_meta: dict[str, dict[str, JSON | None]]  # reference -> facts kept in its shard
    seqs: list[int | None] = field(default_factory=list)  # set by `apply`: each item's seq


@dataclass(frozen=True)
class LiveView:
    """live.json as lookups by natural key. Built from what is on disk; never mutated."""

    conversations: dict[str, JSON] = field(default_factory=dict)  # person key -> conversation
    seen: dict[str, str] = field(default_factory=dict)  # delivery id -> first seen (UTC)
    outbox: dict[str, JSON] = field(default_factory=dict)  # item id -> pending item
    sent: dict[str, str] = field(default_factory=dict)  # item id -> delivered at (UTC)
    meta: dict[str, JSON] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)
    journal: dict[str, JSON] = field(default_factory=dict)  # reference -> entry

    @classmethod
    def of(cls, data: Tables) -> LiveView:
        return cls(
            conversations={d["person_key"]: d["conversation"] for d in docs(data, CONVERSATIONS)},
            seen={d["id"]: d["at"] for d in docs(data, SEEN)},
            outbox={d["id"]: d for d in docs(data, OUTBOX)},
            sent={d["id"]: d["at"] for d in docs(data, SENT)},
            meta={d["key"]: d["value"] for d in docs(data, META)},
            counters={d["name"]: d["value"] for d in docs(data, COUNTERS)},
            journal={d["reference"]: d for d in docs(data, JOURNAL)},
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
    JOURNAL: lambda d: (
        need(d, "reference", str),
        need(d, "meta", dict),
        d["case"] is None or codec.case_from_dict(d["case"]),
    ),
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
        self._copied: dict[str, int] = {}  # journal entries already in their shards: ref -> seq

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
        if any(self._copied.get(r) == e["seq"] for r, e in self._state.journal.items()):
            # By reference and seq: an entry rewritten in this very write is not copied yet.
            get_table(self.db, JOURNAL).remove(_Copied(self._copied))
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

    def apply(self, unit: UnitDocs, archive: ArchiveIndex, now: datetime) -> bool:
        """Write a unit of work (see `storage.tinydb_store`); False if its delivery was seen.

        Raises `Conflict`, before writing anything, if a case or a reference was taken.
        """
        state = self._state
        if unit.delivery_id and unit.delivery_id in state.seen:
            return False
        for ref, doc in unit.cases.items():
            held = state.journal.get(ref, {}).get("case")
            current = int(held.get("version", 0)) if held else archive.version(ref)
            if current != int(doc.get("version", 0)) - 1 or (current == 0) != unit.new[ref]:
                raise Conflict(f"{ref} was changed meanwhile")
        conversation = unit.conversation
        if isinstance(conversation, dict):
            held = state.conversations.get(unit.person_key)
            stored = int(held.get("version", 0)) if held else 0
            if stored != int(conversation.get("version", 0)):
                raise Conflict(f"the conversation of {unit.person_key} was changed meanwhile")
            conversation = {**conversation, "version": stored + 1}  # the unit may run again
        with self._writing(now):
            self._conversation(unit.person_key, conversation)
            if unit.delivery_id:
                get_table(self.db, SEEN).insert({"id": unit.delivery_id, "at": stamp(now)})
            unit.seqs = self._enqueue(unit.outbox)
            for key, value in unit.meta.items():
                self._put_meta(key, value)
            self._journal(unit.cases, unit.case_meta)
        return True

    def _conversation(self, person_key: str, conversation: JSON | _Keep | None) -> None:
        if conversation is KEEP:
            return
        conversations = get_table(self.db, CONVERSATIONS)
        if conversation is None:
            conversations.remove(where("person_key") == person_key)
        else:
            doc = {"person_key": person_key, "conversation": conversation}
            put(conversations, doc, where("person_key") == person_key)

    def _put_meta(self, key: str, value: JSON | None) -> None:
        table = get_table(self.db, META)
        if value is None:
            table.remove(where("key") == key)
        else:
            put(table, {"key": key, "value": value}, where("key") == key)

    def _journal(
        self, cases: dict[str, JSON], case_meta: dict[str, dict[str, JSON | None]]
    ) -> None:
        """Entries for the cases (and case facts) of a unit, until they are in their shards."""
        table = get_table(self.db, JOURNAL)
        seq = self._state.counters.get("journal", 0)
        for ref in sorted(set(cases) | set(case_meta)):
            old = self._state.journal.get(ref, {})
            seq += 1
            entry = {
                "reference": ref,
                "seq": seq,
                "case": cases.get(ref, old.get("case")),
                "meta": {**old.get("meta", {}), **case_meta.get(ref, {})},
            }
            put(table, entry, where("reference") == ref)
        if seq != self._state.counters.get("journal", 0):
            self._set_counter("journal", seq)

    def copied(self, reference: str, seq: int) -> None:
        """A journal entry is in its shard: the next write drops it."""
        self._copied[reference] = seq

    def is_copied(self, reference: str, seq: int) -> bool:
        return self._copied.get(reference) == seq

    def drop_copied(self, now: datetime) -> None:
        """A write that only drops the journal entries already copied (pruning does it)."""
        with self._writing(now):
            pass

    def take_reference(self, year: int, archive: ArchiveIndex, now: datetime) -> str:
        number = self.reference_floor(year, archive) + 1
        with self._writing(now):
            self._set_counter(f"ref:{year}", number)
        return reference(year, number)

    def reference_floor(self, year: int, archive: ArchiveIndex) -> int:
        """The highest number of the year handed out. The archive's highest counts too, so
        numbers stay unique even if live.json was lost and started again from empty."""
        return max(self._state.counters.get(f"ref:{year}", 0), archive.highest(year))

    def claim(self, ids: Sequence[str], owner: str, until: datetime, now: datetime) -> list[JSON]:
        taken = [
            claimed(self._state.outbox[i], owner, until) for i in ids if i in self._state.outbox
        ]
        if not taken:
            return []
        with self._writing(now):
            for doc in taken:
                put(get_table(self.db, OUTBOX), doc, where("id") == doc["id"])
        return taken

    def state_outbox(self) -> list[JSON]:
        """The outbox as the writes so far leave it (inside a group commit too)."""
        return list(self._state.outbox.values())

    def release_claims(self, now: datetime) -> None:
        """At start, with the folder locked: no other process can hold a claim."""
        held = [d for d in self._state.outbox.values() if d.get("claimed_until")]
        if not held:
            return
        with self._writing(now):
            for doc in held:
                free = {**doc, "claimed_by": "", "claimed_until": None}
                put(get_table(self.db, OUTBOX), free, where("id") == doc["id"])

    def delivered(
        self,
        item_ids: Sequence[str],
        meta: dict[str, JSON],
        case_meta: dict[str, dict[str, JSON | None]],
        now: datetime,
    ) -> None:
        """Items done, with their receipts in the same write: a receipt about a case goes in
        the journal (then its shard), so a retry after a crash finds the post, never repeats it."""
        with self._writing(now):
            for key, value in meta.items():
                self._put_meta(key, value)
            if case_meta:
                self._journal({}, case_meta)
            for item_id in dict.fromkeys(item_ids):
                if item_id in self._state.outbox:
                    get_table(self.db, OUTBOX).remove(where("id") == item_id)
                if item_id not in self._state.sent:
                    get_table(self.db, SENT).insert({"id": item_id, "at": stamp(now)})

    def reschedule(self, claimed: list[tuple[str, JSON]], now: datetime) -> None:
        """Each (claimant, item): saved only while the claimant's claim (or none) is held."""
        outbox = self._state.outbox
        docs = [
            d
            for by, d in claimed
            if d["id"] in outbox and outbox[d["id"]].get("claimed_by", "") in ("", by)
        ]
        if not docs:
            return  # delivered or dropped meanwhile: nothing to save
        with self._writing(now):
            for doc in docs:
                put(get_table(self.db, OUTBOX), doc, where("id") == doc["id"])

    def forget_case(
        self, reference: str, conversation_id: str, tombstone: JSON, now: datetime
    ) -> None:
        """Drop every message about a deleted case, pending or failed (those of the
        conversation it came from too), that conversation if it is still held, and the meta
        kept for the case; the tombstone takes the case's place in the journal, in the same
        write, so no crash or failed shard write can serve the case again.

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
            held = self._state.journal.get(reference, {}).get("meta", {})
            receipts = {k: v for k, v in held.items() if k.startswith("post:")}
            seq = self._state.counters.get("journal", 0) + 1
            entry = {"reference": reference, "seq": seq, "case": tombstone, "meta": receipts}
            put(get_table(self.db, JOURNAL), entry, where("reference") == reference)
            self._set_counter("journal", seq)


class _Copied:
    """A TinyDB condition: journal entries whose very version is already in its shard."""

    def __init__(self, copied: dict[str, int]) -> None:
        self.copied = dict(copied)

    def __call__(self, value: Mapping[str, Any]) -> bool:
        return self.copied.get(str(value.get("reference"))) == value.get("seq")

    def __hash__(self) -> int:
        return id(self)


def _failed_before(doc: JSON, cutoff: datetime) -> bool:
    """A failed item whose failure (or, for items from before `failed_at`, creation) is old."""
    if not doc.get("failed"):
        return False
    return datetime.fromisoformat(str(doc.get("failed_at") or doc["created_at"])) < cutoff

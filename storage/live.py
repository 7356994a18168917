"""live.json: what changes on every message, kept apart from the growing case archive.

Tables: conversations (by person key), seen delivery ids, the outbox, sent item ids, meta,
counters (the outbox seq and one reference counter per year), and the journal. Seen and sent
ids carry the time they were recorded and are pruned on write, so the file stays small; so are
outbox items a platform refused for good, FAILED_KEPT after they failed (they are on /healthz
until then).

The journal is what makes a unit of work one atomic write although cases live in other files:
a unit's cases (and the facts kept beside them) are written here, in the same live.json write
as the rest of the unit, then copied to their shards (at once after a step that came alone;
after a rush, once the store has been quiet a moment, see `TinyStore._copy_later`); the
entries go at the next write once copied. At start and at a clean stop, entries not yet copied are
copied (idempotent: a shard already holding that version is left alone).

`LiveFile` is used only on the store's worker thread. Its `view` (lookups by natural key, built
from what is on disk after each successful write) is read from the event loop.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import (
    Callable,
    ItemsView,
    Iterable,
    Iterator,
    KeysView,
    Mapping,
    MutableMapping,
    Sequence,
    ValuesView,
)
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from bot import codec
from bot.errors import Conflict, StorageError
from bot.model import JSON
from bot.outbox import about_case, claimed
from bot.ports import _Keep
from bot.references import counted, counter
from storage import atomic
from storage.atomic import AtomicJSONStorage, Tables, parse, serialise, unreadable
from storage.tables import docs, need, stamp

CONVERSATIONS, SEEN, OUTBOX, SENT, META, COUNTERS, JOURNAL = (
    "conversations",
    "seen",
    "outbox",
    "sent",
    "meta",
    "counters",
    "journal",
)
LIVE_TABLES = (CONVERSATIONS, SEEN, OUTBOX, SENT, META, COUNTERS, JOURNAL)
SEEN_KEPT = timedelta(days=3)  # platforms redeliver within minutes; 3 days is ample
SENT_KEPT = timedelta(days=14)
FAILED_KEPT = timedelta(days=14)  # long enough to be seen on /healthz and dealt with
LOG_SUFFIX = ".log"  # live.json's log: live.log
# live.log may grow to LOG_TIMES live.json's size (at least LOG_MIN) before live.json is
# rewritten whole. A rewrite (a few hundred KB under load: seen and sent ids are kept for
# days) held the worker, and every write queued behind it, 5-35 ms, once every hundred
# steps when the log could only reach live.json's size; replaying a longer log at start
# costs milliseconds.
LOG_MIN = 1024 * 1024
LOG_TIMES = 8
LOAD_ATTEMPTS = 5  # a reader racing a rewrite of live.json reads again, at most this often
GENERATION = "log_generation"  # a counter in live.json; the first line of live.log

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


class _Tracked(MutableMapping[str, Any]):
    """A draft's table: reads go to the view's own dict until the first change copies it, and
    every key set or removed is noted, so a write can log only what changed. (A write changes
    two or three of the seven tables, and seen and sent hold days of ids: copying them all for
    every write held the store's worker, 17% of its busy time under 20 people at once.)"""

    __slots__ = ("base", "own", "touched")

    def __init__(self, base: dict[str, Any]) -> None:
        self.base = base  # the view's, never changed
        self.own: dict[str, Any] | None = None
        self.touched: set[str] = set()

    @property
    def settled(self) -> dict[str, Any]:
        """The table as the draft leaves it: the view's own dict if nothing changed."""
        return self.base if self.own is None else self.own

    def _mine(self) -> dict[str, Any]:
        if self.own is None:
            self.own = dict(self.base)
        return self.own

    def __getitem__(self, key: str) -> Any:
        return self.settled[key]

    def __contains__(self, key: object) -> bool:
        return key in self.settled

    def __iter__(self) -> Iterator[str]:
        return iter(self.settled)

    def __len__(self) -> int:
        return len(self.settled)

    def get(self, key: str, default: Any = None) -> Any:
        return self.settled.get(key, default)

    def keys(self) -> KeysView[str]:
        return self.settled.keys()

    def values(self) -> ValuesView[Any]:
        return self.settled.values()

    def items(self) -> ItemsView[str, Any]:
        return self.settled.items()

    def __setitem__(self, key: str, value: Any) -> None:
        self.touched.add(key)
        self._mine()[key] = value

    def __delitem__(self, key: str) -> None:
        self.touched.add(key)
        del self._mine()[key]


@dataclass(frozen=True)
class LiveView:
    """live.json as lookups by natural key. Built from what is on disk; never mutated."""

    # (Plain dicts; a draft's are `_Tracked`.) Person key -> conversation:
    conversations: MutableMapping[str, JSON] = field(default_factory=dict)
    seen: MutableMapping[str, str] = field(default_factory=dict)  # delivery id -> first seen (UTC)
    outbox: MutableMapping[str, JSON] = field(default_factory=dict)  # item id -> pending item
    sent: MutableMapping[str, str] = field(default_factory=dict)  # item id -> delivered at (UTC)
    meta: MutableMapping[str, JSON] = field(default_factory=dict)
    counters: MutableMapping[str, int] = field(default_factory=dict)
    journal: MutableMapping[str, JSON] = field(default_factory=dict)  # reference -> entry

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

    def copy(self) -> LiveView:
        """A draft to change: tables that copy this view's dicts when first changed and note
        what changes, the same (never mutated) documents. Only `_writing` holds one."""
        return LiveView(**{name: _Tracked(table) for name, table in vars(self).items()})

    def settled(self) -> LiveView:
        """A draft as a view of plain dicts (those of tables it did not change are shared)."""
        return LiveView(**{name: getattr(t, "settled", t) for name, t in vars(self).items()})

    def changes(self) -> dict[str, dict[str, object]]:
        """What a draft changed, by table and key: the new value, or None where removed."""
        out: dict[str, dict[str, object]] = {}
        for name, table in vars(self).items():
            touched = getattr(table, "touched", ())
            if touched:
                out[name] = {key: table.get(key) for key in touched}
        return out

    def replay(self, changes: Mapping[str, Mapping[str, object]]) -> None:
        """Apply `changes` (as `changes()` gives them) to this view's own dicts: at load only."""
        for name, rows in changes.items():
            table = getattr(self, name)
            for key, value in rows.items():
                if value is None:
                    table.pop(key, None)
                else:
                    table[key] = value

    def tables(self) -> Tables:
        """TinyDB's file format: {table: {"<doc id>": document}}, ids counted from 1."""

        def numbered(rows: Iterable[JSON]) -> dict[str, JSON]:
            return {str(i): row for i, row in enumerate(rows, 1)}

        def pairs(table: Mapping[str, object], key: str, value: str) -> dict[str, JSON]:
            return numbered({key: k, value: v} for k, v in table.items())

        return {
            CONVERSATIONS: pairs(self.conversations, "person_key", "conversation"),
            SEEN: pairs(self.seen, "id", "at"),
            OUTBOX: numbered(self.outbox.values()),
            SENT: pairs(self.sent, "id", "at"),
            META: pairs(self.meta, "key", "value"),
            COUNTERS: pairs(self.counters, "name", "value"),
            JOURNAL: numbered(self.journal.values()),
        }


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
    """live.json and its log, live.log. Used only on the store's worker thread, except `view`,
    read from anywhere.

    The state is kept as plain dicts by natural key (`LiveView`). A write copies the dicts
    (shallow, in C), changes the copy and appends what changed to live.log as one JSON line,
    fsynced: its cost follows the change, not the file. Now and then (the log as long as
    live.json, a deletion, a failed append, each start and stop) live.json is rewritten whole, in
    TinyDB's format, with the log's generation, and a fresh log replaces the old one; a log of
    an older generation than live.json is already in it and is ignored. The copy becomes the
    view only once the write is durable, so a failed write changes nothing.

    TinyDB's own table operations were not used for this file: each re-read and re-indexed its
    whole table and a step made several, and rewriting the whole file on every step made a
    step's cost grow with every delivery id and sent id kept (measured: a step's reply p50
    62 ms after one round of 20 reports, 142 ms after five).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.log_path = path.with_suffix(LOG_SUFFIX)
        self.view = LiveView()
        self.writes = 0  # durable writes so far: tells "failed before" from "failed after"
        self._draft: LiveView | None = None  # the write (or batch) being made
        self._copied: dict[str, int] = {}  # journal entries already in their shards: ref -> seq
        self._generation = 0  # of live.json, and of live.log when they agree
        self._log_size = 0  # bytes of live.log, as last written
        self._limit = LOG_MIN  # live.log longer than this: rewrite live.json at the next write
        self._rewrite = True  # the next write rewrites live.json (and starts a fresh log)
        self._header_size = 0  # bytes of live.log's first line
        self._writer = False  # loaded by the process that holds the folder's lock

    def load(self, *, read_only: bool = False) -> None:
        """live.json, then the changes live.log holds on top of it. A reader that raced a
        rewrite reads again; a log newer than live.json that stays so (live.json restored from
        a backup, or moved aside) does not belong to it: never applied, and kept aside by a
        writer, under a name that says so."""
        for attempt in range(LOAD_ATTEMPTS):
            storage = AtomicJSONStorage(self.path)
            data = storage.load()
            _check_live(self.path, data)
            view = LiveView.of(data)
            generation = view.counters.get(GENERATION, 0)
            logged = _read_log(self.log_path, generation)
            if logged is not None:
                break
            if attempt + 1 < LOAD_ATTEMPTS:
                time.sleep(0.02)
        else:
            logged = []
            self._set_aside(read_only)
        for changes in logged:
            view.replay(changes)
        if logged:
            _check_live(self.log_path, view.tables())
        # Pruning takes the oldest stamps from the front: put them there.
        by_time = {
            n: dict(sorted(getattr(view, n).items(), key=lambda kv: kv[1])) for n in (SEEN, SENT)
        }
        self.view = LiveView(**{**vars(view), **by_time})
        self._generation = generation
        self._limit = max(LOG_MIN, LOG_TIMES * storage.size)
        self._rewrite = True  # start on a fresh log: a torn last line is never appended to
        self._writer = not read_only

    def _set_aside(self, read_only: bool) -> None:
        aside = self.log_path.with_suffix(".log.unused")
        log.warning(
            "%s does not belong to %s (it is newer): not used%s",
            self.log_path.name,
            self.path.name,
            "" if read_only else f"; kept as {aside.name}",
        )
        if not read_only:
            try:
                os.replace(self.log_path, aside)
            except OSError as exc:
                raise StorageError(
                    f"Could not move {self.log_path} aside: {exc.strerror}."
                ) from exc

    def close(self) -> None:
        """After a clean stop live.json alone holds everything (backups, a reader's view),
        and no journal entry already in its shard."""
        draft = self.view.copy()
        for ref, entry in self.view.journal.items():
            if self._copied.get(ref) == entry["seq"]:
                del draft.journal[ref]
        if self._writer and (self._log_size > self._header_size or draft.changes()):
            try:
                self._rewrite_whole(draft)
            except (StorageError, OSError) as e:  # live.log still holds it all: nothing lost
                log.warning("could not fold live.log into live.json at stop (%s)", e)

    # -- writing -------------------------------------------------------------------------------
    @contextmanager
    def batch(self, now: datetime) -> Iterator[None]:
        """Several writes as one (group commit): one append and one fsync for them all.

        Later writes in the batch see the earlier ones (they check for duplicates), while
        readers keep the view of what is on disk until the batch is. If anything inside raises,
        none of them reaches the disk.
        """
        with self._writing(now):
            yield

    @property
    def _state(self) -> LiveView:
        """What the writes so far hold: the draft inside a write, else the disk's."""
        return self._draft or self.view

    @property
    def _d(self) -> LiveView:
        """The draft being changed; only inside `_writing`."""
        assert self._draft is not None, "live.json changed outside a write"
        return self._draft

    @contextmanager
    def _writing(self, now: datetime) -> Iterator[None]:
        """One durable write of everything done inside, plus pruning (nested: the outer one)."""
        if self._draft is not None:
            yield
            return
        self._draft = self.view.copy()
        try:
            yield
            self._prune(now)
            self._commit(self._draft)
        finally:
            self._draft = None

    def _commit(self, draft: LiveView) -> None:
        if self._rewrite or self._log_size > self._limit:
            self._rewrite_whole(draft)
            return
        changes = draft.changes()
        if not changes:
            return
        try:
            # A TypeError for a value JSON cannot hold is raised here, before the disk is touched.
            line = serialise({"changes": changes}) + b"\n"
            self._log_size = atomic.append(self.log_path, line, self._log_size)
        except FileNotFoundError:
            self._rewrite_whole(draft)  # the log was moved away: live.json holds it all again
            return
        except StorageError:
            self._rewrite = True  # a torn line may be left: never append after it
            raise
        # One reference assignment: readers see the old view or the new one, whole.
        self.view = draft.settled()
        self.writes += 1

    def _rewrite_whole(self, draft: LiveView) -> None:
        """live.json rewritten from the draft, with a new generation, then a fresh live.log."""
        generation = self._generation + 1
        draft.counters[GENERATION] = generation
        payload = serialise(draft.tables())
        atomic.replace(atomic.write_temp(self.path, payload), self.path)
        # live.json is now the new one, and the old log (an older generation) is ignored: the
        # view must follow even if what comes next fails.
        self.view, self._generation, self._rewrite = draft.settled(), generation, True
        self.writes += 1
        header = serialise({GENERATION: generation}) + b"\n"
        atomic.replace(atomic.write_temp(self.log_path, header), self.log_path)
        self._log_size = self._header_size = len(header)
        self._limit = max(LOG_MIN, LOG_TIMES * len(payload))
        atomic.fsync_dir(self.path.parent)
        # Only now may the next write append: appends alone never make these renames durable.
        self._rewrite = False

    def _prune(self, now: datetime) -> None:
        d = self._d
        for stamps, kept in ((d.seen, SEEN_KEPT), (d.sent, SENT_KEPT)):
            cutoff = stamp(now - kept)
            while stamps and next(iter(stamps.values())) < cutoff:  # oldest first
                del stamps[next(iter(stamps))]
        for ref, entry in list(d.journal.items()):
            # By reference and seq: an entry rewritten in this very write is not copied yet.
            if self._copied.get(ref) == entry["seq"]:
                del d.journal[ref]
        failed_cutoff = now - FAILED_KEPT
        stale = [i for i, doc in d.outbox.items() if _failed_before(doc, failed_cutoff)]
        for item_id in stale:
            del d.outbox[item_id]
        if stale:
            log.warning(
                "dropped %d message(s) refused for good more than %d days ago",
                len(stale),
                FAILED_KEPT.days,
            )

    def _enqueue(self, docs: Sequence[JSON]) -> list[int | None]:
        """Queue new items with the next seqs; returns each item's seq, or None if ignored."""
        d = self._d
        seq = d.counters.get("seq", 0)
        seqs: list[int | None] = []
        for doc in docs:
            item_id = doc["id"]
            if item_id in d.outbox or item_id in d.sent:
                seqs.append(None)
                continue
            seq += 1
            d.outbox[item_id] = {**doc, "seq": seq}
            seqs.append(seq)
        if seq != d.counters.get("seq", 0):
            d.counters["seq"] = seq
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
            d = self._d
            if conversation is None:
                d.conversations.pop(unit.person_key, None)
            elif not isinstance(conversation, _Keep):
                d.conversations[unit.person_key] = conversation
            if unit.delivery_id:
                d.seen[unit.delivery_id] = stamp(now)
            unit.seqs = self._enqueue(unit.outbox)
            self._put_meta(unit.meta)
            self._journal(unit.cases, unit.case_meta)
            self._count_references(unit)
        return True

    def _put_meta(self, meta: Mapping[str, JSON | None]) -> None:
        for key, value in meta.items():
            if value is None:
                self._d.meta.pop(key, None)
            else:
                self._d.meta[key] = value

    def _journal(
        self, cases: dict[str, JSON], case_meta: dict[str, dict[str, JSON | None]]
    ) -> None:
        """Entries for the cases (and case facts) of a unit, until they are in their shards."""
        d = self._d
        seq = d.counters.get("journal", 0)
        for ref in sorted(set(cases) | set(case_meta)):
            old = d.journal.get(ref, {})
            seq += 1
            d.journal[ref] = {
                "reference": ref,
                "seq": seq,
                "case": cases.get(ref, old.get("case")),
                "meta": {**old.get("meta", {}), **case_meta.get(ref, {})},
            }
        if seq != d.counters.get("journal", 0):
            d.counters["journal"] = seq

    def copied(self, reference: str, seq: int) -> None:
        """A journal entry is in its shard: the next write drops it."""
        self._copied[reference] = seq

    def is_copied(self, reference: str, seq: int) -> bool:
        return self._copied.get(reference) == seq

    def uncopied(self) -> int:
        """Journal entries not yet in their shards."""
        return sum(not self.is_copied(r, int(e["seq"])) for r, e in self.view.journal.items())

    def drop_copied(self, now: datetime) -> None:
        """A write that only drops the journal entries already copied (pruning does it)."""
        with self._writing(now):
            pass

    def reference_floor(self, year: int, archive: ArchiveIndex) -> int:
        """The highest number of the year a written case was given (its counter outlives the
        case's deletion). The archive's highest counts too, so numbers stay unique even if
        live.json was lost and started again from empty. From the disk's view: it is read
        on the event loop while the worker may be writing."""
        return max(self.view.counters.get(counter(year), 0), archive.highest(year))

    def _count_references(self, unit: UnitDocs) -> None:
        """A new case's number is counted in the write that makes the case."""
        counters = self._d.counters
        for ref, new in unit.new.items():
            if new and (taken := counted(ref)) is not None:
                year, number = taken
                counters[counter(year)] = max(counters.get(counter(year), 0), number)

    def claim(self, ids: Sequence[str], owner: str, until: datetime, now: datetime) -> list[JSON]:
        taken = [
            claimed(self._state.outbox[i], owner, until) for i in ids if i in self._state.outbox
        ]
        if not taken:
            return []
        with self._writing(now):
            self._d.outbox.update((doc["id"], doc) for doc in taken)
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
                self._d.outbox[doc["id"]] = {**doc, "claimed_by": "", "claimed_until": None}

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
            d = self._d
            self._put_meta(meta)
            if case_meta:
                self._journal({}, case_meta)
            at = stamp(now)
            for item_id in dict.fromkeys(item_ids):
                d.outbox.pop(item_id, None)
                d.sent.setdefault(item_id, at)

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
            self._d.outbox.update((doc["id"], doc) for doc in docs)

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

        def its_conversation(conv: JSON) -> bool:  # still being made, or waiting in END
            found = conversation_id and conv.get("id") == conversation_id
            return bool(found) or conv.get("case_reference") == reference

        with self._writing(now):
            self._rewrite = True  # live.json whole, and a fresh log: no copy left in the old one
            d = self._d
            doomed = [
                i for i, doc in d.outbox.items() if about_case(doc, reference, conversation_id)
            ]
            for item_id in doomed:
                del d.outbox[item_id]
            for key in [k for k in d.meta if k.endswith(suffix) and not k.startswith("post:")]:
                del d.meta[key]
            for person in [p for p, conv in d.conversations.items() if its_conversation(conv)]:
                del d.conversations[person]
            held = d.journal.get(reference, {}).get("meta", {})
            receipts = {k: v for k, v in held.items() if k.startswith("post:")}
            seq = d.counters.get("journal", 0) + 1
            d.journal[reference] = {
                "reference": reference,
                "seq": seq,
                "case": tombstone,
                "meta": receipts,
            }
            d.counters["journal"] = seq


def _failed_before(doc: JSON, cutoff: datetime) -> bool:
    """A failed item whose failure (or, for items from before `failed_at`, creation) is old."""
    if not doc.get("failed"):
        return False
    return datetime.fromisoformat(str(doc.get("failed_at") or doc["created_at"])) < cutoff


def _read_log(path: Path, generation: int) -> list[Mapping[str, Mapping[str, object]]] | None:
    """The changes live.log holds on top of live.json of `generation`: none if the log is
    missing or older (live.json already holds it); None if it is newer (live.json was
    rewritten meanwhile: read it again). A torn last line (a write cut short, never
    acknowledged) is left out; damage anywhere else refuses the file."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise StorageError(f"Could not read {path}: {exc.strerror or type(exc).__name__}.") from exc
    lines = raw.split(b"\n")
    lines.pop()  # after the last newline: empty, or a torn line
    try:
        header = parse(lines[0]) if lines else {}
        logged = int(header[GENERATION]) if isinstance(header, dict) else -1
        if logged != generation:
            return [] if logged < generation else None
        changes = [parse(line)["changes"] for line in lines[1:]]
    except (ValueError, KeyError, TypeError, IndexError, RecursionError):
        raise unreadable(path, "a line of it is not a change this bot wrote") from None
    if not all(
        isinstance(c, dict) and all(isinstance(t, dict) for t in c.values()) for c in changes
    ):
        raise unreadable(path, "a line of it is not a change this bot wrote")
    if any(set(c) - set(LIVE_TABLES) for c in changes):
        raise unreadable(path, "a line of it names an unknown table")
    return changes

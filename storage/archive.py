"""The case archive: one small TinyDB file per 100 reference numbers, and in-memory indexes.

A case write rewrites only its own shard (TT-2026-0123 lives in cases/TT-2026-01.json), so its
cost does not grow with the archive. The indexes, built once at open and kept up to date by
every write, answer every read: by reference, by conversation, the open cases, the cases about
each account, and when each open case's next reminder falls due – so neither the duplicate
check nor the reminders read every case.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

from tinydb import TinyDB, where

from bot import codec
from bot.model import JSON, OPEN_STATUSES
from bot.references import counted
from storage.atomic import AtomicJSONStorage, Tables, unreadable
from storage.tables import docs, get_table, need, open_tinydb, put

CASES = "cases"  # the table name inside every shard
META = "meta"  # small facts kept about the shard's cases (post ids, reminders sent)
SHARD_SIZE = 100

_REFERENCE = re.compile(r"^([A-Z]+)-(\d{4})-(\d+)$")
_OPEN = frozenset(str(s) for s in OPEN_STATUSES)
_SHARD_FILE = re.compile(r"^[A-Z]+-\d{4}-\d{2,}$|^other$")


def by_shard(journal: Iterable[tuple[str, JSON]]) -> dict[str, list[tuple[str, JSON]]]:
    """Journal entries (reference, entry) grouped by the shard each belongs in."""
    shards: dict[str, list[tuple[str, JSON]]] = {}
    for reference, entry in journal:
        shards.setdefault(shard_name(reference), []).append((reference, entry))
    return shards


def shard_name(reference: str) -> str:
    """The archive file (without .json) a reference lives in: TT-2026-0123 -> TT-2026-01."""
    match = _REFERENCE.match(reference)
    if not match:
        return "other"  # never build a file name from an unexpected string
    prefix, year, number = match.groups()
    return f"{prefix}-{year}-{int(number) // SHARD_SIZE:02d}"


def reference_order(reference: str) -> tuple[int, str, int, int, str]:
    match = _REFERENCE.match(reference)
    if not match:
        return (1, "", 0, 0, reference)
    return (0, match[1], int(match[2]), int(match[3]), reference)


def _check_shard(path: Path, name: str, data: Tables) -> list[JSON]:
    found: list[JSON] = []
    for doc_id, doc in data.get(CASES, {}).items():
        try:
            codec.case_from_dict(doc)
            reference = need(doc, "reference", str)
        except (KeyError, TypeError, ValueError, AttributeError):
            raise unreadable(path, f"case document {doc_id} is malformed") from None
        if shard_name(reference) != name:
            raise unreadable(path, f"case document {doc_id} belongs in another file")
        found.append(doc)
    return found


class Archive:
    """The sharded case files and an in-memory index of every case in them.

    The worker thread writes shards and updates the index; the event loop reads the index.
    The index dicts are shared between the two, so `_guard` covers every access (held for
    dictionary operations only, never during disk I/O). Indexed documents come from the
    parsed files and are never mutated: readers copy before decoding.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._shards: dict[str, tuple[TinyDB, AtomicJSONStorage]] = {}
        self._guard = threading.Lock()
        self._by_reference: dict[str, JSON] = {}
        self._by_conversation: dict[str, set[str]] = {}
        self._open: set[str] = set()
        self._by_handle: dict[str, set[str]] = {}
        self._remind_at: dict[str, str] = {}  # open cases with a reminder to come -> when
        self._highest: dict[int, int] = {}
        self._meta: dict[str, dict[str, JSON]] = {}  # shard name -> key -> value

    # -- worker thread -------------------------------------------------------------------------
    def load(self) -> None:
        for path in sorted(self.folder.glob("*.json")):
            name = path.name.removesuffix(".json")
            if not _SHARD_FILE.match(name):
                continue  # not one of ours (e.g. a person's copy); never touched
            data = self._shard(name)[1].load()
            found = _check_shard(path, name, data)
            if any(doc["reference"] in self._by_reference for doc in found):
                raise unreadable(path, "it repeats a case stored elsewhere")
            self._index(found)
            self._index_meta(name, data)

    def put(self, reference: str, doc: JSON) -> None:
        name = shard_name(reference)
        db, storage = self._shard(name)
        try:
            with storage.transaction():
                put(get_table(db, CASES), doc, where("reference") == reference)
        finally:
            # Index from the parsed file, whatever happened: unchanged if the write failed,
            # the new case once the file was replaced (even if a later fsync failed).
            self._index(docs(storage.snapshot(), CASES))

    def copy_entries(self, entries: Iterable[JSON]) -> None:
        """Copy journal entries (see `storage.live`) of one shard into it, in one write; a
        case the shard holds at that version already only gets its facts, and an entry with
        nothing new is passed over."""
        news = [new for new in map(self._news, entries) if new is not None]
        if not news:
            return
        name = shard_name(news[0][0])
        db, storage = self._shard(name)
        try:
            with storage.transaction():
                for reference, doc, meta in news:
                    if doc is not None:
                        put(get_table(db, CASES), doc, where("reference") == reference)
                    facts = get_table(db, META)
                    for key, value in meta.items():
                        if value is None:
                            facts.remove(where("key") == key)
                        else:
                            put(facts, {"key": key, "value": value}, where("key") == key)
        finally:
            self._index(docs(storage.snapshot(), CASES))
            self._index_meta(name, storage.snapshot())

    def _news(self, entry: JSON) -> tuple[str, JSON | None, dict[str, JSON]] | None:
        """What of a journal entry its shard does not hold yet: (reference, the case or None,
        the facts), or None for nothing."""
        reference = str(entry["reference"])
        doc, meta = entry.get("case"), dict(entry.get("meta") or {})
        if doc is not None and self.version(reference) >= int(doc.get("version", 0)):
            doc = None
        if doc is None and all(self._meta_is(reference, k, v) for k, v in meta.items()):
            return None
        return reference, doc, meta

    def _meta_is(self, reference: str, key: str, value: JSON | None) -> bool:
        return self.get_meta(reference, key) == value

    def forget_meta(self, reference: str, keep: Callable[[str], bool]) -> None:
        """Drop the case's facts, except those `keep` names."""
        name = shard_name(reference)
        suffix = f":{reference}"
        doomed = [k for k in self.meta_keys(name) if k.endswith(suffix) and not keep(k)]
        if not doomed:
            return
        db, storage = self._shard(name)
        try:
            with storage.transaction():
                get_table(db, META).remove(where("key").one_of(doomed))
        finally:
            self._index_meta(name, storage.snapshot())

    def close(self) -> None:
        for db, _ in self._shards.values():
            db.close()

    def _shard(self, name: str) -> tuple[TinyDB, AtomicJSONStorage]:
        if name not in self._shards:
            self._shards[name] = open_tinydb(self.folder / f"{name}.json")
        return self._shards[name]

    def _index(self, found: Iterable[JSON]) -> None:
        with self._guard:
            for doc in found:
                reference, conversation_id = doc["reference"], doc.get("conversation_id", "")
                old = self._by_reference.get(reference)
                if old is not None:
                    self._unlink_conversation(old.get("conversation_id", ""), reference)
                self._by_reference[reference] = doc
                self._by_conversation.setdefault(conversation_id, set()).add(reference)
                self._reindex(reference, old, doc)
                if (taken := counted(reference)) is not None:
                    year, number = taken
                    self._highest[year] = max(self._highest.get(year, 0), number)

    def _reindex(self, reference: str, old: JSON | None, doc: JSON) -> None:
        """The open set, the accounts and the reminder times, for one case's new document."""
        for handle in (old or {}).get("handles") or ():
            held = self._by_handle.get(handle)
            if held is not None:
                held.discard(reference)
        for handle in doc.get("handles") or ():
            self._by_handle.setdefault(handle, set()).add(reference)
        is_open = doc.get("status", "new") in _OPEN
        if is_open:
            self._open.add(reference)
        else:
            self._open.discard(reference)
        if is_open and doc.get("remind_at"):
            self._remind_at[reference] = str(doc["remind_at"])
        else:
            self._remind_at.pop(reference, None)

    def _index_meta(self, name: str, data: Tables) -> None:
        found = {str(d.get("key")): d.get("value") for d in data.get(META, {}).values()}
        with self._guard:
            self._meta[name] = {k: v for k, v in found.items() if isinstance(v, dict)}

    def _unlink_conversation(self, conversation_id: str, reference: str) -> None:
        references = self._by_conversation.get(conversation_id)
        if references is not None:
            references.discard(reference)
            if not references:
                del self._by_conversation[conversation_id]

    # -- any thread ----------------------------------------------------------------------------
    def get(self, reference: str) -> JSON | None:
        with self._guard:
            return self._by_reference.get(reference)

    def all(self) -> list[JSON]:
        with self._guard:
            return list(self._by_reference.values())

    def open_cases(self) -> list[JSON]:
        with self._guard:
            return [self._by_reference[r] for r in self._open]

    def about(self, handles: Iterable[str]) -> list[JSON]:
        with self._guard:
            refs = set().union(*(self._by_handle.get(h, set()) for h in handles))
            return [self._by_reference[r] for r in refs]

    def due(self, now_iso: str) -> list[JSON]:
        """Open cases whose next reminder time (ISO, UTC offset kept) is not after `now`."""
        from datetime import datetime

        now = datetime.fromisoformat(now_iso)
        with self._guard:
            refs = [r for r, at in self._remind_at.items() if datetime.fromisoformat(at) <= now]
            return [self._by_reference[r] for r in refs]

    def version(self, reference: str) -> int:
        with self._guard:
            doc = self._by_reference.get(reference)
            return int(doc.get("version", 0)) if doc else 0

    def for_conversation(self, conversation_id: str) -> JSON | None:
        with self._guard:
            references = self._by_conversation.get(conversation_id)
            if not references:
                return None
            # Several cases from one conversation: the earliest reference, as saved first.
            return self._by_reference[min(references, key=reference_order)]

    def get_meta(self, reference: str, key: str) -> JSON | None:
        with self._guard:
            return self._meta.get(shard_name(reference), {}).get(key)

    def meta_keys(self, name: str) -> list[str]:
        with self._guard:
            return list(self._meta.get(name, {}))

    def highest(self, year: int) -> int:
        with self._guard:
            return self._highest.get(year, 0)

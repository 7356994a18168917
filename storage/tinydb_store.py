"""The TinyDB store: the `bot.ports.Store` the bot runs on, in a private data folder.

Layout of the data folder (0700; every file 0600, written atomically by `storage.atomic`):

    .lock                  held with flock while a process uses the folder
    live.json              what changes on every message: tables conversations, seen, outbox,
                           sent, meta, counters, journal (small; pruned as it goes), rewritten
                           whole now and then (`storage.live`)
    live.log               each write's changes since live.json was last rewritten, one line each
    cases/TT-2026-00.json  the case archive, one TinyDB file per 100 reference numbers of a
    cases/TT-2026-01.json  year (shard = number // 100), so saving a case rewrites one small
    cases/other.json       file; references outside the TT-YYYY-N pattern go to other.json

Concurrency: every file operation runs on one worker thread, one at a time behind one
`asyncio.Lock`, so the event loop never waits on the disk and no two writes interleave. The
worker alone changes the in-memory views, always rebuilt from what is on disk (a failed write
leaves them as they were); readers on the event loop answer from them without touching the
disk. A write cannot be called back once on the worker: cancelling its caller does not undo it.

Semantics follow `storage.memory.MemoryStore`, which the contract tests run against as well.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import gc
import logging
import os
import re
import stat
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar, cast

from bot import codec
from bot.clock import SystemClock
from bot.errors import Conflict, StorageError, error_reference, log_bug
from bot.model import JSON, OPEN_STATUSES, Case, Conversation, OutboxItem, Platform
from bot.outbox import claimable, next_wake
from bot.ports import KEEP, PAGE_SIZE, Clock, Delivered, UnitOfWork, _Keep
from bot.references import counted, reference
from storage.archive import Archive, by_shard
from storage.atomic import DIR_MODE, FILE_MODE, json_copy, remove_stale_temps
from storage.live import LiveFile, UnitDocs
from storage.pages import decoded_pages, in_pages

T = TypeVar("T")
log = logging.getLogger(__name__)

COPY_AT = 32  # journal entries waiting for their shards: copied even while steps keep coming
COPY_ALONE = 4  # cases waiting that a step alone still copies at once, with its own
COPY_QUIET = 0.2  # seconds with no write before a busy store copies what waits

LIVE_FILE = "live.json"
CASES_DIR = "cases"
LOCK_FILE = ".lock"

_OPEN = frozenset(str(s) for s in OPEN_STATUSES)


def _make_private_dir(path: Path) -> None:
    """`path` as a folder only its owner can enter: created 0700 (and so is every missing
    folder above it, whatever the umask), or, if it exists and is open to others, tightened
    to 0700 with a log line. Folders above it that already exist are not the bot's to change."""
    missing = [p for p in (path, *path.parents) if not os.path.lexists(p)]
    try:
        for folder in reversed(missing):
            with contextlib.suppress(FileExistsError):  # made meanwhile: checked below
                folder.mkdir(mode=DIR_MODE)
                os.chmod(folder, DIR_MODE)  # mkdir's mode is filtered by the umask
        if not path.is_dir():
            raise StorageError(f"{path} exists but is not a folder.")
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            os.chmod(path, DIR_MODE)
            log.warning(
                "%s was open to other users (%04o); it is now %04o, as it holds safeguarding "
                "records",
                path,
                mode,
                DIR_MODE,
            )
    except OSError as exc:
        raise StorageError(f"Could not make {path} a private folder: {exc.strerror}.") from exc


READ_ONLY = (
    "The data folder is open read-only because the bot is running; update cases from the "
    "leadership channel, or stop the bot first."
)


def _take_lock(data_dir: Path) -> int:
    """Hold an exclusive flock on data_dir/.lock: a second process must not write here."""
    path = data_dir / LOCK_FILE
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
    except OSError as exc:
        raise StorageError(f"Could not open the lock file {path}: {exc.strerror}.") from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise StorageError(
            f"Another reportbot is already using {data_dir}; only one may change a data folder "
            "at a time. If the bot is running, update cases from the leadership channel, or "
            "stop the bot first (reading commands such as `reportbot cases` work beside it)."
        ) from None
    except OSError as exc:
        os.close(fd)
        raise StorageError(f"Could not lock {path}: {exc.strerror}.") from exc
    return fd


def _release_lock(fd: int) -> None:
    if fd < 0:  # a read-only store holds no lock
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


_CASE_KEY = re.compile(r":([A-Z]+-\d{4}-\d+)$")


def _case_of(key: str) -> str:
    """The case reference a meta key is about, or ''."""
    match = _CASE_KEY.search(key)
    return match.group(1) if match else ""


Outcome = tuple[bool, Any]  # (succeeded, result or exception) of one job in a batch
Job = tuple[Callable[[], Any], "asyncio.Future[Any]"]  # a queued write and who awaits it


def _outcome(job: Callable[[], Any]) -> Outcome:
    """A job's result, or its `Conflict`: raised before it writes anything, so the rest of
    its batch still goes in the same write."""
    try:
        return (True, job())
    except Conflict as e:
        return (False, e)


def _alone(job: Callable[[], Any]) -> Outcome:
    try:
        return (True, job())
    except Exception as e:
        return (False, e)


def _settle_from(batch: list[Job], running: asyncio.Future[list[Outcome]]) -> None:
    """Every waiting step gets an answer, even if the worker itself failed: none hangs."""
    failure = running.exception() if not running.cancelled() else StorageError("cancelled")
    if failure is None:
        _settle(batch, running.result())
    else:
        _settle(batch, [(False, failure)] * len(batch))


def _settle(batch: list[Job], outcomes: list[Outcome]) -> None:
    for (_, future), (ok, value) in zip(batch, outcomes, strict=True):
        if future.done():
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)


def _reporter_key(doc: JSON) -> str:
    """`Person.key` read from a stored case without decoding it."""
    person = doc.get("reporter", {})
    return f"{person.get('platform')}:{person.get('workspace')}:{person.get('user_id')}"


def _decode_case(doc: JSON | None) -> Case | None:
    return codec.case_from_dict(json_copy(doc)) if doc is not None else None


class TinyStore:
    """`bot.ports.Store` on TinyDB files in one data folder. Create with `open_store`."""

    def __init__(
        self,
        data_dir: Path,
        lock_fd: int,
        live: LiveFile,
        archive: Archive,
        executor: ThreadPoolExecutor,
        clock: Clock,
    ) -> None:
        self.data_dir = data_dir
        self._lock_fd = lock_fd
        self._live = live
        self._archive = archive
        self._executor = executor
        self._clock = clock
        self._lock = asyncio.Lock()
        self._closed = False
        self._queue: list[Job] = []
        self._writing = False  # a caller or a writer task is writing the queue
        self._writers: set[asyncio.Task[None]] = set()
        self._copying: asyncio.Future[None] | None = None
        self._copy_timer: asyncio.TimerHandle | None = None
        self._taken: dict[int, set[int]] = {}  # year -> numbers handed out, not yet written

    async def _write(self, job: Callable[[], T]) -> T:
        """Run `job` on the worker thread, one job at a time."""
        async with self._lock:
            self._check_writable()
            return await asyncio.get_running_loop().run_in_executor(self._executor, job)

    def _check_writable(self) -> None:
        if self._closed:
            raise StorageError("The store is closed.")
        if self._lock_fd < 0:
            raise StorageError(READ_ONLY)

    async def _write_live(self, job: Callable[[], T]) -> T:
        """A live.json write, grouped with any others waiting (group commit).

        With twenty people answering at once, their steps queue for the one writer; the step
        that finds no write under way writes everything queued by then in one file write and
        one fsync, and the rest wait only for their own result. (When each waited for the
        lock instead, the twentieth learnt its step was written twenty loop turns late.)
        """
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queue.append((job, done))
        if not self._writing:
            await self._write_queued(until=done)
        return cast(T, await done)

    async def _write_queued(self, until: asyncio.Future[Any] | None) -> None:
        """Write batches until `until` is settled (None: until the queue is empty); what is
        queued after it is left to a writer task, so a caller does not wait for later steps."""
        self._writing = True
        try:
            while self._queue and not (until is not None and until.done()):
                async with self._lock:  # against `_write`'s jobs
                    batch, self._queue = self._queue, []
                    running = self._flush(batch)
                    if running is not None:
                        # Steps that come meanwhile gather into the next batch.
                        await asyncio.shield(running)
        finally:
            self._writing = False
            if self._queue:
                self._carry_on()

    def _carry_on(self) -> None:
        task = asyncio.create_task(self._write_queued(until=None))
        self._writers.add(task)
        task.add_done_callback(self._writers.discard)
        self._writing = True  # from now: the task is the writer

    def _flush(self, batch: list[Job]) -> asyncio.Future[list[Outcome]] | None:
        """Start the batch on the worker; its futures are settled when it ends, even if the
        caller that started it is cancelled meanwhile."""
        try:
            self._check_writable()
        except StorageError as e:
            _settle(batch, [(False, e)] * len(batch))
            return None
        jobs = [job for job, _ in batch]
        now = self._clock.now()
        loop = asyncio.get_running_loop()

        def settle(outcomes: list[Outcome]) -> None:  # from the worker: one loop turn sooner
            loop.call_soon_threadsafe(_settle, batch, outcomes)

        running = loop.run_in_executor(self._executor, self._run_batch, jobs, now, settle)
        running.add_done_callback(lambda f: self._batch_done(batch, f))
        return running

    def _run_batch(
        self,
        jobs: list[Callable[[], Any]],
        now: datetime,
        settle: Callable[[list[Outcome]], None],
    ) -> list[Outcome]:
        """On the worker: all the jobs in one write; if that fails, each on its own, so one
        bad job cannot fail the others. Then, if the step came alone to a journal where
        little waits (a shard that failed is tried again), its cases go to their shards with
        what waits; after a rush, see `_copy_later`."""
        alone = len(jobs) == 1 and self._live.uncopied() <= COPY_ALONE
        try:
            outcomes = self._batch(jobs, now)
        finally:
            if alone:
                self._copy_journal()
        settle(outcomes)
        return outcomes

    def _batch_done(self, batch: list[Job], running: asyncio.Future[list[Outcome]]) -> None:
        _settle_from(batch, running)
        self._copy_later()

    def _copy_later(self) -> None:
        """A busy store copies the journal's cases to their shards once it has had no write
        for `COPY_QUIET`, or at once when many cases wait. They are durable already (in
        live.log), so steps need not queue behind the copies, nor share the interpreter with
        them while replies go out: when twenty people submit at once, each shard is rewritten
        once for all of them, after the rush (a copy of the twenty in the middle of it, on
        the worker every write uses, held the next steps' writes 40-60 ms)."""
        waiting = self._live.uncopied()
        if self._copying is not None or self._closed or not waiting:
            return
        if self._copy_timer is not None:
            self._copy_timer.cancel()
            self._copy_timer = None
        if waiting < COPY_AT:
            loop = asyncio.get_running_loop()
            self._copy_timer = loop.call_later(COPY_QUIET, self._copy_when_quiet)
        else:
            self._start_copy()

    def _copy_when_quiet(self) -> None:
        self._copy_timer = None
        if self._queue or self._writing:
            return  # the batch under way decides again when it ends
        if self._copying is None and not self._closed:
            self._start_copy()

    def _start_copy(self) -> None:
        loop = asyncio.get_running_loop()
        self._copying = loop.run_in_executor(self._executor, self._copy_journal)
        self._copying.add_done_callback(self._copied)

    def _copied(self, copying: asyncio.Future[None]) -> None:
        self._copying = None
        failure = None if copying.cancelled() else copying.exception()
        if failure is not None:
            log_bug(log, error_reference(), failure)  # still in live.json: nothing is lost

    def _batch(self, jobs: list[Callable[[], Any]], now: datetime) -> list[Outcome]:
        if len(jobs) > 1:
            together = self._together(jobs, now)
            if together is not None:
                return together
        return [_alone(job) for job in jobs]

    def _together(self, jobs: list[Callable[[], Any]], now: datetime) -> list[Outcome] | None:
        """The jobs in one write; None if it failed before the file was replaced, so that each
        job runs alone and one bad job cannot fail the others."""
        outcomes: list[Outcome] = []
        written = self._live.writes
        try:
            with self._live.batch(now):
                outcomes = [_outcome(job) for job in jobs]
        except Exception as e:
            if self._live.writes == written:
                return None
            # Replaced, then failed (the folder fsync): the batch is written and must not run
            # again. Each job hears of the failure, as a single write's caller does; a job in
            # `Conflict` wrote nothing.
            return [(False, e if ok else value) for ok, value in outcomes]
        return outcomes

    def _copy_journal(self) -> None:
        """On the worker: journal entries on disk into their shards (they are durable already;
        a shard that cannot be written now is tried again after the next write)."""
        journal = self._live.view.journal.items()
        waiting = [(r, e) for r, e in journal if not self._live.is_copied(r, int(e["seq"]))]
        for group in by_shard(waiting).values():  # one write a shard, however many cases
            try:
                self._archive.copy_entries(entry for _, entry in group)
            except StorageError as e:
                log.warning(
                    "a case could not be written to its file yet (%s); kept in live.json", e
                )
                return
            for ref, entry in group:
                self._live.copied(ref, int(entry["seq"]))

    # -- conversations and deliveries ----------------------------------------------------------
    async def conversation(self, person_key: str) -> Conversation | None:
        doc = self._live.view.conversations.get(person_key)
        return codec.conversation_from_dict(json_copy(doc)) if doc is not None else None

    async def conversations(self) -> list[Conversation]:
        docs = list(self._live.view.conversations.values())
        return [codec.conversation_from_dict(json_copy(d)) for d in docs]

    async def outbox_items(self) -> list[OutboxItem]:
        docs = sorted(self._live.view.outbox.values(), key=lambda d: int(d.get("seq", 0)))
        return [codec.outbox_from_dict(json_copy(d)) for d in docs]

    async def seen(self, delivery_id: str) -> bool:
        return delivery_id in self._live.view.seen

    async def commit(self, unit: UnitOfWork) -> bool:
        docs = _unit_docs(unit)  # copies: the worker never reads what the caller may change
        now = self._clock.now()
        try:
            applied = await self._write_live(lambda: self._live.apply(docs, self._archive, now))
        except asyncio.CancelledError:
            raise  # the write may still be made on the worker: its numbers stay taken
        except BaseException:
            self._release(docs)
            raise
        self._release(docs)
        if applied:
            _assign_seqs(unit.outbox, docs.seqs)
            if isinstance(unit.conversation, Conversation):
                unit.conversation.version += 1
            for case in unit.cases:
                case.version += 1
        return bool(applied)

    # -- the outbox ----------------------------------------------------------------------------
    async def claim(
        self, platform: Platform, owner: str, now: datetime, lease: timedelta, limit: int = 50
    ) -> list[OutboxItem]:
        def job() -> list[JSON]:
            # Chosen on the worker, from the state the previous writes left: two claims in a
            # row never take the same item.
            ids = [d["id"] for d in claimable(self._live.state_outbox(), str(platform), now)]
            return self._live.claim(ids[:limit], owner, now + lease, self._clock.now())

        if not claimable(self._live.view.outbox.values(), str(platform), now):
            return []  # nothing to claim: no write
        taken = await self._write_live(job)
        return [codec.outbox_from_dict(json_copy(d)) for d in taken]

    async def next_due_at(self, platform: Platform) -> datetime | None:
        # Runs every time a courier goes to sleep: read the times, decode nothing else.
        return next_wake(self._live.view.outbox.values(), str(platform))

    async def undelivered(self, platform: Platform) -> list[OutboxItem]:
        docs = [
            d
            for d in self._live.view.outbox.values()
            if d["platform"] == platform and d.get("failed")
        ]
        docs.sort(key=lambda d: int(d.get("seq", 0)))
        return [codec.outbox_from_dict(json_copy(d)) for d in docs]

    async def delivered(self, done: Sequence[Delivered]) -> None:
        ids = [d.item_id for d in done]
        live_meta: dict[str, JSON] = {}
        case_meta: dict[str, dict[str, JSON | None]] = {}
        for d in done:
            if not d.receipt_key or d.receipt is None:
                continue
            reference = _case_of(d.receipt_key)
            if reference:
                case_meta.setdefault(reference, {})[d.receipt_key] = json_copy(d.receipt)
            else:
                live_meta[d.receipt_key] = json_copy(d.receipt)
        now = self._clock.now()
        await self._write_live(lambda: self._live.delivered(ids, live_meta, case_meta, now))

    async def reschedule(self, *items: OutboxItem) -> None:
        docs = [
            (
                i.claimed_by,
                json_copy(codec.outbox_to_dict(replace(i, claimed_by="", claimed_until=None))),
            )
            for i in items
        ]
        now = self._clock.now()
        await self._write_live(lambda: self._live.reschedule(docs, now))

    # -- the case archive (with what the journal holds on top) -----------------------------------
    async def take_reference(self, year: int) -> str:
        # Kept here, and made durable by the write of the case it is given to (`LiveFile`
        # counts each new case's number): a submit is one write, not two. A number never
        # saved was seen by no one (replies go only after their case is written), so a
        # restart may hand it out again; a saved case's number never is, deleted or not.
        self._check_writable()
        floor = self._live.reference_floor(year, self._archive)
        taken = self._taken.setdefault(year, set())
        taken.difference_update([n for n in taken if n <= floor])  # counted on disk now
        number = max(floor, max(taken, default=0)) + 1
        taken.add(number)
        return reference(year, number)

    def _release(self, docs: UnitDocs) -> None:
        """A unit's new references, written (then counted on disk) or failed (then free, so
        pressing submit again after a full disk files the case under the same number)."""
        for ref, new in docs.new.items():
            if new and (counted_as := counted(ref)) is not None:
                self._taken.get(counted_as[0], set()).discard(counted_as[1])

    async def case(self, reference: str) -> Case | None:
        return _decode_case(self._case_doc(reference.strip().upper()))

    def _case_doc(self, reference: str) -> JSON | None:
        held = self._live.view.journal.get(reference, {}).get("case")
        return held if held is not None else self._archive.get(reference)

    def _overlay(self, docs: list[JSON], keep: Callable[[JSON], bool] | None = None) -> list[JSON]:
        """Archive documents with the journal's newer versions on top (normally none)."""
        journal = {r: e["case"] for r, e in self._live.view.journal.items() if e.get("case")}
        if not journal:
            return docs
        merged = {d["reference"]: d for d in docs}
        merged.update(journal)
        return [d for d in merged.values() if keep is None or keep(d)]

    async def case_for_conversation(self, conversation_id: str) -> Case | None:
        for doc in self._live.view.journal.values():
            held = doc.get("case")
            if held and held.get("conversation_id") == conversation_id:
                return _decode_case(held)
        return _decode_case(self._archive.for_conversation(conversation_id))

    async def cases(
        self, *, open_only: bool = False, reporter: str = "", handles: Sequence[str] = ()
    ) -> list[Case]:
        # Filter the stored documents first, by index where one fits, so only the matches are
        # copied and decoded (about 17 µs a case): cost follows the matches, not the archive.
        wanted = set(handles)
        if wanted:
            docs = self._archive.about(wanted)
        elif open_only:
            docs = self._archive.open_cases()
        else:
            docs = self._archive.all()
        docs = self._overlay(docs)
        if open_only:
            docs = [d for d in docs if d.get("status", "new") in _OPEN]
        if reporter:
            docs = [d for d in docs if _reporter_key(d) == reporter]
        if wanted:
            docs = [d for d in docs if wanted.intersection(d.get("handles") or ())]
        found = await self._decode_all(docs)
        if reporter:  # the exact test, on the few decoded matches
            found = [c for c in found if c.reporter.key == reporter]
        return sorted(found, key=lambda c: (c.created_at, c.reference))

    async def case_pages(self, size: int = PAGE_SIZE) -> AsyncIterator[list[Case]]:
        async for page in decoded_pages(self._overlay(self._archive.all()), size):
            yield page

    async def cases_due(self, now: datetime) -> list[Case]:
        docs = self._overlay(self._archive.due(now.isoformat()))
        due = [
            d
            for d in docs
            if d.get("status") in _OPEN
            and d.get("remind_at")
            and datetime.fromisoformat(d["remind_at"]) <= now
        ]
        found = await self._decode_all(due)
        return sorted(found, key=lambda c: (c.remind_at or now, c.reference))

    async def _decode_all(self, docs: list[JSON]) -> list[Case]:
        return [case async for page in in_pages(docs, PAGE_SIZE) for case in page]

    async def delete_case(self, reference: str, tombstone: Case) -> None:
        if tombstone.reference != reference:
            # Saved under another reference, the tombstone would leave the case in place.
            raise ValueError("the tombstone must carry the reference of the case it replaces")
        now = self._clock.now()

        def job() -> None:
            old = self._case_doc(reference) or {}
            conversation_id = str(old.get("conversation_id") or "")
            tombstone.version = int(old.get("version", 0)) + 1
            doc = json_copy(codec.case_to_dict(tombstone))
            # The copies first, the case last: if the process dies in between, the case is
            # still whole, so running the deletion again finds everything it must remove.
            self._live.forget_case(reference, conversation_id, doc, now)
            self._archive.forget_meta(reference, keep=lambda key: key.startswith("post:"))
            self._archive.put(reference, doc)

        await self._write(job)

    # -- meta ------------------------------------------------------------------------------------
    # A key ending in a case reference (`post:slack:TT-2026-0007`, `reminder:48h:TT-…`) is
    # kept in that case's shard: live.json, rewritten on every message, must not grow with
    # the archive.
    async def get_meta(self, key: str) -> JSON | None:
        reference = _case_of(key)
        value: JSON | None = None
        if reference:
            held = self._live.view.journal.get(reference, {}).get("meta", {})
            value = held[key] if key in held else self._archive.get_meta(reference, key)
        if value is None:
            value = self._live.view.meta.get(key)  # also where earlier versions kept them
        return json_copy(value) if value is not None else None

    # -- lifetime --------------------------------------------------------------------------------
    async def close(self) -> None:
        """Release the data folder. Reads keep answering from memory; writes are refused."""
        async with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._copy_timer is not None:
                self._copy_timer.cancel()  # what waits is copied now, by `_close_files`
            await asyncio.get_running_loop().run_in_executor(self._executor, self._close_files)
        await asyncio.gather(*self._writers)  # any steps still queued are refused, not left
        self._executor.shutdown(wait=False)  # the worker is idle: its last job has finished

    def _close_files(self) -> None:
        try:
            self._copy_journal()
            self._live.close()
            self._archive.close()
        finally:
            _release_lock(self._lock_fd)

    async def __aenter__(self) -> TinyStore:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


def _unit_docs(unit: UnitOfWork) -> UnitDocs:
    """The unit in its stored form, split by where each part is kept."""
    conversation = unit.conversation
    stored: JSON | _Keep | None = None if conversation is None else KEEP
    if isinstance(conversation, Conversation):
        stored = codec.conversation_to_dict(conversation)
    cases = {}
    for case in unit.cases:
        doc = codec.case_to_dict(case)
        doc["version"] = case.version + 1
        cases[case.reference] = doc
    case_meta: dict[str, dict[str, JSON | None]] = {}
    live_meta: dict[str, JSON | None] = {}
    for key, value in unit.meta.items():
        ref = _case_of(key)
        if ref:
            case_meta.setdefault(ref, {})[key] = value
        else:
            live_meta[key] = value
    # One orjson round trip for every part (a dataclass, or KEEP, would fall back to deepcopy).
    conversation_doc, cases, outbox, live_meta, case_meta = json_copy(
        (
            stored if isinstance(stored, dict) else None,
            cases,
            [codec.outbox_to_dict(i) for i in unit.outbox],
            live_meta,
            case_meta,
        )
    )  # a tuple for its types; it comes back a list, which unpacks the same
    return UnitDocs(
        person_key=unit.person_key,
        conversation=conversation_doc if isinstance(stored, dict) else stored,
        delivery_id=unit.delivery_id,
        cases=cases,
        new={c.reference: c.version == 0 for c in unit.cases},
        outbox=outbox,
        meta=live_meta,
        case_meta=case_meta,
    )


def _assign_seqs(items: Sequence[OutboxItem], seqs: Sequence[int | None]) -> None:
    # As MemoryStore does: an accepted item learns its seq; an ignored one is left alone.
    for item, seq in zip(items, seqs, strict=True):
        if seq is not None:
            item.seq = seq


def _recover(live: LiveFile, archive: Archive, now: datetime) -> None:
    """What a killed process left: journal entries not yet in their shards (copied now), and
    outbox claims (with the folder locked, no other process can be sending them)."""
    for group in by_shard(list(live.view.journal.items())).values():
        archive.copy_entries(entry for _, entry in group)
        for ref, entry in group:
            live.copied(ref, int(entry["seq"]))
    if live.view.journal:
        live.drop_copied(now)
    live.release_claims(now)


def _open_files(
    data_dir: Path, read_only: bool, clock: Clock
) -> tuple[Path, int, LiveFile, Archive]:
    """Runs on the worker: lock the folder, then load and check every file.

    A reader takes no lock and touches nothing: every write is an atomic replace, so it sees
    whole files even while the server is writing.
    """
    data_dir = data_dir.absolute()  # error messages name the full path
    if read_only and not data_dir.is_dir():
        raise StorageError(f"There is no data folder at {data_dir}.")
    if not read_only:
        _make_private_dir(data_dir)
    elif stat.S_IMODE(data_dir.stat().st_mode) & 0o077:  # a reader changes nothing, but says
        log.warning(
            "%s is open to other users; it holds safeguarding records: `chmod 700` it (the "
            "bot does so when it next starts)",
            data_dir,
        )
    lock_fd = -1 if read_only else _take_lock(data_dir)
    try:
        cases_dir = data_dir / CASES_DIR
        if not read_only:
            _make_private_dir(cases_dir)
            remove_stale_temps(data_dir)
            remove_stale_temps(cases_dir)
        live = LiveFile(data_dir / LIVE_FILE)
        live.load(read_only=read_only)
        archive = Archive(cases_dir)
        archive.load()
        if not read_only:
            _recover(live, archive, clock.now())  # what it prunes, by the store's clock
    except BaseException:
        _release_lock(lock_fd)
        raise
    return data_dir, lock_fd, live, archive


def _abandon(
    opening: asyncio.Future[tuple[Path, int, LiveFile, Archive]], executor: ThreadPoolExecutor
) -> None:
    if not opening.cancelled() and opening.exception() is None:
        executor.submit(_release_lock, opening.result()[1])
    executor.shutdown(wait=False)


async def open_store(
    data_dir: Path, *, clock: Clock | None = None, read_only: bool = False
) -> TinyStore:
    """Open (or create, 0700) the data folder and load it.

    Raises `UnreadableDataError` for a damaged file (left untouched) and `StorageError` if the
    folder cannot be used or another process is using it.
    """
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="reportbot-store")
    clock = clock or SystemClock()
    opening = asyncio.get_running_loop().run_in_executor(
        executor, _open_files, data_dir, read_only, clock
    )
    try:
        data_dir, lock_fd, live, archive = await asyncio.shield(opening)
    except asyncio.CancelledError:
        # The worker cannot be interrupted: let it finish, then give the folder back.
        opening.add_done_callback(lambda f: _abandon(f, executor))
        raise
    except BaseException:
        executor.shutdown(wait=False)
        raise
    # The loaded archive lives as long as the store: move it out of the garbage collector's
    # way, or every full collection walks all of it (250 ms at 10,000 cases, measured).
    gc.collect()
    gc.freeze()
    return TinyStore(data_dir, lock_fd, live, archive, executor, clock)

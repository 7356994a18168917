"""The TinyDB store's own behaviour, beyond the contract every store keeps.

Files on disk and their permissions; damaged or unreadable files refused with a clear message
that quotes no content; the one-writer lock; a failed write leaving the old data whole;
sharding by reference; group commit (many units, one write); the journal in live.json, which
makes a unit with cases one atomic write although cases live in their shards; recovery at
open; and readers that only ever see what is on disk.
"""

from __future__ import annotations

import asyncio
import errno
import json
import logging
import os
import signal
import stat
import subprocess
import sys
import tempfile
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from store_helpers import (
    ANN,
    LEASE,
    NOW,
    claim_ids,
    due_items,
    enqueue,
    live_json,
    make_case,
    make_conversation,
    make_item,
    people_answering,
    put_meta,
    save,
    tombstone_of,
)

from bot import codec
from bot.clock import FakeClock
from bot.errors import Conflict, StorageError, UnreadableDataError
from bot.model import Case, CaseStatus, Person, Platform
from bot.ports import Delivered, Store, UnitOfWork
from storage import atomic
from storage.memory import MemoryStore
from storage.tinydb_store import TinyStore, open_store

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent


@pytest.fixture
async def tiny(tmp_path: Path) -> AsyncIterator[TinyStore]:
    store = await open_store(tmp_path / "data", clock=FakeClock(NOW))
    yield store
    await store.close()


# --- helpers --------------------------------------------------------------------------------


def data_files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def journal_refs(folder: Path) -> list[str]:
    """The references live.json's journal holds: cases (or case facts) not yet dropped."""
    return sorted(e["reference"] for e in live_json(folder).get("journal", {}).values())


def shard_cases(folder: Path, shard: str) -> dict[str, int]:
    """The cases a shard file holds on disk, with their versions."""
    path = folder / "cases" / f"{shard}.json"
    if not path.exists():
        return {}
    docs = json.loads(path.read_text()).get("cases", {}).values()
    return {d["reference"]: d["version"] for d in docs}


async def fill(store: Store) -> str:
    """One unit with something for every table: a case, a step, an outbox item, a fact."""
    ref = await store.take_reference(2026)
    unit = UnitOfWork(
        ANN.key,
        make_conversation(),
        "d1",
        cases=[make_case(ref)],
        outbox=[make_item("a")],
        meta={"k": {"v": 1}},
    )
    assert await store.commit(unit)
    return ref


def no_space(path: object) -> OSError:
    return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))


class Disk:
    """The disk as the store sees it: while `full`, a file put in place (`os.replace`) or an
    append to live.log (`os.write`) fails for want of space, for every file or, with
    `only_shards`, for the case files only."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, *, only_shards: bool = False) -> None:
        self.full = False
        self.only_shards = only_shards
        self.failures = 0
        real_replace, real_write = os.replace, os.write

        def replace_file(src: Any, dst: Any) -> None:
            if self.full and (not self.only_shards or Path(dst).parent.name == "cases"):
                self.failures += 1
                raise no_space(dst)
            real_replace(src, dst)

        def write(fd: int, data: Any) -> int:
            path = os.readlink(f"/proc/self/fd/{fd}")
            if self.full and not self.only_shards and path.endswith("/live.log"):
                self.failures += 1
                raise no_space(path)
            return real_write(fd, data)

        monkeypatch.setattr(os, "replace", replace_file)
        monkeypatch.setattr(os, "write", write)


APPENDED = "live.log (appended)"


class Gate:
    """Holds the store's worker as it starts a write of the live state (an append to live.log,
    or a rewrite of live.json), until let through.

    While one write is held, the writes asked for meanwhile queue up: let it through and they
    go together as the next batch (group commit). `writes` names every file written.
    """

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.closed = True
        self.writes: list[str] = []
        self._arrived = threading.Semaphore(0)
        self._go = threading.Semaphore(0)
        real = atomic.write_temp

        real_append = atomic.append

        def write_temp(path: Path, payload: bytes) -> Path:
            self.writes.append(path.name)
            if path.name == "live.json":
                self._hold()
            return real(path, payload)

        def append(path: Path, payload: bytes, size: int) -> int:
            self.writes.append(APPENDED)
            self._hold()
            return real_append(path, payload, size)

        monkeypatch.setattr(atomic, "write_temp", write_temp)
        monkeypatch.setattr(atomic, "append", append)

    def _hold(self) -> None:
        if self.closed:
            self._arrived.release()
            if not self._go.acquire(timeout=10):
                raise AssertionError("the gate was never opened")

    def live_writes(self) -> int:
        """Durable writes of the live state: appends to live.log, or rewrites of live.json."""
        return sum(name in ("live.json", APPENDED) for name in self.writes)

    async def held(self) -> None:
        """Wait until a live.json write is held at the gate."""
        assert await asyncio.to_thread(self._arrived.acquire, True, 10), "no write arrived"

    def let_one_through(self) -> None:
        self._go.release()

    def open(self) -> None:
        self.closed = False
        self._go.release()  # the one held now, if any


async def queued(*work: Any) -> list[asyncio.Task[Any]]:
    """Start each write and let it reach the store's queue (behind a write held at a gate)."""
    tasks = [asyncio.ensure_future(w) for w in work]
    for _ in range(5):
        await asyncio.sleep(0)
    return tasks


# --- files and their permissions ------------------------------------------------------------


async def test_everything_survives_close_and_reopen(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    async with await open_store(folder, clock=FakeClock(NOW)) as first:
        ref = await fill(first)
        await enqueue(first, [make_item("b", address={"channel": "D2"})])
        await first.delivered([Delivered("b")])
        later = await first.take_reference(2027)
        assert later == "TT-2027-0001"
        await save(first, make_case(later))

    async with await open_store(folder, clock=FakeClock(NOW)) as second:
        assert await second.case(ref) == replace(make_case(ref), version=1)
        assert await second.conversation(ANN.key) == replace(make_conversation(), version=1)
        assert await second.seen("d1")
        assert await second.get_meta("k") == {"v": 1}
        assert [i.id for i in await second.outbox_items()] == ["a"]
        c, b = make_item("c", address={"channel": "D3"}), make_item("b")
        await enqueue(second, [c, b])  # b was delivered before the restart
        assert c.seq == 3 and b.seq == 0
        assert [i.id for i in await second.outbox_items()] == ["a", "c"]
        assert await second.take_reference(2026) == "TT-2026-0002"
        assert await second.take_reference(2027) == "TT-2027-0002"


async def test_claims_of_a_stopped_process_are_free_again_at_open(tmp_path: Path) -> None:
    """New with claims: an item claimed by a process that stopped (or died) before sending it
    can be claimed at once when the folder is opened again, without waiting for its lease: the
    folder is locked, so no other process can be sending it. Its attempts are kept."""
    folder = tmp_path / "data"
    async with await open_store(folder, clock=FakeClock(NOW)) as first:
        await enqueue(first, [make_item("a")])
        assert await claim_ids(first) == ["a"]
        assert await claim_ids(first) == []
    async with await open_store(folder, clock=FakeClock(NOW)) as second:
        [item] = await second.outbox_items()
        assert item.claimed_by == "" and item.claimed_until is None and item.attempts == 1
        [again] = await second.claim(Platform.SLACK, "me", NOW, LEASE)
        assert again.id == "a" and again.attempts == 2


async def test_files_are_private(tmp_path: Path) -> None:
    folder = tmp_path / "new" / "data"
    old_umask = os.umask(0o022)  # a typical umask would make 0644 files
    try:
        async with await open_store(folder) as store:
            await fill(store)
    finally:
        os.umask(old_umask)
    assert mode_of(folder) == 0o700
    assert mode_of(folder / "cases") == 0o700
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert {p.name for p in files} == {".lock", "live.json", "live.log", "TT-2026-00.json"}
    for path in files:
        assert mode_of(path) == 0o600, path


@pytest.fixture
def open_umask() -> Iterator[None]:
    """umask 000: every folder made without an explicit mode would be 0777."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


@pytest.mark.usefixtures("open_umask")
async def test_every_folder_the_bot_creates_is_private_whatever_the_umask(tmp_path: Path) -> None:
    """Issue 14.5: new parent folders followed the umask (000 made them 0777)."""
    os.chmod(tmp_path, 0o755)
    folder = tmp_path / "school" / "reportbot" / "data"
    async with await open_store(folder) as store:
        await fill(store)
    for made in (tmp_path / "school", tmp_path / "school" / "reportbot", folder, folder / "cases"):
        assert mode_of(made) == 0o700, made  # checked as root too: chmod is not skipped
    assert mode_of(tmp_path) == 0o755  # a folder the bot did not make is left as it is
    assert all(mode_of(p) == 0o600 for p in folder.rglob("*") if p.is_file())


async def test_an_existing_data_folder_open_to_others_is_tightened_and_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 14.5: an existing data folder kept its mode (0755 stayed 0755)."""
    folder = tmp_path / "data"
    (folder / "cases").mkdir(parents=True)
    folder.chmod(0o755)
    (folder / "cases").chmod(0o775)
    async with await open_store(folder):
        pass
    assert mode_of(folder) == 0o700 and mode_of(folder / "cases") == 0o700
    assert f"{folder} was open to other users (0755); it is now 0700" in caplog.text
    assert f"{folder / 'cases'} was open to other users (0775)" in caplog.text
    caplog.clear()
    async with await open_store(folder):
        pass
    assert "open to other users" not in caplog.text  # said once, when it was so


async def test_a_read_only_open_changes_no_mode_but_says_the_folder_is_open(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "data"
    async with await open_store(folder):
        pass
    folder.chmod(0o750)
    async with await open_store(folder, read_only=True):
        pass
    assert mode_of(folder) == 0o750
    assert f"{folder} is open to other users" in caplog.text and "chmod 700" in caplog.text


async def test_an_empty_or_missing_folder_is_a_fresh_start(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    for folder in (tmp_path / "empty", tmp_path / "missing"):
        async with await open_store(folder) as store:
            assert await store.cases() == []
            assert await store.take_reference(2026) == "TT-2026-0001"


async def test_a_read_only_open_of_a_missing_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="There is no data folder"):
        await open_store(tmp_path / "missing", read_only=True)
    assert not (tmp_path / "missing").exists()


# --- damaged files ------------------------------------------------------------------------------

CORRUPTIONS: dict[str, Callable[[bytes], bytes]] = {
    "truncated": lambda raw: raw[: len(raw) // 2],
    "empty": lambda raw: b"",
    "not a database": lambda raw: b"[1, 2, 3]",
    "garbage bytes": lambda raw: b"\xff\xfe" + raw,
}


@pytest.mark.parametrize("damage", CORRUPTIONS)
@pytest.mark.parametrize("name", ["live.json", "cases/TT-2026-00.json"])
async def test_a_damaged_file_is_refused_and_left_untouched(
    tmp_path: Path, name: str, damage: str
) -> None:
    folder = tmp_path / "data"
    async with await open_store(folder) as store:
        await fill(store)
    path = folder / name
    path.write_bytes(CORRUPTIONS[damage](path.read_bytes()))
    before = data_files(folder)

    with pytest.raises(UnreadableDataError) as caught:
        await open_store(folder)

    message = str(caught.value)
    assert str(path) in message and "will not start" in message
    assert "tiktok" not in message.lower()  # names no case content
    assert data_files(folder) == before
    # The refusal released the folder: once the file is moved aside the bot starts.
    path.rename(path.with_suffix(".damaged"))
    async with await open_store(folder):
        pass


def _journal_case(data: Any) -> Any:
    [entry] = data["journal"].values()  # fill's case, as a crash before its copy leaves it
    return entry


def _pending_in_journal(folder: Path, data: Any) -> None:
    """Put fill's case back in live.json's journal, as a kill before the shard copy leaves it
    (a clean stop drops entries already in their shards)."""
    [case] = json.loads((folder / "cases" / "TT-2026-00.json").read_text())["cases"].values()
    data["journal"] = {"1": {"reference": case["reference"], "seq": 1, "case": case, "meta": {}}}


@pytest.mark.parametrize(
    ("name", "edit"),
    [
        ("live.json", lambda d: d["outbox"]["1"].pop("reply")),
        ("live.json", lambda d: d["counters"]["1"].update(value="7")),
        ("live.json", lambda d: d["conversations"]["1"]["conversation"].update(started_at="x")),
        ("live.json", lambda d: d["seen"]["1"].update(at="yesterday")),
        ("live.json", lambda d: _journal_case(d)["case"].update(status="lost")),
        ("live.json", lambda d: _journal_case(d).pop("meta")),
        ("cases/TT-2026-00.json", lambda d: d["cases"]["1"].update(status="lost")),
        ("cases/TT-2026-00.json", lambda d: d["cases"]["1"].update(reference="TT-2026-0500")),
    ],
)
async def test_documents_of_the_wrong_shape_are_refused(
    tmp_path: Path, name: str, edit: Callable[[Any], object]
) -> None:
    """The journal's entries are checked as strictly as the shards they stand in for."""
    folder = tmp_path / "data"
    async with await open_store(folder) as store:
        await fill(store)
    path = folder / name
    data = json.loads(path.read_text())
    if name == "live.json":
        _pending_in_journal(folder, data)
    edit(data)
    path.write_text(json.dumps(data))
    before = data_files(folder)
    with pytest.raises(UnreadableDataError, match="cannot be read") as caught:
        await open_store(folder)
    assert str(path) in str(caught.value)
    assert "tiktok" not in str(caught.value).lower()  # names no case content
    assert data_files(folder) == before


async def test_a_case_in_a_shard_it_does_not_belong_in_is_refused(tmp_path: Path) -> None:
    """A copy of a shard under another name (a restore gone wrong) would hold cases twice."""
    folder = tmp_path / "data"
    async with await open_store(folder) as store:
        await save(store, make_case("TT-2026-0001"))
    shard = folder / "cases" / "TT-2026-00.json"
    (folder / "cases" / "TT-2026-99.json").write_bytes(shard.read_bytes())
    before = data_files(folder)
    with pytest.raises(UnreadableDataError, match="belongs in another file") as caught:
        await open_store(folder)
    assert "TT-2026-99.json" in str(caught.value) and "tiktok" not in str(caught.value).lower()
    assert data_files(folder) == before


async def test_files_that_are_not_the_bots_are_left_alone(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    async with await open_store(folder) as store:
        await fill(store)
    (folder / "cases" / "notes for the DSL.json").write_text("not a database")
    async with await open_store(folder) as store:
        assert len(await store.cases()) == 1
    assert (folder / "cases" / "notes for the DSL.json").read_text() == "not a database"


# --- one writer -----------------------------------------------------------------------------


async def test_a_second_open_of_the_folder_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    first = await open_store(folder)
    with pytest.raises(StorageError, match="already using"):
        await open_store(folder)
    await first.close()
    second = await open_store(folder)
    await second.close()


async def test_a_closed_store_refuses_writes_and_still_reads(tiny: TinyStore) -> None:
    ref = await fill(tiny)
    await tiny.close()
    writes = [
        put_meta(tiny, "k", {}),
        tiny.commit(UnitOfWork(ANN.key, None, "d2")),
        tiny.take_reference(2026),
        tiny.claim(Platform.SLACK, "me", NOW, LEASE),
        tiny.delivered([Delivered("a")]),
        tiny.delete_case(ref, tombstone_of(make_case(ref))),
    ]
    for write in writes:
        with pytest.raises(StorageError, match="closed"):
            await write
    assert await tiny.case(ref) is not None  # reads answer from memory
    await tiny.close()  # closing twice is harmless


async def test_a_read_only_store_refuses_every_write(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    async with await open_store(folder) as writer:
        ref = await fill(writer)
        async with await open_store(folder, read_only=True) as reader:
            for write in (
                put_meta(reader, "k", {}),
                reader.take_reference(2026),
                reader.claim(Platform.SLACK, "me", NOW, LEASE),
                reader.delete_case(ref, tombstone_of(make_case(ref))),
            ):
                with pytest.raises(StorageError, match="read-only"):
                    await write
            assert await reader.case(ref) is not None


# --- failed writes --------------------------------------------------------------------------


async def test_a_failed_write_keeps_the_old_data_and_recovers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "data"
    store = await open_store(folder, clock=FakeClock(NOW))
    ref = await fill(store)
    before = data_files(folder)

    disk = Disk(monkeypatch)
    disk.full = True
    secret = make_case(ref, answers={"link": "SECRET-CONTENT"}, version=1)
    later = replace(make_item("a"), due_at=NOW + timedelta(minutes=1))
    attempts = [
        store.commit(UnitOfWork(cases=[secret])),
        store.commit(UnitOfWork(ANN.key, None, "d2", outbox=[make_item("b")])),
        store.claim(Platform.SLACK, "me", NOW, LEASE),
        store.reschedule(later),
        store.delivered([Delivered("a", f"post:slack:{ref}", {"ts": "1"})]),
        put_meta(store, "k", {"v": 2}),
        store.delete_case(ref, tombstone_of(secret)),
    ]
    for attempt in attempts:
        with pytest.raises(StorageError) as caught:
            await attempt
        assert "SECRET" not in str(caught.value)
        assert "No space left on device" in str(caught.value)
    assert disk.failures == len(attempts)

    # Nothing changed, on disk (no stray temp files either) or in what the store serves.
    assert data_files(folder) == before
    assert await store.case(ref) == replace(make_case(ref), version=1)
    assert await store.conversation(ANN.key) == replace(make_conversation(), version=1)
    assert not await store.seen("d2")
    [a] = await store.outbox_items()
    assert a.id == "a" and a.claimed_by == "" and a.due_at is None
    assert await store.get_meta("k") == {"v": 1}
    assert await store.get_meta(f"post:slack:{ref}") is None

    disk.full = False
    await save(store, secret)
    assert await store.take_reference(2026) == "TT-2026-0002"  # the failed take took none
    await store.close()
    # The next successful writes carried none of the failed changes along.
    async with await open_store(folder, clock=FakeClock(NOW)) as reopened:
        assert await reopened.case(ref) == replace(secret, version=2)
        assert not await reopened.seen("d2")
        assert [i.id for i in await reopened.outbox_items()] == ["a"]
        assert await reopened.get_meta("k") == {"v": 1}


async def test_a_failure_after_the_rename_leaves_memory_equal_to_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The folder fsync fails after the file was replaced: the caller hears of the failure,
    and what the store serves is what the file now holds (journal and shard alike). (Appends
    need no folder fsync; the first write after a start, and every write after such a failure,
    rewrites live.json whole.)"""
    folder = tmp_path / "data"
    async with await open_store(folder) as first:
        ref = await fill(first)
    store = await open_store(folder)

    def folder_fsync_fails(path: Path) -> None:
        raise StorageError("Could not save changes: Input/output error.")

    monkeypatch.setattr(atomic, "fsync_dir", folder_fsync_fails)
    changed = make_case(ref, status=CaseStatus.CLOSED, version=1)
    with pytest.raises(StorageError):
        await store.commit(UnitOfWork(cases=[changed]))
    with pytest.raises(StorageError):
        await store.commit(UnitOfWork(ANN.key, None, "d2"))
    monkeypatch.undo()
    # The files were replaced before the failure: what the store serves says so too.
    assert await store.case(ref) == replace(changed, version=2)
    assert await store.cases(open_only=True) == []
    assert await store.seen("d2") and await store.conversation(ANN.key) is None
    await store.close()
    async with await open_store(folder) as reopened:
        assert await reopened.case(ref) == replace(changed, version=2)
        assert await reopened.seen("d2")
    assert shard_cases(folder, "TT-2026-00") == {ref: 2}


async def test_a_group_commit_that_fails_after_its_rename_is_not_run_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch whose file was replaced before the failure is on disk: each unit in it hears
    of the failure, as a single write's caller does, rather than being run a second time on
    its own (which said "already applied" for a unit it had just applied, and `Conflict` for
    a case it had just written)."""
    folder = tmp_path / "data"
    store = await open_store(folder, clock=FakeClock(NOW))
    gate = Gate(monkeypatch)
    blocker = asyncio.ensure_future(put_meta(store, "blocker", {}))
    await gate.held()

    def folder_fsync_fails(path: Path) -> None:
        raise StorageError("Could not save changes: Input/output error.")

    monkeypatch.setattr(atomic, "fsync_dir", folder_fsync_fails)
    tasks = await queued(
        store.commit(UnitOfWork("p1", None, "d1", cases=[make_case("TT-2026-0001")])),
        store.commit(UnitOfWork("p2", None, "d2", outbox=[make_item("b")])),
    )
    gate.open()
    with pytest.raises(StorageError):
        await blocker
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert [type(r).__name__ for r in results] == ["StorageError", "StorageError"], results
    assert gate.live_writes() == 2  # the blocker, then the batch, once
    # The batch is in the file: the store serves it, and says so after a restart too.
    assert await store.seen("d1") and await store.seen("d2")
    assert (await store.case("TT-2026-0001")) is not None
    monkeypatch.undo()
    await store.close()
    async with await open_store(folder, clock=FakeClock(NOW)) as reopened:
        assert await reopened.seen("d1") and await reopened.case("TT-2026-0001") is not None


async def test_each_change_is_one_file_write(
    tiny: TinyStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A step is one durable append to live.log (what changed, one line). A unit with a case
    is that append (where it is durable), then one replace of its shard (the copy). A deletion
    rewrites live.json whole with a fresh log, so no copy is left in the old log, before it
    replaces the case. The first write after a start rewrites live.json too."""
    written: list[str] = []
    real_replace, real_append = os.replace, atomic.append

    def counting_replace(src: Any, dst: Any) -> None:
        written.append(Path(dst).name)
        real_replace(src, dst)

    def counting_append(path: Path, payload: bytes, size: int) -> int:
        written.append(APPENDED)
        return real_append(path, payload, size)

    monkeypatch.setattr(os, "replace", counting_replace)
    monkeypatch.setattr(atomic, "append", counting_append)
    await put_meta(tiny, "first", {})
    assert written == ["live.json", "live.log"]
    written.clear()
    items = [make_item("a"), make_item("b")]
    await tiny.commit(UnitOfWork(ANN.key, make_conversation(), "d1", outbox=items))
    assert written == [APPENDED]
    written.clear()
    ref = await tiny.take_reference(2026)
    assert written == []  # counted by the write of its case, which comes next
    written.clear()
    case = make_case(ref)
    await tiny.commit(UnitOfWork(cases=[case]))
    assert written == [APPENDED, "TT-2026-00.json"]
    written.clear()
    await tiny.delete_case(case.reference, tombstone_of(case))
    assert written == ["live.json", "live.log", "TT-2026-00.json"]


async def test_a_read_only_folder_raises_storage_error(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    store = await open_store(folder)
    await fill(store)
    os.chmod(folder, 0o500)
    try:
        if os.access(folder, os.W_OK):
            pytest.skip("running as root: chmod does not stop writes (tests/test_faults_disk.py)")
        with pytest.raises(StorageError, match="Permission denied"):
            await put_meta(store, "k", {"v": 2})
        assert await store.get_meta("k") == {"v": 1}
    finally:
        os.chmod(folder, 0o700)
    await put_meta(store, "k", {"v": 2})
    await store.close()


async def test_a_value_json_cannot_hold_changes_nothing(tiny: TinyStore) -> None:
    conv = make_conversation()
    conv.answers["when"] = datetime.now(UTC)  # a bug in a caller: not JSON
    with pytest.raises(TypeError):
        await tiny.commit(UnitOfWork(ANN.key, conv, "d1", outbox=[make_item("a")]))
    assert await tiny.conversation(ANN.key) is None
    assert not await tiny.seen("d1")
    assert await tiny.outbox_items() == []
    await enqueue(tiny, [make_item("a")])
    assert await claim_ids(tiny) == ["a"]


async def test_unusual_text_survives(tmp_path: Path) -> None:
    odd = {"surrogate": "\ud800", "nul": "a\x00b", "emoji": "🙂", "rtl": "\u202e"}
    async with await open_store(tmp_path / "d") as store:
        await save(store, make_case("TT-2026-0001", answers=odd))
    async with await open_store(tmp_path / "d") as store:
        loaded = await store.case("TT-2026-0001")
        assert loaded is not None and loaded.answers == odd


# --- the case archive: shards ---------------------------------------------------------------


async def test_a_case_write_rewrites_only_its_shard(tiny: TinyStore) -> None:
    """New with the journal: the unit goes into live.json first (one small entry, dropped by
    the next write once copied), then into its own shard; no other shard is touched."""
    await put_meta(tiny, "k", {"v": 1})  # so that live.json exists
    for ref in ("TT-2026-0001", "TT-2026-0150", "TT-2027-0001", "ODD/../REF"):
        await save(tiny, make_case(ref))
    cases_dir = tiny.data_dir / "cases"
    names = sorted(p.name for p in cases_dir.iterdir())
    assert names == ["TT-2026-00.json", "TT-2026-01.json", "TT-2027-00.json", "other.json"]

    def state() -> dict[str, tuple[int, int, bytes]]:
        return {
            p.name: (p.stat().st_mtime_ns, p.stat().st_ino, p.read_bytes())
            for p in cases_dir.iterdir()
        }

    before = state()
    await save(tiny, make_case("TT-2026-0099", answers={"new": True}))
    after = state()
    changed = {name for name in after if after[name] != before.get(name)}
    assert changed == {"TT-2026-00.json"}
    assert journal_refs(tiny.data_dir) == ["TT-2026-0099"]  # copied; goes with the next write
    await put_meta(tiny, "k", {"v": 2})
    assert journal_refs(tiny.data_dir) == []
    assert state() == after
    assert await tiny.case("odd/../ref ") is not None  # stored in other.json


async def test_a_reference_is_counted_by_the_write_of_its_case(tmp_path: Path) -> None:
    """New with the submit's single write: taking a reference writes nothing; the write of
    the case it is given to counts it. A number no case was saved with was seen by no one,
    so a restart may hand it out again; a saved case's never is, even once it is deleted."""
    folder = tmp_path / "data"
    async with await open_store(folder) as store:
        before = data_files(folder)
        unsaved = await store.take_reference(2026)
        assert data_files(folder) == before  # no write of its own
        saved = await store.take_reference(2026)
        assert (unsaved, saved) == ("TT-2026-0001", "TT-2026-0002")
        await save(store, make_case(saved))
        await store.delete_case(saved, tombstone_of(make_case(saved)))
    async with await open_store(folder) as store:
        assert (await store.case(saved) or make_case(saved)).status == CaseStatus.DELETED
        assert await store.take_reference(2026) == "TT-2026-0003"  # above the deleted case
    async with await open_store(folder) as store:
        assert await store.take_reference(2026) == "TT-2026-0003"  # 0003 was never saved


async def test_reference_counter_never_goes_below_the_archive(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    async with await open_store(folder) as store:
        for _ in range(3):
            await save(store, make_case(await store.take_reference(2026)))
    (folder / "live.json").rename(folder / "live.json.moved-aside")  # counters lost
    async with await open_store(folder) as store:
        assert await store.take_reference(2026) == "TT-2026-0004"


async def test_facts_about_a_case_live_in_its_shard_not_in_the_file_every_message_rewrites(
    tmp_path: Path,
) -> None:
    """New with the journal: a fact about a case (a post receipt, a reminder sent) goes
    through live.json's journal with the write that made it, then into the case's shard;
    once copied it leaves live.json, which does not grow with the archive."""
    data = tmp_path / "data"
    async with await open_store(data, clock=FakeClock(NOW)) as store:
        ref = await store.take_reference(2026)
        await save(store, make_case(ref))
        await enqueue(store, [make_item("card", case_reference=ref)])
        await put_meta(store, f"reminder:48h:{ref}", {"at": "x"})
        await store.delivered([Delivered("card", f"post:slack:{ref}", {"ts": "1.1"})])
        await put_meta(store, "teams:leadership", {"team": "19:abc"})  # not about a case
        live = json.dumps(live_json(data))  # with what live.log holds on top
        assert ref not in live and "reminder:48h" not in live and "1.1" not in live
        assert "teams:leadership" in live
        shard = (data / "cases" / "TT-2026-00.json").read_text()
        assert f"post:slack:{ref}" in shard and f"reminder:48h:{ref}" in shard
    async with await open_store(data) as again:
        assert await again.get_meta(f"post:slack:{ref}") == {"ts": "1.1"}
        assert await again.get_meta(f"reminder:48h:{ref}") == {"at": "x"}
        assert await again.get_meta("teams:leadership") == {"team": "19:abc"}


# --- pruning and stale files ------------------------------------------------------------------


async def test_seen_and_sent_ids_are_pruned(tmp_path: Path) -> None:
    clock = FakeClock(datetime(2026, 3, 1, 12, 0, tzinfo=UTC))
    async with await open_store(tmp_path / "d", clock=clock) as store:
        await store.commit(UnitOfWork(ANN.key, None, "old-delivery"))
        await enqueue(store, [make_item("old-item")])
        await store.delivered([Delivered("old-item")])
        clock.advance(days=3, seconds=1)
        await store.commit(UnitOfWork(ANN.key, None, "new-delivery"))
        assert not await store.seen("old-delivery")
        assert await store.seen("new-delivery")
        await enqueue(store, [make_item("old-item")])
        assert await store.outbox_items() == []  # still remembered as sent (14 days)
        clock.advance(days=11)
        await put_meta(store, "tick", {})
        await enqueue(store, [make_item("old-item")])
        assert [i.id for i in await store.outbox_items()] == ["old-item"]
    live = live_json(tmp_path / "d")
    assert live["seen"] == {}  # new-delivery too is 11 days old by now
    assert live["sent"] == {}


async def test_failed_items_are_pruned_two_weeks_after_they_failed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock(datetime(2026, 3, 1, 12, 0, tzinfo=UTC))
    async with await open_store(tmp_path / "d", clock=clock) as store:
        await enqueue(
            store,
            [
                make_item("old", address={"channel": "D1"}),
                make_item("new", address={"channel": "D2"}),
                make_item("waiting", address={"channel": "D3"}),
            ],
        )
        old, new, waiting = await store.claim(Platform.SLACK, "me", clock.now(), LEASE)
        await store.reschedule(replace(old, failed="refused", failed_at=clock.now()))
        clock.advance(days=2)
        await store.reschedule(replace(new, failed="refused", failed_at=clock.now()))
        await store.reschedule(replace(waiting, due_at=clock.now() + timedelta(days=30)))
        clock.advance(days=12, seconds=1)
        await put_meta(store, "tick", {})  # any write prunes
        assert [i.id for i in await store.undelivered(Platform.SLACK)] == ["new"]
        assert [i.id for i in await store.outbox_items()] == ["new", "waiting"]  # never pruned
    assert "dropped 1 message(s) refused for good more than 14 days ago" in caplog.text
    live = live_json(tmp_path / "d")
    assert sorted(d["id"] for d in live["outbox"].values()) == ["new", "waiting"]


async def test_stale_temp_files_are_cleaned_at_open(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    async with await open_store(folder) as store:
        await fill(store)
    (folder / ".live.json.deadbeef.tmp").write_bytes(b"{half")
    (folder / "cases" / ".TT-2026-00.json.0123cafe.tmp").write_bytes(b"")
    (folder / ".someone-elses.tmp").write_bytes(b"keep")
    async with await open_store(folder, read_only=True):
        pass  # a reader holds no lock: it must not delete what the writer may be writing
    assert len(list(folder.rglob("*.tmp"))) == 3
    async with await open_store(folder):
        pass
    assert [p.name for p in folder.rglob("*.tmp")] == [".someone-elses.tmp"]


# --- the worker thread, and what readers see ------------------------------------------------


async def test_a_cancelled_caller_does_not_tear_or_lose_the_write(
    tiny: TinyStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = Gate(monkeypatch)
    saving = asyncio.ensure_future(tiny.commit(UnitOfWork(cases=[make_case("TT-2026-0001")])))
    await gate.held()  # the write is under way on the worker
    saving.cancel()
    with pytest.raises(asyncio.CancelledError):
        await saving
    gate.open()
    # The write was already on the worker: it completes, and the next one queues behind it.
    await put_meta(tiny, "after", {})
    assert await tiny.take_reference(2026) == "TT-2026-0002"
    assert await tiny.case("TT-2026-0001") == make_case("TT-2026-0001", version=1)
    assert shard_cases(tiny.data_dir, "TT-2026-00") == {"TT-2026-0001": 1}


async def test_a_reference_stays_taken_while_its_cancelled_write_may_still_be_made(
    tiny: TinyStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found in review: a cancelled commit freed its number while the write went on."""
    ref = await tiny.take_reference(2026)
    gate = Gate(monkeypatch)
    saving = asyncio.ensure_future(tiny.commit(UnitOfWork(cases=[make_case(ref)])))
    await gate.held()  # the write is under way on the worker
    saving.cancel()
    with pytest.raises(asyncio.CancelledError):
        await saving
    try:
        assert await tiny.take_reference(2026) == "TT-2026-0002"  # not ref again
    finally:
        gate.open()


async def test_disk_work_runs_on_one_worker_thread_off_the_event_loop(
    tiny: TinyStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    ticks = 0
    ticked = threading.Event()
    in_time: list[bool] = []
    writer_threads: set[int] = set()
    real_fsync = os.fsync

    def slow_fsync(fd: int) -> None:
        # Hold each write until the ticker has run a few times meanwhile: were the write
        # blocking the event loop, the ticker could not run and this wait would time out.
        writer_threads.add(threading.get_ident())
        in_time.append(ticked.wait(timeout=10))
        real_fsync(fd)

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            if ticks >= 3:
                ticked.set()
            await asyncio.sleep(0)

    monkeypatch.setattr(os, "fsync", slow_fsync)
    big = make_case("TT-2026-0001", answers={f"q{n}": "x" * 1000 for n in range(2000)})
    task = asyncio.create_task(ticker())
    try:
        await tiny.commit(UnitOfWork(cases=[big]))  # live.json, then the shard
        ticked.clear()
        ticks = 0
        await tiny.commit(UnitOfWork(ANN.key, make_conversation(), "d1", outbox=[make_item("a")]))
    finally:
        task.cancel()
    assert len(in_time) >= 4 and all(in_time)
    assert len(writer_threads) == 1 and threading.get_ident() not in writer_threads


async def test_readers_see_a_write_only_once_it_is_on_disk(
    tiny: TinyStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = Gate(monkeypatch)
    unit = UnitOfWork(
        ANN.key,
        make_conversation(),
        "d1",
        cases=[make_case("TT-2026-0001")],
        outbox=[make_item("a")],
    )
    writing = asyncio.ensure_future(tiny.commit(unit))
    await gate.held()  # live.json is being written: nothing of the unit is visible yet
    assert await tiny.conversation(ANN.key) is None and not await tiny.seen("d1")
    assert await tiny.case("TT-2026-0001") is None and await tiny.cases() == []
    assert await tiny.outbox_items() == []
    gate.open()
    assert await writing
    assert await tiny.conversation(ANN.key) is not None and await tiny.seen("d1")
    assert await tiny.case("TT-2026-0001") is not None and len(await tiny.outbox_items()) == 1


async def test_readers_see_none_of_a_batch_until_the_whole_batch_is_on_disk(
    tiny: TinyStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Inside a group commit each unit sees the ones before it (for duplicates, versions and
    seqs), but readers keep the view of the file until the batch's one write is done."""
    gate = Gate(monkeypatch)
    blocker = asyncio.ensure_future(put_meta(tiny, "blocker", {}))
    await gate.held()
    people = [Person(Platform.SLACK, "T1", f"U{n}") for n in range(3)]
    tasks = await queued(
        *(
            tiny.commit(UnitOfWork(p.key, make_conversation(f"c{n}", p), f"d{n}"))
            for n, p in enumerate(people)
        )
    )
    gate.let_one_through()  # the blocker goes; the batch of three is built, then held
    await gate.held()
    await blocker
    assert all([not await tiny.seen(f"d{n}") for n in range(3)])
    assert await tiny.conversations() == []
    gate.open()
    assert await asyncio.gather(*tasks) == [True, True, True]
    assert all([await tiny.seen(f"d{n}") for n in range(3)])
    assert gate.live_writes() == 2


# --- group commit ---------------------------------------------------------------------------


async def test_steps_arriving_together_share_one_write_and_all_last(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    store = await open_store(data)
    gate = Gate(monkeypatch)
    people, units = people_answering(20)
    try:
        blocker = asyncio.ensure_future(put_meta(store, "blocker", {}))
        await gate.held()
        tasks = await queued(*(store.commit(unit) for unit in units))
        gate.open()
        await blocker
        assert await asyncio.gather(*tasks) == [True] * 20
        assert gate.live_writes() == 2  # the blocker, then all twenty in one
    finally:
        await store.close()
    async with await open_store(data) as again:
        for n, p in enumerate(people):
            assert await again.conversation(p.key) is not None and await again.seen(f"d{n}")
        assert [i.seq for i in await again.outbox_items()] == list(range(1, 21))


async def test_one_bad_step_in_a_group_does_not_fail_the_others(
    tiny: TinyStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = Gate(monkeypatch)
    good = [Person(Platform.SLACK, "T1", f"U{n}") for n in range(5)]
    bad = make_conversation("bad", Person(Platform.SLACK, "T1", "U-bad"))
    bad.answers["when"] = datetime(2026, 1, 1)  # JSON cannot hold it
    blocker = asyncio.ensure_future(put_meta(tiny, "blocker", {}))
    await gate.held()
    tasks = await queued(
        tiny.commit(UnitOfWork(bad.person.key, bad, "d-bad")),
        *(tiny.commit(UnitOfWork(p.key, make_conversation(p.key, p))) for p in good),
    )
    gate.open()
    await blocker
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert isinstance(results[0], TypeError)
    assert results[1:] == [True] * 5
    assert await tiny.conversation(bad.person.key) is None and not await tiny.seen("d-bad")
    for p in good:
        assert await tiny.conversation(p.key) is not None


async def test_a_conflict_in_a_batch_fails_only_its_own_unit(
    tiny: TinyStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two units change one case from the same version in one group commit: the first is
    written, the second raises `Conflict` and changes nothing (not its conversation, delivery,
    outbox or facts), and the other units of the batch go in the same write."""
    [case] = await save(tiny, make_case("TT-2026-0001"))
    first, second = replace(case, assignee="Lee"), replace(case, assignee="Kim")
    gate = Gate(monkeypatch)
    blocker = asyncio.ensure_future(put_meta(tiny, "blocker", {}))
    await gate.held()
    tasks = await queued(
        tiny.commit(UnitOfWork("p1", make_conversation("c1"), "d1", cases=[first])),
        tiny.commit(
            UnitOfWork(
                "p2",
                make_conversation("c2"),
                "d2",
                cases=[second],
                outbox=[make_item("kim")],
                meta={"kim": {"v": 1}},
            )
        ),
        tiny.commit(UnitOfWork("p3", make_conversation("c3"), "d3", outbox=[make_item("x")])),
    )
    gate.open()
    await blocker
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert results[0] is True and isinstance(results[1], Conflict) and results[2] is True
    assert gate.live_writes() == 2  # the blocker, then the batch in one write
    stored = await tiny.case("TT-2026-0001")
    assert stored is not None and stored.assignee == "Lee" and stored.version == 2
    assert first.version == 2 and second.version == 1  # only the written case learns it
    assert await tiny.conversation("p2") is None and not await tiny.seen("d2")
    assert [i.id for i in await tiny.outbox_items()] == ["x"]
    assert await tiny.get_meta("kim") is None
    assert await tiny.seen("d1") and await tiny.seen("d3")


async def test_a_conflict_writes_no_file_at_all(tiny: TinyStore) -> None:
    [case] = await save(tiny, make_case("TT-2026-0001"))
    stale = replace(case, assignee="Kim")
    await tiny.commit(UnitOfWork(cases=[replace(case, assignee="Lee")]))
    before = data_files(tiny.data_dir)
    with pytest.raises(Conflict):
        await tiny.commit(UnitOfWork(ANN.key, make_conversation(), "d1", cases=[stale]))
    assert data_files(tiny.data_dir) == before


# --- the journal ----------------------------------------------------------------------------


async def reads(store: Store, ref: str) -> dict[str, object]:
    """What each way of finding a case says about `ref`."""

    def refs(cases: list[Case]) -> list[str]:
        return [c.reference for c in cases if c.reference == ref]

    about = await store.case_for_conversation(f"conv-{ref}")
    return {
        "case": await store.case(ref),
        "all": refs(await store.cases()),
        "open": refs(await store.cases(open_only=True)),
        "reporter": refs(await store.cases(reporter=ANN.key)),
        "old handle": refs(await store.cases(handles=("old.handle",))),
        "new handle": refs(await store.cases(handles=("new.handle",))),
        "due": refs(await store.cases_due(NOW)),
        "conversation": about.reference if about else None,
        "receipt": await store.get_meta(f"post:slack:{ref}"),
    }


async def test_a_case_only_in_the_journal_is_found_by_every_read_and_after_reopen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While its shard cannot be written, a case is only in live.json's journal: every read
    (by reference, the lists, the open and account indexes, reminders due, by conversation)
    answers from it, over the older version in the shard; a reader opened beside the bot
    does too, a later change is checked against the journal's version, and the next open
    copies it to the shard."""
    folder = tmp_path / "data"
    store = await open_store(folder, clock=FakeClock(NOW))
    soon = NOW - timedelta(minutes=1)
    [old] = await save(store, make_case("TT-2026-0001", handles=("old.handle",), remind_at=soon))
    disk = Disk(monkeypatch, only_shards=True)
    disk.full = True

    changed = replace(old, status=CaseStatus.CLOSED, handles=("new.handle",), remind_at=None)
    new = make_case("TT-2026-0150", handles=("new.handle",), remind_at=soon)
    receipt = {f"post:slack:{new.reference}": {"ts": "1"}}
    assert await store.commit(UnitOfWork(cases=[changed, new], meta=receipt))
    assert disk.failures >= 1
    assert shard_cases(folder, "TT-2026-00") == {"TT-2026-0001": 1}  # the older version
    assert shard_cases(folder, "TT-2026-01") == {}
    assert journal_refs(folder) == ["TT-2026-0001", "TT-2026-0150"]

    expected_changed = {
        "case": changed,
        "all": ["TT-2026-0001"],
        "open": [],
        "reporter": ["TT-2026-0001"],
        "old handle": [],
        "new handle": ["TT-2026-0001"],
        "due": [],
        "conversation": "TT-2026-0001",
        "receipt": None,
    }
    expected_new = {
        "case": new,
        "all": ["TT-2026-0150"],
        "open": ["TT-2026-0150"],
        "reporter": ["TT-2026-0150"],
        "old handle": [],
        "new handle": ["TT-2026-0150"],
        "due": ["TT-2026-0150"],
        "conversation": "TT-2026-0150",
        "receipt": {"ts": "1"},
    }
    assert await reads(store, "TT-2026-0001") == expected_changed
    assert await reads(store, "TT-2026-0150") == expected_new
    async with await open_store(folder, read_only=True) as reader:  # e.g. `reportbot cases`
        assert await reads(reader, "TT-2026-0001") == expected_changed
        assert await reads(reader, "TT-2026-0150") == expected_new
    with pytest.raises(Conflict):  # read before the change that is only in the journal
        await store.commit(UnitOfWork(cases=[replace(old, assignee="Kim")]))
    with pytest.raises(Conflict):
        await store.commit(UnitOfWork(cases=[make_case("TT-2026-0150")]))
    await store.close()

    monkeypatch.undo()
    async with await open_store(folder, clock=FakeClock(NOW)) as reopened:
        assert shard_cases(folder, "TT-2026-00") == {"TT-2026-0001": 2}
        assert shard_cases(folder, "TT-2026-01") == {"TT-2026-0150": 1}
        assert journal_refs(folder) == []
        assert await reads(reopened, "TT-2026-0001") == expected_changed
        assert await reads(reopened, "TT-2026-0150") == expected_new


async def test_a_shard_that_cannot_be_written_keeps_the_case_in_live_json_until_it_can(
    tiny: TinyStore, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The case is durable once live.json is written, so its commit succeeds; the failed
    copy is a warning naming the file (never what the case says), and every later write tries
    again. The write that copies it leaves the entry to the write after, which drops it."""
    folder = tiny.data_dir
    disk = Disk(monkeypatch, only_shards=True)
    disk.full = True
    ref = await tiny.take_reference(2026)
    secret = make_case(ref, answers={"link": "SECRET-CONTENT"}, assignee="Ms Secret")
    assert await tiny.commit(UnitOfWork(cases=[secret])) is True
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings and all("kept in live.json" in r.getMessage() for r in warnings)
    assert "TT-2026-00.json" in warnings[0].getMessage()
    assert "SECRET" not in caplog.text and "Ms Secret" not in caplog.text
    assert journal_refs(folder) == [ref] and shard_cases(folder, "TT-2026-00") == {}

    failures = disk.failures
    await put_meta(tiny, "tick", {"n": 1})  # still full: tried again, still kept
    assert disk.failures > failures and journal_refs(folder) == [ref]

    disk.full = False
    await put_meta(tiny, "tick", {"n": 2})  # the next write copies it
    assert shard_cases(folder, "TT-2026-00") == {ref: 1}
    assert journal_refs(folder) == [ref]  # copied now; dropped by the next write
    await put_meta(tiny, "tick", {"n": 3})
    assert journal_refs(folder) == []
    assert await tiny.case(ref) == secret


async def test_deleting_a_case_held_only_in_the_journal_is_whole_even_if_its_shard_fails(
    tiny: TinyStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The tombstone takes the case's place in the journal in the same live.json write that
    drops its messages, so a shard that cannot be written never serves the case again."""
    disk = Disk(monkeypatch, only_shards=True)
    disk.full = True
    ref = await tiny.take_reference(2026)
    secret = make_case(ref, answers={"link": "SECRET-CONTENT"})
    await tiny.commit(UnitOfWork(cases=[secret]))  # only in the journal: its shard is full
    tomb = make_case(ref, answers={}, status=CaseStatus.DELETED)
    with pytest.raises(StorageError):  # the shard write of the deletion fails too
        await tiny.delete_case(ref, tomb)
    found = await tiny.case(ref)
    assert found is not None and found.status == CaseStatus.DELETED and not found.answers
    disk.full = False
    await put_meta(tiny, "tick", {"n": 1})  # the next write copies the tombstone
    folder = tiny.data_dir
    assert "SECRET-CONTENT" not in (folder / "live.json").read_text()
    assert "SECRET-CONTENT" not in (folder / "cases" / "TT-2026-00.json").read_text()


async def test_a_journal_that_cannot_be_copied_at_open_stops_the_start_and_loses_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "data"
    disk = Disk(monkeypatch, only_shards=True)
    async with await open_store(folder) as store:
        disk.full = True
        ref = await fill(store)
    live = (folder / "live.json").read_bytes()
    with pytest.raises(StorageError, match=r"Could not save TT-2026-00\.json") as caught:
        await open_store(folder)
    assert "No space left on device" in str(caught.value)
    assert (folder / "live.json").read_bytes() == live
    disk.full = False
    async with await open_store(folder) as reopened:  # the refusal released the folder
        assert await reopened.case(ref) == make_case(ref, version=1)


VICTIM = TESTS / "kill_before_copy.py"


def test_kill_9_between_the_live_json_write_and_the_shard_copy_loses_nothing(
    tmp_path: Path,
) -> None:
    """A writer is killed after its unit reached live.json and before the journal's cases
    reached their shards (tests/kill_before_copy.py): the unit is whole after the restart,
    and the open copies the cases (a new one, and a newer version over an older one)."""
    folder = tmp_path / "data"
    proc = subprocess.Popen(
        [sys.executable, str(VICTIM), str(folder)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        text=True,
    )
    assert proc.stdout is not None and proc.stderr is not None
    try:
        line = proc.stdout.readline()
        assert line.startswith("IN LIVE.JSON"), f"{line!r} {proc.stderr.read()}"
        # Stopped on the worker, the cases only in live.json: kill it there.
        assert journal_refs(folder) == ["TT-2026-0001", "TT-2026-0150"]
        assert shard_cases(folder, "TT-2026-00") == {"TT-2026-0001": 1}
        assert shard_cases(folder, "TT-2026-01") == {}
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(timeout=10)
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL

    async def reopen() -> None:
        async with await open_store(folder, clock=FakeClock(NOW)) as store:
            case = await store.case("TT-2026-0001")
            assert case is not None and case.version == 2 and case.assignee == "Lee"
            assert await store.case("TT-2026-0150") == make_case("TT-2026-0150", version=1)
            assert await store.get_meta("post:slack:TT-2026-0150") == {"ts": "1"}
            assert await store.conversation(ANN.key) == replace(make_conversation(), version=1)
            assert await store.seen("d2")
            assert [i.id for i in await store.outbox_items()] == ["a"]

    asyncio.run(reopen())
    assert shard_cases(folder, "TT-2026-00") == {"TT-2026-0001": 2}
    assert shard_cases(folder, "TT-2026-01") == {"TT-2026-0150": 1}
    assert journal_refs(folder) == []
    assert not list(folder.rglob("*.tmp"))


# --- both stores agree on random sequences of operations -------------------------------------

POOL = [f"item-{n}" for n in range(6)]
# Cases of a year whose references are never taken here: a store need not count references
# it did not hand out (the TinyDB store does, from its archive; the memory store does not).
REFS = ["TT-2025-0001", "TT-2025-0002", "TT-2025-0150"]
op_strategy = st.one_of(
    st.tuples(
        st.just("enqueue"),
        st.lists(
            st.tuples(
                st.sampled_from(POOL),
                st.sampled_from([Platform.SLACK, Platform.TEAMS]),
                st.sampled_from([None, -60, 0, 60]),
                st.sampled_from(["D1", "D2"]),
            ),
            max_size=3,
        ),
    ),
    st.tuples(
        st.just("commit"), st.sampled_from(["d1", "d2", "d3"]), st.booleans(), st.sampled_from(POOL)
    ),
    st.tuples(
        st.just("case"),
        st.sampled_from(REFS),
        st.sampled_from([CaseStatus.NEW, CaseStatus.CLOSED]),
        st.sampled_from([("a",), ("b",), ()]),
        st.booleans(),  # from the version stored, or a stale one
    ),
    st.tuples(st.just("delete"), st.sampled_from(REFS)),
    st.tuples(
        st.just("claim"), st.sampled_from([Platform.SLACK, Platform.TEAMS]), st.integers(1, 3)
    ),
    st.tuples(st.just("delivered"), st.lists(st.sampled_from(POOL), max_size=2)),
    st.tuples(st.just("reschedule"), st.integers(0, 5), st.booleans()),
    st.tuples(st.just("reference"), st.sampled_from([2026, 2027])),
)


async def observe(store: Store, *, claims: bool = True) -> tuple[object, ...]:
    """What the store serves. After a restart the TinyDB store frees every claim (see above),
    so `claims=False` leaves out what claims decide."""
    items = [codec.outbox_to_dict(i) for i in await store.outbox_items()]
    if not claims:
        items = [{**d, "claimed_by": "", "claimed_until": None} for d in items]
    return (
        items,
        [i.id for i in await due_items(store, Platform.SLACK)] if claims else None,
        await store.next_due_at(Platform.TEAMS) if claims else None,
        [i.id for i in await store.undelivered(Platform.SLACK)],
        [await store.seen(d) for d in ("d1", "d2", "d3")],
        await store.conversation(ANN.key),
        [codec.case_to_dict(c) for c in await store.cases()],
        [c.reference for c in await store.cases(open_only=True, handles=("a",))],
        [c.reference for c in await store.cases_due(NOW)],
    )


async def apply(store: Store, op: tuple[Any, ...]) -> object:
    match op:
        case ("enqueue", specs):
            items = [
                make_item(
                    i,
                    platform=p,
                    due_at=None if d is None else NOW + timedelta(seconds=d),
                    address={"channel": ch},
                )
                for i, p, d, ch in specs
            ]
            await enqueue(store, items)
            return [i.seq for i in items]
        case ("commit", delivery, keep, item_id):
            conv = make_conversation(delivery) if keep else None
            if conv is not None:  # over the one held, as a turn writes it
                held = await store.conversation(ANN.key)
                conv.version = held.version if held else 0
            unit = UnitOfWork(ANN.key, conv, delivery, outbox=[make_item(item_id)])
            return await store.commit(unit)
        case ("case", ref, status, handles, fresh):
            stored = await store.case(ref)
            version = stored.version if stored else 0
            case = make_case(
                ref, status=status, handles=handles, version=version if fresh else version + 1
            )
            try:
                return await store.commit(UnitOfWork(cases=[case]))
            except Conflict:
                return "conflict"
        case ("delete", ref):
            if await store.case(ref) is not None:
                await store.delete_case(ref, tombstone_of(make_case(ref)))
        case ("claim", platform, limit):
            taken = await store.claim(platform, "me", NOW, LEASE, limit)
            return [(i.id, i.attempts) for i in taken]
        case ("delivered", ids):
            await store.delivered([Delivered(i) for i in ids])
        case ("reschedule", index, fail):
            taken = await store.claim(Platform.SLACK, "me", NOW + LEASE * 2, LEASE)
            if taken:
                item = taken[index % len(taken)]
                if fail:
                    item.failed, item.failed_at = "gone", NOW
                item.due_at = NOW + timedelta(minutes=1)
                await store.reschedule(item)
            return [i.id for i in taken]
        case ("reference", year):
            return await store.take_reference(year)
    return None


async def run_both(ops: list[tuple[Any, ...]], folder: Path) -> None:
    memory = MemoryStore()
    tiny = await open_store(folder, clock=FakeClock(NOW))  # nothing here is old enough to prune
    for op in ops:
        assert await apply(tiny, op) == await apply(memory, op), op
        assert await observe(tiny) == await observe(memory), op
    await tiny.close()
    async with await open_store(folder, clock=FakeClock(NOW)) as reopened:  # after a restart
        assert await observe(reopened, claims=False) == await observe(memory, claims=False)


@settings(max_examples=40, deadline=None)
@given(ops=st.lists(op_strategy, max_size=20))
def test_both_stores_agree_on_random_operations(ops: list[tuple[Any, ...]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(run_both(ops, Path(tmp) / "data"))


async def test_cases_written_together_reach_each_shard_in_one_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A unit of 250 new cases is one write of live.json and one of each of its three shards
    (a write per case cost a thousand fsyncs for a thousand cases)."""
    store = await open_store(tmp_path / "data")
    gate = Gate(monkeypatch)
    gate.open()
    cases = [make_case(f"TT-2026-{n:04d}") for n in range(1, 251)]
    try:
        assert await store.commit(UnitOfWork(cases=cases))
        shards = sorted(name for name in gate.writes if name.startswith("TT-"))
        assert shards == ["TT-2026-00.json", "TT-2026-01.json", "TT-2026-02.json"]
        assert gate.live_writes() == 1
    finally:
        await store.close()
    async with await open_store(tmp_path / "data") as again:
        assert len(await again.cases()) == 250

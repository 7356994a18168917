"""live.log: each write appends what changed to live.json's log; live.json is rewritten whole
now and then. What a crash, a torn line, a damaged line, or a live.json restored from a backup
leaves is read (or refused) as the store's promises require.

A "crash image" here is a copy of the data folder taken while the store is running: every
write is durable when the call returns, so the copy is what a kill -9 at that moment leaves.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
from pathlib import Path

import pytest
from store_helpers import ANN, NOW, live_json, make_conversation, put_meta

from bot.clock import FakeClock
from bot.errors import UnreadableDataError
from bot.ports import UnitOfWork
from storage.tinydb_store import open_store


def crash_image(folder: Path, to: Path) -> Path:
    shutil.copytree(folder, to, ignore=shutil.ignore_patterns(".lock"))
    return to


async def test_a_crash_leaves_every_acknowledged_write_in_the_log(tmp_path: Path) -> None:
    store = await open_store(tmp_path / "data", clock=FakeClock(NOW))
    try:
        for n in range(30):
            await store.commit(UnitOfWork(ANN.key, None, f"d{n}", meta={f"k{n}": {"n": n}}))
        image = crash_image(tmp_path / "data", tmp_path / "image")
    finally:
        await store.close()
    # The first write after a start rewrites live.json; then the log's header and 29 lines.
    assert (image / "live.log").read_bytes().count(b"\n") == 30
    async with await open_store(image, clock=FakeClock(NOW)) as reopened:
        assert all([await reopened.seen(f"d{n}") for n in range(30)])
        assert await reopened.get_meta("k29") == {"n": 29}


async def test_a_torn_last_line_is_left_out_and_never_appended_to(tmp_path: Path) -> None:
    store = await open_store(tmp_path / "data", clock=FakeClock(NOW))
    try:
        await put_meta(store, "kept", {"v": 1})
        await put_meta(store, "also kept", {"v": 2})
        image = crash_image(tmp_path / "data", tmp_path / "image")
    finally:
        await store.close()
    with (image / "live.log").open("ab") as log:
        log.write(b'{"changes": {"meta": {"torn": ')  # a write cut short: never acknowledged
    async with await open_store(image, clock=FakeClock(NOW)) as reopened:
        assert await reopened.get_meta("also kept") == {"v": 2}
        assert await reopened.get_meta("torn") is None
        await put_meta(reopened, "after", {"v": 3})  # starts on a fresh log
        assert b"torn" not in (image / "live.log").read_bytes()
    async with await open_store(image, clock=FakeClock(NOW)) as again:
        assert await again.get_meta("after") == {"v": 3}


async def test_a_damaged_line_is_refused_naming_the_file_and_no_content(tmp_path: Path) -> None:
    store = await open_store(tmp_path / "data", clock=FakeClock(NOW))
    try:
        await put_meta(store, "first", {})  # the first write after a start rewrites live.json
        await put_meta(store, "a", {"secret": "TIKTOK-HANDLE"})
        await put_meta(store, "b", {"v": 2})
        image = crash_image(tmp_path / "data", tmp_path / "image")
    finally:
        await store.close()
    lines = (image / "live.log").read_bytes().split(b"\n")
    lines[1] = lines[1][:-3] + b"]]]"  # the first change, damaged; a whole line follows it
    (image / "live.log").write_bytes(b"\n".join(lines))
    before = (image / "live.log").read_bytes()
    with pytest.raises(UnreadableDataError, match=r"live\.log") as caught:
        await open_store(image)
    assert "TIKTOK" not in str(caught.value) and "will not start" in str(caught.value)
    assert (image / "live.log").read_bytes() == before


async def test_a_change_that_would_not_decode_is_refused(tmp_path: Path) -> None:
    store = await open_store(tmp_path / "data", clock=FakeClock(NOW))
    try:
        await put_meta(store, "first", {})  # the first write after a start rewrites live.json
        await store.commit(UnitOfWork(ANN.key, make_conversation(), "d1"))
        image = crash_image(tmp_path / "data", tmp_path / "image")
    finally:
        await store.close()
    lines = (image / "live.log").read_bytes().split(b"\n")
    change = json.loads(lines[1])
    change["changes"]["conversations"][ANN.key]["started_at"] = "yesterday"
    lines[1] = json.dumps(change).encode()
    (image / "live.log").write_bytes(b"\n".join(lines))
    with pytest.raises(UnreadableDataError, match=r"live\.log"):
        await open_store(image)


async def test_a_log_newer_than_a_restored_live_json_is_set_aside_not_applied(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """live.json restored from last night's backup, today's live.log left beside it: the log's
    changes were made on top of a later live.json, so they are not applied to this one; the
    file is kept, renamed, for whoever restored the backup."""
    folder = tmp_path / "data"
    async with await open_store(folder, clock=FakeClock(NOW)) as store:
        await put_meta(store, "in the backup", {"v": 1})
    backup = (folder / "live.json").read_bytes()
    async with await open_store(folder, clock=FakeClock(NOW)) as store:
        await put_meta(store, "first", {})  # the first write after a start rewrites live.json
        await put_meta(store, "after the backup", {"v": 2})
        image = crash_image(folder, tmp_path / "image")
    (image / "live.json").write_bytes(backup)
    with caplog.at_level(logging.WARNING):
        async with await open_store(image, clock=FakeClock(NOW)) as restored:
            assert await restored.get_meta("in the backup") == {"v": 1}
            assert await restored.get_meta("after the backup") is None
    assert "does not belong to live.json" in caplog.text
    assert b"after the backup" in (image / "live.log.unused").read_bytes()


async def test_a_log_older_than_live_json_is_already_in_it(tmp_path: Path) -> None:
    """Killed between rewriting live.json and starting its fresh log: the old log's changes
    are all in the new live.json, so it is ignored (applying it again would undo later ones)."""
    folder = tmp_path / "data"
    store = await open_store(folder, clock=FakeClock(NOW))
    try:
        await put_meta(store, "first", {})  # the first write after a start rewrites live.json
        await put_meta(store, "k", {"v": 1})
        await put_meta(store, "k", {"v": 2})
        old_log = (folder / "live.log").read_bytes()
    finally:
        await store.close()  # rewrites live.json whole, with k = 2, and a fresh log
    (folder / "live.log").write_bytes(old_log)
    async with await open_store(folder, clock=FakeClock(NOW)) as reopened:
        assert await reopened.get_meta("k") == {"v": 2}


async def test_a_step_appends_what_changed_however_many_ids_are_kept(tmp_path: Path) -> None:
    """The size of a step's write follows the step, not the history: with 2,000 more delivery
    ids kept, one more step appends as many bytes as with 20 (live.json, rewritten whole on
    every step before, grew by about 100 bytes a step)."""
    store = await open_store(tmp_path / "data", clock=FakeClock(NOW))
    log = tmp_path / "data" / "live.log"

    async def step(n: int) -> int:
        before = log.stat().st_size if log.exists() else 0
        await store.commit(UnitOfWork(ANN.key, None, f"delivery-{n:05d}"))
        return log.stat().st_size - before

    try:
        early = [await step(n) for n in range(21)][-1]
        # 2,000 at once: the store writes them in a few group commits, quickly even where
        # fsync is slow.
        await asyncio.gather(
            *(store.commit(UnitOfWork(delivery_id=f"d{n:05d}")) for n in range(2_000))
        )
        assert len(live_json(tmp_path / "data")["seen"]) == 2_021
        late = await step(99_999)
    finally:
        await store.close()
    assert early > 0 and late == early


async def test_a_log_past_its_limit_is_folded_into_live_json_and_begun_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The log may grow to several times live.json's size, then the next write rewrites
    live.json with everything and starts a fresh log; a reopen finds every write."""
    import storage.live

    monkeypatch.setattr(storage.live, "LOG_MIN", 2_000)  # bytes: a few steps' worth here
    folder = tmp_path / "data"
    store = await open_store(folder, clock=FakeClock(NOW))
    sizes = []
    try:
        for n in range(60):
            await store.commit(UnitOfWork(ANN.key, None, f"d{n}", meta={f"k{n}": {"n": n}}))
            sizes.append((folder / "live.log").stat().st_size)
        live_size = (folder / "live.json").stat().st_size
    finally:
        await store.close()
    folds = [n for n in range(1, 60) if sizes[n] < sizes[n - 1]]
    assert folds, "the log was never folded into live.json"
    assert max(sizes) <= max(2_000, storage.live.LOG_TIMES * live_size) + 1_000  # one line more
    async with await open_store(folder, clock=FakeClock(NOW)) as reopened:
        assert all([await reopened.seen(f"d{n}") for n in range(60)])
        assert await reopened.get_meta("k59") == {"n": 59}

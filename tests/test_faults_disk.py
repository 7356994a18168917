"""A full or read-only data folder: a clear message with a reference code, the same code in the
log, no damage to what was saved before, and everything works again once space returns.

Running as root makes chmod useless for this, so the disk trouble is simulated where the store
meets the operating system: `storage.atomic` gets an `os` whose writes fail under the data
folder (ENOSPC on write or rename, EROFS on opening a file for writing).
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import re
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from slack_fakes import (
    LEADERS,
    REPORT_STEPS,
    STAFF,
    START,
    TEAM,
    Harness,
    block_actions,
    buttons,
    dm_channel,
    eventually,
    slack_harness,
    walk,
)
from store_helpers import due_items
from teams_fakes import PERSONAL_CHAT, REPORTER_KEY, TIKTOK_LINK, harness, texts

import storage.atomic
from bot.clock import FakeClock
from bot.errors import StorageError
from bot.model import Platform
from storage.tinydb_store import TinyStore, open_store

LINK = "https://www.tiktok.com/@fake.teacher"
KEY = f"slack:{TEAM}:{STAFF}"
TYPED = "Mr Marker-7731, Head of Drama"  # typed while the disk is full: never in a log
CODE = re.compile(r"ERR-[0-9A-F]{6}")
# How a step's write can fail. A step appends to live.log (no rename); a rename fails only
# where a file is rewritten whole (live.json now and then, a case's shard): "full-on-rename"
# is tried there (below, and in tests/test_tinydb_store.py).
MODES = ["full-on-write", "full-on-fsync", "read-only"]


class TroubledOS:
    """`os` as `storage.atomic` sees it: writes under `folder` fail while `broken` is set.

    With `only`, just files whose path contains it; with `spare`, that many such renames
    succeed first (full-on-rename mode), to fail one write in the middle of a step.
    """

    def __init__(self, folder: Path, mode: str, *, only: str = "", spare: int = 0) -> None:
        self.folder = str(folder.resolve())
        self.mode = mode
        self.only = only
        self.spare = spare
        self.broken = False
        self.failures = 0
        self._ours: set[int] = set()

    def __getattr__(self, name: str) -> Any:
        return getattr(os, name)

    def _fail(self, code: int, path: object) -> OSError:
        self.failures += 1
        return OSError(code, os.strerror(code), str(path))

    def _inside(self, path: object) -> bool:
        where = os.path.abspath(str(path))
        return where.startswith(self.folder) and self.only in where

    def open(self, path: Any, flags: int, mode: int = 0o777, **kw: Any) -> int:
        writing = flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT)
        if self.broken and self.mode == "read-only" and writing and self._inside(path):
            raise self._fail(errno.EROFS, path)
        fd = os.open(path, flags, mode, **kw)
        if writing and self._inside(path):
            self._ours.add(fd)
        return fd

    def write(self, fd: int, data: Any) -> int:
        if self.broken and self.mode == "full-on-write" and fd in self._ours:
            os.write(fd, bytes(data)[: len(data) // 2])  # a partial write, then no space
            raise self._fail(errno.ENOSPC, fd)
        return os.write(fd, data)

    def fsync(self, fd: int) -> None:
        if self.broken and self.mode == "full-on-fsync" and fd in self._ours:
            raise self._fail(errno.ENOSPC, fd)  # as thin-provisioned or network disks report it
        os.fsync(fd)

    def close(self, fd: int) -> None:
        self._ours.discard(fd)
        os.close(fd)

    def replace(self, src: Any, dst: Any) -> None:
        if self.broken and self.mode == "full-on-rename" and self._inside(dst):
            if self.spare:
                self.spare -= 1
            else:
                raise self._fail(errno.ENOSPC, dst)
        os.replace(src, dst)


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file in the data folder, by relative path (temp files would show up here)."""
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != ".lock"
    }


@asynccontextmanager
async def on_disk(tmp_path: Path) -> AsyncIterator[tuple[Harness, TinyStore]]:
    clock = FakeClock(START)
    store = await open_store(tmp_path / "data", clock=clock)
    try:
        async with slack_harness(store=store, clock=clock) as h:
            yield h, store
    finally:
        await store.close()


def sorry_code(text: str) -> str:
    assert "couldn't save that" in text and "send it again" in text, text
    found = CODE.search(text)
    assert found, text
    return found.group(0)


@pytest.mark.parametrize("mode", MODES)
async def test_a_full_or_read_only_disk_says_so_keeps_old_data_and_recovers(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    mode: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    disk = TroubledOS(tmp_path / "data", mode)
    monkeypatch.setattr(storage.atomic, "os", disk)
    async with on_disk(tmp_path) as (h, store):
        await h.command(STAFF, LINK)
        await h.deliver()
        await walk(h, STAFF, REPORT_STEPS[:5])  # up to "Which member of staff?"
        before = snapshot(tmp_path / "data")
        asked = len(h.fake.dm(STAFF))

        disk.broken = True
        response = await h.dm(STAFF, TYPED)
        assert response.status == 200  # Slack is answered; the person is told to resend
        await eventually(lambda: len(h.fake.dm(STAFF)) > asked)
        code = sorry_code(h.fake.dm(STAFF)[-1]["text"])
        ack = await (await h.command(STAFF, "")).json()  # a slash command is told in its ack
        other = sorry_code(ack["text"])
        assert disk.failures >= 2

        # The log names each failure by the code the person was given, without their words.
        for shown in (code, other):
            assert f"storage failure {shown}" in caplog.text
        assert "Marker-7731" not in caplog.text
        # Nothing on disk changed (no torn file, no stray temp file), and memory agrees.
        assert snapshot(tmp_path / "data") == before
        conversation = await store.conversation(KEY)
        assert conversation is not None and conversation.step == "target_staff"

        disk.broken = False
        await h.say(STAFF, TYPED)  # the same person sends it again, as they were asked
        conversation = await store.conversation(KEY)
        assert conversation is not None and conversation.step == "first_seen"
        await walk(h, STAFF, REPORT_STEPS[6:])
        assert len(h.fake.posts(LEADERS)) == 1

    async with await open_store(tmp_path / "data") as reopened:  # every file still loads
        [case] = await reopened.cases()
        assert case.answers["target_staff"] == TYPED
        assert case.answers["harm"] == ["impersonation", "harassment"]
        assert await due_items(reopened, Platform.SLACK, START.replace(year=2100)) == []


@pytest.mark.parametrize("mode", MODES)
async def test_teams_gets_the_same_clear_message_and_recovers(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    mode: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    disk = TroubledOS(tmp_path, mode)
    monkeypatch.setattr(storage.atomic, "os", disk)
    async with harness(data_dir=tmp_path) as h:
        assert await h.say("report") == 200
        before = snapshot(tmp_path)
        disk.broken = True
        assert await h.say(TIKTOK_LINK) == 200
        apology = texts(h.connector.posts_to(PERSONAL_CHAT)[-1].card)
        code = sorry_code(apology)
        assert f"storage failure {code}" in caplog.text
        assert "fake.head.teacher" not in caplog.text
        assert snapshot(tmp_path) == before
        disk.broken = False
        assert await h.say(TIKTOK_LINK) == 200
        conversation = await h.runtime.store.conversation(REPORTER_KEY)
        assert conversation is not None and conversation.answers["links"]
    async with await open_store(tmp_path) as reopened:
        assert await reopened.conversation(REPORTER_KEY) is not None


async def test_a_disk_that_fills_as_a_report_is_submitted_files_it_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Submit is one write: the case, its reference, the step and the posts land together or
    not at all, so a failed submit leaves nothing half-filed and pressing again files it once."""
    disk = TroubledOS(tmp_path / "data", "full-on-write", only="live.")
    monkeypatch.setattr(storage.atomic, "os", disk)
    async with on_disk(tmp_path) as (h, store):
        await h.command(STAFF, LINK)
        await h.deliver()
        await walk(h, STAFF, REPORT_STEPS[:-1])
        asked = len(h.fake.dm(STAFF))
        disk.broken = True
        await press_only(h, STAFF, "submit")
        await eventually(lambda: len(h.fake.dm(STAFF)) > asked)
        sorry_code(h.fake.dm(STAFF)[-1]["text"])
        assert disk.failures == 1 and await store.cases() == []  # nothing half-filed
        disk.broken = False
        await h.answer(STAFF, "submit")  # pressed again, as the apology asked
        h.clock.advance(minutes=5)
        await h.deliver()
        [case] = await store.cases()
        assert case.reference == f"TT-{START.year}-0001"
        assert len(h.fake.posts(LEADERS)) == 1
        assert any(f"Case {case.reference}: call POSH" in m["text"] for m in h.fake.dm(STAFF))
        after = await store.conversation(KEY)  # filed: waiting only for "I've contacted POSH"
        assert after is not None and after.step == "end" and not after.answers


async def test_a_case_file_that_cannot_be_written_is_kept_in_live_json_until_it_can(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The shard copy failing costs nothing: the case is durable in live.json's journal, the
    person and leaders are served, and the next write copies it to its file."""
    disk = TroubledOS(tmp_path / "data", "full-on-rename", only="cases")
    monkeypatch.setattr(storage.atomic, "os", disk)
    async with on_disk(tmp_path) as (h, store):
        await h.command(STAFF, LINK)
        await h.deliver()
        await walk(h, STAFF, REPORT_STEPS[:-1])
        disk.broken = True
        await h.answer(STAFF, "submit")
        h.clock.advance(minutes=5)
        await h.deliver()
        assert disk.failures >= 1
        [case] = await store.cases()
        assert len(h.fake.posts(LEADERS)) == 1
        assert any(f"Case {case.reference}: call POSH" in m["text"] for m in h.fake.dm(STAFF))
        disk.broken = False
        await h.say(STAFF, "hello")  # any later write copies the journal to its file
        shard = tmp_path / "data" / "cases" / f"{case.reference[:-2]}.json"
        assert case.reference in shard.read_text()  # copied to its file by that later write
    async with await open_store(tmp_path / "data") as reopened:
        [again] = await reopened.cases()
        assert again.reference == case.reference


def press_only(h: Harness, user: str, value: str) -> Any:
    """Press a button on the latest question without letting the courier run."""
    message = next(m for m in reversed(h.fake.dm(user)) if buttons(m))
    action = next(b for b in buttons(message) if b["value"] == value)
    payload = block_actions(user, action, channel=dm_channel(user), message_ts=message["ts"])
    return h.action(payload)


async def test_a_disk_that_fills_as_the_leadership_post_goes_does_not_double_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    disk = TroubledOS(tmp_path / "data", "full-on-write")
    monkeypatch.setattr(storage.atomic, "os", disk)
    async with on_disk(tmp_path) as (h, _):
        await h.command(STAFF, LINK)
        await h.deliver()
        await walk(h, STAFF, REPORT_STEPS[:-1])
        original = h.fake._chat_postMessage

        def then_fill_the_disk(params: dict[str, Any]) -> dict[str, Any]:
            answer = original(params)
            if params["channel"] == LEADERS and disk.failures == 0:
                disk.broken = True  # Slack took the post; the outbox cannot record it
            return answer

        monkeypatch.setattr(h.fake, "_chat_postMessage", then_fill_the_disk)
        await press_only(h, STAFF, "submit")
        with pytest.raises(StorageError):
            await h.deliver()
        assert len(h.fake.posts(LEADERS)) == 1
        disk.broken = False  # space returns
        for _ in range(3):
            h.clock.advance(minutes=5)
            await h.deliver()
        assert len(h.fake.posts(LEADERS)) == 1


async def test_a_read_only_disk_does_not_make_the_courier_repeat_a_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    disk = TroubledOS(tmp_path / "data", "read-only")
    monkeypatch.setattr(storage.atomic, "os", disk)
    async with on_disk(tmp_path) as (h, _):
        await h.command(STAFF, LINK)  # the step is stored; its replies wait in the outbox
        disk.broken = True  # e.g. the filesystem was remounted read-only after an error
        h.courier.start()
        await asyncio.sleep(1.0)
        await h.courier.stop()
        copies = Counter(m["text"] for m in h.fake.dm(STAFF))
        most = max(copies.values(), default=0)
        assert most <= 1, f"one message sent {most} times in one second"

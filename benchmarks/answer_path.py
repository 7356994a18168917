"""One typed Slack answer's path through the project: files, functions and fsyncs.

    .venv/bin/python -m benchmarks.answer_path

A report is started and answered up to the staff member's name, then ONE typed answer is
followed, from the signed HTTP request to its reply reaching the Slack stand-in and the
delivered mark: which of the project's own files and functions run (library code is left out),
how many fsyncs happen, and how many of them come before Slack gets its HTTP answer.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from concurrent.futures import Executor, Future
from pathlib import Path
from types import FrameType
from typing import Any

from bot.clock import FakeClock
from storage import atomic
from storage.tinydb_store import open_store
from tests.slack_fakes import REPORT_STEPS, STAFF, START, slack_harness, walk

ROOT = Path(__file__).resolve().parent.parent
OURS = tuple(str(ROOT / d) for d in ("bot", "adapters", "storage"))


class Path_:
    def __init__(self) -> None:
        self.functions: set[tuple[str, str]] = set()
        self.fsyncs = 0
        # each durable file write: an append (write, fsync) or a whole file (temp, fsync,
        # rename, folder fsync)
        self.writes: list[str] = []

    def trace(self, frame: FrameType, event: str, arg: Any) -> None:
        if event == "call" and frame.f_code.co_filename.startswith(OURS):
            name = os.path.relpath(frame.f_code.co_filename, ROOT)
            self.functions.add((name, frame.f_code.co_qualname))


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        clock = FakeClock(START)
        store = await open_store(Path(tmp) / "data", clock=clock)
        async with slack_harness(store=store, clock=clock) as h:
            await h.command(STAFF, "https://www.tiktok.com/@fake.teacher")
            await h.deliver()
            upto = next(i for i, (how, _) in enumerate(REPORT_STEPS) if how == "say")
            await walk(h, STAFF, REPORT_STEPS[:upto])
            await h.deliver()
            path = Path_()
            real_fsync = os.fsync

            def counted(fd: int) -> None:
                path.fsyncs += 1
                real_fsync(fd)

            real_replace = os.replace

            def renamed(src: Any, dst: Any) -> None:
                path.writes.append(Path(dst).name)
                real_replace(src, dst)

            real_append = atomic.append

            def appended(file: Path, payload: bytes, size: int) -> int:
                path.writes.append(f"{file.name} (appended)")
                return real_append(file, payload, size)

            setattr(os, "fsync", counted)  # noqa: B010 - patched for this one answer only
            setattr(os, "replace", renamed)  # noqa: B010
            setattr(atomic, "append", appended)  # noqa: B010
            # The worker's jobs run in this thread, so the trace (one thread only) sees them.
            setattr(store, "_executor", Inline())  # noqa: B010
            sys.setprofile(path.trace)
            try:
                await h.dm(STAFF, REPORT_STEPS[upto][1])
                before_ack, written_before = path.fsyncs, len(path.writes)
                await h.deliver()
            finally:
                sys.setprofile(None)
                setattr(os, "fsync", real_fsync)  # noqa: B010
                setattr(os, "replace", real_replace)  # noqa: B010
                setattr(atomic, "append", real_append)  # noqa: B010
        await store.close()
    files = sorted({f for f, _ in path.functions})
    print(f"one typed Slack answer ({REPORT_STEPS[upto][1]!r}):")
    print(f"  {len(files)} project files, {len(path.functions)} project functions")
    print(
        f"  {len(path.writes)} durable file writes ({', '.join(path.writes)}), "
        f"{written_before} before Slack's HTTP answer; {path.fsyncs} fsyncs ({before_ack} before)"
    )
    for f in files:
        print(f"    {f}: {sum(1 for g, _ in path.functions if g == f)}")


class Inline(Executor):
    """Runs each job at once in the calling thread (the trace follows one thread only)."""

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        done: Future[Any] = Future()
        try:
            done.set_result(fn(*args, **kwargs))
        except BaseException as e:
            done.set_exception(e)
        return done


if __name__ == "__main__":
    asyncio.run(main())

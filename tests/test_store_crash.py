"""kill -9 at random moments must never cost an acknowledged write or leave a torn file.

A writer process (tests/crash_writer.py) saves cases and commits steps in a loop and prints
an acknowledgement after each returns. We SIGKILL it at random moments, reopening the same
folder each round so its files keep growing and shrinking, and after every kill check that
the store still loads and holds everything acknowledged so far.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

from storage.tinydb_store import open_store

ROOT = Path(__file__).resolve().parent.parent
WRITER = Path(__file__).resolve().parent / "crash_writer.py"
ROUNDS = 40


def run_and_kill(folder: Path, seed: int, delay: float) -> list[str]:
    """Start the writer, SIGKILL it `delay` seconds after it is ready; return its output lines."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, str(WRITER), str(folder), str(seed)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    assert proc.stdout is not None and proc.stderr is not None
    try:
        ready = proc.stdout.readline()
        assert ready == "READY\n", f"writer did not start: {ready!r} {proc.stderr.read()}"
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        lines = proc.stdout.read().splitlines(keepends=True)
    finally:
        proc.kill()
        proc.wait(timeout=10)
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL, "the writer died before it was killed"
    return [line.rstrip("\n") for line in lines if line.endswith("\n")]  # skip a cut-off line


async def check(folder: Path, acked: set[str], steps: set[str]) -> None:
    async with await open_store(folder) as store:
        missing = [ref for ref in sorted(acked) if await store.case(ref) is None]
        assert not missing, f"acknowledged cases lost: {missing}"
        unseen = [d for d in sorted(steps) if not await store.seen(d)]
        assert not unseen, f"acknowledged steps lost: {unseen}"
        if acked:
            # A reference is taken for good before its case is written: never handed out again.
            number = int((await store.take_reference(2026)).rsplit("-", 1)[1])
            assert number > max(int(ref.rsplit("-", 1)[1]) for ref in acked)


def check_files(folder: Path) -> None:
    leftovers = [p for p in folder.rglob("*") if p.name.endswith(".tmp")]
    assert not leftovers, leftovers  # the open in `check` removed any
    for path in folder.rglob("*.json"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_kill_9_never_loses_acknowledged_writes(tmp_path: Path) -> None:
    master_seed = random.randrange(2**32)
    rng = random.Random(master_seed)
    folder = tmp_path / "data"
    acked: set[str] = set()
    steps: set[str] = set()
    for round_ in range(ROUNDS):
        delay = rng.uniform(0.005, 0.080)
        lines = run_and_kill(folder, rng.randrange(2**31), delay)
        acked |= {line.split()[1] for line in lines if line.startswith("ACK ")}
        steps |= {line.split()[1] for line in lines if line.startswith("STEP ")}
        try:
            asyncio.run(check(folder, acked, steps))
            check_files(folder)
        except BaseException as exc:
            exc.add_note(f"round {round_}, master seed {master_seed}, delay {delay:.3f}s")
            raise
    assert len(acked) >= ROUNDS // 2, "the writer barely wrote anything: the test proves little"
    print(f"{len(acked)} cases and {len(steps)} steps acknowledged over {ROUNDS} kills")

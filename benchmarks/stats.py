"""Small measuring tools: percentiles, a timer, resident memory, and an event-loop stall monitor."""

from __future__ import annotations

import asyncio
import gc
import logging
import math
import resource
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); NaN when there are no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


@dataclass
class Samples:
    """Durations in seconds."""

    values: list[float] = field(default_factory=list)

    def add(self, seconds: float) -> None:
        self.values.append(seconds)

    def extend(self, other: Samples) -> None:
        self.values.extend(other.values)

    @property
    def p50(self) -> float:
        return percentile(self.values, 50)

    @property
    def p99(self) -> float:
        return percentile(self.values, 99)

    def __len__(self) -> int:
        return len(self.values)


@contextmanager
def timed(into: Samples) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        into.add(time.perf_counter() - start)


def rss_mb() -> float:
    """This process's resident memory now (VmRSS), in MiB."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # peak, as a fallback


def cpu_seconds() -> float:
    """CPU time this process has used so far (user + system)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class LoopMonitor:
    """Sleeps 1 ms at a time and keeps the worst lateness, per labelled phase of the run."""

    TICK = 0.001
    FREEZE_EVERY = 0.5

    def __init__(self, *, freeze: bool = False) -> None:
        self.freeze = freeze
        """For the users' process: it keeps every call the stand-ins took, and its own full
        garbage collections (90–210 ms, up to 490 ms with 200 people) landed on whichever app
        was being timed. Twice a second what it holds is moved out of the collector's way."""
        self.phase = "start"
        self.worst: dict[str, float] = {}
        self.gc_worst: dict[str, float] = {}  # longest full (generation 2) garbage collection
        self._task: asyncio.Task[None] | None = None
        self._gc_start = 0.0

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="loop-monitor")
        gc.callbacks.append(self._on_gc)

    async def stop(self) -> None:
        if self.freeze:
            gc.unfreeze()  # what it froze is the collector's again, for the next section
        if self._on_gc in gc.callbacks:
            gc.callbacks.remove(self._on_gc)
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    def _on_gc(self, event: str, info: dict[str, int]) -> None:
        if info.get("generation") != 2:
            return
        if event == "start":
            self._gc_start = time.perf_counter()
            return
        took = time.perf_counter() - self._gc_start
        if took > self.gc_worst.get(self.phase, 0.0):
            self.gc_worst[self.phase] = took

    @property
    def overall(self) -> float:
        return max(self.worst.values(), default=0.0)

    async def _run(self) -> None:
        frozen = time.perf_counter()
        while True:
            start = time.perf_counter()
            await asyncio.sleep(self.TICK)
            late = time.perf_counter() - start - self.TICK
            if late > self.worst.get(self.phase, 0.0):
                self.worst[self.phase] = late
            if self.freeze and start - frozen > self.FREEZE_EVERY:
                gc.freeze()
                frozen = start


class WarningCounter(logging.Handler):
    """Counts log warnings by message, instead of printing them among the figures."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.seen: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        text = f"{record.name}: {str(record.msg).strip()}".splitlines()[0]
        self.seen[text[:110]] += 1

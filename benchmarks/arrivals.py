"""When each message reached a stand-in, per conversation, and waiting for the n-th one."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

WAIT_LIMIT = 60.0  # seconds: a reply that takes longer than this is a failure, not a figure


class NoReply(RuntimeError):
    pass


@dataclass
class StepTiming:
    """One step of one user, in seconds from the moment the request was sent."""

    step: str
    ack: float  # the HTTP response was read
    first: float  # the first reply reached the stand-in
    last: float  # the step's whole reply (e.g. notice + next question) reached it


class Arrivals:
    def __init__(self) -> None:
        self._times: dict[str, list[float]] = {}
        self._changed: dict[str, asyncio.Event] = {}

    def record(self, key: str) -> None:
        self._times.setdefault(key, []).append(time.perf_counter())
        self._event(key).set()

    def count(self, key: str) -> int:
        return len(self._times.get(key, ()))

    async def wait(self, key: str, n: int, limit: float = WAIT_LIMIT) -> float:
        """The time the n-th message (1-based) for `key` arrived, waiting for it if need be."""
        try:
            async with asyncio.timeout(limit):
                while self.count(key) < n:
                    event = self._event(key)
                    event.clear()
                    await event.wait()
        except TimeoutError:
            raise NoReply(f"{key}: {self.count(key)} of {n} messages after {limit:.0f}s") from None
        return self._times[key][n - 1]

    def _event(self, key: str) -> asyncio.Event:
        return self._changed.setdefault(key, asyncio.Event())


Send = Callable[[], Awaitable[None]]


async def timed_step(
    step: str, send: Send, arrivals: Arrivals, key: str, expected: int
) -> StepTiming:
    """Send one request and wait for the `expected` messages it should bring to `key`."""
    base = arrivals.count(key)
    start = time.perf_counter()
    await send()
    ack = time.perf_counter() - start
    if expected == 0:
        return StepTiming(step, ack, ack, ack)
    first = await arrivals.wait(key, base + 1) - start
    last = await arrivals.wait(key, base + expected) - start
    return StepTiming(step, ack, first, last)

"""Whether a store can take work now: what `/readyz` reports (never secrets, never content)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Readiness:
    ready: bool
    database: str  # "ok", or what is wrong, in words an operator can act on
    migrations: str  # "current", or what to do about them

    def as_json(self) -> dict[str, object]:
        return {"status": "ready" if self.ready else "not ready", **asdict(self)}


ReadyCheck = Callable[[], Awaitable[Readiness]]


async def always_ready() -> Readiness:
    """An embedded store, open in this process, is ready while it is open."""
    return Readiness(True, "ok", "none needed")

"""The composition root: the one place that builds the bot from its settings.

Every command (`chat`, `serve`, `cases`…) opens a `Runtime` here and closes it when done;
nothing else constructs a store, an engine or a courier, and there are no module globals.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from bot.clock import SystemClock
from bot.config import Settings
from bot.delivery import Courier
from bot.engine import Engine
from bot.facts import Facts
from bot.model import Platform
from bot.ports import Clock, Sender, Store
from bot.reminders import Reminders
from storage.tinydb_store import open_store


@dataclass
class Runtime:
    settings: Settings
    store: Store
    clock: Clock
    engine: Engine
    reminders: Reminders
    couriers: dict[Platform, Courier] = field(default_factory=dict)

    @property
    def facts(self) -> Facts:
        return self.settings.facts

    def add_courier(self, platform: Platform, sender: Sender, *, start: bool = True) -> Courier:
        courier = Courier(self.store, sender, platform, self.clock)
        self.couriers[platform] = courier
        if start:
            courier.start()
        return courier

    def wake(self, platform: Platform) -> None:
        courier = self.couriers.get(platform)
        if courier:
            courier.wake()

    async def close(self) -> None:
        await self.reminders.stop()
        for courier in self.couriers.values():
            await courier.stop()
        await self.store.close()


def build_runtime(settings: Settings, store: Store, clock: Clock | None = None) -> Runtime:
    """Wire a runtime around an already-open store (tests pass the in-memory one)."""
    clock = clock or SystemClock()
    runtime: Runtime
    engine = Engine(
        store,
        settings.facts,
        clock,
        expiry=settings.expiry,
        who_calls=settings.who_calls,
        on_enqueue=lambda platform: runtime.wake(platform),
    )
    reminders = Reminders(
        store, settings.facts, clock, on_enqueue=lambda platform: runtime.wake(platform)
    )
    runtime = Runtime(settings, store, clock, engine, reminders)
    return runtime


@asynccontextmanager
async def runtime_for(
    settings: Settings, clock: Clock | None = None, *, read_only: bool = False
) -> AsyncIterator[Runtime]:
    """Open the data folder and wire the bot; `read_only` works beside a running server."""
    store = await open_store(settings.data_dir, read_only=read_only)
    runtime = build_runtime(settings, store, clock)
    try:
        yield runtime
    finally:
        await runtime.close()

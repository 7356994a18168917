"""The composition root: the one place that builds the bot from its settings.

Every command (`chat`, `serve`, `cases`…) opens a `Runtime` here and closes it when done;
nothing else constructs a store, an engine or a courier, and there are no module globals.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping
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
from storage.choice import open_chosen_store
from storage.readiness import ReadyCheck, always_ready

DATABASE_URL = "REPORTBOT_DATABASE_URL"  # postgresql://…: Postgres instead of the data folder


@dataclass
class Runtime:
    settings: Settings
    store: Store
    clock: Clock
    engine: Engine
    reminders: Reminders
    couriers: dict[Platform, Courier] = field(default_factory=dict)
    ready: ReadyCheck = always_ready  # /readyz: can the store take work now?

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


def build_runtime(
    settings: Settings,
    store: Store,
    clock: Clock | None = None,
    *,
    ready: ReadyCheck = always_ready,
) -> Runtime:
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
    runtime = Runtime(settings, store, clock, engine, reminders, ready=ready)
    return runtime


@asynccontextmanager
async def runtime_for(
    settings: Settings,
    clock: Clock | None = None,
    *,
    read_only: bool = False,
    env: Mapping[str, str] | None = None,
) -> AsyncIterator[Runtime]:
    """Open the store and wire the bot: Postgres if REPORTBOT_DATABASE_URL is set (its
    tables migrated first), else the data folder. `read_only` works beside a running server."""
    env = os.environ if env is None else env
    opened = await open_chosen_store(
        env.get(DATABASE_URL, ""), settings.data_dir, read_only=read_only
    )
    runtime = build_runtime(settings, opened.store, clock, ready=opened.ready)
    try:
        yield runtime
    finally:
        await runtime.close()

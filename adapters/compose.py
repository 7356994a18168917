"""The composition root: the one place that builds the bot from its settings.

Every command (`chat`, `serve`, `cases`…) opens a `Runtime` here and closes it when done;
nothing else constructs a store, an engine or a courier, and there are no module globals.
Each platform adds its own pieces (`add_platform`): a courier with its sender and leadership
posts, and its answer to "who leads here?" (`bot.ports.Membership`), which the engine asks
only for leaders' requests. Adapters' own modules get what they need from here (the engine's
`handle`, a courier, a client), never the `Runtime` itself.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial

from bot import reminders as reminders_
from bot import retention
from bot.clock import SystemClock
from bot.config import Settings
from bot.delivery import Courier
from bot.engine import DEFAULT_LEASE, Engine
from bot.errors import ConfigError
from bot.facts import Facts
from bot.model import OutboxItem, Person, Platform
from bot.ports import Clock, LeadershipPosts, Membership, Sender, Store
from bot.reminders import Reminders
from storage.choice import open_chosen_store
from storage.readiness import ReadyCheck, always_ready

DATABASE_URL = "REPORTBOT_DATABASE_URL"  # postgresql://…: Postgres instead of the data folder
# Seconds an instance's claim on an outbox item lasts: after a crash, another instance sends
# what the dead one held once its claims run out. Keep it well above SLACK_API_TIMEOUT.
OUTBOX_LEASE = "REPORTBOT_OUTBOX_LEASE"


@dataclass
class Memberships:
    """`Membership` for every platform: each asks its own; the terminal's operator leads."""

    by_platform: dict[Platform, Membership] = field(default_factory=dict)

    async def is_leader(self, person: Person, case_reference: str = "") -> bool | None:
        if person.platform == Platform.TERMINAL:
            return True  # the operator holds the data folder itself
        membership = self.by_platform.get(person.platform)
        return await membership.is_leader(person, case_reference) if membership else False


@dataclass
class Runtime:
    settings: Settings
    store: Store
    clock: Clock
    engine: Engine
    reminders: Reminders
    owner: str
    memberships: Memberships
    couriers: dict[Platform, Courier] = field(default_factory=dict)
    ready: ReadyCheck = always_ready  # /readyz: can the store take work now?
    lease: timedelta = DEFAULT_LEASE  # how long a claim on an outbox item lasts

    @property
    def facts(self) -> Facts:
        return self.settings.facts

    def add_platform(
        self,
        platform: Platform,
        sender: Sender,
        posts: LeadershipPosts,
        membership: Membership | None = None,
        *,
        start: bool = True,
    ) -> Courier:
        """A platform's courier, driving its sender and its leadership posts."""
        courier = Courier(
            self.store,
            sender,
            posts,
            platform,
            self.clock,
            facts=self.facts,
            owner=self.owner,
            lease=self.lease,
        )
        self.couriers[platform] = courier
        if membership is not None:
            self.add_membership(platform, membership)
        if start:
            courier.start()
        return courier

    def add_membership(self, platform: Platform, membership: Membership) -> None:
        self.memberships.by_platform[platform] = membership

    def wake(self, platform: Platform) -> None:
        courier = self.couriers.get(platform)
        if courier is not None:
            courier.wake()

    def committed(self, items: Sequence[OutboxItem]) -> None:
        """Items just committed: the ones this instance claimed go out now, the rest wake
        their courier (which claims them)."""
        for platform in {i.platform for i in items}:
            courier = self.couriers.get(platform)
            if courier is not None:
                courier.take(items)
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
    lease: timedelta = DEFAULT_LEASE,
) -> Runtime:
    """Wire a runtime around an already-open store (tests pass the in-memory one)."""
    clock = clock or SystemClock()
    owner = f"reportbot-{uuid.uuid4().hex[:12]}"  # this instance, in the outbox's claims
    memberships = Memberships()
    runtime: Runtime
    engine = Engine(
        store,
        settings.facts,
        clock,
        expiry=settings.expiry,
        who_calls=settings.who_calls,
        membership=memberships,
        schedule=partial(reminders_.schedule, facts=settings.facts),
        on_commit=lambda items: runtime.committed(items),
        owner=owner,
        lease=lease,
        retention=retention.check_schedule(settings.retention),
    )
    reminders = Reminders(
        store, settings.facts, clock, on_commit=lambda items: runtime.committed(items)
    )
    runtime = Runtime(
        settings, store, clock, engine, reminders, owner, memberships, ready=ready, lease=lease
    )
    return runtime


def outbox_lease(env: Mapping[str, str]) -> timedelta:
    """REPORTBOT_OUTBOX_LEASE, in seconds (default: two minutes)."""
    value = env.get(OUTBOX_LEASE, "").strip()
    if not value:
        return DEFAULT_LEASE
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if not 1 <= seconds <= 3600:
        raise ConfigError(f"{OUTBOX_LEASE} must be a number of seconds between 1 and 3600")
    return timedelta(seconds=seconds)


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
    lease = outbox_lease(env)
    opened = await open_chosen_store(
        env.get(DATABASE_URL, ""), settings.data_dir, read_only=read_only
    )
    runtime = build_runtime(settings, opened.store, clock, ready=opened.ready, lease=lease)
    try:
        yield runtime
    finally:
        await runtime.close()

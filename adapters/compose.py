"""The composition root: the one place that builds the bot from its settings.

Every command (`chat`, `serve`, `cases`…) opens a `Runtime` here and closes it when done;
nothing else constructs a store, an engine or a courier, and there are no module globals.
Each platform adds its own pieces (`add_platform`): a courier with its sender and leadership
posts, and its answer to "who leads here?" (`bot.ports.Membership`), which the engine asks
only for leaders' requests. Adapters' own modules get what they need from here (the engine's
`handle`, a courier, a client), never the `Runtime` itself.

A `Runtime` is one school's bot. A deployment for many schools (Slack's OAuth install,
SLACK_CLIENT_ID; or REPORTBOT_MANY_SCHOOLS=1) keeps a small registry of them, `Schools`: each
school ("slack:T…", "slack:E…" for an Enterprise Grid org, "teams:<tenant id>" for a Microsoft
365 tenant) gets its own store scoped to it on the one shared
database engine, its own engine, reminders and couriers (so its outbox goes out with its own
token, and nothing it holds can reach another school's), opened on the first request from it,
or at start and every DISCOVER_EVERY for any school with something to send.
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import timedelta

from adapters.logs import in_school
from bot import reminders as reminders_
from bot import retention
from bot.clock import SystemClock
from bot.config import Settings
from bot.delivery import Courier
from bot.engine import DEFAULT_LEASE, Engine
from bot.errors import ConfigError
from bot.facts import Facts
from bot.model import Audience, OutboxItem, Person, Platform
from bot.ports import Clock, LeadershipPosts, Membership, SchoolStores, Sender, Store
from bot.reminders import Reminders
from bot.school import SETTINGS_KEY, SchoolSettings, Workplace, facts_for
from storage.choice import open_chosen_store
from storage.readiness import ReadyCheck, always_ready

log = logging.getLogger(__name__)

DATABASE_URL = "REPORTBOT_DATABASE_URL"  # postgresql://…: Postgres instead of the data folder
# Seconds an instance's claim on an outbox item lasts: after a crash, another instance sends
# what the dead one held once its claims run out. Keep it well above SLACK_API_TIMEOUT.
OUTBOX_LEASE = "REPORTBOT_OUTBOX_LEASE"
# Any of these makes the deployment serve many schools, which needs the database: Slack's
# OAuth install, or REPORTBOT_MANY_SCHOOLS=1 (for a deployment serving Teams tenants only).
MANY_SCHOOLS_FLAG = "REPORTBOT_MANY_SCHOOLS"
MANY_SCHOOLS = ("SLACK_CLIENT_ID", MANY_SCHOOLS_FLAG)
REFRESH_EVERY = 1.0  # seconds: how stale a school's settings may be seen from another instance
DISCOVER_EVERY = 30.0  # seconds between looks for schools with work that no request opened


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
    school: str = ""  # "" for a deployment that serves one school
    school_settings: SchoolSettings = field(default_factory=SchoolSettings)
    base_facts: Facts | None = None  # the deployment's, under the school's own settings
    watchers: list[Callable[[SchoolSettings], None]] = field(default_factory=list)
    before_delivery: Callable[[], Awaitable[None]] | None = None
    schools: Schools | None = None  # many schools: the registry (on the deployment's runtime)

    @property
    def facts(self) -> Facts:
        return self.settings.facts

    def use_school(self, school: SchoolSettings) -> None:
        """The school's settings changed (here, or on another instance): use them from now."""
        if school == self.school_settings:
            return
        self.school_settings = school
        facts = facts_for(self.base_facts or self.settings.facts, school)
        self.settings = replace(self.settings, facts=facts)
        self.engine.use_facts(facts)
        self.reminders.facts = facts
        for courier in self.couriers.values():
            courier.use_facts(facts)
        for watch in self.watchers:
            watch(school)

    def add_workplace(self, workplace: Workplace) -> None:
        """The platform's answers for setting this school up in chat (`bot.school`)."""
        self.engine.school.workplace = workplace

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
            before_round=self.before_delivery,
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
        if self.schools is not None:
            await self.schools.close()
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
    owner: str = "",
    school: str = "",
    school_settings: SchoolSettings | None = None,
) -> Runtime:
    """Wire a runtime around an already-open store (tests pass the in-memory one); for one of
    many schools, with that school's settings laid over the deployment's."""
    clock = clock or SystemClock()
    owner = owner or f"reportbot-{uuid.uuid4().hex[:12]}"  # this instance, in outbox claims
    chosen = school_settings or SchoolSettings()
    base, settings = settings.facts, replace(settings, facts=facts_for(settings.facts, chosen))
    memberships = Memberships()
    runtime: Runtime
    engine = Engine(
        store,
        settings.facts,
        clock,
        expiry=settings.expiry,
        who_calls=settings.who_calls,
        membership=memberships,
        schedule=lambda case: reminders_.schedule(case, runtime.facts),
        on_commit=lambda items: runtime.committed(items),
        owner=owner,
        lease=lease,
        on_school=lambda changed: runtime.use_school(changed),
        retention=retention.check_schedule(settings.retention),
    )
    reminders = Reminders(
        store,
        settings.facts,
        clock,
        on_commit=lambda items: runtime.committed(items),
        expiry=settings.expiry,
    )
    runtime = Runtime(
        settings,
        store,
        clock,
        engine,
        reminders,
        owner,
        memberships,
        ready=ready,
        lease=lease,
        school=school,
        school_settings=chosen,
        base_facts=base,
    )
    return runtime


Outfit = Callable[[Runtime], Awaitable[None]]
"""A platform's pieces for one school's runtime (its sender, posts, membership, workplace)."""


class Schools:
    """The schools this deployment serves, one `Runtime` each, opened on first use.

    Each school's courier delivers its own outbox (rather than one courier across schools):
    the store it claims from, the token it sends with and the channel it posts to are all that
    school's, so no bug in sending can mix two schools' messages, and a school whose token was
    revoked waits without holding up the rest. The cost is a sleeping task per open school.
    """

    def __init__(
        self,
        deployment: Runtime,
        stores: SchoolStores,
        *,
        refresh_every: float = REFRESH_EVERY,
        discover_every: float = DISCOVER_EVERY,
    ) -> None:
        self.deployment = deployment
        self.stores = stores
        self.refresh_every = refresh_every
        self.discover_every = discover_every
        self.outfits: dict[str, Outfit] = {}  # by the id's prefix: "slack", "teams"
        self._open: dict[str, Runtime] = {}
        self._checked: dict[str, float] = {}
        self._opening: dict[str, asyncio.Lock] = {}
        self._task: asyncio.Task[None] | None = None
        self._not_set_up_in_chat: set[str] = set()

    def outfit(self, prefix: str, outfit: Outfit, *, set_up_in_chat: bool = True) -> None:
        """How a platform equips each of its schools ("slack" for "slack:T…"); whether their
        leadership channel is chosen in chat (`setup`, kept in the settings) or otherwise (a
        Teams tenant's team, from its conversation references)."""
        self.outfits[prefix] = outfit
        if not set_up_in_chat:
            self._not_set_up_in_chat.add(prefix)

    def opened(self) -> list[Runtime]:
        return list(self._open.values())

    async def refused(self) -> tuple[bool, dict[str, dict[str, int]]]:
        """For /healthz: each school (served on this instance or not) with deliveries refused
        for good, counted by audience; degraded while any has a leadership post refused."""
        refused = await self.stores.refused_by_school()
        return any(counts.get(Audience.LEADERSHIP) for counts in refused.values()), refused

    async def get(self, school: str) -> Runtime:
        """The school's runtime, opened (and its couriers started) on first use."""
        runtime = self._open.get(school)
        if runtime is None:
            async with self._opening.setdefault(school, asyncio.Lock()):
                runtime = self._open.get(school) or await self._start(school)
        else:
            await self.refresh(school)
        return runtime

    async def refresh(self, school: str) -> None:
        """Catch up on settings another instance changed, at most every `refresh_every`; a
        school whose leadership channel is still to be set up in chat every time, so that its
        first case goes to the channel just chosen on another instance, not back to wait (a
        minute) for one."""
        runtime = self._open.get(school)
        if runtime is None:
            return
        now = asyncio.get_running_loop().time()
        chosen = bool(runtime.school_settings.leadership) or (
            school.partition(":")[0] in self._not_set_up_in_chat
        )
        if chosen and now - self._checked.get(school, 0.0) < self.refresh_every:
            return
        self._checked[school] = now
        runtime.use_school(await _school_settings(runtime.store))

    async def _start(self, school: str) -> Runtime:
        prefix = school.partition(":")[0]
        outfit = self.outfits.get(prefix)
        if outfit is None:
            raise ValueError(f"no platform serves schools like {school!r}")
        store = self.stores.for_school(school)
        root = self.deployment
        runtime = build_runtime(
            root.settings,
            store,
            root.clock,
            lease=root.lease,
            owner=root.owner,
            school=school,
            school_settings=await _school_settings(store),
        )
        runtime.before_delivery = lambda: self.refresh(school)
        self._checked[school] = asyncio.get_running_loop().time()
        with in_school(school):  # its couriers' and reminders' tasks log as the school's
            await outfit(runtime)
            runtime.reminders.start()
        self._open[school] = runtime
        log.info("serving school %s", school)
        return runtime

    async def discover(self) -> None:
        """Open every school that has something to send or a reminder due."""
        for school in await self.stores.schools_with_work(self.deployment.clock.now()):
            if school and school.partition(":")[0] in self.outfits:
                await self.get(school)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._discovering(), name="schools")

    async def _discovering(self) -> None:
        while True:
            try:
                await self.discover()
            except Exception as e:  # one school that cannot open must not stop the rest
                log.warning("could not open every school with work (%s)", type(e).__name__)
            await asyncio.sleep(self.discover_every)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        for runtime in self._open.values():
            await runtime.close()
        self._open.clear()


async def _school_settings(store: Store) -> SchoolSettings:
    return SchoolSettings.from_json(await store.get_meta(SETTINGS_KEY))


def many_schools(env: Mapping[str, str]) -> bool:
    """One switch for the whole deployment: every school it serves (each Slack workspace,
    each Teams tenant) is kept apart, or the deployment is one school."""
    flag = env.get(MANY_SCHOOLS_FLAG, "").strip().lower()
    if flag not in ("", "0", "1"):
        raise ConfigError(f"{MANY_SCHOOLS_FLAG} must be 1 or 0, not {flag!r}")
    return bool(env.get("SLACK_CLIENT_ID", "").strip()) or flag == "1"


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
    school: str = "",
) -> AsyncIterator[Runtime]:
    """Open the store and wire the bot: Postgres if REPORTBOT_DATABASE_URL is set (its
    tables migrated first), else the data folder. `read_only` works beside a running server.

    `school` ("slack:T…", "teams:<tenant id>"): one school of a database holding many, as
    its own runtime sees it (its rows only, its settings over the deployment's); what it
    queues goes in that school's outbox, for its courier. "" is the deployment's own rows."""
    env = os.environ if env is None else env
    lease = outbox_lease(env)
    many = many_schools(env)
    if many and not env.get(DATABASE_URL, "").strip():
        raise ConfigError(
            f"Serving many schools ({', '.join(n for n in MANY_SCHOOLS if env.get(n))}) needs "
            f"a database: set {DATABASE_URL} to a Postgres database. The data folder holds "
            "one school."
        )
    if school and not env.get(DATABASE_URL, "").strip():
        raise ConfigError(
            f"--school picks one school of a Postgres database ({DATABASE_URL}); the data "
            "folder holds one school, so leave --school out."
        )
    clock = clock or SystemClock()
    opened = await open_chosen_store(  # the store keeps the bot's time (tests set it)
        env.get(DATABASE_URL, ""), settings.data_dir, read_only=read_only, clock=clock
    )
    store, chosen = opened.store, None
    if school and opened.schools is not None:
        store = opened.schools.for_school(school)
        chosen = await _school_settings(store)
    runtime = build_runtime(
        settings,
        store,
        clock,
        ready=opened.ready,
        lease=lease,
        school=school,
        school_settings=chosen,
    )
    if many and opened.schools is not None and not school:
        runtime.schools = Schools(runtime, opened.schools)
    try:
        yield runtime
    finally:
        await runtime.close()
        if store is not opened.store:  # the school's store leaves the engine to this one
            await opened.store.close()

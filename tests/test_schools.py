"""The composition root's registry of schools (adapters.compose.Schools) on one Postgres: each
school its own runtime, store, engine and courier; opened on first use or when it has work;
settings changed on one instance seen by the other; many schools need the database."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from store_helpers import NOW, QuietPlatform, make_item

from adapters.compose import Runtime, Schools, build_runtime, runtime_for
from adapters.server import health
from bot.clock import FakeClock
from bot.config import Settings
from bot.errors import ConfigError, DeliveryRefused
from bot.model import JSON, Audience, OutboxItem, Person, Platform, Turn
from bot.ports import UnitOfWork
from bot.school import SETTINGS_KEY, SchoolSettings
from bot.views import Resolved, ResolvedCard
from storage.postgres import open_postgres_store
from storage.postgres.store import PostgresStore


@dataclass
class Recorder(QuietPlatform):
    """A school's sender and leadership channel, recording what it was asked to send."""

    school: str
    sent: list[tuple[str, str]] = field(default_factory=list)  # (school, item id)

    async def send(self, item: OutboxItem, reply: Resolved) -> None:
        self.sent.append((self.school, item.id))

    async def post(self, item: OutboxItem, card: ResolvedCard) -> JSON:
        self.sent.append((self.school, item.id))
        return {"id": item.id}


class Deployment:
    """One instance: a deployment runtime with its registry, and what each school sent."""

    def __init__(self, store: PostgresStore, clock: FakeClock) -> None:
        self.root = build_runtime(Settings(), store, clock)
        self.schools = Schools(self.root, store, refresh_every=0.0)
        self.root.schools = self.schools  # as `runtime_for` keeps it, for /healthz
        self.recorders: dict[str, Recorder] = {}
        self.schools.outfit("slack", self._outfit)

    async def _outfit(self, runtime: Runtime) -> None:
        recorder = self.recorders[runtime.school] = Recorder(runtime.school)
        runtime.add_platform(Platform.SLACK, recorder, recorder, start=False)

    async def close(self) -> None:
        await self.root.close()  # its schools too


def staff(school: str) -> Person:
    return Person(Platform.SLACK, school.removeprefix("slack:"), "U0STAFF")


async def test_each_school_has_its_own_runtime_store_and_courier(pg_url: str) -> None:
    clock = FakeClock(NOW)
    one = Deployment(await open_postgres_store(pg_url, clock=clock), clock)
    try:
        a, b = await one.schools.get("slack:TA"), await one.schools.get("slack:TB")
        assert a is await one.schools.get("slack:TA") and a is not b
        assert a.store.school == "slack:TA" and b.store.school == "slack:TB"  # type: ignore[attr-defined]
        turn = Turn(staff("slack:TA"), "hello", delivery_id="d1", address={"channel": "D1"})
        await a.engine.handle(turn)
        assert (
            await b.store.outbox_items() == []
            and await b.store.conversation(turn.person.key) is None
        )
        await a.couriers[Platform.SLACK].drain()
        assert one.recorders["slack:TA"].sent and not one.recorders["slack:TB"].sent
        assert {s for s, _ in one.recorders["slack:TA"].sent} == {"slack:TA"}
    finally:
        await one.close()


async def test_a_school_with_work_is_opened_without_a_request(pg_url: str) -> None:
    clock = FakeClock(NOW)
    store = await open_postgres_store(pg_url, clock=clock)
    first = Deployment(store, clock)
    second = Deployment(store.for_school(""), clock)  # another instance, same database
    try:
        a = await first.schools.get("slack:TA")
        turn = Turn(staff("slack:TA"), "hello", delivery_id="d1", address={"channel": "D1"})
        await a.engine.handle(turn)  # its replies wait in the outbox (this courier is idle)
        await second.schools.discover()
        assert [r.school for r in second.schools.opened()] == ["slack:TA"]
    finally:
        await second.close()
        await first.close()


async def test_settings_changed_on_one_instance_are_used_by_the_other(pg_url: str) -> None:
    clock = FakeClock(NOW)
    store = await open_postgres_store(pg_url, clock=clock)
    first, second = Deployment(store, clock), Deployment(store.for_school(""), clock)
    seen: list[SchoolSettings] = []
    try:
        a1, a2 = await first.schools.get("slack:TA"), await second.schools.get("slack:TA")
        a2.watchers.append(seen.append)
        chosen = SchoolSettings(leadership="G0LEAD", name="Example Academy")
        await a1.store.commit(UnitOfWork(meta={SETTINGS_KEY: chosen.to_json()}))
        await asyncio.sleep(0)
        assert (await second.schools.get("slack:TA")) is a2
        assert a2.school_settings == chosen and seen == [chosen]
        assert a2.facts.school == "Example Academy" == a2.engine.facts.school_name
        assert a2.couriers[Platform.SLACK].resolver.facts.school_name == "Example Academy"
    finally:
        await second.close()
        await first.close()


async def test_a_channel_chosen_on_one_instance_is_used_at_once_by_the_other(
    pg_url: str,
) -> None:
    """However soon after the other instance last looked: until a school has a leadership
    channel, each of its deliveries reads its settings first."""
    clock = FakeClock(NOW)
    store = await open_postgres_store(pg_url, clock=clock)
    first, second = Deployment(store, clock), Deployment(store.for_school(""), clock)
    second.schools.refresh_every = 3600.0  # it looked just now, and would not for an hour
    try:
        a1, a2 = await first.schools.get("slack:TA"), await second.schools.get("slack:TA")
        chosen = SchoolSettings(leadership="G0LEAD")
        await a1.store.commit(UnitOfWork(meta={SETTINGS_KEY: chosen.to_json()}))
        await a2.couriers[Platform.SLACK].drain()  # its round catches up first
        assert a2.school_settings == chosen
        later = SchoolSettings(leadership="G0OTHER")  # chosen again: within the hour, unseen
        await a1.store.commit(UnitOfWork(meta={SETTINGS_KEY: later.to_json()}))
        await a2.couriers[Platform.SLACK].drain()
        assert a2.school_settings == chosen
    finally:
        await second.close()
        await first.close()


async def test_many_schools_without_a_database_is_refused_by_name(tmp_path: Path) -> None:
    env = {"SLACK_CLIENT_ID": "123.456"}
    with pytest.raises(ConfigError, match="REPORTBOT_DATABASE_URL"):
        async with runtime_for(Settings(data_dir=tmp_path / "data"), env=env):
            pass


@dataclass
class Refusing(Recorder):
    """A school whose Slack refuses everything (the bot was removed from its channel, a
    person left the workspace)."""

    async def send(self, item: OutboxItem, reply: Resolved) -> None:
        raise DeliveryRefused("channel_not_found")

    async def post(self, item: OutboxItem, card: ResolvedCard) -> JSON:
        raise DeliveryRefused("channel_not_found")


async def test_healthz_names_each_school_with_a_refused_delivery_on_every_instance(
    pg_url: str,
) -> None:
    """Found in review: in many schools /healthz counted only the deployment's own couriers
    (it has none), so a school whose leadership channel refused its case card showed "ok"."""
    clock = FakeClock(NOW)
    store = await open_postgres_store(pg_url, clock=clock)
    first, second = Deployment(store, clock), Deployment(store.for_school(""), clock)
    try:
        assert (await health(first.root, []))["status"] == "ok"
        a = await first.schools.get("slack:TA")
        refusing = Refusing("slack:TA")
        a.add_platform(Platform.SLACK, refusing, refusing, start=False)
        card = make_item("card", audience=Audience.LEADERSHIP, case_reference="TT-2026-0001")
        await a.store.commit(UnitOfWork(outbox=[card, make_item("dm")]))
        await a.couriers[Platform.SLACK].drain()
        for instance in (first, second):  # the second serves no school yet
            state = await health(instance.root, [])
            assert state["status"] == "degraded"
            assert state["schools_refused"] == {"slack:TA": {"leadership": 1, "person": 1}}
    finally:
        await second.close()
        await first.close()

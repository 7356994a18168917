"""Two instances on one Postgres, at the level of the engine and the reminders.

Each instance is its own `PostgresStore` (its own connection pool) and its own engine, as two
`reportbot serve` processes are; tests/test_two_instances.py runs the real processes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from store_helpers import make_case, save

from bot import reminders as reminders_
from bot.clock import FakeClock
from bot.config import Settings
from bot.engine import Engine
from bot.model import Person, Platform, Turn
from bot.reminders import Reminders
from bot.steps import Step
from storage.postgres.store import PostgresStore, open_postgres_store

# Wednesday 25 November 2026, 11:00 UK time: in the daytime, POSH open.
START = datetime(2026, 11, 25, 11, 0, tzinfo=UTC)
STAFF = Person(Platform.SLACK, "T1", "U1", name="Sam Staff")


class NoLeaders:
    async def is_leader(self, person: Person, case_reference: str = "") -> bool | None:
        return False


@pytest.fixture
async def stores(pg_url: str) -> AsyncIterator[tuple[PostgresStore, PostgresStore]]:
    a = await open_postgres_store(pg_url, clock=FakeClock(START))
    b = await open_postgres_store(pg_url, clock=FakeClock(START))
    yield a, b
    await a.close()
    await b.close()


def engine(store: PostgresStore, name: str) -> Engine:
    facts = Settings().facts
    return Engine(store, facts, FakeClock(START), membership=NoLeaders(), owner=name)


def turn(text: str, n: int, action: str | None = None) -> Turn:
    address = {"channel": STAFF.user_id}
    return Turn(STAFF, text=text, action=action, address=address, delivery_id=f"d{n}")


async def test_one_persons_turns_at_two_instances_at_once_both_count(
    stores: tuple[PostgresStore, PostgresStore],
) -> None:
    """Two links sent a moment apart reach different instances together: neither is lost
    (the second write finds the conversation moved on, and its turn is done again on it)."""
    a, b = engine(stores[0], "a"), engine(stores[1], "b")
    assert await a.handle(turn("", 0, action="start")) == []
    first, second = "https://www.tiktok.com/@fake.one", "https://www.tiktok.com/@fake.two"
    replies = await asyncio.gather(a.handle(turn(first, 1)), b.handle(turn(second, 2)))
    assert replies == [[], []]  # no apology: both were applied
    conv = await stores[0].conversation(STAFF.key)
    assert conv is not None and conv.step == Step.LINKS
    assert {link["handle"] for link in conv.answers["links"]} == {"fake.one", "fake.two"}
    assert conv.version == 3


async def test_a_retry_at_the_other_instance_changes_nothing(
    stores: tuple[PostgresStore, PostgresStore],
) -> None:
    a, b = engine(stores[0], "a"), engine(stores[1], "b")
    await a.handle(turn("", 0, action="start"))
    await a.handle(turn("https://www.tiktok.com/@fake.one", 1))
    before = await stores[0].outbox_items()
    await b.handle(turn("https://www.tiktok.com/@fake.one", 1))  # Slack's retry, same id
    conv = await stores[1].conversation(STAFF.key)
    assert conv is not None and len(conv.answers["links"]) == 1
    assert await stores[0].outbox_items() == before


async def test_a_reminder_due_on_two_instances_fires_once(
    stores: tuple[PostgresStore, PostgresStore],
) -> None:
    facts = Settings().facts
    case = make_case("TT-2026-0001", created_at=START - timedelta(days=3), reminded=())
    reminders_.schedule(case, facts)
    assert case.remind_at is not None
    await save(stores[0], case)
    now = max(START, case.remind_at)
    checks = [Reminders(s, facts, FakeClock(now)) for s in stores]
    fired = await asyncio.gather(*(r.check() for r in checks))
    assert sorted(fired)[0] == 0 and sum(fired) >= 1  # one instance fired, the other none
    items = [i for i in await stores[0].outbox_items() if i.id.startswith("reminder:")]
    assert len(items) == sum(fired)
    assert len({i.id for i in items}) == len(items)
    again = await asyncio.gather(*(r.check() for r in checks))
    assert again == [0, 0]  # marked sent in the same write: never twice

"""Many people at once through the engine: every report is filed, none gets an apology.

Twenty members of staff walk a report at the same time and press submit together, on each
store the bot runs on. Before references were taken in a write of their own (commit d6c2557),
each submit claimed the next reference inside its commit, so simultaneous submits collided,
retried each other and some ran out of retries into the "couldn't save that" apology.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import clean_database
from store_helpers import QuietPlatform
from test_engine import HAPPY

from bot.clock import FakeClock
from bot.codec import reply_from_dict
from bot.config import Settings
from bot.delivery import Courier
from bot.engine import Engine
from bot.model import (
    JSON,
    Audience,
    Case,
    Conversation,
    HandoffReply,
    Notice,
    OutboxItem,
    Person,
    Platform,
    Reply,
    Turn,
)
from bot.ports import Store, UnitOfWork
from bot.views import Resolved, ResolvedCard
from storage.memory import MemoryStore
from storage.postgres.store import open_postgres_store
from storage.tinydb_store import open_store

# Wednesday 25 November 2026, 11:00 UK time: POSH is open.
START = datetime(2026, 11, 25, 11, 0, tzinfo=UTC)
PEOPLE = 20


def answers(n: int) -> list[str]:
    """A whole report; each person reports an account of their own (no duplicates to link)."""
    mine = list(HAPPY)
    mine[0] = f"https://www.tiktok.com/@fake.teacher{n}/video/73012345678901234{n:02d}"
    mine[HAPPY.index("Mr J Smith, Head of Maths")] = f"Mr J Smith {n}, Head of Maths"
    return mine


class Inbox(QuietPlatform):
    """The platform's side: what each person was sent, and a leadership channel."""

    def __init__(self) -> None:
        self.sent: list[OutboxItem] = []
        self.posts = 0

    async def send(self, item: OutboxItem, reply: Resolved) -> None:
        self.sent.append(item)

    async def post(self, item: OutboxItem, card: ResolvedCard) -> JSON:
        self.posts += 1
        return {"id": str(self.posts)}

    def to(self, person: Person) -> list[Reply]:
        return [
            reply_from_dict(i.reply)
            for i in self.sent
            if i.audience == Audience.PERSON and i.address.get("channel") == person.user_id
        ]


class Everyone:
    async def is_leader(self, person: Person, case_reference: str = "") -> bool | None:
        return False


class GivingWay(MemoryStore):
    """The memory store, giving way to other tasks at every read and write as a disk or a
    database does; without that, nothing interleaves and there is nothing to collide."""

    async def conversation(self, person_key: str) -> Conversation | None:
        await asyncio.sleep(0)
        return await super().conversation(person_key)

    async def case(self, reference: str) -> Case | None:
        await asyncio.sleep(0)
        return await super().case(reference)

    async def take_reference(self, year: int) -> str:
        await asyncio.sleep(0)
        return await super().take_reference(year)

    async def commit(self, unit: UnitOfWork) -> bool:
        await asyncio.sleep(0)
        return await super().commit(unit)


@pytest.fixture(params=["memory", "memory-giving-way", "tinydb", "postgres"])
async def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    made: Store
    if request.param == "tinydb":
        made = await open_store(tmp_path / "data", clock=FakeClock(START))
    elif request.param == "postgres":
        async with clean_database(request.getfixturevalue("pg_cluster")) as url:
            made = await open_postgres_store(url, clock=FakeClock(START))
            yield made
            await made.close()
            return
    else:
        made = GivingWay() if request.param == "memory-giving-way" else MemoryStore()
    yield made
    await made.close()


async def test_twenty_people_submitting_at_once_all_get_their_own_case(any_store: Store) -> None:
    clock = FakeClock(START)
    inbox = Inbox()
    courier = Courier(
        any_store, inbox, inbox, Platform.SLACK, clock, facts=Settings().facts, owner="bot"
    )
    engine = Engine(
        any_store,
        Settings().facts,
        clock,
        membership=Everyone(),
        on_commit=courier.take,
        owner="bot",
    )
    people = [Person(Platform.SLACK, "T1", f"U{n}", name=f"Staff {n}") for n in range(PEOPLE)]
    direct: list[Reply] = []  # what `handle` returns: only ever an apology
    deliveries = itertools.count()

    async def say(n: int, text: str = "", action: str | None = None) -> None:
        person = people[n]
        turn = Turn(
            person,
            text=text,
            action=action,
            address={"channel": person.user_id},
            delivery_id=f"delivery-{next(deliveries)}",
        )
        direct.extend(await engine.handle(turn))

    async def walk(n: int) -> None:
        await say(n, action="start")
        for answer in answers(n):
            await say(n, answer)

    await asyncio.gather(*(walk(n) for n in range(PEOPLE)))
    await asyncio.gather(*(say(n, "submit") for n in range(PEOPLE)))
    await courier.drain()

    assert direct == [], [r.text for r in direct if isinstance(r, Notice)]
    sorry = [r for p in people for r in inbox.to(p) if isinstance(r, Notice) and "Sorry" in r.text]
    assert sorry == []
    handed: dict[str, str] = {}
    for person in people:
        [handoff] = [r.handoff for r in inbox.to(person) if isinstance(r, HandoffReply)]
        handed[person.key] = handoff.reference
    assert sorted(handed.values()) == [f"TT-2026-{n:04d}" for n in range(1, PEOPLE + 1)]
    cases = await any_store.cases()
    assert len(cases) == PEOPLE
    assert inbox.posts == PEOPLE  # each case posted to leaders once
    assert {c.reference: c.reporter.key for c in cases} == {r: k for k, r in handed.items()}

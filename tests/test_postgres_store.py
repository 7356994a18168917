"""What only Postgres has: other instances on the same database, migrations, indexes, schools.

The store contract (tests/test_store_contract.py) runs on Postgres too; these tests add what
several instances make possible. An "instance" is a `PostgresStore` with an engine of its own;
a raw asyncpg connection plays another instance caught in the middle of its transaction.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import asyncpg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Executable
from store_helpers import ANN, LEASE, NOW, make_case, make_conversation, make_item, save

from bot.clock import FakeClock
from bot.errors import Conflict
from bot.model import Platform
from bot.ports import Delivered, UnitOfWork
from storage.live import FAILED_KEPT, SEEN_KEPT, SENT_KEPT
from storage.postgres import queries
from storage.postgres.database import make_engine
from storage.postgres.migrate import head, migrate, migrate_in
from storage.postgres.schema import metadata
from storage.postgres.store import PostgresStore, open_postgres_store


@pytest.fixture
async def two(pg_url: str) -> AsyncIterator[tuple[PostgresStore, PostgresStore]]:
    """Two instances on one database."""
    a = await open_postgres_store(pg_url, clock=FakeClock(NOW))
    b = await open_postgres_store(pg_url, clock=FakeClock(NOW))
    yield a, b
    await a.close()
    await b.close()


@pytest.fixture
async def raw(pg_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(pg_url)
    yield conn
    await conn.close()


async def until_waiting(conn: asyncpg.Connection, backends: int) -> None:
    """Until `backends` sessions wait for a lock another holds (at most 10 s)."""
    for _ in range(1000):
        waiting = await conn.fetchval("SELECT count(DISTINCT pid) FROM pg_locks WHERE NOT granted")
        if waiting >= backends:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{backends} session(s) never came to wait for a lock")


# --- several instances ----------------------------------------------------------------------


async def test_two_instances_claiming_at_once_never_take_the_same_item(
    two: tuple[PostgresStore, PostgresStore],
) -> None:
    a, b = two
    lanes = {f"D{n}": [f"D{n}-{k}" for k in range(8)] for n in range(12)}
    items = [  # the lanes' items interleaved, oldest first
        make_item(ids[k], address={"channel": lane})
        for k in range(8)
        for lane, ids in lanes.items()
    ]
    await a.commit(UnitOfWork(outbox=items))
    taken: list[str] = []
    for _ in range(200):
        got_a, got_b = await asyncio.gather(
            a.claim(Platform.SLACK, "a", NOW, LEASE, limit=7),
            b.claim(Platform.SLACK, "b", NOW, LEASE, limit=7),
        )
        ids_a, ids_b = [i.id for i in got_a], [i.id for i in got_b]
        assert not set(ids_a) & set(ids_b)
        # A lane is sent by one instance at a time, and in order.
        lanes_a = {i.address["channel"] for i in got_a}
        assert not lanes_a & {i.address["channel"] for i in got_b}
        taken += ids_a + ids_b
        await a.delivered([Delivered(i) for i in ids_a + ids_b])
        if not ids_a and not ids_b and not await a.outbox_items():
            break
    assert sorted(taken) == sorted(i.id for i in items)  # every item, each once
    for ids in lanes.values():
        assert [i for i in taken if i in ids] == ids


async def test_a_claim_skips_what_another_instance_has_locked_and_the_rest_of_its_lane(
    two: tuple[PostgresStore, PostgresStore], raw: asyncpg.Connection
) -> None:
    a, _ = two
    dm1, dm2 = {"channel": "D1"}, {"channel": "D2"}
    await a.commit(
        UnitOfWork(
            outbox=[
                make_item("a1", address=dm1),
                make_item("a2", address=dm1),
                make_item("b1", address=dm2),
            ]
        )
    )
    async with raw.transaction():  # another instance, between locking a1 and claiming it
        await raw.execute("SELECT id FROM outbox WHERE id = 'a1' FOR UPDATE")
        got = await asyncio.wait_for(a.claim(Platform.SLACK, "a", NOW, LEASE), 10)
        assert [i.id for i in got] == ["b1"]  # neither a1 (locked) nor a2 (behind it)
    got = await a.claim(Platform.SLACK, "a", NOW, LEASE)
    assert [i.id for i in got] == ["a1", "a2"]


async def test_two_instances_writing_one_case_one_gets_conflict(
    two: tuple[PostgresStore, PostgresStore], raw: asyncpg.Connection
) -> None:
    a, b = two
    await save(a, make_case("TT-2026-0001"))
    case_a, case_b = await a.case("TT-2026-0001"), await b.case("TT-2026-0001")
    assert case_a is not None and case_b is not None
    case_a.assignee, case_b.assignee = "A", "B"
    async with raw.transaction():  # hold the row, so both writers queue behind it
        await raw.execute("SELECT 1 FROM cases WHERE reference = 'TT-2026-0001' FOR UPDATE")
        writes = [
            asyncio.create_task(a.commit(UnitOfWork(cases=[case_a]))),
            asyncio.create_task(b.commit(UnitOfWork(cases=[case_b]))),
        ]
        await until_waiting(raw, 2)
    results = await asyncio.gather(*writes, return_exceptions=True)
    assert sorted(type(r).__name__ for r in results) == ["Conflict", "bool"]
    winner = "A" if results[0] is True else "B"
    stored = await b.case("TT-2026-0001")
    assert stored is not None and stored.assignee == winner and stored.version == 2


@pytest.mark.parametrize("first_ends", ["commit", "rollback"])
async def test_a_retry_reaching_the_other_instance_waits_for_the_first_to_finish(
    two: tuple[PostgresStore, PostgresStore], raw: asyncpg.Connection, first_ends: str
) -> None:
    """A platform's retry of a delivery that one instance is applying (and so marking)."""
    a, b = two
    first = raw.transaction()
    await first.start()
    await raw.execute("INSERT INTO deliveries (id, at) VALUES ('d1', now())")
    retry = asyncio.create_task(
        b.commit(UnitOfWork(ANN.key, make_conversation(), "d1", outbox=[make_item("reply")]))
    )
    await until_waiting(raw, 1)  # the retry waits for the first to end ...
    assert not retry.done()
    await (first.commit() if first_ends == "commit" else first.rollback())
    if first_ends == "commit":  # ... and, the delivery applied, changes nothing
        assert await retry is False
        assert await a.outbox_items() == [] and await a.conversation(ANN.key) is None
    else:  # ... or, the first having failed, is applied
        assert await retry is True
        assert [i.id for i in await a.outbox_items()] == ["reply"]


async def test_instances_of_different_schools_see_only_their_own(pg_url: str) -> None:
    one = await open_postgres_store(pg_url, clock=FakeClock(NOW), school="one")
    other = await open_postgres_store(pg_url, clock=FakeClock(NOW), school="other")
    try:
        ref = await one.take_reference(2026)
        await one.commit(
            UnitOfWork(
                ANN.key,
                make_conversation(),
                "d1",
                cases=[make_case(ref)],
                outbox=[make_item("x")],
                meta={"k": {"v": 1}},
            )
        )
        assert await other.case(ref) is None and await other.cases() == []
        assert await other.conversation(ANN.key) is None and not await other.seen("d1")
        assert await other.outbox_items() == [] and await other.get_meta("k") is None
        assert await other.claim(Platform.SLACK, "o", NOW, LEASE) == []
        assert await other.take_reference(2026) == "TT-2026-0001"  # counted per school
        # The same ids are free in the other school.
        assert await other.commit(UnitOfWork(delivery_id="d1", outbox=[make_item("x")]))
        assert [i.id for i in await one.claim(Platform.SLACK, "1", NOW, LEASE)] == ["x"]
    finally:
        await one.close()
        await other.close()


async def test_a_store_for_another_school_shares_the_engine_and_sees_only_its_own(
    pg_url: str,
) -> None:
    root = await open_postgres_store(pg_url, clock=FakeClock(NOW))
    one, two = root.for_school("slack:T1"), root.for_school("slack:T2")
    try:
        assert one.engine is root.engine is two.engine  # one pool for every school
        ref = await one.take_reference(2026)
        await one.commit(
            UnitOfWork(cases=[make_case(ref, remind_at=None)], outbox=[make_item("x")])
        )
        assert await two.case(ref) is None and await root.case(ref) is None
        assert await two.outbox_items() == [] and await root.outbox_items() == []
        await one.close()  # a school's store leaves the shared engine open
        assert await two.take_reference(2026) == ref  # counted per school
        assert await root.schools_with_work(NOW) == ["slack:T1"]
        await one.delivered([Delivered("x")])
        # A reminder due is work too; one not due yet is not.
        due = make_case("TT-2026-0009")
        await two.commit(UnitOfWork(cases=[due]))
        assert due.remind_at is not None
        assert await root.schools_with_work(due.remind_at - timedelta(seconds=1)) == []
        assert await root.schools_with_work(due.remind_at) == ["slack:T2"]
    finally:
        await root.close()


# --- pruning --------------------------------------------------------------------------------


async def test_old_delivery_ids_sent_items_and_failed_items_are_pruned(pg_url: str) -> None:
    clock = FakeClock(NOW)
    store = await open_postgres_store(pg_url, clock=clock)
    try:
        failed = make_item("failed", failed="is_archived", failed_at=NOW, address={"channel": "D2"})
        await store.commit(UnitOfWork(delivery_id="d1", outbox=[make_item("sent"), failed]))
        await store.delivered([Delivered("sent")])

        clock.advance(seconds=SEEN_KEPT.total_seconds() + 1)
        await store.commit(UnitOfWork())  # a write prunes (at most once an hour)
        assert not await store.seen("d1")
        await store.commit(UnitOfWork(outbox=[make_item("sent")]))
        assert await store.outbox_items() == [failed]  # "sent" is still remembered as sent

        clock.set(NOW + max(SENT_KEPT, FAILED_KEPT) + timedelta(seconds=1))
        await store.commit(UnitOfWork())
        assert await store.undelivered(Platform.SLACK) == []  # dropped, with a warning
        again = make_item("sent")
        await store.commit(UnitOfWork(outbox=[again]))
        assert [i.id for i in await store.outbox_items()] == ["sent"] and again.seq > 0
    finally:
        await store.close()


# --- migrations -------------------------------------------------------------------------------

SCHEMA = """
SELECT 'column', table_name || '.' || column_name || ' ' || data_type || ' '
       || is_nullable || ' ' || coalesce(column_default, '') || ' ' || coalesce(collation_name, '')
  FROM information_schema.columns WHERE table_schema = 'public'
UNION ALL
SELECT 'index', indexdef FROM pg_indexes WHERE schemaname = 'public'
ORDER BY 1, 2
"""


async def schema_of(url: str) -> list[tuple[str, str]]:
    conn = await asyncpg.connect(url)
    try:
        return [tuple(r) for r in await conn.fetch(SCHEMA)]
    finally:
        await conn.close()


async def test_migrations_run_twice_change_nothing(pg_empty_url: str) -> None:
    store = await open_postgres_store(pg_empty_url, clock=FakeClock(NOW))  # migrates
    try:
        await save(store, make_case("TT-2026-0001"))
        tables = await schema_of(pg_empty_url)
        assert any("CREATE INDEX cases_by_handle ON public.cases USING gin" in i for _, i in tables)
        again = await migrate(store.engine)
        assert again.before == (head(),) and again.after == head()
        assert await schema_of(pg_empty_url) == tables
        assert await store.case("TT-2026-0001") is not None
    finally:
        await store.close()


async def test_an_instance_starting_while_another_migrates_waits_for_it(
    pg_empty_url: str,
) -> None:
    first = make_engine(pg_empty_url)
    try:
        async with first.begin() as conn:
            await migrate_in(conn)  # the first instance is migrating: not committed yet
            starting = asyncio.create_task(open_postgres_store(pg_empty_url))
            watcher = await asyncpg.connect(pg_empty_url)
            try:
                await until_waiting(watcher, 1)
                held = await watcher.fetchval(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                )
            finally:
                await watcher.close()
            assert held == 1 and not starting.done()
        second = await asyncio.wait_for(starting, 10)  # then finds the work done
        assert (await second.readiness()).ready
        await second.close()
    finally:
        await first.dispose()


async def test_instances_starting_together_on_a_new_database_migrate_it_once(
    pg_empty_url: str,
) -> None:
    stores = await asyncio.gather(*(open_postgres_store(pg_empty_url) for _ in range(3)))
    try:
        assert [(await s.readiness()).ready for s in stores] == [True, True, True]
    finally:
        for s in stores:
            await s.close()


async def test_the_migrated_tables_are_the_tables_the_store_queries(pg_url: str) -> None:
    engine = make_engine(pg_url)
    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(
                lambda c: compare_metadata(MigrationContext.configure(c), metadata)
            )
        assert diff == []
    finally:
        await engine.dispose()


async def test_a_database_migrated_by_a_newer_reportbot_is_refused(pg_url: str) -> None:
    conn = await asyncpg.connect(pg_url)
    try:
        await conn.execute("UPDATE alembic_version SET version_num = '9999'")
        from bot.errors import StorageError

        with pytest.raises(StorageError, match="newer reportbot"):
            await open_postgres_store(pg_url)
        await conn.execute("UPDATE alembic_version SET version_num = $1", head())
    finally:
        await conn.close()


# --- indexes ------------------------------------------------------------------------------------


# A year of a busy school's cases (1 in 50 open) and a fortnight of sent items, with a few
# waiting: the planner's statistics then look like a real deployment's.
FILL = """
INSERT INTO cases (reference, version, is_open, created_at, reporter, conversation_id,
                   handles, remind_at, doc)
SELECT 'TT-2025-' || lpad(n::text, 4, '0'), 1, n % 50 = 0, now() - n * interval '1 hour',
       'slack:T1:U' || n % 100, 'c' || n, ARRAY['@h' || n, '@g' || n % 700],
       CASE WHEN n % 50 = 0 THEN now() + n * interval '1 minute' END, '{}'
  FROM generate_series(1, 5000) n;
INSERT INTO outbox (id, platform, lane, created_at, sent_at, failed, doc)
SELECT 'i' || n, 'slack', 'person:' || n % 40, now(), CASE WHEN n > 60 THEN now() END,
       n <= 10, CASE WHEN n <= 60 THEN '{}'::jsonb END
  FROM generate_series(1, 5000) n;
ANALYZE;
"""


UNSENT = {"outbox_ready", "outbox_lanes", "outbox_unsent", "outbox_by_case"}


def _plans() -> dict[str, tuple[Executable, set[str]]]:
    """Each lookup that must never scan its table, and the indexes meant to serve it."""
    return {
        "open cases": (queries.case_docs("", open_only=True), {"cases_open"}),
        "cases by handle": (queries.case_docs("", handles=["@fake"]), {"cases_by_handle"}),
        "cases due": (queries.due_cases("", NOW), {"cases_due"}),
        "a page of every case": (
            queries.case_page("", (NOW, "TT-2025-0100"), 200),
            {"cases_by_time"},
        ),
        # Any index over the unsent rows alone serves these: they stay small however many
        # items were ever sent, and which the planner prefers varies with its statistics.
        "claim": (queries.claimable("", "slack", NOW, 50), UNSENT),
        "the whole claim, lane check included": (
            queries.claim("", "slack", "me", NOW, NOW + LEASE, 50, (NOW + LEASE).isoformat()),
            UNSENT | {"outbox_pkey", "outbox_lanes"},
        ),
        "next wake": (queries.next_wake("", "slack"), UNSENT),
    }


@pytest.mark.parametrize("name", list(_plans()))
async def test_lookups_are_served_by_their_index_never_a_table_scan(
    pg_url: str, raw: asyncpg.Connection, name: str
) -> None:
    query, meant = _plans()[name]
    await raw.execute(FILL)
    engine = make_engine(pg_url)
    try:
        async with engine.connect() as conn:
            compiled: Any = query.compile(
                dialect=engine.dialect, compile_kwargs={"render_postcompile": True}
            )
            params = tuple(compiled.params[k] for k in compiled.positiontup)
            # Scans made dear: Postgres then takes an index wherever one can serve the query,
            # so a plan with a scan, or with another index, means the meant one cannot.
            await conn.exec_driver_sql("SET enable_seqscan = off")
            plan = (await conn.exec_driver_sql("EXPLAIN " + compiled.string, params)).all()
        text = "\n".join(line for (line,) in plan)
        used = set(re.findall(r"(?:Index Scan using|Bitmap Index Scan on) (\w+)", text))
        assert "Seq Scan" not in text and used and used <= meant, text
    finally:
        await engine.dispose()


async def test_a_commit_that_conflicts_writes_nothing_even_its_delivery_mark(
    two: tuple[PostgresStore, PostgresStore],
) -> None:
    a, b = two
    ref = await a.take_reference(2026)
    await a.commit(UnitOfWork(cases=[make_case(ref)]))
    with pytest.raises(Conflict):  # b read the case before a wrote it: its version is stale
        await b.commit(UnitOfWork(delivery_id="d9", cases=[make_case(ref)]))
    assert not await a.seen("d9")  # so the platform's retry is applied, not skipped

"""The Postgres store: `bot.ports.Store` for a hosted deployment, several instances at once.

Semantics follow `storage.memory.MemoryStore` (the contract tests run on both). What Postgres
adds is that other instances write at the same time, so every check is made by the write:

- `commit` is one transaction. Its delivery id is inserted first: if that id is there
  already, the unit was applied before (a second instance waits for the first to finish).
  A case is written only from the version it was read at, and a reference only if its
  year's counter still stands just below it; a miss is `Conflict`, and the whole unit rolls
  back.
- `claim` locks the due rows with `FOR UPDATE SKIP LOCKED`, so two instances never take one
  item, and keeps only whole lanes of what it locked: an item is taken only with every
  earlier item of its lane, so nothing overtakes an item another instance is sending.
- A sent item stays as a content-free row until pruned, so the one key of the outbox refuses
  a second queueing of it.

Seen delivery ids, sent items and items refused for good are pruned as TinyDB prunes them
(`storage.live`), at most once every PRUNE_EVERY, after a commit.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import asyncpg
from sqlalchemy import (
    DateTime,
    Executable,
    Integer,
    Text,
    and_,
    bindparam,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot import codec
from bot.clock import SystemClock
from bot.errors import Conflict, StorageError
from bot.model import JSON, Case, Conversation, OutboxItem, Platform
from bot.ports import KEEP, PAGE_SIZE, Clock, Delivered, UnitOfWork
from bot.references import counter, reference
from storage.live import FAILED_KEPT, SEEN_KEPT, SENT_KEPT
from storage.postgres import queries, raw
from storage.postgres.database import make_engine, storage_errors
from storage.postgres.migrate import current, head, migrate, readiness
from storage.postgres.rows import (
    about,
    case_row,
    conversation_row,
    item_of,
    item_row,
    meta_row,
)
from storage.postgres.schema import cases, conversations, counters, deliveries, meta, outbox
from storage.readiness import Readiness

log = logging.getLogger(__name__)

PRUNE_EVERY = timedelta(hours=1)

# The statements of every turn, built once with their parameters bound at execution: one
# built per call cost more than the database's own work, and `.values(rows)` with a list
# compiles anew every time, where a statement run with a list of rows (executemany) does not.
SEEN = select(func.count()).where(
    deliveries.c.school == bindparam("school"), deliveries.c.id == bindparam("id")
)
CONVERSATION = select(conversations.c.doc).where(
    conversations.c.school == bindparam("school"),
    conversations.c.person_key == bindparam("person_key"),
)
MARK = insert(deliveries).on_conflict_do_nothing().returning(deliveries.c.id)
# A conversation is written only over the version the turn read (a row written before
# versions counts as 0); the row lock makes a second instance wait, then find it moved on.
_held = func.coalesce(conversations.c.doc["version"].as_integer(), 0)
_start = insert(conversations)
START_CONVERSATION = _start.on_conflict_do_update(
    index_elements=[conversations.c.school, conversations.c.person_key],
    set_={k: _start.excluded[k] for k in ("conversation_id", "case_reference", "doc")},
    where=_held == 0,
).returning(conversations.c.person_key)
CONTINUE_CONVERSATION = (
    update(conversations)
    .where(
        conversations.c.school == bindparam("at_school"),
        conversations.c.person_key == bindparam("at_person"),
        _held == bindparam("at_version"),
    )
    .returning(conversations.c.person_key)
)
QUEUE = insert(outbox).on_conflict_do_nothing().returning(outbox.c.id, outbox.c.seq)
_sent = insert(outbox)
MARK_SENT = _sent.on_conflict_do_update(
    index_elements=[outbox.c.school, outbox.c.id],
    set_={
        "sent_at": _sent.excluded.sent_at,
        "doc": None,  # what it said goes; the id stays until pruned
        "case_reference": "",
        "conversation_id": "",
        "claimed_until": None,
    },
)
_meta = insert(meta)
SET_META = _meta.on_conflict_do_update(
    index_elements=[meta.c.school, meta.c.key], set_={"value": _meta.excluded.value}
)
_stamp = DateTime(timezone=True)
CLAIM = queries.claim(
    bindparam("school"),
    bindparam("platform"),
    bindparam("owner", type_=Text),
    bindparam("now", type_=_stamp),
    bindparam("until", type_=_stamp),
    bindparam("limit", type_=Integer),
    bindparam("until_text", type_=Text),
)

# ... and as asyncpg runs them (storage.postgres.raw), each INSERT or UPDATE setting the
# columns its rows have.
_CONVERSATION_KEYS = ("school", "person_key", "conversation_id", "case_reference", "doc")
_ITEM_KEYS = (
    "school", "id", "platform", "lane", "created_at", "due_at", "claimed_until", "failed",
    "failed_at", "case_reference", "conversation_id", "doc",
)  # fmt: skip
_CASE_KEYS = (
    "school", "reference", "version", "is_open", "created_at", "reporter", "conversation_id",
    "handles", "remind_at", "doc",
)  # fmt: skip
R_SEEN = raw.compiled(SEEN)
R_CONVERSATION = raw.compiled(CONVERSATION)
R_MARK = raw.compiled(MARK, ("school", "id", "at"))
R_START_CONVERSATION = raw.compiled(START_CONVERSATION, _CONVERSATION_KEYS)
R_CONTINUE_CONVERSATION = raw.compiled(CONTINUE_CONVERSATION, _CONVERSATION_KEYS)
R_DROP_CONVERSATION = raw.compiled(
    delete(conversations).where(
        conversations.c.school == bindparam("school"),
        conversations.c.person_key == bindparam("person_key"),
    )
)
R_NEW_CASE = raw.compiled(
    insert(cases).on_conflict_do_nothing().returning(cases.c.reference), _CASE_KEYS
)
R_UPDATE_CASE = raw.compiled(
    update(cases)
    .where(
        cases.c.school == bindparam("at_school"),
        cases.c.reference == bindparam("at_reference"),
        cases.c.version == bindparam("at_version"),
    )
    .returning(cases.c.reference),
    _CASE_KEYS,
)
R_QUEUE = raw.compiled(QUEUE, _ITEM_KEYS)
R_SET_META = raw.compiled(SET_META, ("school", "key", "about", "value"))
R_DROP_META = raw.compiled(
    delete(meta).where(meta.c.school == bindparam("school"), meta.c.key == bindparam("key"))
)
R_MARK_SENT = raw.compiled(MARK_SENT, ("school", "id", "created_at", "sent_at"))
R_CLAIM = raw.compiled(CLAIM)
R_NEXT_WAKE = raw.compiled(queries.next_wake(bindparam("school"), bindparam("platform")))


class Redelivered(StorageError):
    """Raised inside a commit's transaction to roll it back: its delivery was applied."""


class PostgresStore:
    """`bot.ports.Store` on Postgres. Create with `open_postgres_store`."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        clock: Clock | None = None,
        school: str = "",
        owns_engine: bool = True,
    ) -> None:
        self.engine = engine
        # A read of one statement needs no BEGIN and COMMIT around it (two round trips more).
        # (A turn's own statements run on asyncpg directly: storage.postgres.raw.)
        self._single = engine.execution_options(isolation_level="AUTOCOMMIT")
        self.school = school
        self._clock = clock or SystemClock()
        self._pruned_at: datetime | None = None
        self._owns_engine = owns_engine

    def for_school(self, school: str) -> PostgresStore:
        """The same database scoped to another school, on this store's engine and pool: every
        read and write of the new store names `school`, and closing it leaves the engine to
        the store that opened it."""
        return PostgresStore(self.engine, clock=self._clock, school=school, owns_engine=False)

    async def schools_with_work(self, now: datetime) -> list[str]:
        """The schools that have something to send or a reminder due, so that an instance
        starting (or outliving another) serves their outbox without waiting for a request."""
        unsent = select(outbox.c.school).where(outbox.c.sent_at.is_(None), ~outbox.c.failed)
        due = select(cases.c.school).where(cases.c.is_open, cases.c.remind_at <= now)
        rows = await self._all(unsent.union(due))
        return sorted(str(school) for (school,) in rows)

    async def refused_by_school(self) -> dict[str, dict[str, int]]:
        """For a provider's /healthz: each school with items refused for good and not yet
        pruned, counted by audience ("leadership", "person"), schools not being served too."""
        audience = outbox.c.doc["audience"].astext
        rows = await self._all(
            select(outbox.c.school, audience, func.count())
            .where(outbox.c.failed, outbox.c.sent_at.is_(None), outbox.c.school != "")
            .group_by(outbox.c.school, audience)
        )
        refused: dict[str, dict[str, int]] = {}
        for school, kind, count in rows:
            refused.setdefault(str(school), {})[str(kind)] = int(count)
        return refused

    # -- reads ---------------------------------------------------------------------------------
    async def _all(self, query: Executable, params: Any = None) -> list[Any]:
        async with storage_errors(), self._single.connect() as conn:
            return list((await conn.execute(query, params)).all())

    async def _one(self, query: Executable, params: Mapping[str, Any] | None = None) -> Any:
        async with storage_errors(), self._single.connect() as conn:
            return (await conn.execute(query, params)).scalar()

    async def conversation(self, person_key: str) -> Conversation | None:
        params = {"school": self.school, "person_key": person_key}
        async with raw.connection(self.engine) as conn:
            doc = await raw.value(conn, R_CONVERSATION, params)
        return codec.conversation_from_dict(doc) if doc is not None else None

    async def conversations(self) -> list[Conversation]:
        rows = await self._all(
            select(conversations.c.doc)
            .where(conversations.c.school == self.school)
            .order_by(conversations.c.person_key)
        )
        return [codec.conversation_from_dict(doc) for (doc,) in rows]

    async def seen(self, delivery_id: str) -> bool:
        async with raw.connection(self.engine) as conn:
            return bool(await raw.value(conn, R_SEEN, {"school": self.school, "id": delivery_id}))

    async def case(self, reference: str) -> Case | None:
        doc = await self._one(
            select(cases.c.doc).where(
                cases.c.school == self.school, cases.c.reference == reference.strip().upper()
            )
        )
        return codec.case_from_dict(doc) if doc is not None else None

    async def case_for_conversation(self, conversation_id: str) -> Case | None:
        doc = await self._one(
            select(cases.c.doc)
            .where(cases.c.school == self.school, cases.c.conversation_id == conversation_id)
            .order_by(cases.c.created_at, cases.c.reference)
            .limit(1)
        )
        return codec.case_from_dict(doc) if doc is not None else None

    async def cases(
        self, *, open_only: bool = False, reporter: str = "", handles: Sequence[str] = ()
    ) -> list[Case]:
        query = queries.case_docs(
            self.school, open_only=open_only, reporter=reporter, handles=handles
        )
        return [codec.case_from_dict(doc) for (doc,) in await self._all(query)]

    async def case_pages(self, size: int = PAGE_SIZE) -> AsyncIterator[list[Case]]:
        after: tuple[datetime, str] | None = None
        while True:
            rows = await self._all(queries.case_page(self.school, after, size))
            if rows:
                yield [codec.case_from_dict(doc) for doc, _, _ in rows]
            if len(rows) < size:
                return
            after = (rows[-1].created_at, rows[-1].reference)

    async def cases_due(self, now: datetime) -> list[Case]:
        rows = await self._all(queries.due_cases(self.school, now))
        return [codec.case_from_dict(doc) for (doc,) in rows]

    async def take_reference(self, year: int) -> str:
        # One statement: the row lock makes concurrent takers (any instance) queue, not clash.
        query = insert(counters).values(school=self.school, name=counter(year), value=1)
        query = query.on_conflict_do_update(
            index_elements=[counters.c.school, counters.c.name],
            set_={"value": counters.c.value + 1},
        )
        async with storage_errors(), self.engine.begin() as conn:
            taken = await conn.execute(query.returning(counters.c.value))
            return reference(year, int(taken.scalar_one()))

    async def get_meta(self, key: str) -> JSON | None:
        value: JSON | None = await self._one(
            select(meta.c.value).where(meta.c.school == self.school, meta.c.key == key)
        )
        return value

    # -- the one write ---------------------------------------------------------------------------
    async def commit(self, unit: UnitOfWork) -> bool:
        now = self._clock.now()
        try:
            async with raw.connection(self.engine) as conn, conn.transaction():
                if unit.delivery_id and not await self._mark(conn, unit.delivery_id, now):
                    raise Redelivered
                for case in sorted(unit.cases, key=lambda c: c.reference):  # one lock order
                    await self._write_case(conn, case)
                await self._write_conversation(conn, unit)
                seqs = await self._enqueue(conn, unit.outbox)
                await self._write_meta(conn, unit.meta)
        except Redelivered:
            return False
        for item in unit.outbox:  # as MemoryStore: each accepted item learns its seq
            if id(item) in seqs:
                item.seq = seqs[id(item)]
        for case in unit.cases:
            case.version += 1
        if isinstance(unit.conversation, Conversation):
            unit.conversation.version += 1
        await self._prune_now_and_then(now)
        return True

    async def _mark(self, conn: asyncpg.Connection, delivery_id: str, now: datetime) -> bool:
        marked = await raw.value(
            conn, R_MARK, {"school": self.school, "id": delivery_id, "at": now}
        )
        return marked is not None

    async def _write_case(self, conn: asyncpg.Connection, case: Case) -> None:
        row = case_row(self.school, case)
        if case.version == 0:  # new: must not exist
            written = await raw.value(conn, R_NEW_CASE, row)
        else:
            held = {"at_school": self.school, "at_reference": case.reference}
            written = await raw.value(
                conn, R_UPDATE_CASE, {**row, **held, "at_version": case.version}
            )
        if written is None:
            raise Conflict(f"{case.reference} was changed meanwhile")

    async def _write_conversation(self, conn: asyncpg.Connection, unit: UnitOfWork) -> None:
        if unit.conversation is KEEP:
            return
        if unit.conversation is None:
            params = {"school": self.school, "person_key": unit.person_key}
            await raw.fetch(conn, R_DROP_CONVERSATION, params)
            return
        assert isinstance(unit.conversation, Conversation)
        row = conversation_row(self.school, unit.person_key, unit.conversation)
        if unit.conversation.version == 0:  # none held when read (or one from before versions)
            written = await raw.value(conn, R_START_CONVERSATION, row)
        else:  # over the version read, which must still be there
            held = {"at_school": self.school, "at_person": unit.person_key}
            written = await raw.value(
                conn,
                R_CONTINUE_CONVERSATION,
                {**row, **held, "at_version": unit.conversation.version},
            )
        if written is None:
            raise Conflict(f"the conversation of {unit.person_key} was changed meanwhile")

    async def _enqueue(
        self, conn: asyncpg.Connection, items: Sequence[OutboxItem]
    ) -> dict[int, int]:
        """Queue the items whose ids are new; returns their seqs, by the caller's object."""
        first: dict[str, OutboxItem] = {}
        for item in items:
            first.setdefault(item.id, item)  # the first of an id repeated in the unit wins
        seqs: dict[int, int] = {}
        for item in first.values():  # one or two a turn
            for item_id, seq in await raw.fetch(conn, R_QUEUE, item_row(self.school, item)):
                seqs[id(first[item_id])] = seq
        return seqs

    async def _write_meta(self, conn: asyncpg.Connection, facts: Mapping[str, JSON | None]) -> None:
        gone = [{"school": self.school, "key": k} for k, v in facts.items() if v is None]
        # In key order, as every writer locks them: two units setting the same facts queue
        # one behind the other instead of each holding one the other wants.
        kept = [meta_row(self.school, k, v) for k, v in sorted(facts.items()) if v is not None]
        if gone:
            await raw.each(conn, R_DROP_META, gone)
        if kept:
            await raw.each(conn, R_SET_META, kept)

    # -- the outbox --------------------------------------------------------------------------------
    async def claim(
        self, platform: Platform, owner: str, now: datetime, lease: timedelta, limit: int = 50
    ) -> list[OutboxItem]:
        until = now + lease
        params = {
            "school": self.school,
            "platform": str(platform),
            "owner": owner,
            "now": now,
            "until": until,
            "until_text": until.isoformat(),
            "limit": limit,
        }
        async with raw.connection(self.engine) as conn:
            rows = sorted(await raw.fetch(conn, R_CLAIM, params), key=lambda row: int(row[0]))
        return [item_of(seq, doc) for seq, doc in rows]

    async def delivered(self, done: Sequence[Delivered]) -> None:
        if not done:
            return
        now = self._clock.now()
        ids = list(dict.fromkeys(d.item_id for d in done))
        markers = [
            {"school": self.school, "id": item_id, "created_at": now, "sent_at": now}
            for item_id in ids
        ]
        receipts = {
            d.receipt_key: d.receipt for d in done if d.receipt_key and d.receipt is not None
        }
        async with raw.connection(self.engine) as conn, conn.transaction():
            # A receipt first, in the same write: a retry finds the post instead of reposting.
            await self._write_meta(conn, receipts)
            await raw.each(conn, R_MARK_SENT, markers)

    async def reschedule(self, *items: OutboxItem) -> None:
        if not items:
            return
        claimant = func.coalesce(outbox.c.doc["claimed_by"].as_string(), "")
        async with storage_errors(), self.engine.begin() as conn:
            for item in items:  # a few at most: the items of one courier's batch
                row = item_row(self.school, replace(item, claimed_by="", claimed_until=None))
                await conn.execute(
                    update(outbox)
                    .where(
                        outbox.c.school == self.school,
                        outbox.c.id == row["id"],
                        outbox.c.sent_at.is_(None),
                        claimant.in_(["", item.claimed_by]),  # not another instance's claim
                    )
                    .values({k: v for k, v in row.items() if k not in ("school", "id")})
                )

    async def next_due_at(self, platform: Platform) -> datetime | None:
        params = {"school": self.school, "platform": str(platform)}
        async with raw.connection(self.engine) as conn:
            wake: datetime | None = await raw.value(conn, R_NEXT_WAKE, params)
        return wake

    async def undelivered(self, platform: Platform) -> list[OutboxItem]:
        rows = await self._all(
            select(outbox.c.seq, outbox.c.doc)
            .where(
                outbox.c.school == self.school,
                outbox.c.platform == str(platform),
                outbox.c.failed,
                outbox.c.sent_at.is_(None),
            )
            .order_by(outbox.c.seq)
        )
        return [item_of(seq, doc) for seq, doc in rows]

    async def outbox_items(self) -> list[OutboxItem]:
        rows = await self._all(
            select(outbox.c.seq, outbox.c.doc)
            .where(outbox.c.school == self.school, outbox.c.sent_at.is_(None))
            .order_by(outbox.c.seq)
        )
        return [item_of(seq, doc) for seq, doc in rows]

    # -- a reviewed deletion -------------------------------------------------------------------
    async def delete_case(self, reference: str, tombstone: Case) -> None:
        if tombstone.reference != reference:
            raise ValueError("the tombstone must carry the reference of the case it replaces")
        async with storage_errors(), self.engine.begin() as conn:
            held = await conn.execute(
                select(cases.c.version, cases.c.conversation_id)
                .where(cases.c.school == self.school, cases.c.reference == reference)
                .with_for_update()
            )
            version, conversation = held.first() or (0, "")
            await self._forget(conn, reference, conversation)
            row = case_row(self.school, replace(tombstone, version=version))
            query = insert(cases).values(row)
            await conn.execute(
                query.on_conflict_do_update(
                    index_elements=[cases.c.school, cases.c.reference],
                    set_={k: query.excluded[k] for k in row if k not in ("school", "reference")},
                )
            )
        tombstone.version = version + 1

    async def _forget(self, conn: AsyncConnection, reference: str, conversation: str) -> None:
        """Every copy of what the case said: its items pending or failed (and those of the
        conversation it came from), that conversation, and its meta but for post receipts."""
        its_items = outbox.c.case_reference == reference
        its_conversation = conversations.c.case_reference == reference
        if conversation:
            its_items = or_(its_items, outbox.c.conversation_id == conversation)
            its_conversation = or_(
                its_conversation, conversations.c.conversation_id == conversation
            )
        await conn.execute(
            delete(outbox).where(
                outbox.c.school == self.school, outbox.c.sent_at.is_(None), its_items
            )
        )
        await conn.execute(
            delete(conversations).where(conversations.c.school == self.school, its_conversation)
        )
        await conn.execute(
            delete(meta).where(
                meta.c.school == self.school,
                meta.c.about == about(reference),
                meta.c.key.endswith(f":{reference}", autoescape=True),
                ~meta.c.key.startswith("post:"),
            )
        )

    # -- housekeeping ----------------------------------------------------------------------------
    async def _prune_now_and_then(self, now: datetime) -> None:
        if self._pruned_at is not None and now - self._pruned_at < PRUNE_EVERY:
            return
        self._pruned_at = now
        try:
            await self.prune(now)
        except Exception:  # the commit is done; pruning is tried again later
            log.warning("pruning old delivery ids and sent items failed", exc_info=True)

    async def prune(self, now: datetime) -> None:
        """Forget seen delivery ids after SEEN_KEPT, sent items after SENT_KEPT, and items
        refused for good FAILED_KEPT after they failed (they are on /healthz until then)."""
        failed_at = func.coalesce(outbox.c.failed_at, outbox.c.created_at)
        async with storage_errors(), self.engine.begin() as conn:
            await conn.execute(delete(deliveries).where(deliveries.c.at < now - SEEN_KEPT))
            await conn.execute(delete(outbox).where(outbox.c.sent_at < now - SENT_KEPT))
            dropped = await conn.execute(
                delete(outbox)
                .where(
                    and_(outbox.c.failed, outbox.c.sent_at.is_(None)),
                    failed_at < now - FAILED_KEPT,
                )
                .returning(outbox.c.id)
            )
            count = len(dropped.all())
        if count:
            log.warning(
                "dropped %d message(s) refused for good more than %d days ago",
                count,
                FAILED_KEPT.days,
            )

    # -- lifetime --------------------------------------------------------------------------------
    async def readiness(self) -> Readiness:
        return await readiness(self.engine)

    async def close(self) -> None:
        if self._owns_engine:
            await self.engine.dispose()

    async def __aenter__(self) -> PostgresStore:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


async def open_postgres_store(
    url: str, *, clock: Clock | None = None, school: str = "", migrate_now: bool = True
) -> PostgresStore:
    """Connect to the database at `url` and bring its tables up to date (unless told not to:
    a reading command must not change the schema, and refuses a database that is behind)."""
    engine = make_engine(url)
    try:
        if migrate_now:
            await migrate(engine)
        else:
            await _check_current(engine)
    except BaseException:
        await engine.dispose()
        raise
    return PostgresStore(engine, clock=clock, school=school)


async def _check_current(engine: AsyncEngine) -> None:
    if await current(engine) != (head(),):
        raise StorageError(
            "The database's tables are not at this reportbot's revision: run `reportbot migrate`."
        )

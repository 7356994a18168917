"""The statements the store runs that must be served by an index (never a table scan).

Kept apart, as builders, so `tests/test_postgres_store.py` can ask Postgres for their plans.
Conditions that partial indexes are for are written as SQL, never as parameters, so that a
generic (prepared) plan can still use those indexes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    Update,
    and_,
    exists,
    func,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.sql.expression import FromClause

from storage.postgres.schema import cases, outbox


def pending(table: FromClause) -> ColumnElement[bool]:
    """An outbox row still to send: not sent, not refused for good."""
    return and_(table.c.sent_at.is_(None), ~table.c.failed)


def case_docs(
    school: str, *, open_only: bool = False, reporter: str = "", handles: Sequence[str] = ()
) -> Select[Any]:
    query = select(cases.c.doc).where(cases.c.school == school)
    if open_only:
        query = query.where(cases.c.is_open)
    if reporter:
        query = query.where(cases.c.reporter == reporter)
    if handles:
        query = query.where(cases.c.handles.overlap(list(handles)))
    return query.order_by(cases.c.created_at, cases.c.reference)


def case_page(school: str, after: tuple[datetime, str] | None, size: int) -> Select[Any]:
    """The next `size` cases in `case_docs` order after `after` (created_at, reference): a
    page found by the index, however far into the cases it is (no OFFSET)."""
    query = select(cases.c.doc, cases.c.created_at, cases.c.reference).where(
        cases.c.school == school
    )
    if after is not None:
        query = query.where(tuple_(cases.c.created_at, cases.c.reference) > tuple_(*after))
    return query.order_by(cases.c.created_at, cases.c.reference).limit(size)


def due_cases(school: str, now: datetime) -> Select[Any]:
    return (
        select(cases.c.doc)
        .where(
            cases.c.school == school,
            cases.c.is_open,
            cases.c.remind_at.is_not(None),
            cases.c.remind_at <= now,
        )
        .order_by(cases.c.remind_at, cases.c.reference)
    )


def claimable(school: Any, platform: Any, now: Any, limit: Any) -> Select[str]:
    """Items of a platform that may be sent now, oldest first, locked for this transaction
    (skipping any another claimer holds): due, not held by a live claim, and not behind an
    earlier item of their lane that is held or not yet due."""
    earlier = outbox.alias("earlier")
    waiting = exists().where(
        _earlier_in_lane(earlier), or_(earlier.c.claimed_until > now, earlier.c.due_at > now)
    )
    return (
        select(outbox.c.id)
        .where(
            outbox.c.school == school,
            outbox.c.platform == platform,
            pending(outbox),
            or_(outbox.c.claimed_until.is_(None), outbox.c.claimed_until <= now),
            or_(outbox.c.due_at.is_(None), outbox.c.due_at <= now),
            ~waiting,
        )
        .order_by(outbox.c.seq)
        .limit(limit)
        .with_for_update(skip_locked=True, of=outbox)
    )


def claim(
    school: Any, platform: Any, owner: Any, now: Any, until: Any, limit: Any, until_text: Any
) -> Update:
    """One statement: lock the claimable items (`claimable`, in a CTE, evaluated once) and
    claim those whose whole lane up to them is among the locked, as `bot.outbox.claimed`
    does: one more attempt, held until `until` (`until_text`: the same, ISO 8601, for the
    document). Returns (seq, doc) of each claimed item. Values or bound parameters."""
    locked = claimable(school, platform, now, limit).cte("locked")
    attempts = func.coalesce(outbox.c.doc["attempts"].astext.cast(Integer), 0)
    claimed = func.jsonb_build_object(
        "attempts", attempts + 1, "claimed_by", owner, "claimed_until", until_text
    )
    return (
        update(outbox)
        .where(
            outbox.c.school == school,
            outbox.c.id.in_(select(locked.c.id)),
            _lane_complete(select(locked.c.id)),
        )
        .values(claimed_until=until, doc=outbox.c.doc.op("||")(claimed))
        .returning(outbox.c.seq, outbox.c.doc)
    )


def _lane_complete(locked: Select[Any]) -> ColumnElement[bool]:
    """For a locked item: every earlier item of its lane still to send is locked too.

    What a claim locked decides, not what it saw: an earlier item another claimer has locked
    (and may be sending) keeps the rest of its lane out of this claim."""
    earlier = outbox.alias("earlier")
    return ~exists().where(
        earlier.c.school == outbox.c.school,
        earlier.c.platform == outbox.c.platform,
        earlier.c.lane == outbox.c.lane,
        earlier.c.seq < outbox.c.seq,
        pending(earlier),
        earlier.c.id.not_in(locked),
    )


def _earlier_in_lane(earlier: FromClause) -> ColumnElement[bool]:
    """`earlier` is an item still to send before the outer query's, in the same lane."""
    return and_(
        earlier.c.school == outbox.c.school,
        earlier.c.platform == outbox.c.platform,
        earlier.c.lane == outbox.c.lane,
        earlier.c.seq < outbox.c.seq,
        pending(earlier),
    )


def next_wake(school: Any, platform: Any) -> Select[Any]:
    """As `bot.outbox.next_wake`: of the first item still to send in each lane."""
    behind = exists().where(_earlier_in_lane(outbox.alias("earlier")))
    wake = func.min(func.coalesce(outbox.c.claimed_until, outbox.c.due_at, outbox.c.created_at))
    return select(wake).where(
        outbox.c.school == school, outbox.c.platform == platform, pending(outbox), ~behind
    )

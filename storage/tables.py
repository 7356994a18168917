"""Small TinyDB helpers shared by live.json and the case archive."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from tinydb import TinyDB
from tinydb.queries import QueryLike
from tinydb.table import Table

from bot.model import JSON
from storage.atomic import AtomicJSONStorage, Tables


def open_tinydb(path: Path) -> tuple[TinyDB, AtomicJSONStorage]:
    db = TinyDB(path, storage=AtomicJSONStorage)
    return db, cast(AtomicJSONStorage, db.storage)


def stamp(when: datetime) -> str:
    # Fixed-width UTC, so stamps compare correctly as strings (TinyDB queries, pruning).
    return when.astimezone(UTC).isoformat(timespec="seconds")


def get_table(db: TinyDB, name: str) -> Table:
    # No query cache: a cached result could outlive a rolled-back transaction.
    return db.table(name, cache_size=0)


def put(tbl: Table, doc: JSON, cond: QueryLike) -> None:
    """Replace the documents matching `cond` by `doc`, or insert it.

    TinyDB's `upsert` merges fields into the old document; a replace is what we mean.
    """

    def replace(stored: Mapping[str, Any]) -> None:
        target = cast(dict[str, Any], stored)
        target.clear()
        target.update(doc)

    if not tbl.update(replace, cond):
        tbl.insert(doc)


def docs(data: Tables, name: str) -> Iterable[JSON]:
    return data.get(name, {}).values()


def need(doc: JSON, key: str, kind: type) -> Any:
    """`doc[key]` if it is a `kind`; raises KeyError or TypeError otherwise."""
    value = doc[key]
    # bool is an int to isinstance, but never a valid counter
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise TypeError(key)
    return value

"""The victim of the kill test in tests/test_tinydb_store.py: stops for good between the
live.json write of a unit and the copy of its cases to their shards, to be killed there.

Usage: python tests/kill_before_copy.py DATA_DIR

Writes TT-2026-0001 (copied to its shard as usual), then one unit that changes it, files
TT-2026-0150 (another shard) with a post receipt, moves a conversation on and queues a
message. That unit's copy to the shards never starts: the worker prints
"IN LIVE.JSON <reference>" and waits to be killed.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from store_helpers import ANN, make_case, make_conversation, make_item

from bot.model import JSON
from bot.ports import UnitOfWork
from storage.archive import Archive
from storage.tinydb_store import open_store


def stop_before_copy(self: Archive, entries: Iterable[JSON]) -> None:
    """In place of `Archive.copy_entries`, on the store's worker thread."""
    print(f"IN LIVE.JSON {next(iter(entries))['reference']}", flush=True)
    time.sleep(60)  # killed here
    sys.exit("not killed")


async def main(folder: Path) -> None:
    store = await open_store(folder)
    first = make_case(await store.take_reference(2026))
    await store.commit(UnitOfWork(ANN.key, None, "d1", cases=[first]))
    Archive.copy_entries = stop_before_copy  # type: ignore[method-assign]
    unit = UnitOfWork(
        ANN.key,
        make_conversation(),
        "d2",
        cases=[replace(first, assignee="Lee"), make_case("TT-2026-0150")],
        outbox=[make_item("a")],
        meta={"post:slack:TT-2026-0150": {"ts": "1"}},
    )
    await store.commit(unit)
    sys.exit("the commit returned before its cases were copied")


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1])))

"""Write to a TinyStore until killed: the victim process of tests/test_store_crash.py.

Usage: python tests/crash_writer.py DATA_DIR SEED

Prints READY once the store is open, then loops: a new case (printing "ACK <reference>" once
`save_case` has returned), a conversation step ("STEP <delivery id>" once `commit` returned),
and changes that make the files shrink as well as grow: re-saving an earlier case smaller or
larger, ending conversations, delivering outbox items and deleting a case now and then.
"""

from __future__ import annotations

import asyncio
import random
import sys
from datetime import UTC, datetime
from pathlib import Path

from store_helpers import LEASE, save

from bot.model import Audience, Case, CaseStatus, Conversation, OutboxItem, Person, Platform
from bot.ports import Delivered, UnitOfWork
from storage.tinydb_store import open_store

NOW = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
PERSON = Person(Platform.SLACK, "T1", "U1", name="Ann")


def case(reference: str, size: int, status: CaseStatus = CaseStatus.NEW) -> Case:
    return Case(reference, NOW, PERSON, f"conv-{reference}", {"notes": "n" * size}, status=status)


def conversation(cid: str, size: int) -> Conversation:
    return Conversation(cid, PERSON, "links", NOW, NOW, answers={"draft": "d" * size})


def item(item_id: str, reference: str) -> OutboxItem:
    reply = {"type": "case_card", "reference": reference, "update": False, "alert": False}
    return OutboxItem(
        item_id, Platform.SLACK, Audience.LEADERSHIP, "T1", {}, reply, NOW, case_reference=reference
    )


def say(line: str) -> None:
    print(line, flush=True)


async def main(folder: Path, seed: int) -> None:
    rng = random.Random(seed)
    store = await open_store(folder)
    say("READY")
    saved: list[str] = []
    step = 0
    while True:
        step += 1
        reference = await store.take_reference(2026)
        new = case(reference, rng.choice([0, 200, 5_000, 40_000]))
        await store.commit(UnitOfWork(cases=[new]))
        say(f"ACK {reference}")
        saved.append(reference)

        earlier = rng.choice(saved)
        await save(store, case(earlier, rng.choice([0, 50, 20_000]), CaseStatus.CLOSED))

        delivery = f"d-{seed}-{step}"
        person_key = f"{PERSON.key}:{step % 5}"
        ends = rng.random() < 0.3
        conv = None if ends else conversation(delivery, rng.choice([0, 1_000, 30_000]))
        if conv is not None:  # written over the one held, as a turn does
            held = await store.conversation(person_key)
            conv.version = held.version if held else 0
        outbox = [item(f"o-{seed}-{step}", reference)]
        await store.commit(UnitOfWork(person_key, conv, delivery, outbox=outbox))
        say(f"STEP {delivery}")

        taken = await store.claim(Platform.SLACK, "writer", NOW, LEASE, rng.randint(1, 2))
        await store.delivered([Delivered(i.id) for i in taken])
        if rng.random() < 0.1:
            victim = rng.choice(saved)
            tomb = Case(victim, NOW, PERSON, "", {}, status=CaseStatus.DELETED)
            await store.delete_case(victim, tomb)


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), int(sys.argv[2])))

"""Realistic stored data: cases shaped by the real engine, seeded straight into a data folder.

One report is made through the engine (in memory) to get a real case and a real conversation at
its summary step; seeded cases are copies of that case moved through the real lifecycle. Most
are finished (assigned, sent, removed, closed); OPEN_SHARE stay open (sent to POSH). Beside each
case, live.json gets what the running bot would have left there: the leadership post's receipt
(`post:slack:REF`) and the reminder marks an open case has earned. Files are written in bulk
through the store's own TinyDB storage (one atomic write per shard), then `open_store` loads and
checks them like any data folder.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from adapters.compose import build_runtime
from bot import codec, lifecycle
from bot.clock import FakeClock
from bot.config import Settings
from bot.facts import Facts
from bot.leadership import Kept, kept_doc, receipt_key
from bot.model import JSON, Case, HistoryEntry, Person, Platform, Turn
from bot.reminders import due_reminders
from storage.archive import shard_name
from storage.memory import MemoryStore
from storage.tables import get_table, open_tinydb

OPEN_SHARE = 0.10  # a school's archive is mostly finished cases
TEAM = "T0SCHOOL"
LEADERS = "C0LEADERS"
# The README's scripted report, one answer per line.
ANSWERS = (
    "@fake.mr.smith",
    "done",
    "1,2",
    "no",
    "no",
    "1",
    "Mr J Smith, Head of Maths",
    "yesterday",
    "no",
    "yes",
    "skip",
    "we don't know",
    "1",
    "Sam Patel",
    "Deputy Head",
    "01632 960 123",
    "1",
)
Progress = Callable[[str], None]


@dataclass(frozen=True)
class Sample:
    """A real case and a real conversation at its summary step, made by the engine."""

    case: Case
    summary_conversation: JSON


async def sample_report(now: datetime) -> Sample:
    store = MemoryStore()
    runtime = build_runtime(Settings(), store, FakeClock(now))
    person = Person(Platform.SLACK, TEAM, "U0SAMPLE", "Sam Staff", "sam.staff@school.example")
    address = {"channel": person.user_id, "user": person.user_id}
    await runtime.engine.handle(Turn(person, action="start", address=address))
    for text in ANSWERS:
        await runtime.engine.handle(Turn(person, text=text, address=address))
    conversation = await store.conversation(person.key)
    if conversation is None or conversation.step != "summary":
        raise RuntimeError("the scripted report did not reach its summary")
    summary = codec.conversation_to_dict(conversation)
    await runtime.engine.handle(Turn(person, text="submit", address=address))
    [case] = await store.cases()
    return Sample(case, summary)


def reference(year: int, number: int) -> str:
    return f"TT-{year}-{number:04d}"


def seeded_case(template: Case, number: int, created: datetime) -> Case:
    """The template as case `number`: its own account, reporter and dates, then its lifecycle."""
    case = codec.case_from_dict(json.loads(json.dumps(codec.case_to_dict(template))))
    handle = f"fake.account.{number}"
    case.reference = reference(created.year, number)
    case.created_at = created
    case.conversation_id = f"{number:032x}"
    case.reporter = Person(Platform.SLACK, TEAM, f"U{number % 400:07d}", "Sam Staff")
    case.answers["links"] = [
        {"url": f"https://www.tiktok.com/@{handle}", "handle": handle, "label": f"@{handle}"}
    ]
    case.handles = (handle,)
    case.status_times = {"new": created}
    case.history = [HistoryEntry(created, "Sam Staff", "reported", new="new")]
    lifecycle.apply(case, "assign", "Lee Leader", created + timedelta(hours=1))
    lifecycle.apply(case, "sent", "Lee Leader", created + timedelta(hours=2))
    if number % round(1 / OPEN_SHARE):  # every tenth case stays open
        lifecycle.apply(case, "removed", "Lee Leader", created + timedelta(days=3))
        lifecycle.apply(case, "close", "Lee Leader", created + timedelta(days=3), "removed")
    return case


def seeded_cases(template: Case, count: int, now: datetime) -> Iterator[Case]:
    """`count` cases spread over this year so far, oldest first; all dated before `now`."""
    start = datetime(now.year, 1, 1, 8, tzinfo=UTC)
    step = (now - timedelta(days=1) - start) / max(count, 1)
    for number in range(1, count + 1):
        yield seeded_case(template, number, start + step * number)


def meta_for(case: Case, facts: Facts, now: datetime) -> list[JSON]:
    """What the running bot keeps about a case (in its shard): post receipt, reminder marks."""
    n, item = len(case.reference), f"case:{case.reference}:leadership"
    docs: list[JSON] = [
        {
            "key": receipt_key(Platform.SLACK, case.reference),
            "value": kept_doc([Kept({"channel": LEADERS, "ts": f"1700000000.{n:06d}"}, item)]),
        }
    ]
    for due in due_reminders(case, facts, now):
        key = f"reminder:{due.kind}:{case.reference}"
        docs.append({"key": key, "value": {"at": now.isoformat()}})
    return docs


@dataclass(frozen=True)
class Seeded:
    cases: list[JSON]
    meta: list[JSON]


def seed_folder(
    data_dir: Path, template: Case, count: int, now: datetime, progress: Progress
) -> Seeded:
    """Write `count` cases (and the facts kept about them) into a new data folder."""
    cases_dir = data_dir / "cases"
    cases_dir.mkdir(mode=0o700, parents=True)
    os.chmod(data_dir, 0o700)
    facts = Facts()
    shards: dict[str, list[JSON]] = {}
    shard_meta: dict[str, list[JSON]] = {}
    meta: list[JSON] = []
    for n, case in enumerate(seeded_cases(template, count, now), 1):
        name = shard_name(case.reference)
        shards.setdefault(name, []).append(codec.case_to_dict(case))
        facts_kept = meta_for(case, facts, now)
        shard_meta.setdefault(name, []).extend(facts_kept)  # as the store keeps them
        meta += facts_kept
        if count >= 10_000 and n % (count // 10) == 0:
            progress(f"seeding {count:,} cases: {n:,} built")
    for name, docs in shards.items():
        _write_tables(cases_dir / f"{name}.json", {"cases": docs, "meta": shard_meta[name]})
    counters = [{"name": f"ref:{now.year}", "value": count}]
    _write_tables(data_dir / "live.json", {"counters": counters})
    return Seeded([doc for docs in shards.values() for doc in docs], meta)


def _write_tables(path: Path, tables: dict[str, list[JSON]]) -> None:
    db, storage = open_tinydb(path)
    with storage.transaction():
        for name, docs in tables.items():
            get_table(db, name).insert_multiple(docs)
    db.close()


def seed_plain(path: Path, seeded: Seeded) -> None:
    """The same documents in one file in TinyDB's own format, as plain TinyDB would hold them."""
    tables: dict[str, Any] = {
        "cases": {str(i): d for i, d in enumerate(seeded.cases, 1)},
        "meta": {str(i): d for i, d in enumerate(seeded.meta, 1)},
        "conversations": {},
        "seen": {},
        "outbox": {},
    }
    path.write_text(json.dumps(tables), encoding="utf-8")

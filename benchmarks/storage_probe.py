"""One storage size, in a process of its own so that its resident memory is its own.

`python -m benchmarks.storage_probe N [--quick]` seeds N cases, starts the bot's server over
them (not started on any platform: nothing leaves the machine), measures the store, then plain
TinyDB with the same documents, and prints one JSON line. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import gc
import json
import logging
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from tinydb import TinyDB, where

from benchmarks import seed
from benchmarks.servers import BotServer, bot_env, bot_server
from benchmarks.stats import LoopMonitor, Samples, rss_mb
from bot import codec
from bot.clock import FakeClock
from bot.facts import Facts
from bot.files import make_file
from bot.leadership import Kept, kept_doc, receipt_key
from bot.model import (
    JSON,
    Audience,
    Case,
    CaseCard,
    CaseStatus,
    FileKind,
    FileReply,
    HandoffReply,
    HistoryEntry,
    Notice,
    OutboxItem,
    Person,
    Platform,
    Question,
    Reply,
    Turn,
)
from bot.outbox import outbox_item
from bot.ports import Delivered, UnitOfWork
from bot.reminders import Reminders
from bot.report import build_handoff

UNUSED_API = "http://127.0.0.1:9/api/"  # never called: the probe starts no platform
PROBE_PREFIX = "probe: "  # progress lines the parent relays
PERSONS = 20


@dataclass
class Budget:
    """At most `count` runs, fewer (not under `least`) once `seconds` have gone."""

    count: int
    seconds: float
    least: int = 3


@dataclass
class Probe:
    server: BotServer
    sample: seed.Sample
    now: datetime
    monitor: LoopMonitor
    results: dict[str, Any] = field(default_factory=dict)

    @property
    def store(self) -> Any:
        return self.server.runtime.store


def live_size(data: Path) -> int:
    """Bytes of the live state on disk: live.json and its log (absent until a first write)."""
    return sum(p.stat().st_size for p in (data / "live.json", data / "live.log") if p.exists())


def log(message: str) -> None:
    print(PROBE_PREFIX + message, file=sys.stderr, flush=True)


async def repeat(budget: Budget, run: Callable[[int], Awaitable[float]]) -> list[float]:
    """Durations of `run(i)` (which times its own part), within the budget."""
    values: list[float] = []
    start = time.perf_counter()
    for i in range(budget.count):
        if i >= budget.least and time.perf_counter() - start > budget.seconds:
            break
        values.append(await run(i))
    return values


def person(i: int) -> Person:
    return Person(Platform.SLACK, seed.TEAM, f"U0PROBE{i % PERSONS:03d}", "Sam Staff")


def address(p: Person) -> dict[str, str]:
    return {"channel": "D" + p.user_id[1:], "user": p.user_id}


def step_items(p: Person, key: str, now: datetime, question: Question) -> list[OutboxItem]:
    """What a step usually owes: a short notice and the next question."""
    replies: list[Reply] = [Notice("Got it."), question]
    return [
        outbox_item(p, Audience.PERSON, address(p), r, f"{key}:{n}", now)
        for n, r in enumerate(replies)
    ]


# -- the store --------------------------------------------------------------------------------


async def deliver_all(probe: Probe) -> None:
    """What the courier does after a post (untimed here): mark delivered, keep receipts."""
    far = probe.now + timedelta(days=1)
    items = await probe.store.claim(Platform.SLACK, "probe", far, timedelta(minutes=2), 1000)
    done = []
    for item in items:
        if item.audience == Audience.LEADERSHIP:
            post = Kept({"channel": seed.LEADERS, "ts": "1700000000.000001"}, item.id)
            key = receipt_key(Platform.SLACK, item.case_reference)
            done.append(Delivered(item.id, key, kept_doc([post])))
        else:
            done.append(Delivered(item.id))
    await probe.store.delivered(done)


async def measure_commits(probe: Probe, budget: Budget) -> None:
    conversation = codec.conversation_from_dict(copy.deepcopy(probe.sample.summary_conversation))
    question = Question("role", "What is your role?", progress="Part 8 of 9")
    delivered = Samples()

    async def run(i: int) -> float:
        p = person(i)
        conversation.person, conversation.updated_at = p, datetime.now(UTC)
        held = await probe.store.conversation(p.key)  # written over, as a turn does
        conversation.version = held.version if held else 0
        key = f"probe:{uuid.uuid4().hex}"
        items = step_items(p, key, probe.now, question)
        start = time.perf_counter()
        await probe.store.commit(UnitOfWork(p.key, conversation, key, outbox=items))
        took = time.perf_counter() - start
        start = time.perf_counter()
        await probe.store.delivered([Delivered(item.id) for item in items])
        delivered.add(time.perf_counter() - start)
        return took

    probe.results["commit"] = await repeat(budget, run)
    probe.results["delivered"] = delivered.values


def fresh_case(template: Case, reference: str, p: Person, now: datetime) -> Case:
    case = codec.case_from_dict(json.loads(json.dumps(codec.case_to_dict(template))))
    case.reference, case.created_at, case.reporter = reference, now, p
    case.conversation_id, case.version = uuid.uuid4().hex, 0
    case.status, case.status_times = CaseStatus.NEW, {"new": now}
    case.history = [HistoryEntry(now, p.name, "reported", new="new")]
    return case


async def measure_store_submissions(probe: Probe, budget: Budget) -> None:
    facts = Facts()

    async def run(i: int) -> float:
        p = person(i)
        ref = await probe.store.take_reference(probe.now.year)
        case = fresh_case(probe.sample.case, ref, p, probe.now)
        handoff = HandoffReply(build_handoff(case, facts, probe.now))
        replies: list[Reply] = [Notice("Thank you."), handoff]
        items = [
            outbox_item(p, Audience.PERSON, address(p), r, f"case:{ref}:reporter:{n}", probe.now)
            for n, r in enumerate(replies)
        ]
        lead = outbox_item(
            p, Audience.LEADERSHIP, {}, CaseCard(ref), f"case:{ref}:leadership", probe.now, ref
        )
        unit = UnitOfWork(p.key, None, f"probe:{ref}", cases=[case], outbox=[*items, lead])
        start = time.perf_counter()
        await probe.store.commit(unit)
        took = time.perf_counter() - start
        await deliver_all(probe)
        return took

    probe.results["submit_store"] = await repeat(budget, run)


async def measure_engine_submissions(probe: Probe, budget: Budget) -> None:
    """The whole submit turn: duplicate check, reference, case, replies, leadership card."""

    async def run(i: int) -> float:
        p = person(i)
        doc = copy.deepcopy(probe.sample.summary_conversation)
        conversation = codec.conversation_from_dict(doc)
        handle = f"probe.{uuid.uuid4().hex[:12]}"  # a new account: not a duplicate
        link = {"url": f"https://www.tiktok.com/@{handle}", "handle": handle, "label": handle}
        conversation.answers["links"] = [link]
        conversation.id, conversation.person = uuid.uuid4().hex, p
        held = await probe.store.conversation(p.key)
        conversation.version = held.version if held else 0
        conversation.updated_at = datetime.now(UTC)
        await probe.store.commit(UnitOfWork(p.key, conversation))
        turn = Turn(p, text="submit", delivery_id=f"probe:{uuid.uuid4().hex}", address=address(p))
        start = time.perf_counter()
        await probe.server.runtime.engine.handle(turn)
        took = time.perf_counter() - start
        await deliver_all(probe)
        return took

    probe.results["submit_engine"] = await repeat(budget, run)


async def measure_scans(probe: Probe, budget: Budget) -> None:
    """Work that reads many cases on the event loop: the open cases (leaders' list), reminders."""

    async def scan(i: int) -> float:
        start = time.perf_counter()
        await probe.store.cases(open_only=True)
        return time.perf_counter() - start

    probe.monitor.phase = "open-case scan"
    probe.results["open_scan"] = await repeat(budget, scan)
    reminders = Reminders(probe.store, Facts(), FakeClock(daytime_before(probe.now)))

    async def check(i: int) -> float:
        start = time.perf_counter()
        await reminders.check()
        return time.perf_counter() - start

    probe.monitor.phase = "reminders check"
    probe.results["reminders"] = await repeat(budget, check)
    school = Person(Platform.SLACK, seed.TEAM, "U0LEADER")
    every_case = FileReply(FileKind.CASES)

    async def export(i: int) -> float:  # a leader's `export`, made as the courier makes it
        start = time.perf_counter()
        await make_file(probe.store, Facts(), probe.now, every_case, school)
        return time.perf_counter() - start

    probe.monitor.phase = "leader's export file"
    probe.results["export_file"] = await repeat(budget, export)


def daytime_before(now: datetime) -> datetime:
    """The latest weekday 11:00 (UK) before `now`: reminders only run in the daytime."""
    uk = now.astimezone(ZoneInfo("Europe/London")).replace(hour=11, minute=0, second=0)
    while uk.weekday() >= 5 or uk > now:
        uk -= timedelta(days=1)
    return uk.astimezone(UTC)


# -- plain TinyDB -------------------------------------------------------------------------------


def measure_plain(
    path: Path, sample: seed.Sample, now: datetime, budget: Budget
) -> dict[str, list[float]]:
    """The same documents through TinyDB's default JSONStorage: one file, a write per call."""
    db = TinyDB(path)
    conversations, seen, outbox = db.table("conversations"), db.table("seen"), db.table("outbox")
    cases = db.table("cases")
    doc = sample.summary_conversation
    results: dict[str, list[float]] = {}
    question = Question("role", "What is your role?")

    def step(i: int, conversation: JSON | None) -> None:
        p = person(i)
        key = f"probe:{uuid.uuid4().hex}"
        if conversation is None:
            conversations.remove(where("person_key") == p.key)
        else:
            conversations.upsert(
                {"person_key": p.key, "conversation": conversation}, where("person_key") == p.key
            )
        seen.insert({"id": key, "at": now.isoformat()})
        items = step_items(p, key, now, question)
        outbox.insert_multiple([codec.outbox_to_dict(item) for item in items])

    def submit(i: int) -> None:
        ref = f"TT-{now.year}-P{i:05d}"
        cases.insert(codec.case_to_dict(fresh_case(sample.case, ref, person(i), now)))
        step(i, None)

    for name, work in (("plain_step", lambda i: step(i, doc)), ("plain_submit", submit)):
        values: list[float] = []
        start = time.perf_counter()
        for i in range(budget.count):
            if i >= budget.least and time.perf_counter() - start > budget.seconds:
                break
            begin = time.perf_counter()
            work(i)
            values.append(time.perf_counter() - begin)
        results[name] = values
    db.close()
    return results


# -- the probe ------------------------------------------------------------------------------------


async def run_probe(count: int, quick: bool) -> dict[str, Any]:
    now = datetime.now(UTC)
    sample = await seed.sample_report(now)
    with tempfile.TemporaryDirectory(prefix="reportbot-bench-") as tmp:
        data = Path(tmp) / "data"
        start = time.perf_counter()
        seeded = seed.seed_folder(data, sample.case, count, now, log)
        seed_s = time.perf_counter() - start
        results = await measure_server(data, sample, now, count, quick)
        results["seed_s"] = seed_s
        log(f"{count:,} cases: plain TinyDB with the same documents")
        plain = Path(tmp) / "plain.json"
        seed.seed_plain(plain, seeded)
        results["plain_file_mb"] = plain.stat().st_size / 2**20
        results.update(measure_plain(plain, sample, now, Budget(30, 6.0 if quick else 12.0, 1)))
    return results


async def measure_server(
    data: Path, sample: seed.Sample, now: datetime, count: int, quick: bool
) -> dict[str, Any]:
    monitor = LoopMonitor()
    monitor.start()
    gc.collect()
    before = rss_mb()
    monitor.phase = "open"
    start = time.perf_counter()
    server = await bot_server(data, bot_env(UNUSED_API))
    open_s = time.perf_counter() - start
    await server.runtime.couriers[Platform.SLACK].stop()  # the probe marks deliveries itself
    gc.collect()
    probe = Probe(server, sample, now, monitor)
    probe.results.update(
        count=count,
        open_s=open_s,
        rss_before_mb=before,
        rss_mb=rss_mb(),
        live_kb=live_size(data) / 1024,
    )
    # Each measure stops after `seconds` (having made at least a few runs): at 100,000 cases a
    # single write takes seconds, and the run must end in reasonable time.
    seconds, most = (4.0, 50) if quick else (8.0, 100)
    runs = (
        ("commit", measure_commits, Budget(2 * most, seconds, 5)),
        ("store submission", measure_store_submissions, Budget(most, seconds, 3)),
        ("engine submission", measure_engine_submissions, Budget(most, seconds, 3)),
        ("scans", measure_scans, Budget(most // 5, seconds, 3)),
    )
    try:
        for phase, measure, budget in runs:
            log(f"{count:,} cases: {phase}")
            monitor.phase = phase
            await measure(probe, budget)
        probe.results["rss_after_mb"] = rss_mb()
    finally:
        await monitor.stop()
        await server.close()
    probe.results["stall"] = monitor.worst
    probe.results["gc"] = monitor.gc_worst
    return probe.results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("count", type=int)
    parser.add_argument("--out", type=Path, help="write the figures here (default: stdout)")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # e.g. the Teams development-mode banner
    results = json.dumps(asyncio.run(run_probe(args.count, args.quick)))
    if args.out:
        args.out.write_text(results, encoding="utf-8")
    else:
        print(results)


if __name__ == "__main__":
    main()

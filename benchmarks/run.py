"""Benchmark: the bot's server against minimal Slack and Teams apps, its storage by size, and
many people at once on one or two instances (TinyDB, Postgres).

    .venv/bin/python -m benchmarks.run [--quick]

Prints the machine, then one table per section and the targets with PASS/MISS. Everything runs
on 127.0.0.1 and stops by itself; progress goes to stderr. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.chat import FIGURES, USERS, ChatPlan, ChatResults, run_chat
from benchmarks.instances import (
    InstancesPlan,
    TargetRun,
    instances_table,
    instances_targets,
    run_instances,
)
from benchmarks.machine import describe
from benchmarks.report import (
    RATIO_LIMIT,
    STALL_LIMIT_MS,
    STEP_LIMIT,
    SUBMIT_LIMIT_MS,
    Comparison,
    Table,
    comparison_table,
    first_rows,
    ms,
    report_rows,
    serving_stall,
    storage_table,
    times,
    verdict,
)
from benchmarks.slack_load import journey
from benchmarks.stats import Samples, WarningCounter
from benchmarks.storage_probe import PROBE_PREFIX

CHAT_CASES = 10_000  # stored while sections 1–3 run (the targets' size)
SIZES_FULL = (100, 1_000, 10_000, 100_000)
SIZES_QUICK = (100, 1_000, 10_000)
PEOPLE = 200  # at once, in section 5
QUICK_STEPS = 6  # with --quick, each of them takes only a report's first steps
STARTED = time.perf_counter()


def progress(message: str) -> None:
    print(f"[{time.perf_counter() - STARTED:5.0f}s] {message}", file=sys.stderr, flush=True)


# -- section 4: one subprocess per size ----------------------------------------------------------


def storage_probe(count: int, quick: bool) -> dict[str, Any]:
    """Run one size in a fresh process, relaying its progress; returns its figures."""
    progress(f"storage: {count:,} cases, in a fresh process")
    with tempfile.TemporaryDirectory(prefix="reportbot-bench-") as tmp:
        out = Path(tmp) / "result.json"
        command = [sys.executable, "-m", "benchmarks.storage_probe", str(count), "--out", str(out)]
        with subprocess.Popen(
            [*command, "--quick"] if quick else command, stderr=subprocess.PIPE, text=True
        ) as child:
            assert child.stderr is not None
            tail = [progress_line(line) for line in child.stderr]
        if child.returncode != 0:
            raise RuntimeError(f"storage probe {count} failed:\n{''.join(tail[-40:])}")
        result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return result


def progress_line(line: str) -> str:
    if line.startswith(PROBE_PREFIX):
        progress(line.removeprefix(PROBE_PREFIX).rstrip())
    return line


# -- tables -------------------------------------------------------------------------------------


def slack_tables(chat: ChatResults) -> tuple[list[Table], list[Comparison]]:
    bot, bolt = chat.slack_first["reportbot"], chat.slack_first["minimal Bolt"]
    first = first_rows(bot, bolt, "DM prompt")
    one = comparison_table(
        f"1. Slack /report-tiktok from a new user (with a link): {len(bot)} commands, {USERS} "
        f"at a time, {chat.cases:,} cases stored",
        "minimal Bolt",
        [(first[0], False), (first[1], True), (first[2], False)],
    )
    steps, pooled = report_rows(chat.slack_report["reportbot"], chat.slack_report["minimal Bolt"])
    two = comparison_table(
        f"2. Slack whole report: {len(chat.slack_report['reportbot'])} reports, {USERS} users at "
        f"a time; each step until its whole reply reaches Slack",
        "minimal Bolt",
        [(s, False) for s in steps]
        + [(pooled[0], False), (pooled[1], False), (pooled[2], True), (pooled[3], False)],
    )
    return [one, two], [first[1], pooled[2]]


def teams_tables(chat: ChatResults) -> tuple[list[Table], list[Comparison]]:
    bot, echo = chat.teams_first["reportbot"], chat.teams_first["minimal echo"]
    first = first_rows(bot, echo, "card")
    tables = [
        comparison_table(
            f"3a. Teams personal chat, a new user's first message: {len(bot)} users, {USERS} at a "
            f"time, {chat.cases:,} cases stored",
            "minimal echo",
            [(first[0], False), (first[1], True), (first[2], False)],
        )
    ]
    judged = [first[1]]
    if not chat.teams_report:
        tables[0].notes.append("whole Teams reports (3b) are skipped with --quick")
        return tables, judged
    steps, pooled = report_rows(chat.teams_report["reportbot"], chat.teams_report["minimal echo"])
    tables.append(
        comparison_table(
            f"3b. Teams whole report: {len(chat.teams_report['reportbot'])} reports, {USERS} at a "
            "time; each step until its whole reply reaches the Bot Connector",
            "minimal echo",
            [(s, False) for s in steps] + [(p, p in pooled[2:]) for p in pooled],
        )
    )
    judged += pooled[2:]  # every step's whole reply, and the whole report per user
    return tables, judged


# -- targets --------------------------------------------------------------------------------------


def target_table(
    chat: ChatResults | None,
    storage: dict[int, dict[str, Any]],
    judged: list[tuple[str, Comparison]],
    instances: list[TargetRun],
) -> Table:
    table = Table("Targets", ["target", "measured", "verdict"])
    for label, c in judged:
        r50, r99 = c.ratios
        table.add(label, f"p50 {times(r50)}, p99 {times(r99)}", verdict(c.within(RATIO_LIMIT)))
    if 100 in storage and CHAT_CASES in storage:
        step_target(table, storage)
        submit_target(table, storage)
    if chat is not None:
        serving_target(table, chat)
    if storage:
        storage_stall_target(table, storage)
    instances_targets(table, instances)
    return table


def step_target(table: Table, storage: dict[int, dict[str, Any]]) -> None:
    small, big = Samples(storage[100]["commit"]), Samples(storage[CHAT_CASES]["commit"])
    grown = big.p50 / small.p50
    table.add(
        "step cost (commit p50) 10,000 vs 100 ≤1.2×",
        f"{ms(big.p50)} vs {ms(small.p50)} ms = {grown:.1f}× (p99 {big.p99 / small.p99:.1f}×)",
        verdict(grown <= STEP_LIMIT),
    )
    if 100_000 in storage:
        huge = Samples(storage[100_000]["commit"])
        table.add(
            "  reported: at 100,000 vs 100",
            f"{ms(huge.p50)} ms = {huge.p50 / small.p50:.1f}× (p99 {ms(huge.p99)} ms)",
            "",
        )


def submit_target(table: Table, storage: dict[int, dict[str, Any]]) -> None:
    for label, key in (
        ("submission p99 <50 ms: take_reference + commit", "submit_store"),
        ("submission p99 <50 ms: whole submit turn", "submit_engine"),
    ):
        p99 = Samples(storage[CHAT_CASES][key]).p99
        table.add(label, f"{ms(p99)} ms at 10,000", verdict(p99 * 1000 < SUBMIT_LIMIT_MS))


def serving_target(table: Table, chat: ChatResults) -> None:
    stalls: dict[str, float] = chat.bot["stall"]
    serving = {k: v for k, v in stalls.items() if k not in ("start-up", FIGURES)}
    teams = {k: v for k, v in serving.items() if k.startswith("teams")}
    for label, phases in (("bot serving (sections 1–3)", serving), ("the Teams path", teams)):
        phase = max(phases, key=lambda k: phases[k], default="")
        worst = phases.get(phase, 0.0)
        gc_worst = max((chat.bot["gc"].get(k, 0.0) for k in phases), default=0.0)
        table.add(
            f"loop stall <50 ms: {label}",
            f"{ms(worst)} ms ({phase}); full GC up to {ms(gc_worst)} ms",
            verdict(worst * 1000 < STALL_LIMIT_MS),
        )


def storage_stall_target(table: Table, storage: dict[int, dict[str, Any]]) -> None:
    by_size = {n: serving_stall(r["stall"]) for n, r in storage.items() if n <= CHAT_CASES}
    worst_n = max(by_size, key=lambda n: by_size[n])
    table.add(
        "loop stall <50 ms: storage work ≤10,000",
        f"{ms(by_size[worst_n])} ms (at {worst_n:,} cases)",
        verdict(by_size[worst_n] * 1000 < STALL_LIMIT_MS),
    )
    if 100_000 in storage:
        table.add(
            "  reported: storage work at 100,000",
            f"{ms(serving_stall(storage[100_000]['stall']))} ms",
            "",
        )


# -- main -----------------------------------------------------------------------------------------


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="stop at 10,000 cases; fewer rounds")
    parser.add_argument(
        "--only",
        choices=("chat", "storage", "instances"),
        help="run sections 1–3, section 4 or section 5 alone",
    )
    parser.add_argument(
        "--chat-cases", type=int, default=CHAT_CASES, help="cases stored for sections 1–3"
    )
    parser.add_argument(
        "--people", type=int, default=PEOPLE, help="people reporting at once in section 5"
    )
    return parser.parse_args()


def plan(args: argparse.Namespace) -> ChatPlan:
    if args.quick:
        return ChatPlan(args.chat_cases, 0, 1, 1, 0, section_budget=0.0)
    return ChatPlan(args.chat_cases, 3, 1, 2, 1, section_budget=45.0)


def instances_plan(args: argparse.Namespace) -> InstancesPlan:
    return InstancesPlan(args.people, QUICK_STEPS if args.quick else len(journey(True)))


def print_header(quick: bool) -> None:
    lines = [
        f"reportbot benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
        + (" (--quick)" if quick else ""),
        *describe(),
        "Everything on 127.0.0.1. Sections 1–3: the bot's server (adapters.server.build_app on an "
        "AppRunner), the minimal Bolt app and the minimal echo bot each run in a process of their "
        "own; the users and the Slack Web API / Bot Connector stand-ins (tests/*_fakes.py) in "
        f"this one. {USERS} users at a time. Section 5: the same server, one or two of them, on "
        "TinyDB or a throw-away Postgres (fsync on), with many people at once.",
    ]
    print("\n".join(lines), flush=True)


def print_chat(chat: ChatResults, counter: WarningCounter) -> list[tuple[str, Comparison]]:
    slack, slack_judged = slack_tables(chat)
    teams, teams_judged = teams_tables(chat)
    for table in [*slack, *teams]:
        print("\n" + table.render())
    print(
        f"  Reports filed: {chat.filed}. Bot server RSS after sections 1–3: "
        f"{chat.bot['rss_mb']:,.0f} MiB. Worst loop stall of the users' process: "
        f"{ms(chat.driver_stall)} ms."
    )
    warnings = Counter(chat.bot["warnings"]) + counter.seen
    for message, count in warnings.most_common(6):
        print(f"  log warning ×{count}: {message}")
    where = f"{chat.cases:,} cases"
    return [
        (f"Slack first DM prompt ≤1.5× Bolt ({where})", slack_judged[0]),
        (f"Slack every reply ≤1.5× Bolt ({where})", slack_judged[1]),
        *((f"Teams ≤1.5× the echo bot: {c.label}", c) for c in teams_judged),
    ]


def main() -> None:
    args = arguments()
    counter = WarningCounter()
    logging.basicConfig(level=logging.WARNING, handlers=[counter])
    print_header(args.quick)
    wanted = {args.only} if args.only else {"chat", "storage", "instances"}
    chat = asyncio.run(run_chat(plan(args), progress)) if "chat" in wanted else None
    sizes = SIZES_QUICK if args.quick else SIZES_FULL
    storage = {n: storage_probe(n, args.quick) for n in sizes} if "storage" in wanted else {}
    at_once = instances_plan(args)
    instances = asyncio.run(run_instances(at_once, progress)) if "instances" in wanted else []
    judged = print_chat(chat, counter) if chat is not None else []
    if storage:
        print("\n" + storage_table(storage).render())
    if instances:
        print("\n" + instances_table(instances, at_once).render())
    print("\n" + target_table(chat, storage, judged, instances).render())
    print(f"Run time: {time.perf_counter() - STARTED:.0f} s")


if __name__ == "__main__":
    main()

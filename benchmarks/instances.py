"""Section 5: many people reporting at once, against one TinyDB instance, one instance on
Postgres, and two instances on Postgres behind a round robin (request n goes to instance
n mod 2, as a load balancer alternates).

Each instance is the bot's own server in a process of its own (`benchmarks.serve_child`), its
store empty at the start; the Postgres is a throw-away cluster started here, with fsync on
(every commit waits for its write-ahead log to reach the disk, as in production). The people
and the Slack stand-in live in this process. Every person files a whole report at once with
the others, pressing the buttons the bot sent them, each step as soon as the last one's whole
reply has arrived.

"No step acknowledged before it is stored" is checked three ways: for a sample of steps, the
store is asked right after the 200 whether it has the step's delivery id (for two instances,
the instance that did not answer is asked: the database is shared); at the end, every
acknowledged delivery id is looked up; and the bot's own warning, logged when the listener
acknowledges Slack before the step is stored (its 2.5 s budget ran out), is counted.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import aiohttp

from benchmarks.arrivals import StepTiming, timed_step
from benchmarks.chat import Child, start_child, together
from benchmarks.report import Table, ms, pair, pick, verdict
from benchmarks.slack_load import TimedSlack, journey, link_for
from benchmarks.stats import LoopMonitor, Samples, cpu_seconds
from scripts.instances import throwaway_cluster
from storage.postgres.migrate import migrate_url
from tests.slack_fakes import dm_channel
from tests.slack_steps import StepRequest, offering, step_request

JSONDict = dict[str, Any]
SAMPLE_EVERY = 8  # one step in this many is checked for being stored when its 200 comes
EARLY_ACK = "acknowledged Slack before the step finished"  # adapters/slack/listeners.py
ROUND_LIMIT = 600.0  # seconds: a target whose round takes longer fails, rather than hangs
Progress = Callable[[str], None]


@dataclass(frozen=True)
class InstancesPlan:
    people: int  # at once
    steps: int  # of a report each person takes: all of it (len(journey(True))), or its start

    @property
    def journey(self) -> list[tuple[str, str]]:
        return journey(True)[: self.steps]

    @property
    def whole(self) -> bool:
        return self.steps >= len(journey(True))


@dataclass
class TargetRun:
    """One target's figures."""

    name: str
    timings: list[list[StepTiming]] = field(default_factory=list)  # per person
    wall: float = 0.0  # seconds from the first request to the last whole reply
    acked: list[str] = field(default_factory=list)  # delivery ids that got a 200
    sampled: int = 0
    unstored_at_ack: list[str] = field(default_factory=list)
    missing_at_end: list[str] = field(default_factory=list)
    early_acks: int = 0  # the bot's own warnings that it acknowledged before storing
    filed: int = 0  # reports filed in the round
    stall: float = 0.0  # the longest loop stall of any of its instances while serving
    cpu: float = 0.0  # CPU seconds its instances used during the round, together
    driver_cpu: float = 0.0  # CPU seconds the people's (and Slack's) process used meanwhile
    driver_stall: float = 0.0  # the longest loop stall of the people's (and Slack's) process
    load: float = 0.0  # the machine's 1-minute load average as its round began

    @property
    def steps(self) -> int:
        return sum(len(t) for t in self.timings)

    @property
    def stored_before_ack(self) -> bool:
        return not (self.unstored_at_ack or self.missing_at_end or self.early_acks)


@dataclass
class Target:
    """The instances under test, the stand-in they post to, and the people's session."""

    run: TargetRun
    children: list[Child]
    slack: TimedSlack
    session: aiohttp.ClientSession
    _turn: itertools.count[int] = field(default_factory=itertools.count)
    _checks: list[asyncio.Task[None]] = field(default_factory=list)

    async def control(self, child: Child, path: str, body: Any = None) -> Any:
        url = f"{child.control}{path}"
        method = self.session.post(url, json=body) if body is not None else self.session.get(url)
        async with method as response:
            return await response.json()

    async def idle(self, limit: float = 300.0) -> None:
        async with asyncio.timeout(limit):
            while not (await self.control(self.children[0], "/idle?platform=slack"))["idle"]:  # noqa: ASYNC110
                await asyncio.sleep(0.05)

    async def send(self, request: StepRequest, sample: bool) -> None:
        """To the next instance in turn; a sampled step's delivery id is then looked up at
        another instance (the same one when there is only one)."""
        n = next(self._turn)
        child = self.children[n % len(self.children)]
        async with self.session.post(
            f"{child.url}/slack/events", data=request.body, headers=request.headers()
        ) as response:
            await response.read()
            if response.status != 200:
                raise RuntimeError(f"{self.run.name}: HTTP {response.status} from /slack/events")
        self.run.acked.append(request.delivery_id)
        if sample:
            other = self.children[(n + 1) % len(self.children)]
            self._checks.append(asyncio.create_task(self._stored(other, request.delivery_id)))

    async def _stored(self, child: Child, delivery_id: str) -> None:
        self.run.sampled += 1
        if await self.control(child, "/unseen", [delivery_id]):
            self.run.unstored_at_ack.append(delivery_id)

    async def checks_done(self) -> None:
        await asyncio.gather(*self._checks)

    async def person(
        self, n: int, steps: list[tuple[str, str]], expected: list[int]
    ) -> list[StepTiming]:
        """`steps` of a report, each timed until its whole reply (`expected[i]` DMs) arrived."""
        user = person_id(n)
        question: JSONDict | None = None
        timings: list[StepTiming] = []
        for i, (how, what) in enumerate(steps):
            text = link_for(user) if how == "command" else what
            request = step_request(user, i, how, text, question)
            sample = (n + i) % SAMPLE_EVERY == 0
            name = "/report-tiktok" if how == "command" else f"{how} {what}"
            send = partial(self.send, request, sample)
            dm = dm_channel(user)
            timings.append(await timed_step(name, send, self.slack.arrivals, dm, expected[i]))
            if i + 1 < len(steps) and steps[i + 1][0] == "press":
                question = offering(self.slack.dm(user), steps[i + 1][1])
        return timings


def person_id(n: int) -> str:
    return f"U0P{n:03d}"


async def calibrate(target: Target, user: str, steps: list[tuple[str, str]]) -> list[int]:
    """How many DM messages each step brings (one person alone, waiting for quiet each time)."""
    target.slack.add_user(user)
    counts: list[int] = []
    question: JSONDict | None = None
    for i, (how, what) in enumerate(steps):
        before = target.slack.arrivals.count(dm_channel(user))
        text = link_for(user) if how == "command" else what
        await target.send(step_request(user, i, how, text, question), sample=False)
        await target.idle()
        counts.append(target.slack.arrivals.count(dm_channel(user)) - before)
        if i + 1 < len(steps) and steps[i + 1][0] == "press":
            question = offering(target.slack.dm(user), steps[i + 1][1])
    return counts


async def measure(target: Target, plan: InstancesPlan, progress: Progress) -> None:
    run = target.run
    progress(f"instances: {run.name}: calibrating with one person (and warming up)")
    expected = await calibrate(target, "U0CALIBRATE", plan.journey)
    for n in range(plan.people):
        target.slack.add_user(person_id(n))
    progress(f"instances: {run.name}: {plan.people} people reporting at once")
    for child in target.children:
        await target.control(child, "/phase", {"phase": "serving"})
        stats = await target.control(child, "/stats")
        run.cpu -= stats["cpu_s"]
    run.filed = -stats["cases"]  # one store, however many instances
    run.load = os.getloadavg()[0]
    driver = LoopMonitor(freeze=True)
    driver.start()
    start, cpu = time.perf_counter(), cpu_seconds()
    try:
        async with asyncio.timeout(ROUND_LIMIT):
            people = (target.person(n, plan.journey, expected) for n in range(plan.people))
            run.timings = list(await asyncio.gather(*people))
    finally:
        run.wall, run.driver_cpu = time.perf_counter() - start, cpu_seconds() - cpu
        await driver.stop()
    run.driver_stall = driver.overall
    await target.idle()
    await target.checks_done()
    await collect(target)


async def collect(target: Target) -> None:
    """After the round: every acknowledged id looked up, and each instance's own figures."""
    run, first = target.run, target.children[0]
    for at in range(0, len(run.acked), 500):
        run.missing_at_end += await target.control(first, "/unseen", run.acked[at : at + 500])
    for child in target.children:
        await target.control(child, "/phase", {"phase": "figures"})
        stats = await target.control(child, "/stats")
        run.cpu += stats["cpu_s"]
        run.stall = max(run.stall, stats["stall"].get("serving", 0.0))
        run.early_acks += sum(n for k, n in stats["warnings"].items() if EARLY_ACK in k)
    run.filed += stats["cases"]


async def run_target(
    name: str, plan: InstancesPlan, progress: Progress, *, instances: int, data: Path, url: str
) -> TargetRun:
    slack = TimedSlack()
    api_url = await slack.start()
    connector = aiohttp.TCPConnector(limit=0)  # people do not queue behind a client pool
    session = aiohttp.ClientSession(connector=connector)
    children: list[Child] = []
    try:
        children = await together(
            [start_child("bot", api_url, data / f"i{n}", url) for n in range(instances)]
        )
        target = Target(TargetRun(name), children, slack, session)
        await measure(target, plan, progress)
        return target.run
    finally:
        await together([c.close() for c in children])
        await session.close()
        await slack.close()


async def run_instances(plan: InstancesPlan, progress: Progress) -> list[TargetRun]:
    """(a) one TinyDB instance, (b) one on Postgres, (c) two on Postgres, one after another."""
    with tempfile.TemporaryDirectory(prefix="reportbot-bench-") as tmp:
        folder = Path(tmp)
        progress("instances: starting a throw-away Postgres (fsync on)")
        async with throwaway_cluster(fsync=True) as databases:
            urls = [await databases.create(name) for name in ("bench_one", "bench_two")]
            for url in urls:
                await migrate_url(url)
            kinds = [("one instance, TinyDB", 1, ""), ("one instance, Postgres", 1, urls[0])]
            kinds.append(("two instances, Postgres", 2, urls[1]))
            return [
                await run_target(name, plan, progress, instances=n, data=folder / f"t{i}", url=url)
                for i, (name, n, url) in enumerate(kinds)
            ]


# -- the figures ----------------------------------------------------------------------------------

ACK_LIMIT = 1.0  # seconds: two instances acknowledge at p99 within this


def instances_table(runs: list[TargetRun], plan: InstancesPlan) -> Table:
    each = (
        f"each a whole report ({plan.steps} steps)"
        if plan.whole
        else f"each the first {plan.steps} steps of a report"
    )
    table = Table(
        f"5. {plan.people} people reporting at once, {each}; every store empty at the start",
        ["ms, p50 / p99", *(r.name for r in runs)],
    )

    def row(label: str, cell: Callable[[TargetRun], str]) -> None:
        table.add(label, *(cell(r) for r in runs))

    row("acknowledged (HTTP response)", lambda r: pair(pick(flat(r), "ack")))
    row("first reply reaches the stand-in", lambda r: pair(pick(flat(r), "first")))
    row("every step's whole reply", lambda r: pair(pick(flat(r), "last")))
    row(
        f"{'whole report' if plan.whole else 'those steps'}, per person (s)",
        lambda r: seconds(report_times(r)),
    )
    row("throughput (steps/s)", lambda r: f"{r.steps / r.wall:,.0f}" if r.wall else "–")
    row("steps answered / reports filed", lambda r: f"{r.steps:,} / {r.filed}")
    row("stored before acknowledged", stored_cell)
    row("instances' CPU per step, together", lambda r: per_step(r.cpu, r))
    row("people's process CPU per step", lambda r: per_step(r.driver_cpu, r))
    row("longest loop stall of an instance", lambda r: ms(r.stall))
    row("longest loop stall, people's process", lambda r: ms(r.driver_stall))
    row("machine load average as it began", lambda r: f"{r.load:.1f}")
    table.notes += [
        "Postgres: a throw-away cluster on this machine, fsync on. Two instances: requests "
        "alternate between them (round robin), each with its own connection pool.",
        f"Stored before acknowledged: sampled steps (1 in {SAMPLE_EVERY}) looked up when their "
        "200 came (at the other instance, for two) / every acknowledged step at the end / the "
        "bot's own warnings that it acknowledged before storing.",
    ]
    return table


def instances_targets(table: Table, runs: list[TargetRun]) -> None:
    two = next((r for r in runs if r.name.startswith("two")), None)
    if two is None:
        return
    p99 = pick(flat(two), "ack").p99
    others = ", ".join(f"{r.name} {ms(pick(flat(r), 'ack').p99)}" for r in runs if r is not two)
    table.add(
        f"two instances: acknowledgement p99 < {ACK_LIMIT:g} s",
        f"{ms(p99)} ms ({others} ms)",
        verdict(p99 < ACK_LIMIT),
    )
    table.add(
        "two instances: no step acknowledged before it is stored",
        stored_cell(two),
        verdict(two.stored_before_ack),
    )


def per_step(cpu: float, run: TargetRun) -> str:
    return ms(cpu / run.steps) if run.steps else "–"


def flat(run: TargetRun) -> list[StepTiming]:
    return [t for person in run.timings for t in person]


def report_times(run: TargetRun) -> Samples:
    return Samples([sum(t.last for t in person) for person in run.timings])


def seconds(samples: Samples) -> str:
    return f"{samples.p50:.1f} / {samples.p99:.1f}"


def stored_cell(run: TargetRun) -> str:
    return (
        f"{run.sampled - len(run.unstored_at_ack)}/{run.sampled} at the 200, "
        f"{len(run.acked) - len(run.missing_at_end):,}/{len(run.acked):,} at the end, "
        f"{run.early_acks} warnings"
    )

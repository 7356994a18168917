"""Sections 1–3: the bot's server against the minimal Bolt app and the minimal echo bot.

This process is the outside world: the Slack Web API and Bot Connector stand-ins and the users.
Each server under test runs in a process of its own (`benchmarks.serve_child`) on 127.0.0.1:
the bot over a data folder holding the seeded cases, or one of the minimal apps. Targets take
turns, round by round, the order alternating, so drift in the machine falls on both alike.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import aiohttp

from benchmarks import seed
from benchmarks.arrivals import StepTiming
from benchmarks.servers import Served, serve
from benchmarks.slack_load import SlackTarget, TimedSlack, journey, walk
from benchmarks.stats import LoopMonitor
from benchmarks.teams_load import (
    ANSWERS,
    LINK,
    TENANT,
    Step,
    TeamsTarget,
    TimedConnector,
    bot_added_to_team,
    chat_of,
    teams_user,
)
from tests.slack_fakes import dm_channel

USERS = 20  # at a time
T = TypeVar("T")
Progress = Callable[[str], None]


@dataclass(frozen=True)
class ChatPlan:
    """Rounds of USERS users per section (at most), and the seconds after which a section
    starts no further round (it always runs its first)."""

    cases: int
    slack_first_rounds: int
    slack_report_rounds: int
    teams_first_rounds: int
    teams_report_rounds: int
    section_budget: float


@dataclass
class ChatResults:
    """Per target name: every user's step timings, by section; the bot process's figures."""

    slack_first: dict[str, list[StepTiming]] = field(default_factory=dict)
    slack_report: dict[str, list[list[StepTiming]]] = field(default_factory=dict)
    teams_first: dict[str, list[StepTiming]] = field(default_factory=dict)
    teams_report: dict[str, list[list[StepTiming]]] = field(default_factory=dict)
    bot: dict[str, Any] = field(default_factory=dict)  # stall, gc, rss_mb, warnings
    driver_stall: float = 0.0
    filed: int = 0
    cases: int = 0  # stored when the run began


def rounds(limit: int, budget: float) -> Iterator[int]:
    start = time.perf_counter()
    for r in range(limit):
        if r and time.perf_counter() - start > budget:
            return
        yield r


async def together(work: list[Awaitable[T]]) -> list[T]:
    return list(await asyncio.gather(*work))


# -- the servers under test, each in its own process --------------------------------------------


@dataclass
class Child:
    process: asyncio.subprocess.Process
    url: str
    control: str

    async def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()  # the child stops when its stdin closes
        try:
            await asyncio.wait_for(self.process.wait(), 30)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()


async def start_child(
    kind: str, slack_api: str, data: Path | None = None, database_url: str = ""
) -> Child:
    extra = ["--data", str(data)] if data else []
    extra += ["--database-url", database_url] if database_url else []
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "benchmarks.serve_child", kind, "--slack-api", slack_api, *extra),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), 300)
    if not line:
        raise RuntimeError(f"the {kind} server did not start (see its error above)")
    info = json.loads(line)
    return Child(process, info["url"], info["control"])


@dataclass
class Rig:
    """Everything that is listening, and the users' HTTP session."""

    bot: Child
    bolt: Child
    echo: Child
    slack: TimedSlack
    connector: TimedConnector
    connector_served: Served
    session: aiohttp.ClientSession

    @property
    def service_url(self) -> str:
        return self.connector_served.url + "/"

    async def control(self, path: str, body: dict[str, str] | None = None) -> Any:
        url = f"{self.bot.control}{path}"
        method = self.session.post(url, json=body) if body else self.session.get(url)
        async with method as response:
            return await response.json()

    async def idle(self, platform: str, limit: float = 120.0) -> None:
        """Wait until the bot has delivered everything it owes on `platform`."""
        async with asyncio.timeout(limit):
            while not (await self.control(f"/idle?platform={platform}"))["idle"]:  # noqa: ASYNC110
                await asyncio.sleep(0.01)

    async def phase(self, name: str) -> None:
        await self.control("/phase", {"phase": name})


async def start_rig(data: Path) -> Rig:
    slack = TimedSlack()
    api_url = await slack.start()
    connector = TimedConnector()
    connector_served = await serve(connector.app())
    bot, bolt, echo = await together(
        [
            start_child("bot", api_url, data),
            start_child("bolt", api_url),
            start_child("echo", api_url),
        ]
    )
    return Rig(bot, bolt, echo, slack, connector, connector_served, aiohttp.ClientSession())


async def stop_rig(rig: Rig) -> None:
    await together([rig.bot.close(), rig.bolt.close(), rig.echo.close()])
    await rig.session.close()
    await rig.connector_served.close()
    await rig.slack.close()


# -- Slack --------------------------------------------------------------------------------------


def slack_targets(rig: Rig, bot_expected: list[int]) -> list[SlackTarget]:
    bot = SlackTarget("reportbot", rig.bot.url, rig.slack, rig.session, bot_expected, True)
    steps = len(journey(True))
    bolt = SlackTarget("minimal Bolt", rig.bolt.url, rig.slack, rig.session, [1] * steps, False)
    return [bot, bolt]


async def calibrate_slack(rig: Rig, user: str) -> list[int]:
    """How many DM messages each step brings from the bot (one user, one step at a time)."""
    rig.slack.add_user(user)
    probe = SlackTarget("reportbot", rig.bot.url, rig.slack, rig.session, [], True)
    counts = []
    for how, what in journey(True):
        before = rig.slack.arrivals.count(dm_channel(user))
        await probe.sender(user, how, what)()
        await rig.idle("slack")
        counts.append(rig.slack.arrivals.count(dm_channel(user)) - before)
    return counts


async def slack_round(
    rig: Rig, target: SlackTarget, tag: str, whole: bool
) -> list[list[StepTiming]]:
    users = [f"U0{tag}{i:02d}" for i in range(USERS)]
    for user in users:
        rig.slack.add_user(user)
    await rig.phase(f"slack {'report' if whole else 'first DM'} / {target.name}")
    timings = await together([walk(target, user, whole) for user in users])
    await rig.idle("slack")
    if not whole and target.real_buttons:  # leave no half-made reports behind
        await together([target.sender(u, "say", "cancel")() for u in users])
        await rig.idle("slack")
    return timings


async def slack_sections(rig: Rig, plan: ChatPlan, out: ChatResults, progress: Progress) -> None:
    progress("slack: calibrating (one user, step by step) and warming up")
    targets = slack_targets(rig, await calibrate_slack(rig, "U0CALIBRATE"))
    await slack_round(rig, targets[1], "WARM", True)
    for r in rounds(plan.slack_first_rounds, plan.section_budget):
        progress(f"slack /report-tiktok, round {r + 1} of at most {plan.slack_first_rounds}")
        for target in targets[:: 1 if r % 2 == 0 else -1]:
            timings = await slack_round(rig, target, f"F{target.name[0].upper()}{r:02d}", False)
            out.slack_first.setdefault(target.name, []).extend(t[0] for t in timings)
    for r in rounds(plan.slack_report_rounds, plan.section_budget):
        progress(f"slack whole report, round {r + 1} of at most {plan.slack_report_rounds}")
        for target in targets[:: 1 if r % 2 == 0 else -1]:
            timings = await slack_round(rig, target, f"R{target.name[0].upper()}{r:02d}", True)
            out.slack_report.setdefault(target.name, []).extend(timings)
            # A report's first step is the same fresh /report-tiktok: section 1 counts it too.
            out.slack_first.setdefault(target.name, []).extend(t[0] for t in timings)


# -- Teams --------------------------------------------------------------------------------------


async def install_in_leadership_team(rig: Rig) -> None:
    """The school adds the bot to its leadership team, so case cards have somewhere to go."""
    activity = bot_added_to_team(rig.service_url)
    async with rig.session.post(f"{rig.bot.url}/api/messages", json=activity) as response:
        if response.status != 200:
            raise RuntimeError(f"installing the Teams bot: HTTP {response.status}")
    await rig.idle("teams")


async def calibrate_teams(rig: Rig, user: dict[str, str]) -> tuple[list[Step], list[int]]:
    """The bot's script for a whole report, and how many cards each step brings."""
    probe = TeamsTarget(
        "reportbot", rig.bot.url, rig.connector, rig.service_url, rig.session, [], [], True
    )
    script: list[Step] = [("say", "report"), ("say", LINK), ("press", "done")]
    counts: list[int] = []
    key = f"teams:{TENANT}:{user['id']}"
    for index in range(len(ANSWERS) + 5):
        if index >= len(script):
            step = (await rig.control(f"/conversation?key={key}"))["step"]
            if step in (None, "end"):  # filed
                return script, counts
            kind, answer = ANSWERS[step]
            script.append(("say" if kind == "type" else kind, answer))
        before = rig.connector.arrivals.count(chat_of(user))
        await probe.sender(user, script[index])()
        await rig.idle("teams")
        counts.append(rig.connector.arrivals.count(chat_of(user)) - before)
    raise RuntimeError("the Teams report did not finish")


async def teams_round(
    rig: Rig, target: TeamsTarget, tag: str, whole: bool
) -> list[list[StepTiming]]:
    users = [teams_user(f"{tag}{i:02d}") for i in range(USERS)]
    await rig.phase(f"teams {'report' if whole else 'first message'} / {target.name}")
    steps = len(target.script) if whole else 1
    timings = await together([target.walk(user, steps) for user in users])
    await rig.idle("teams")
    if not whole and target.real_cards:
        await together([target.sender(u, ("say", "cancel"))() for u in users])
        await rig.idle("teams")
    return timings


async def teams_sections(rig: Rig, plan: ChatPlan, out: ChatResults, progress: Progress) -> None:
    progress("teams: calibrating (one user, step by step) and warming up")
    await install_in_leadership_team(rig)
    script, counts = await calibrate_teams(rig, teams_user("calibrate"))
    url, connector, service, session = rig.bot.url, rig.connector, rig.service_url, rig.session
    bot = TeamsTarget("reportbot", url, connector, service, session, counts, script, True)
    ones = [1] * len(script)
    echo = TeamsTarget(
        "minimal echo", rig.echo.url, connector, service, session, ones, script, False
    )
    targets = [bot, echo]
    await teams_round(rig, echo, "warm", True)
    for r in rounds(plan.teams_first_rounds, plan.section_budget):
        progress(f"teams first message, round {r + 1} of at most {plan.teams_first_rounds}")
        for target in targets[:: 1 if r % 2 == 0 else -1]:
            timings = await teams_round(rig, target, f"f{target.name[0]}{r:02d}", False)
            out.teams_first.setdefault(target.name, []).extend(t[0] for t in timings)
    for r in rounds(plan.teams_report_rounds, plan.section_budget):
        progress(f"teams whole report, round {r + 1} of at most {plan.teams_report_rounds}")
        for target in targets[:: 1 if r % 2 == 0 else -1]:
            timings = await teams_round(rig, target, f"r{target.name[0]}{r:02d}", True)
            out.teams_report.setdefault(target.name, []).extend(timings)
            out.teams_first.setdefault(target.name, []).extend(t[0] for t in timings)


FIGURES = "collecting figures"  # the benchmark's own /stats call, not the bot serving


# -- the whole of sections 1–3 -------------------------------------------------------------------


async def run_chat(plan: ChatPlan, progress: Progress) -> ChatResults:
    out = ChatResults(cases=plan.cases)
    sample = await seed.sample_report(datetime.now(UTC))
    with tempfile.TemporaryDirectory(prefix="reportbot-bench-") as tmp:
        data = Path(tmp) / "data"
        progress(f"seeding {plan.cases:,} cases for sections 1–3")
        seed.seed_folder(data, sample.case, plan.cases, datetime.now(UTC), lambda _: None)
        progress("starting the bot, the minimal Bolt app and the echo bot (one process each)")
        rig = await start_rig(data)
        driver = LoopMonitor(freeze=True)
        driver.start()
        try:
            before = (await rig.control("/stats"))["cases"]
            await slack_sections(rig, plan, out, progress)
            await teams_sections(rig, plan, out, progress)
            # Counting the cases decodes all 10,000 on the bot's loop: not serving, so apart.
            await rig.phase(FIGURES)
            out.bot = await rig.control("/stats")
            out.filed = out.bot["cases"] - before
        finally:
            await driver.stop()
            out.driver_stall = driver.overall
            await stop_rig(rig)
    return out

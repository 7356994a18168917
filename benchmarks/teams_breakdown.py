"""Where a Teams step's time goes inside the bot: wall time per layer, 20 people at a time.

    .venv/bin/python -m benchmarks.teams_breakdown [--cases N]

The bot's server as `benchmarks.run` starts it (Teams in development mode) over N seeded
cases (default 10,000), the Bot Connector stand-in and 20 users each filing a whole report, all
in this one process. Each call of the layers below is timed from start to end, waits included,
and the table gives count, total, p50 and p99. Figures for finding costs, not targets: the
stand-in and the users share the bot's event loop here, so times run higher than in
`benchmarks.run`, where each has a process of its own.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

from adapters.teams.endpoint import Endpoint
from adapters.teams.sender import TeamsSender
from benchmarks import seed
from benchmarks.arrivals import StepTiming
from benchmarks.chat import USERS
from benchmarks.servers import BotServer, bot_server, serve
from benchmarks.stats import Samples
from benchmarks.teams_load import (
    ANSWERS,
    LINK,
    TENANT,
    TeamsTarget,
    TimedConnector,
    bot_added_to_team,
    chat_of,
    teams_user,
)
from bot.delivery import Courier
from bot.engine import Engine
from bot.model import Platform
from storage.tinydb_store import TinyStore

LAYERS: list[tuple[type, str]] = [
    (Endpoint, "handle"),  # POST /api/messages until its answer: the acknowledgement
    (Engine, "handle"),  # the engine's turn, its step stored (fsync) before it returns
    (TinyStore, "commit"),
    (Courier, "_round"),  # one round of the outbox: every lane due, side by side
    (TinyStore, "reschedule"),  # attempts recorded before sending
    (TeamsSender, "send"),  # one outbox item to the Bot Connector
    (TinyStore, "delivered"),  # the round's "sent" marks
]


def timing(calls: dict[str, Samples]) -> Callable[[type, str], None]:
    def wrap(owner: type, name: str) -> None:
        original = getattr(owner, name)

        async def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return await original(*args, **kwargs)
            finally:
                calls[f"{owner.__name__}.{name}"].add(time.perf_counter() - start)

        setattr(owner, name, timed)

    return wrap


def print_layers(layers: list[tuple[type, str]], calls: dict[str, Samples]) -> None:
    """One row per timed layer: its calls, total, p50 and p99."""
    labels = [f"{owner.__name__}.{name}" for owner, name in layers]
    width = max(len(label) for label in labels)
    print(f"{'layer':{width}} {'calls':>6} {'total s':>8} {'p50 ms':>8} {'p99 ms':>8}")
    for label in labels:
        got = calls[label]
        p50, p99 = got.p50 * 1e3, got.p99 * 1e3
        print(f"{label:{width}} {len(got):6} {sum(got.values):8.2f} {p50:8.1f} {p99:8.1f}")


async def script_for(bot: BotServer, target: TeamsTarget) -> list[int]:
    """The whole report's steps (into `target.script`), and how many cards each one brings."""
    user, counts = teams_user("calibrate"), list[int]()
    target.script = [("say", "report"), ("say", LINK), ("press", "done")]
    while len(counts) < len(target.script) or await _step(bot, user) not in (None, "end"):
        if len(counts) == len(target.script):
            kind, answer = ANSWERS[str(await _step(bot, user))]
            target.script.append(("say" if kind == "type" else kind, answer))
        before = target.connector.arrivals.count(chat_of(user))
        await target.sender(user, target.script[len(counts)])()
        await _idle(bot)
        counts.append(target.connector.arrivals.count(chat_of(user)) - before)
    return counts


async def _step(bot: BotServer, user: dict[str, str]) -> str | None:
    found = await bot.runtime.store.conversation(f"teams:{TENANT}:{user['id']}")
    return found.step if found else None


async def _idle(bot: BotServer) -> None:
    """Until the outbox holds nothing due (polled, as benchmarks.chat asks the bot's /idle)."""
    while await bot.runtime.store.next_due_at(Platform.TEAMS) is not None:  # noqa: ASYNC110
        await asyncio.sleep(0.01)


async def run(cases: int) -> tuple[list[list[StepTiming]], dict[str, Samples]]:
    sample = await seed.sample_report(datetime.now(UTC))
    with tempfile.TemporaryDirectory(prefix="reportbot-breakdown-") as tmp:
        data = Path(tmp) / "data"
        seed.seed_folder(data, sample.case, cases, datetime.now(UTC), lambda _: None)
        calls: dict[str, Samples] = defaultdict(Samples)
        wrap = timing(calls)
        for owner, name in LAYERS:  # before the server is built, so its route is timed too
            wrap(owner, name)
        connector = TimedConnector()
        stand_in = await serve(connector.app())
        bot = await bot_server(data, {"REPORTBOT_TEAMS_DEV": "1", "REPORTBOT_TEAMS_TIMEOUT": "10"})
        await bot.start()
        service = stand_in.url + "/"
        async with aiohttp.ClientSession() as session:
            target = TeamsTarget(
                "reportbot", bot.served.url, connector, service, session, [], [], True
            )
            await target.post(bot_added_to_team(service))
            await _idle(bot)
            target.expected = await script_for(bot, target)
            calls.clear()  # the calibration's calls are not the load's
            users = [teams_user(f"b{i:02d}") for i in range(USERS)]
            walks = [target.walk(u, len(target.script)) for u in users]
            timings = list(await asyncio.gather(*walks))
        await bot.close()
        await stand_in.close()
    return timings, calls


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000)
    args = parser.parse_args()
    timings, calls = asyncio.run(run(args.cases))
    steps = Samples([t.last for user in timings for t in user])
    reports = Samples([sum(t.last for t in user) for user in timings])
    print(
        f"{USERS} users, {args.cases:,} cases: every step's whole reply p50 {steps.p50 * 1e3:.0f}"
        f" ms, p99 {steps.p99 * 1e3:.0f} ms; a whole report p50 {reports.p50:.2f} s"
    )
    print_layers(LAYERS, calls)


if __name__ == "__main__":
    main()

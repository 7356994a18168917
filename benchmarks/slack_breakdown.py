"""Where a Slack step's time goes inside the bot: wall time per layer, 20 people at a time.

    .venv/bin/python -m benchmarks.slack_breakdown [--cases N]

The bot's server as `benchmarks.run` starts it, over N seeded cases (default 10,000), the Slack
Web API stand-in and 20 users each filing a whole report, all in this one process. Each call of
the layers below is timed from start to end, waits included. Figures for finding costs, not
targets: the stand-in and the users share the bot's event loop here, so times run higher than
in `benchmarks.run`, where each has a process of its own.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
from slack_sdk.web.async_client import AsyncWebClient

from benchmarks import seed
from benchmarks.arrivals import StepTiming
from benchmarks.chat import USERS
from benchmarks.servers import bot_env, bot_server
from benchmarks.slack_load import SlackTarget, TimedSlack, journey, walk
from benchmarks.stats import Samples
from benchmarks.teams_breakdown import print_layers, timing
from bot.delivery import Courier
from bot.engine import Engine
from bot.model import Platform
from bot.ports import Store
from storage.tinydb_store import TinyStore
from tests.slack_fakes import dm_channel

LAYERS: list[tuple[type, str]] = [
    (Engine, "handle"),  # the engine's turn, its one write (fsync) included
    (TinyStore, "commit"),
    (Courier, "_deliver"),  # one outbox item, sent
    (AsyncWebClient, "chat_postMessage"),  # the Web API call itself
    (TinyStore, "delivered"),  # a batch of "sent" marks, off the reply path
]


async def run(cases: int) -> tuple[list[list[StepTiming]], dict[str, Samples], list[float]]:
    sample = await seed.sample_report(datetime.now(UTC))
    with tempfile.TemporaryDirectory(prefix="reportbot-breakdown-") as tmp:
        data = Path(tmp) / "data"
        seed.seed_folder(data, sample.case, cases, datetime.now(UTC), lambda _: None)
        calls: dict[str, Samples] = defaultdict(Samples)
        wrap = timing(calls)
        for owner, name in LAYERS:
            wrap(owner, name)
        slack = TimedSlack()
        api_url = await slack.start()
        env = {k: v for k, v in bot_env(api_url).items() if not k.startswith("REPORTBOT_TEAMS")}
        bot = await bot_server(data, env)
        await bot.start()
        async with aiohttp.ClientSession() as session:
            probe = SlackTarget("reportbot", bot.served.url, slack, session, [], True)
            slack.add_user("U0CALIB")
            alone: list[float] = []
            for index, (how, what) in enumerate(journey(True)):
                before = slack.arrivals.count(dm_channel("U0CALIB"))
                probe.expected.append(0)
                step = await probe.step("U0CALIB", index, how, what)
                await _idle(bot.runtime.store)
                probe.expected[index] = slack.arrivals.count(dm_channel("U0CALIB")) - before
                alone.append(step.last)
            calls.clear()
            users = [f"U0B{i:02d}" for i in range(USERS)]
            for user in users:
                slack.add_user(user)
            timings = list(await asyncio.gather(*(walk(probe, u, True) for u in users)))
        await bot.close()
        await slack.close()
    return timings, calls, alone


async def _idle(store: Store) -> None:
    while await store.next_due_at(Platform.SLACK) is not None:  # noqa: ASYNC110
        await asyncio.sleep(0.005)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000)
    args = parser.parse_args()
    timings, calls, alone = asyncio.run(run(args.cases))
    steps = Samples([t.last for user in timings for t in user])
    one = Samples(alone)
    print(
        f"one user alone: a step's whole reply p50 {one.p50 * 1e3:.1f} ms;"
        f" {USERS} users, {args.cases:,} cases: p50 {steps.p50 * 1e3:.0f} ms,"
        f" p99 {steps.p99 * 1e3:.0f} ms"
    )
    print_layers(LAYERS, calls)


if __name__ == "__main__":
    main()

"""One server in a process of its own: the bot (over a data folder), the minimal Bolt app or the
minimal echo bot. Each target gets a clean heap and event loop, apart from the users and the
stand-ins, so neither side's garbage collection or CPU use lands on the other's figures.

    python -m benchmarks.serve_child bot|bolt|echo --slack-api URL [--data DIR] [--database-url U]

Prints one JSON line, {"url": …, "control": …}, once listening; stops when stdin closes (or
after MAX_LIFETIME). The bot also serves a small control app on another port, for the driver
only and never timed: is the outbox empty, a conversation's step, which delivery ids the store
has applied, the loop monitor's figures. With --database-url the bot runs on Postgres.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from pathlib import Path

from aiohttp import web

from benchmarks.servers import BotServer, Served, bot_env, bot_server, serve
from benchmarks.slack_load import minimal_bolt
from benchmarks.stats import LoopMonitor, WarningCounter, cpu_seconds, rss_mb
from benchmarks.teams_load import echo_bot
from bot.model import Platform

MAX_LIFETIME = 30 * 60.0  # seconds: a child never outlives a forgotten run by long


def control_app(bot: BotServer, monitor: LoopMonitor, warnings: WarningCounter) -> web.Application:
    store = bot.runtime.store

    async def idle(request: web.Request) -> web.Response:
        platform = Platform(request.query["platform"])
        return web.json_response({"idle": await store.next_due_at(platform) is None})

    async def conversation(request: web.Request) -> web.Response:
        found = await store.conversation(request.query["key"])
        return web.json_response({"step": found.step if found else None})

    async def unseen(request: web.Request) -> web.Response:
        """Of the delivery ids posted, those the store has not applied (none, if every
        acknowledged step was stored)."""
        ids = await request.json()
        return web.json_response([i for i in ids if not await store.seen(i)])

    async def phase(request: web.Request) -> web.Response:
        monitor.phase = (await request.json())["phase"]
        return web.json_response({})

    async def stats(request: web.Request) -> web.Response:
        figures = {
            "stall": monitor.worst,
            "gc": monitor.gc_worst,
            "rss_mb": rss_mb(),
            "cpu_s": cpu_seconds(),
            "cases": len(await store.cases()),
            "warnings": dict(warnings.seen),
        }
        return web.json_response(figures)

    app = web.Application()
    app.router.add_get("/idle", idle)
    app.router.add_get("/conversation", conversation)
    app.router.add_post("/unseen", unseen)
    app.router.add_post("/phase", phase)
    app.router.add_get("/stats", stats)
    return app


async def stdin_closed() -> None:
    """Wait until the parent closes our stdin (or goes away)."""
    reader = asyncio.StreamReader()
    loop = asyncio.get_running_loop()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    await reader.read()


async def run(kind: str, slack_api: str, data: Path | None, database_url: str = "") -> None:
    warnings = WarningCounter()
    logging.basicConfig(level=logging.WARNING, handlers=[warnings])
    monitor = LoopMonitor()
    monitor.start()
    monitor.phase = "start-up"
    servers: list[Served] = []
    bot: BotServer | None = None
    if kind == "bot":
        assert data is not None, "the bot needs --data"
        bot = await bot_server(data, bot_env(slack_api), database_url)
        await bot.start()
        servers.append(await serve(control_app(bot, monitor, warnings)))
        url = bot.served.url
    else:
        app = minimal_bolt(slack_api) if kind == "bolt" else echo_bot()
        servers.append(await serve(app))
        url = servers[0].url
    print(json.dumps({"url": url, "control": servers[0].url if bot else ""}), flush=True)
    try:
        async with asyncio.timeout(MAX_LIFETIME):
            await stdin_closed()
    except TimeoutError:
        pass
    finally:
        await monitor.stop()
        for served in servers:
            await served.close()
        if bot is not None:
            await bot.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=("bot", "bolt", "echo"))
    parser.add_argument("--slack-api", required=True)
    parser.add_argument("--data", type=Path)
    parser.add_argument("--database-url", default="", help="the bot on Postgres, not --data")
    args = parser.parse_args()
    profile = os.environ.get("REPORTBOT_BENCH_PROFILE", "")  # a folder: profile this child
    if not profile:
        asyncio.run(run(args.kind, args.slack_api, args.data, args.database_url))
        return
    from pyinstrument import Profiler  # not a dependency: `pip install pyinstrument` first

    with Profiler(async_mode="disabled") as profiler:
        asyncio.run(run(args.kind, args.slack_api, args.data, args.database_url))
    Path(profile, f"{args.kind}.txt").write_text(profiler.output_text(show_all=False))
    if profiler.last_session is not None:  # for pyinstrument's own viewers, with every frame
        profiler.last_session.save(str(Path(profile, f"{args.kind}.pyisession")))


if __name__ == "__main__":
    main()

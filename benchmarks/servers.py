"""Serving aiohttp apps on 127.0.0.1 with an AppRunner, and the bot's own server around a store."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from adapters.compose import Runtime, build_runtime
from adapters.server import Attached, build_app, settle_start_up
from bot.config import Settings
from storage.choice import open_chosen_store

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"  # the same signing secret the test stand-in uses
BOT_TOKEN = "xoxb-test-token"
LEADERS = "C0LEADERS"


@dataclass
class Served:
    runner: web.AppRunner
    url: str

    async def close(self) -> None:
        await self.runner.cleanup()


async def serve(app: web.Application) -> Served:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    return Served(runner, f"http://{host}:{port}")


def bot_env(slack_api_url: str) -> dict[str, str]:
    """Slack (HTTP mode, Web API at the stand-in) and Teams (development mode) on one server."""
    return {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_LEADERSHIP_CHANNEL": LEADERS,
        "SLACK_API_URL": slack_api_url,
        "SLACK_API_TIMEOUT": "10",
        "REPORTBOT_TEAMS_DEV": "1",
        "REPORTBOT_TEAMS_TIMEOUT": "10",
        "REPORTBOT_PUBLIC_URL": "http://127.0.0.1",  # leaders' links (none are opened here)
    }


@dataclass
class BotServer:
    runtime: Runtime
    attached: list[Attached]
    served: Served

    async def start(self) -> None:
        """What `reportbot serve` does once listening: platforms, then reminders."""
        for handle in self.attached:
            await handle.start()
        self.runtime.reminders.start()

    async def close(self) -> None:
        for handle in self.attached:
            await handle.close()
        await self.served.close()
        await self.runtime.close()


async def bot_server(data_dir: Path, env: dict[str, str], database_url: str = "") -> BotServer:
    """The bot's aiohttp app (`adapters.server.build_app`) listening, over the TinyDB data
    folder, or over Postgres at `database_url` (as REPORTBOT_DATABASE_URL chooses)."""
    opened = await open_chosen_store(database_url, data_dir)
    runtime = build_runtime(Settings(data_dir=data_dir), opened.store, ready=opened.ready)
    app, attached = await build_app(runtime, env)
    settle_start_up()  # as adapters.server.serve does
    return BotServer(runtime, attached, await serve(app))

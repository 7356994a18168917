"""`reportbot serve`: one aiohttp server for every chat platform the school has configured.

`/healthz` says the process is alive (and what each platform could not deliver); `/readyz`
says whether the store can take work now (the database answers, its tables are current).

Each platform package (`adapters.slack`, `adapters.teams`) offers `attach(app, runtime, env)`,
which adds its routes and courier and returns a handle, or None when it is not configured.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from collections.abc import Mapping
from typing import Protocol

from aiohttp import web

from adapters import slack, teams
from adapters.compose import Runtime
from bot.errors import ConfigError
from bot.model import Platform

log = logging.getLogger(__name__)

NOTHING_CONFIGURED = """No chat platform is configured, so there is nothing to serve.
  Slack: set SLACK_BOT_TOKEN and SLACK_LEADERSHIP_CHANNEL, and either SLACK_APP_TOKEN
         (Socket Mode, with no public URL) or SLACK_SIGNING_SECRET (a public https address).
  Teams: set MicrosoftAppId, MicrosoftAppPassword and MicrosoftAppTenantId (MicrosoftAppType
         is then SingleTenant), or REPORTBOT_TEAMS_DEV=1 for local development only.
See the README, "Setting up Slack" and "Setting up Microsoft Teams".
To try the bot without either, run: reportbot chat"""


class Attached(Protocol):
    """A platform wired into the server."""

    name: str

    async def start(self) -> None:
        """Begin work that needs the server up (e.g. open the Socket Mode connection)."""
        ...

    async def close(self) -> None: ...

    def health(self) -> dict[str, object]:
        """A small status for /healthz: never secrets, never case content."""
        ...


async def build_app(
    runtime: Runtime, env: Mapping[str, str]
) -> tuple[web.Application, list[Attached]]:
    app = web.Application(client_max_size=1024 * 1024)
    # aiohttp logs the start of a request it cannot parse at DEBUG: that is body content.
    logging.getLogger("aiohttp.server").setLevel(logging.INFO)
    attached: list[Attached] = []
    try:
        for platform in (slack, teams):
            handle = await platform.attach(app, runtime, env)
            if handle is not None:
                attached.append(handle)
    except BaseException:  # one platform misconfigured: close what the others opened
        for handle in attached:
            await handle.close()
        raise

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response(await health(runtime, attached))

    async def readyz(request: web.Request) -> web.Response:
        # For a load balancer: 503 sends the work to another instance until the store can
        # take it (database down, or its tables not migrated yet).
        state = await runtime.ready()
        return web.json_response(state.as_json(), status=200 if state.ready else 503)

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    return app, attached


async def health(runtime: Runtime, attached: list[Attached]) -> dict[str, object]:
    """Each platform's status, and what it refused for good (counts and case references).
    "degraded" while a leadership post could not be made even in its minimal form. Many
    schools: each school's refusals too (a school's couriers are its own runtime's)."""
    platforms: dict[str, dict[str, object]] = {}
    degraded = False
    for handle in attached:
        status = platforms[handle.name] = handle.health()
        courier = runtime.couriers.get(Platform(handle.name))
        if courier is not None:
            undelivered = status["undelivered"] = await courier.undelivered()
            degraded = degraded or bool(undelivered["leadership_posts"]["count"])
    state: dict[str, object] = {"platforms": platforms}
    if runtime.schools is not None:
        schools_degraded, state["schools_refused"] = await runtime.schools.refused()
        degraded = degraded or schools_degraded
    return {"status": "degraded" if degraded else "ok", **state}


def settle_start_up() -> None:
    """Move what start-up loaded (the case archive and its indexes: about 300 MB at 10,000
    cases) out of the garbage collector's sight. A full collection then walks only what the
    bot made since, instead of stalling the event loop for 200 ms or more (benchmarks.run)."""
    gc.collect()
    gc.freeze()


async def serve(runtime: Runtime, env: Mapping[str, str], port: int) -> None:
    app, attached = await build_app(runtime, env)
    if not attached:
        raise ConfigError(NOTHING_CONFIGURED)
    settle_start_up()
    runner = web.AppRunner(app, access_log=None)  # access logs would hold user ids and paths
    await runner.setup()
    site = web.TCPSite(runner, port=port)
    await site.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        for handle in attached:
            await handle.start()
        runtime.reminders.start()
        names = ", ".join(a.name for a in attached)
        log.warning("reportbot serving %s on port %d", names, port)
        await stop.wait()
    finally:
        for handle in attached:
            await handle.close()
        await runner.cleanup()

"""Builds the Teams side from its settings: the SDK objects, the sender, the route."""

from __future__ import annotations

import logging

from aiohttp import web
from botbuilder.integration.aiohttp import (
    CloudAdapter,
    ConfigurationBotFrameworkAuthentication,
)

from adapters.compose import Runtime
from adapters.teams import signing_keys
from adapters.teams.bot import TeamsBot
from adapters.teams.config import TeamsConfig
from adapters.teams.connectors import CachingAuthentication
from adapters.teams.endpoint import Endpoint
from adapters.teams.render import Renderer
from adapters.teams.sender import TeamsSender
from adapters.teams.services import Services
from bot.delivery import Courier
from bot.model import Platform

log = logging.getLogger(__name__)

ROUTE = "/api/messages"
DEV_MODE_WARNING = """
!!! REPORTBOT_TEAMS_DEV=1: Teams authentication is OFF (no MicrosoftAppId).
!!! Anyone who can reach this port can post as any user. For local testing with the Agents
!!! Playground only: the bot answers only a Bot Connector on this machine. Never expose it."""
NO_LEADERSHIP_TEAM_WARNING = (
    "REPORTBOT_TEAMS_LEADERSHIP_TEAM is not set: the first team the bot is ever added to will "
    "receive every case. Set it to the leadership team's link (in Teams: ⋯ beside the team > "
    "Get link to team) so that no other team can."
)


class TeamsHandle:
    """The Teams endpoint as the server sees it (`adapters.server.Attached`)."""

    name = "teams"

    def __init__(self, courier: Courier, config: TeamsConfig) -> None:
        self.courier = courier
        self.config = config

    async def start(self) -> None:
        self.courier.start()

    async def close(self) -> None:
        await self.courier.stop()

    def health(self) -> dict[str, object]:
        return {
            "endpoint": ROUTE,
            "authentication": "on" if self.config.authenticated else "OFF (development mode)",
            "tenants": len(self.config.allowed_tenants) or "any",
        }


def wire(app: web.Application, runtime: Runtime, config: TeamsConfig) -> TeamsHandle:
    if not config.authenticated:
        log.warning(DEV_MODE_WARNING)
    if config.leadership_team is None:
        log.warning(NO_LEADERSHIP_TEAM_WARNING)
    signing_keys.install(config.timeout)  # before the first request can validate a token
    sdk_auth = ConfigurationBotFrameworkAuthentication(config.sdk_settings())
    auth = CachingAuthentication(sdk_auth, timeout=config.timeout)
    adapter = CloudAdapter(auth)
    renderer = Renderer(runtime.store, runtime.facts, runtime.clock)
    sender = TeamsSender(adapter, config.app_id, runtime.store, renderer, config.leadership_team)
    courier = runtime.add_courier(Platform.TEAMS, sender, start=False)
    bot = TeamsBot(Services(runtime, auth, config, renderer))
    app.router.add_post(ROUTE, Endpoint(adapter, auth, bot, config).handle)
    return TeamsHandle(courier, config)

"""Builds the Teams side from its settings: the Agents SDK objects, one school's pieces
(`adapters.teams.school`) or, for many schools, each tenant's (`adapters.teams.tenants`), the
route – the one place in the package that holds the runtime."""

from __future__ import annotations

import logging

from aiohttp import web
from microsoft_agents.activity import load_configuration_from_env
from microsoft_agents.authentication.msal import MsalConnectionManager
from microsoft_agents.hosting.aiohttp import CloudAdapter

from adapters.compose import Runtime
from adapters.teams.clients import ConnectorClients
from adapters.teams.config import TeamsConfig
from adapters.teams.downloads import FILES_ROUTE, DownloadRoute
from adapters.teams.endpoint import Endpoint
from adapters.teams.posts import LATE_LIMIT, TeamsPosts
from adapters.teams.school import Shared, equip
from adapters.teams.signing_keys import SigningKeys
from adapters.teams.tenants import TENANT_FILES_ROUTE, TeamsTenants
from adapters.teams.tokens import Tokens
from bot.delivery import Courier
from bot.errors import error_reference, log_bug
from bot.files import Downloads

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
NO_PUBLIC_URL_WARNING = (
    "REPORTBOT_PUBLIC_URL is not set: leaders asking for a file in Teams (export, sar) are "
    "told it cannot be offered yet. Set it to the bot's own https address."
)

ANY_TENANT_WARNING = (
    "Teams runs as MicrosoftAppType=MultiTenant with REPORTBOT_TEAMS_TENANTS unset: a user in "
    "any Microsoft 365 organisation can message this bot. Set REPORTBOT_TEAMS_TENANTS to the "
    "tenant ids that may use it (or, for a new registration, MicrosoftAppTenantId and "
    "MicrosoftAppType=SingleTenant)."
)


class TeamsHandle:
    """The Teams endpoint as the server sees it (`adapters.server.Attached`)."""

    name = "teams"

    def __init__(
        self,
        courier: Courier,
        config: TeamsConfig,
        posts: TeamsPosts,
        clients: ConnectorClients,
        keys: SigningKeys,
    ) -> None:
        self.courier = courier
        self.config = config
        self.posts = posts
        self.clients = clients
        self.keys = keys

    async def start(self) -> None:
        self.courier.start()

    async def close(self) -> None:
        await self.courier.stop()
        await self.posts.close()
        await self.clients.close()
        await self.keys.close()

    def health(self) -> dict[str, object]:
        return {
            "endpoint": ROUTE,
            "authentication": "on" if self.config.authenticated else "OFF (development mode)",
            "app_type": self.config.app_type if self.config.authenticated else "none",
            "tenants": self.config.tenants_allowed(),
        }


async def _turn_error(context: object, error: Exception) -> None:
    log_bug(log, error_reference(), error)  # TeamsBot.on_turn apologises; this is a last net


def wire(app: web.Application, runtime: Runtime, config: TeamsConfig) -> TeamsHandle | TeamsTenants:
    if not config.authenticated:
        log.warning(DEV_MODE_WARNING)
    if not config.public_url:
        log.warning(NO_PUBLIC_URL_WARNING)
    if config.authenticated and config.tenants_allowed() == "any":
        log.warning(ANY_TENANT_WARNING)
    connections, tokens = None, None
    keys = SigningKeys(timeout=config.timeout, metadata_url=config.openid_metadata)
    if config.authenticated:
        connections = MsalConnectionManager(**load_configuration_from_env(config.sdk_env()))
        tokens = Tokens(connections.get_default_connection_configuration(), keys)
    clients = ConnectorClients(connections, config.app_id, late_limit=LATE_LIMIT)
    adapter = CloudAdapter(channel_service_client_factory=clients)
    adapter.on_turn_error = _turn_error  # the SDK's default shows the exception to the user
    shared = Shared(adapter, clients, config)
    handle: TeamsHandle | TeamsTenants
    if runtime.schools is not None:  # many schools: each tenant its own (adapters.teams.tenants)
        handle = tenants = TeamsTenants(runtime.schools, shared, keys)
        endpoint = Endpoint(adapter, tenants, config, tokens, refuse=tenants.refuse)
        app.router.add_get(TENANT_FILES_ROUTE, tenants.download)
    else:
        if config.leadership_team is None:
            log.warning(NO_LEADERSHIP_TEAM_WARNING)
        school = equip(runtime, shared, start=False, files_url=config.public_url)
        handle = TeamsHandle(school.courier, config, school.posts, clients, keys)
        endpoint = Endpoint(adapter, school.bot, config, tokens)
        downloads = Downloads(runtime.store, runtime.facts, runtime.clock, runtime.memberships)
        app.router.add_get(FILES_ROUTE, DownloadRoute(downloads).handle)
    app.router.add_post(ROUTE, endpoint.handle)

    async def cleanup(_: web.Application) -> None:
        await handle.close()

    app.on_cleanup.append(cleanup)
    return handle

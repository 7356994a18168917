"""One school's Teams pieces, on its runtime: where it writes (its stored references and
leadership channel), its courier, posts and leadership team, and the bot that handles its
activities. Built once for a single-school deployment, and once per tenant for many
(`adapters.teams.tenants`); what they all share is one app registration and one connector.
"""

from __future__ import annotations

from dataclasses import dataclass

from microsoft_agents.hosting.aiohttp import CloudAdapter

from adapters.compose import Runtime
from adapters.teams.bot import TeamsBot
from adapters.teams.clients import ConnectorClients
from adapters.teams.config import TeamsConfig
from adapters.teams.leaders import LeadershipTeam
from adapters.teams.posts import TeamsPosts
from adapters.teams.proactive import Proactive
from adapters.teams.references import Places
from adapters.teams.sender import TeamsSender
from adapters.teams.services import Services
from bot.delivery import Courier
from bot.model import JSON, OutboxItem, Platform


@dataclass(frozen=True)
class Shared:
    """What every school's Teams pieces share: the bot's registration and its connector."""

    adapter: CloudAdapter
    clients: ConnectorClients
    config: TeamsConfig


@dataclass(frozen=True)
class SchoolTeams:
    courier: Courier
    posts: TeamsPosts
    bot: TeamsBot


def equip(runtime: Runtime, shared: Shared, *, start: bool, files_url: str) -> SchoolTeams:
    """The school's Teams sender, posts and leadership team, on its own store; its leaders'
    download links start with `files_url` ("": none can be offered)."""
    config = shared.config
    places = Places(runtime.store)
    proactive = Proactive(
        shared.clients,
        places,
        timeout=config.timeout,
        team=config.leadership_team,
    )

    async def late_post(item: OutboxItem, post: JSON) -> None:
        await courier.late_post(item, post)

    posts = TeamsPosts(proactive, late_post)
    sender = TeamsSender(proactive, files_url)
    courier = runtime.add_platform(Platform.TEAMS, sender, posts, start=start)
    services = Services(runtime.engine.handle, courier, places, shared.clients, config)
    runtime.add_membership(Platform.TEAMS, LeadershipTeam(services))
    return SchoolTeams(courier, posts, TeamsBot(services))

"""Microsoft Teams: the guided report in personal chat, case cards in a leadership channel.

Built on the Microsoft 365 Agents SDK (`microsoft_agents`), the successor of the archived Bot
Framework SDK; every import of it stays inside this package. `attach` adds `POST /api/messages`
to the server when Teams is configured (see `adapters.teams.config`), and returns None if not.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from aiohttp import web

from adapters.compose import Runtime
from adapters.teams.config import load_teams_config

if TYPE_CHECKING:
    from adapters.teams.tenants import TeamsTenants
    from adapters.teams.wiring import TeamsHandle


async def attach(
    app: web.Application, runtime: Runtime, env: Mapping[str, str]
) -> TeamsHandle | TeamsTenants | None:
    config = load_teams_config(env)
    if config is None:
        return None
    from adapters.teams.wiring import wire  # the SDK loads only when Teams is on

    return wire(app, runtime, config)

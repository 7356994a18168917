"""Teams for many schools: each Microsoft 365 tenant is the school `teams:<tenant id>`.

With many schools (`adapters.compose.many_schools`) every tenant on REPORTBOT_TEAMS_TENANTS is
a school of its own, as each Slack workspace is: its activities are handled by its own
runtime (`adapters.compose.Schools`), so its cases, drafts, outbox, stored conversation
references, leadership team and case numbers are all its own. The tenant comes from the
activity, which the endpoint has authenticated (a token the Bot Connector signed, for the
activity's own serviceUrl) and found on the list before anything here sees it.

A tenant not on the list gets a 403 (`endpoint`); if what it sent was a message in a personal
chat, the person is also told, once per message, that the bot is not set up for their
organisation. That reply holds nothing but those words, and nothing of theirs is stored.

A leader's download link names its tenant (`/teams/<tenant id>/files/<token>`), so that it is
opened in that school's store, asked of that school's leadership team; a link opened under
another tenant's address finds nothing there (404), and a tenant not served opens no school.
"""

from __future__ import annotations

import logging

from aiohttp import web
from microsoft_agents.activity import ActivityTypes

from adapters.compose import Runtime, Schools
from adapters.logs import enter_school
from adapters.teams.downloads import SORRY, DownloadRoute, page
from adapters.teams.school import SchoolTeams, Shared, equip
from adapters.teams.services import Context, apologise, say_now
from adapters.teams.signing_keys import SigningKeys
from adapters.teams.translate import Place, place_of, tenant_of
from bot.errors import ConfigError, error_reference, log_bug
from bot.files import UNKNOWN, Downloads
from bot.model import Notice

log = logging.getLogger(__name__)

PREFIX = "teams"
TENANT_FILES_ROUTE = "/teams/{tenant}/files/{token}"
NOT_SET_UP = (
    "Sorry – this bot is not set up for your organisation, so I can't take reports here. "
    "Please ask your IT team."
)
NEEDS_TENANTS = (
    "Serving many schools, Teams needs REPORTBOT_TEAMS_TENANTS: the tenant id of each school "
    "served, comma-separated (each one is a school of its own)."
)
NO_ONE_TEAM = (
    "REPORTBOT_TEAMS_LEADERSHIP_TEAM names one school's team, and this deployment serves many: "
    "each school's leaders choose theirs by adding the bot to their team. Unset it."
)


def school_of(tenant: str) -> str:
    return f"{PREFIX}:{tenant.lower()}"


class TeamsTenants:
    """The Teams endpoint for many schools, as the server sees it (`adapters.server.Attached`),
    and the one `on_turn` the endpoint calls: each activity to its tenant's bot."""

    name = "teams"

    def __init__(self, schools: Schools, shared: Shared, keys: SigningKeys) -> None:
        if not shared.config.allowed_tenants:
            raise ConfigError(NEEDS_TENANTS)
        if shared.config.leadership_team is not None:
            raise ConfigError(NO_ONE_TEAM)
        self.schools = schools
        self.shared = shared
        self.keys = keys
        self.parts: dict[str, SchoolTeams] = {}
        schools.outfit(PREFIX, self._outfit, set_up_in_chat=False)  # its team: references

    async def _outfit(self, runtime: Runtime) -> None:
        files = self.shared.config.public_url
        files_url = f"{files}/{runtime.school.replace(':', '/')}" if files else ""
        self.parts[runtime.school] = equip(runtime, self.shared, start=True, files_url=files_url)

    async def on_turn(self, context: Context) -> None:
        school = school_of(tenant_of(context.activity))
        enter_school(school)  # this request's log lines name the school
        try:
            await self.schools.get(school)
        except Exception as e:  # e.g. the database is down: a code, never silence
            await apologise(self.shared.clients, self.shared.config, context, e)
            return
        await self.parts[school].bot.on_turn(context)

    async def refuse(self, context: Context) -> None:
        """A tenant not served: a personal message is told so; nothing else is answered."""
        activity = context.activity
        if activity.type == ActivityTypes.message and place_of(activity) is Place.PERSONAL:
            notice = Notice(NOT_SET_UP, tone="warning")
            await say_now(self.shared.clients, self.shared.config, context, notice)

    async def download(self, request: web.Request) -> web.Response:
        """`GET /teams/<tenant>/files/<token>`: the link, in its own tenant's school."""
        tenant = request.match_info.get("tenant", "").lower()
        if not self.shared.config.allows(tenant):
            return page(404, UNKNOWN)  # opens no school for a tenant the bot does not serve
        enter_school(school_of(tenant))
        try:
            runtime = await self.schools.get(school_of(tenant))
        except Exception as e:  # e.g. the database is down
            code = error_reference()
            log_bug(log, code, e)
            return page(503, SORRY.format(code=code))
        downloads = Downloads(runtime.store, runtime.facts, runtime.clock, runtime.memberships)
        return await DownloadRoute(downloads).handle(request)

    async def start(self) -> None:
        self.schools.start()  # serve the outboxes of tenants no request has opened yet

    async def close(self) -> None:
        await self.schools.close()
        for parts in self.parts.values():
            await parts.posts.close()
        await self.shared.clients.close()
        await self.keys.close()

    def health(self) -> dict[str, object]:
        config = self.shared.config
        return {
            "endpoint": "/api/messages",
            "authentication": "on" if config.authenticated else "OFF (development mode)",
            "app_type": config.app_type if config.authenticated else "none",
            "tenants": config.tenants_allowed(),
            "mode": "many schools",
            "schools_open": sum(r.school.startswith(PREFIX + ":") for r in self.schools.opened()),
        }

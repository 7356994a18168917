"""`POST /api/messages`: check the request, authenticate it, then hand it to the bot.

Bad input is answered 400/415, never 500; an activity without a valid token 401, before the bot
sees it (`tokens`); an activity from a tenant the bot does not serve 403 (REPORTBOT_TEAMS_TENANTS,
else a single-tenant bot's own tenant; with many schools, a personal message is also told the bot is
not set up there, `tenants`). In development mode (no app id, no authentication) only
a Bot Connector on this machine is answered: the request must come from a loopback address, so
nobody else can post as any user, and its serviceUrl must be local, so a forged activity cannot
make the bot write to someone else's server.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from ipaddress import ip_address
from typing import Any, Protocol
from urllib.parse import urlsplit

from aiohttp import web
from microsoft_agents.activity import Activity
from microsoft_agents.hosting.aiohttp import CloudAdapter
from microsoft_agents.hosting.core import ClaimsIdentity
from pydantic import ValidationError

from adapters.teams.config import TeamsConfig
from adapters.teams.services import Context
from adapters.teams.signing_keys import KeysUnavailable
from adapters.teams.tokens import Tokens, Unauthorized
from adapters.teams.translate import tenant_of
from bot.errors import error_reference, log_bug

log = logging.getLogger(__name__)

_ACCOUNTS = ("from", "recipient", "conversation")
_STRINGS = ("type", "id", "text", "serviceUrl", "channelId", "action", "replyToId")


Turn = Callable[[Context], Awaitable[None]]


class Bot(Protocol):
    async def on_turn(self, turn_context: Context) -> None: ...


class Endpoint:
    def __init__(
        self,
        adapter: CloudAdapter,
        bot: Bot,
        config: TeamsConfig,
        tokens: Tokens | None,
        *,
        refuse: Turn | None = None,
    ) -> None:
        self.adapter = adapter
        self.bot = bot  # a school's TeamsBot, or (many schools) the tenants' router
        self.config = config
        self.tokens = tokens  # None in development mode only
        self.refuse = refuse  # what a tenant not served is told (many schools), if anything

    async def handle(self, request: web.Request) -> web.Response:
        if self.tokens is None and not _loopback_host(request.remote):
            log.warning("development mode: refused a request from another machine")
            return _status(403, "development mode answers this machine only")
        if request.content_type != "application/json":
            return _status(415, "expected application/json")
        activity = _activity(await request.read())
        if activity is None:
            return _status(400, "the body is not a Bot Framework activity")
        if self.tokens is None and not _loopback(activity.service_url):
            log.warning("development mode: refused an activity from a non-local serviceUrl")
            return _status(403, "development mode answers a local Bot Connector only")
        try:
            claims = await self._claims(request, activity)
        except Unauthorized:
            return _unauthorized(activity)
        except KeysUnavailable:  # could not fetch signing keys: let Teams retry
            return _status(503, "authentication is unavailable")
        tenant = tenant_of(activity)
        if not self.config.allows(tenant):
            log.warning("refused an activity from tenant %s (not a tenant the bot serves)", tenant)
            if self.refuse is not None:
                await self._process(claims, activity, self.refuse)
            return _status(403, "this tenant may not use the bot")
        return await self._process(claims, activity, self.bot.on_turn)

    async def _claims(self, request: web.Request, activity: Activity) -> ClaimsIdentity:
        if self.tokens is None:
            return ClaimsIdentity()  # anonymous: development mode
        return await self.tokens.claims(request.headers.get("Authorization", ""), activity)

    async def _process(
        self, claims: ClaimsIdentity, activity: Activity, logic: Turn
    ) -> web.Response:
        try:
            invoke = await self.adapter.process_activity(claims, activity, logic)
        except Exception as e:
            code = error_reference()
            log_bug(log, code, e)
            return _status(500, f"internal error {code}")
        if invoke is not None:
            return web.json_response(invoke.body, status=int(invoke.status))
        return web.Response(status=200)


def _activity(raw: bytes) -> Activity | None:
    body = _parse(raw)
    if body is None:
        return None
    try:
        return Activity.model_validate(body)
    except (ValidationError, ValueError, TypeError, RecursionError):
        return None


def _parse(raw: bytes) -> dict[str, Any] | None:
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, ValueError, RecursionError):  # RecursionError: deep nesting
        return None
    return body if _shaped(body) else None


def _shaped(body: Any) -> bool:
    """What every Teams activity has, with the types the bot reads them as."""
    if not isinstance(body, dict) or not body.get("type") or not body.get("serviceUrl"):
        return False
    if any(k in body and not isinstance(body[k], str) for k in _STRINGS):
        return False
    for key in _ACCOUNTS:
        account = body.get(key)
        if not isinstance(account, dict) or not isinstance(account.get("id"), str):
            return False
        if not account["id"]:
            return False
    data = body.get("channelData")
    return data is None or isinstance(data, dict)


def _loopback(url: str | None) -> bool:
    return _loopback_host(urlsplit(url or "").hostname)


def _loopback_host(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        address = ip_address(host or "")
    except ValueError:
        return False  # also None: a peer aiohttp could not name
    mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:127.0.0.1
    return address.is_loopback or bool(mapped and mapped.is_loopback)


def _unauthorized(activity: Activity) -> web.Response:
    # Neither the token nor the activity's content is logged.
    log.warning("refused an unauthenticated %s activity", activity.type or "unknown")
    return _status(401, "unauthorized")


def _status(status: int, reason: str) -> web.Response:
    return web.json_response({"error": reason}, status=status)

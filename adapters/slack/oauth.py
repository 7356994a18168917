"""Slack for many schools (SLACK_CLIENT_ID): each workspace installs the app through OAuth.

    GET  /slack/install          Bolt's install page: a one-use state (kept in the database,
                                 so the redirect may reach another instance) and the link to
                                 Slack's authorize page
    GET  /slack/oauth_redirect   Slack sends the installer back here with a code; Bolt
                                 exchanges it (oauth.v2.access), the installation is saved
                                 (tokens encrypted: `installs`), and the installer is sent a
                                 DM on how to finish setting up (`bot.school`)
    POST /slack/events           as for one school, each request checked by `gate` against
                                 the installations, then handed to its school's engine

Everything a school holds is its own: its runtime (`adapters.compose.Schools`) has a store
scoped to it and couriers that send with its own token (`school.SchoolClient`), refreshed
under a database lock when it rotates. `app_uninstalled` and `tokens_revoked` remove its
tokens through Bolt's own handlers and keep its cases (retention still applies to them); its
undelivered messages wait, should it install again.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.async_authorize import AsyncAuthorize
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.listener.async_builtins import AsyncTokenRevocationListeners
from slack_bolt.oauth.async_callback_options import AsyncCallbackOptions, AsyncSuccessArgs
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.oauth.token_rotation.async_rotator import AsyncTokenRotator
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.compose import Runtime, Schools
from adapters.slack.app import home_of
from adapters.slack.client import make_client, quiet_logger
from adapters.slack.config import EVENTS_PATH, INSTALL_PATH, REDIRECT_PATH, SlackConfig
from adapters.slack.endpoint import events_handler
from adapters.slack.gate import SCHOOL, Gate, Workspace
from adapters.slack.installs import EncryptedInstalls, OneUseStates, SlackTokens, secret_key
from adapters.slack.listeners import Listeners
from adapters.slack.manifest import bot_scopes
from adapters.slack.school import SchoolClient, SlackSchool, school_parts
from adapters.slack.translate import dm_address
from bot.errors import ConfigError
from bot.model import Person, Platform

log = logging.getLogger(__name__)
STATE_SECONDS = 600  # an install begun must be finished within ten minutes


class InstalledAuthorize(AsyncAuthorize):
    """Bolt's authorisation from the school's installation, through `SlackTokens` (so a
    rotating token is refreshed under the database lock, not by Bolt without one)."""

    def __init__(self, tokens: SlackTokens) -> None:
        self.tokens = tokens

    async def __call__(
        self,
        *,
        context: AsyncBoltContext,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None,
        actor_enterprise_id: str | None = None,
        actor_team_id: str | None = None,
        actor_user_id: str | None = None,
    ) -> AuthorizeResult | None:
        workspace = Workspace(enterprise_id, team_id, bool(context.is_enterprise_install))
        bot = await self.tokens.bot(context.get(SCHOOL) or workspace.school)
        if bot is None or not bot.bot_token:
            return None
        return AuthorizeResult(
            enterprise_id=enterprise_id,
            team_id=team_id,
            user_id=user_id,
            bot_token=bot.bot_token,
            bot_id=bot.bot_id,
            bot_user_id=bot.bot_user_id,
            bot_scopes=bot.bot_scopes,
        )


class SlackSchools:
    """The Slack adapter for many schools."""

    name = "slack"

    def __init__(
        self,
        config: SlackConfig,
        runtime: Runtime,
        session: aiohttp.ClientSession,
        env: Mapping[str, str],
    ) -> None:
        schools, engine = _many_schools(runtime)
        self.config = config
        self.runtime = runtime
        self.schools = schools
        self.session = session
        self.installs = EncryptedInstalls(config.client_id, engine, secret_key(env))
        self.api = make_client(config, session)  # no token: oauth.v2.access, token refreshes
        rotator = AsyncTokenRotator(
            client_id=config.client_id, client_secret=config.client_secret, client=self.api
        )
        self.tokens = SlackTokens(self.installs, rotator)
        self.parts: dict[str, SlackSchool] = {}
        schools.outfit("slack", self._outfit)
        self.bolt = self._bolt_app(engine)
        self.listeners = Listeners(self._school_of)
        self.listeners.register(self.bolt)
        self._revocations = AsyncTokenRevocationListeners(self.installs)
        self.bolt.event("app_uninstalled")(self._uninstalled)
        self.bolt.event("tokens_revoked")(self._revoked)

    def _bolt_app(self, engine: AsyncEngine) -> AsyncApp:
        settings = AsyncOAuthSettings(
            client_id=self.config.client_id,
            client_secret=self.config.client_secret,
            scopes=bot_scopes(),
            install_path=INSTALL_PATH,
            redirect_uri_path=REDIRECT_PATH,
            install_page_rendering_enabled=False,  # straight on to Slack's own page
            installation_store=self.installs,
            installation_store_bot_only=True,
            state_store=OneUseStates(
                expiration_seconds=STATE_SECONDS, engine=engine, logger=quiet_logger("states")
            ),
            state_expiration_seconds=STATE_SECONDS,
            callback_options=AsyncCallbackOptions(
                success=self._installed, failure=self._not_installed
            ),
        )
        return AsyncApp(
            name="reportbot",
            client=self.api,
            signing_secret=self.config.signing_secret,
            oauth_settings=settings,
            # Bolt takes an AsyncAuthorize here as well as a function (its type says only the
            # latter), and only an AsyncAuthorize may come with OAuth settings.
            authorize=InstalledAuthorize(self.tokens),  # type: ignore[arg-type]
            before_authorize=Gate(self._admit),
            process_before_response=True,
            logger=quiet_logger("bolt"),
        )

    # -- requests ----------------------------------------------------------------------------------

    def mount(self, app: web.Application) -> None:
        app.router.add_post(EVENTS_PATH, events_handler(self.bolt, self.config.signing_secret))
        app.router.add_get(INSTALL_PATH, self._install)
        app.router.add_get(REDIRECT_PATH, self._redirect)

    async def _install(self, request: web.Request) -> web.StreamResponse:
        flow = self.bolt.oauth_flow
        assert flow is not None
        return await to_aiohttp_response(await flow.handle_installation(_bolt_request(request)))

    async def _redirect(self, request: web.Request) -> web.StreamResponse:
        flow = self.bolt.oauth_flow
        assert flow is not None
        return await to_aiohttp_response(await flow.handle_callback(_bolt_request(request)))

    async def _admit(self, workspace: Workspace) -> str | None:
        """Only a workspace (or org) that installed the app, and has not removed it."""
        return workspace.school if await self.tokens.bot(workspace.school) else None

    async def _school_of(self, school: str) -> SlackSchool:
        await self.schools.get(school)
        return self.parts[school]

    async def _outfit(self, runtime: Runtime) -> None:
        """A school's Slack pieces, its client taking the school's current token."""
        school = runtime.school

        async def token() -> str:
            return await self.tokens.token(school)

        client = SchoolClient(
            token,
            base_url=self.config.api_url,
            timeout=max(1, math.ceil(self.config.api_timeout)),
            session=self.session,
            retry_handlers=[],
            logger=quiet_logger("sdk"),
        )
        leadership = runtime.school_settings.leadership
        parts = school_parts(
            runtime.engine.handle,
            home_of(runtime, settings_in_chat=True),
            client,
            leadership,
            self.config.api_timeout,
        )
        runtime.add_platform(Platform.SLACK, parts.sender, parts.posts, parts.membership)
        runtime.add_workplace(parts.workplace)
        runtime.watchers.append(parts.use)  # a channel chosen in chat is used at once
        self.parts[school] = parts

    # -- installs and removals ---------------------------------------------------------------------

    async def _installed(self, args: AsyncSuccessArgs) -> BoltResponse:
        """Saved: the school opens, and the installer is told how to finish (through the
        school's outbox, so the DM is not lost if Slack is slow just now)."""
        found = args.installation
        workspace = Workspace(found.enterprise_id, found.team_id, found.is_enterprise_install)
        school = workspace.school
        self.tokens.forget(school)
        runtime = await self.schools.get(school)
        person = Person(Platform.SLACK, found.team_id or found.enterprise_id or "", found.user_id)
        delivery = f"slack:install:{school}:{found.installed_at}"
        await runtime.engine.installed(person, dm_address(found.user_id), delivery)
        log.info("%s installed the app", school)
        return await args.default.success(args)

    async def _not_installed(self, args: Any) -> BoltResponse:
        log.warning("an install did not complete (%s)", args.reason)
        response: BoltResponse = await args.default.failure(args)
        return response

    async def _uninstalled(self, context: AsyncBoltContext) -> None:
        await self._revocations.handle_app_uninstalled_events(context)
        self._removed(context, "removed the app: its tokens are deleted, its cases kept")

    async def _revoked(self, event: dict[str, Any], context: AsyncBoltContext) -> None:
        await self._revocations.handle_tokens_revoked_events(event, context)
        if (event.get("tokens") or {}).get("bot"):
            # Bolt deletes the bot's row only; the installation's row holds the same token.
            await self.installs.async_delete_all(
                enterprise_id=context.enterprise_id, team_id=context.team_id
            )
        self._removed(context, "revoked the app's tokens: they are deleted, its cases kept")

    def _removed(self, context: AsyncBoltContext, what: str) -> None:
        school = Workspace(
            context.enterprise_id, context.team_id, bool(context.is_enterprise_install)
        ).school
        self.tokens.forget(school)
        log.warning("%s %s", school, what)

    # -- the server's hooks ------------------------------------------------------------------------

    async def start(self) -> None:
        self.schools.start()  # serve the outboxes of schools no request has opened yet

    async def close(self) -> None:
        await self.listeners.close()
        await self.schools.close()
        await self.session.close()

    def health(self) -> dict[str, object]:
        return {"mode": "http, many schools", "schools_open": len(self.schools.opened())}


def _many_schools(runtime: Runtime) -> tuple[Schools, AsyncEngine]:
    engine = getattr(runtime.store, "engine", None)
    if runtime.schools is None or not isinstance(engine, AsyncEngine):
        raise ConfigError(
            "SLACK_CLIENT_ID serves many schools, which needs REPORTBOT_DATABASE_URL (Postgres)."
        )
    return runtime.schools, engine


def _bolt_request(request: web.Request) -> AsyncBoltRequest:
    """A browser's GET, as Bolt's OAuth flow reads it (query and cookies only)."""
    headers: dict[str, str | Sequence[str]] = {k.lower(): v for k, v in request.headers.items()}
    return AsyncBoltRequest(body="", query=request.query_string, headers=headers)

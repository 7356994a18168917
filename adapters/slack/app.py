"""The Slack adapter for one school (SLACK_BOT_TOKEN): Bolt app, listeners, the school's
pieces (`adapters.slack.school`), and the start-up checks. Many schools: `adapters.slack.oauth`.

Built once by `adapters.slack.attach`; holds no state beyond caches and what Slack told it at
start-up (the bot's own ids and workspace, whether the leadership channel is private).
"""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_sdk.errors import SlackApiError

from adapters.compose import Runtime
from adapters.slack.client import SlackRefused, error_code, make_client, quiet_logger
from adapters.slack.config import EVENTS_PATH, SlackConfig
from adapters.slack.endpoint import events_handler
from adapters.slack.gate import Gate, OneWorkspace, Workspace
from adapters.slack.listeners import Listeners
from adapters.slack.posts import CHANNEL_PROBLEM
from adapters.slack.school import HomeOf, SlackSchool, school_parts
from adapters.slack.socket_mode import SocketLink
from bot.errors import RetryLater
from bot.home import Home, HomePage
from bot.model import Person, Platform

log = logging.getLogger(__name__)
PUBLIC_CHANNEL_WARNING = (
    "SLACK_LEADERSHIP_CHANNEL is not a private channel, so case details will NOT be posted "
    "there: leaders get only a content-free alert for each case. Convert the channel to "
    "private (channel settings > Change to a private channel) to see cases in full."
)


def home_of(runtime: Runtime, *, settings_in_chat: bool = False) -> HomeOf:
    """The school's Home tab, with its facts as they are when the tab is opened."""

    async def home(person: Person, leader: bool) -> Home:
        page = HomePage(runtime.store, runtime.facts, settings_in_chat=settings_in_chat)
        return await page(person, leader)

    return home


class SlackAdapter:
    name = "slack"

    def __init__(
        self, config: SlackConfig, runtime: Runtime, session: aiohttp.ClientSession
    ) -> None:
        self.config = config
        self.runtime = runtime
        self.session = session
        self.client = make_client(config, session, token=config.bot_token)
        self.school = school_parts(
            runtime.engine.handle,
            home_of(runtime),
            self.client,
            config.leadership_channel,
            config.api_timeout,
        )
        self.directory, self.sender = self.school.directory, self.school.sender
        self.bot_ids: dict[str, str] = {}
        self.own = OneWorkspace(self._own_workspace)
        self.bolt = self._bolt_app()
        self.listeners = Listeners(self._school_of)
        self.listeners.register(self.bolt)
        self.bolt.event("app_uninstalled")(self._removed)
        self.bolt.event("tokens_revoked")(self._removed)
        self.socket = (
            SocketLink(self.bolt, config.app_token, make_client(config, session))
            if config.socket_mode
            else None
        )

    def _bolt_app(self) -> AsyncApp:
        config = self.config

        # Known at start-up rather than by Bolt's auth.test on the first request, which would
        # fail that request (and lose its step) if Slack were slow just then.
        async def authorize(enterprise_id: str | None, team_id: str | None) -> AuthorizeResult:
            return AuthorizeResult(
                enterprise_id=enterprise_id,
                team_id=team_id,
                bot_token=config.bot_token,
                bot_user_id=self.bot_ids.get("user_id"),
                bot_id=self.bot_ids.get("bot_id"),
            )

        return AsyncApp(
            name="reportbot",
            client=make_client(config, self.session),
            authorize=authorize,
            before_authorize=Gate(self.own),
            signing_secret=config.signing_secret,
            request_verification_enabled=bool(config.signing_secret),
            process_before_response=True,
            logger=quiet_logger("bolt"),
        )

    def equip(self) -> None:
        """The school's courier, and its answer to "who leads here?"."""
        school = self.school
        self.runtime.add_platform(Platform.SLACK, school.sender, school.posts, school.membership)

    async def _removed(self) -> None:
        log.error(
            "The app was removed from this workspace, or its tokens revoked: SLACK_BOT_TOKEN "
            "no longer works. Reinstall the app and set the new token; messages wait till then."
        )

    async def _school_of(self, school: str) -> SlackSchool:
        return self.school  # the gate let in only the token's own workspace

    def mount(self, app: web.Application) -> None:
        if self.config.signing_secret:
            app.router.add_post(EVENTS_PATH, events_handler(self.bolt, self.config.signing_secret))

    async def start(self) -> None:
        await self.check_setup()
        if self.socket is not None:
            self.socket.start()

    async def _own_workspace(self) -> Workspace | None:
        """The token's own workspace and the bot's ids, from `auth.test` (None if unknown)."""
        try:
            auth = await self.client.auth_test()
        except SlackApiError as e:
            log.error("Slack did not accept SLACK_BOT_TOKEN (%s)", error_code(e) or "error")
            return None
        except (TimeoutError, aiohttp.ClientError, OSError) as e:
            log.warning("could not reach Slack to check the bot token (%s)", type(e).__name__)
            return None
        self.bot_ids = {k: str(auth.get(k) or "") for k in ("user_id", "bot_id")}
        enterprise = auth.get("enterprise_id") or None
        installed_on_org = bool(auth.get("is_enterprise_install"))
        return Workspace(enterprise, auth.get("team_id") or None, installed_on_org)

    async def check_setup(self) -> None:
        """Learn the bot's ids and workspace, and warn, in words a school can act on, about
        the channel."""
        if self.own.own is None:
            self.own.own = await self._own_workspace()
        try:
            if not await self.directory.channel_is_private():
                log.warning(PUBLIC_CHANNEL_WARNING)
        except RetryLater:
            log.warning("could not check SLACK_LEADERSHIP_CHANNEL at start-up; will at each post")
        except SlackRefused as e:
            log.error(CHANNEL_PROBLEM, e.code)

    async def close(self) -> None:
        if self.socket is not None:
            await self.socket.close()
        await self.listeners.close()
        courier = self.runtime.couriers.get(Platform.SLACK)
        if courier is not None:
            await courier.stop()
        await self.session.close()

    def health(self) -> dict[str, object]:
        status: dict[str, Any] = {
            "mode": "socket" if self.socket else "http",
            "leadership_channel": self.directory.channel_state,
        }
        if self.socket is not None:
            status["connected"] = self.socket.connected
        return status

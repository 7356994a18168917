"""One school's Slack pieces: its client (with its own token), its leadership channel's
directory, its posts and sender, its answers for setting up in chat; and the engine to hand
its turns to.

A deployment for one school has one of these (SLACK_BOT_TOKEN, SLACK_LEADERSHIP_CHANNEL);
one for many schools makes one per school as the school is opened, its client asking the
installation store for the school's current token before every call, so that a rotated token
is used by the courier and the reminders as well as by request handlers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from adapters.slack.client import error_code
from adapters.slack.directory import LOOKUP_ERRORS, Directory, LeadershipChannel
from adapters.slack.posts import SlackPosts
from adapters.slack.sender import SlackSender
from bot.home import Home
from bot.model import Person, Reply, Turn
from bot.school import UNSEEN, Place, SchoolSettings

LOOKUP_BUDGET = 1.5  # seconds: a setup command's look-ups, inside Slack's 3
Handle = Callable[[Turn], Coroutine[Any, Any, list[Reply]]]  # the engine's: store, queue
HomeOf = Callable[[Person, bool], Awaitable[Home]]  # a person's Home tab (bot.home)


class SchoolClient(AsyncWebClient):
    """A Web API client that takes its school's current token at every call."""

    def __init__(self, token: Callable[[], Awaitable[str]], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._current_token = token

    async def api_call(self, api_method: str, **kwargs: Any) -> AsyncSlackResponse:
        self.token = await self._current_token()
        return await super().api_call(api_method, **kwargs)


class SlackWorkplace:
    """`bot.school.Workplace` for Slack: users.info (is_admin / is_owner) and
    conversations.info (is_private, is_member). Slack says `channel_not_found` for a private
    channel the bot is not in."""

    def __init__(self, client: AsyncWebClient, budget: float = LOOKUP_BUDGET) -> None:
        self.client = client
        self.budget = budget

    async def is_admin(self, person: Person) -> bool | None:
        try:
            async with asyncio.timeout(self.budget):
                user = (await self.client.users_info(user=person.user_id)).get("user") or {}
        except LOOKUP_ERRORS:
            return None
        return any(bool(user.get(k)) for k in ("is_admin", "is_owner", "is_primary_owner"))

    async def place(self, place: str) -> Place | None:
        try:
            async with asyncio.timeout(self.budget):
                found = (await self.client.conversations_info(channel=place)).get("channel")
        except SlackApiError as e:
            return UNSEEN if error_code(e) == "channel_not_found" else None
        except LOOKUP_ERRORS:
            return None
        if not isinstance(found, dict):
            return None
        return Place(private=bool(found.get("is_private")), bot_member=bool(found.get("is_member")))


@dataclass
class SlackSchool:
    """Everything a listener or the courier needs for one school."""

    handle: Handle  # the school's engine
    home: HomeOf
    client: AsyncWebClient
    directory: Directory
    posts: SlackPosts
    sender: SlackSender
    membership: LeadershipChannel
    workplace: SlackWorkplace

    def use(self, settings: SchoolSettings) -> None:
        """The school chose (another) leadership channel: post there, ask who is in it."""
        self.directory.use_channel(settings.leadership)


def school_parts(
    handle: Handle, home: HomeOf, client: AsyncWebClient, channel: str, timeout: float
) -> SlackSchool:
    directory = Directory(client, channel, timeout)
    posts = SlackPosts(client, directory, timeout)
    return SlackSchool(
        handle,
        home,
        client,
        directory,
        posts,
        SlackSender(client, posts, timeout),
        LeadershipChannel(directory),
        SlackWorkplace(client),
    )

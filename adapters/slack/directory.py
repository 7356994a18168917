"""What the bot asks Slack about people and the leadership channel.

Lookups made while Slack waits for an acknowledgement get a small time budget and a short
cache, and never fail the turn: a missing name is only a missing name. Membership is the one
answer that gates something (leaders' buttons), so "could not tell" is kept distinct from "no".
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.client import SlackRefused, slack_errors
from bot.errors import RetryLater
from bot.model import Person

log = logging.getLogger(__name__)
# RetryLater: the school's token could not be had (a deployment for many schools).
LOOKUP_ERRORS = (SlackApiError, RetryLater, TimeoutError, aiohttp.ClientError, OSError)
NOT_CHOSEN_RETRY = 60.0  # seconds a leadership post waits for the school to choose a channel


@dataclass(frozen=True)
class Profile:
    name: str = ""
    email: str = ""


class Directory:
    def __init__(
        self,
        client: AsyncWebClient,
        channel: str,
        timeout: float,
        *,
        profile_ttl: float = 600.0,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.channel = channel
        self.timeout = timeout
        self.profile_ttl = profile_ttl
        self._now = now
        self._profiles: dict[str, tuple[float, Profile]] = {}
        self._members: tuple[float, frozenset[str]] | None = None
        self.channel_state = "unchecked" if channel else "not chosen"

    def use_channel(self, channel: str) -> None:
        """The school chose its leadership channel (in chat): ask about that one from now."""
        if channel != self.channel:
            self.channel, self._members = channel, None
            self.channel_state = "unchecked" if channel else "not chosen"

    async def profile(self, user: str, budget: float) -> Profile:
        """Name and email for the report (users:read, users:read.email); empty if unknown."""
        cached = self._profiles.get(user)
        if cached and self._now() - cached[0] < self.profile_ttl:
            return cached[1]
        try:
            async with asyncio.timeout(budget):
                response = await self.client.users_info(user=user)
        except LOOKUP_ERRORS as e:
            log.warning("users.info failed (%s); carrying on without the name", type(e).__name__)
            return Profile()
        found = _profile(response.get("user") or {})
        self._profiles[user] = (self._now(), found)
        return found

    async def is_member(self, user: str, budget: float, max_age: float) -> bool | None:
        """Is the user in the leadership channel? None when Slack could not say in time."""
        if not self.channel:
            return False  # no leadership channel chosen yet: nobody leads
        if self._members and self._now() - self._members[0] <= max_age:
            return user in self._members[1]
        try:
            async with asyncio.timeout(budget):
                members = await self._fetch_members()
        except LOOKUP_ERRORS as e:
            log.warning("conversations.members failed (%s)", type(e).__name__)
            return None
        self._members = (self._now(), members)
        return user in members

    async def _fetch_members(self) -> frozenset[str]:
        members: set[str] = set()
        cursor = ""
        while True:
            response = await self.client.conversations_members(
                channel=self.channel, limit=500, cursor=cursor or None
            )
            members.update(str(m) for m in response.get("members") or [])
            meta = response.get("response_metadata") or {}
            cursor = str(meta.get("next_cursor") or "")
            if not cursor:
                return frozenset(members)

    async def channel_is_private(self) -> bool:
        """Checked before every leadership post: raises RetryLater / SlackRefused.

        Also keeps `channel_state` (private, public, not found, unreachable) for /healthz.
        """
        if not self.channel:
            log.warning(
                "no leadership channel chosen yet (/report-tiktok setup): leadership posts wait"
            )
            raise RetryLater("no leadership channel chosen yet", NOT_CHOSEN_RETRY)
        try:
            async with slack_errors("conversations.info", self.timeout):
                response = await self.client.conversations_info(channel=self.channel)
        except RetryLater:
            self.channel_state = "unreachable"
            raise
        except SlackRefused:
            self.channel_state = "not found"
            raise
        private = bool((response.get("channel") or {}).get("is_private"))
        self.channel_state = "private" if private else "public"
        return private


def _profile(user: dict[str, Any]) -> Profile:
    profile = user.get("profile") or {}
    name = (
        profile.get("real_name")
        or user.get("real_name")
        or profile.get("display_name")
        or user.get("name")
        or ""
    )
    return Profile(str(name), str(profile.get("email") or ""))


class LeadershipChannel:
    """`bot.ports.Membership` for Slack: a leader is a member of the leadership channel."""

    def __init__(self, directory: Directory, *, budget: float = 0.8, max_age: float = 5.0) -> None:
        self.directory = directory
        self.budget = budget
        self.max_age = max_age  # a leader's press re-checks membership this fresh

    async def is_leader(self, person: Person, case_reference: str = "") -> bool | None:
        return await self.directory.is_member(person.user_id, self.budget, self.max_age)

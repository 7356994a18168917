"""The leadership channel in Slack: `bot.ports.LeadershipPosts`, driven by `bot.leadership`.

A post's id is `{channel, ts}`. Every post carries its outbox id in the message's metadata, so
that a post an earlier attempt made after all (a timeout after Slack accepted it, a crash
before the delivered mark) is found in the channel's history rather than made again.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import render
from adapters.slack.client import SETUP_RETRY_SECONDS, SlackRefused, slack_errors
from adapters.slack.directory import Directory
from bot.errors import RetryLater
from bot.model import JSON, OutboxItem
from bot.views import ResolvedCard

log = logging.getLogger(__name__)
METADATA_TYPE = "reportbot_case"
# Errors from the double-post check that mean "cannot look", not "try later".
CANNOT_LOOK = frozenset({"missing_scope", "not_in_channel", "channel_not_found"})
# Errors an administrator fixes (invite the bot, correct the channel ID): until then the
# post waits in the outbox rather than being dropped, because it is a report leaders need.
SETUP_PROBLEMS = frozenset({"channel_not_found", "not_in_channel", "is_archived", "missing_scope"})
CHANNEL_PROBLEM = (
    "The bot cannot post in SLACK_LEADERSHIP_CHANNEL (%s). Check the channel ID, and invite "
    "the bot to the channel: type /invite @reportbot there. Leadership posts wait until then."
)


class SlackPosts:
    def __init__(self, client: AsyncWebClient, directory: Directory, timeout: float) -> None:
        self.client = client
        self.directory = directory
        self.timeout = timeout

    @property
    def channel(self) -> str:
        return self.directory.channel  # the school may choose another in chat

    async def private(self) -> bool:
        async with _until_fixed():
            return await self.directory.channel_is_private()

    async def post(self, item: OutboxItem, card: ResolvedCard) -> JSON:
        return await self._post(item, render.card(card))

    async def update(self, post: JSON, card: ResolvedCard) -> bool:
        return await self._replace(post, render.card(card))

    async def find_earlier(self, item: OutboxItem) -> JSON | None:
        async with _until_fixed():
            ts = await earlier_message(self.client, self.channel, item, self.timeout)
        return {"channel": self.channel, "ts": ts} if ts else None

    async def scrub(self, post: JSON, text: str) -> None:
        message = render.Message(text, [{"type": "section", "text": render.plain(text)}])
        await self._replace(post, message)

    async def notice(self, item: OutboxItem, message: render.Message) -> None:
        """A reminder or other notice to the channel, once."""
        if item.attempts > 1 and await self.find_earlier(item):
            return
        await self._post(item, message)

    async def _post(self, item: OutboxItem, message: render.Message) -> JSON:
        async with _until_fixed(), slack_errors("chat.postMessage", self.timeout):
            response = await self.client.chat_postMessage(
                channel=self.channel,
                text=message.text,
                blocks=message.blocks,
                unfurl_links=False,
                unfurl_media=False,
                metadata=stamp(item),
            )
        return {"channel": str(response["channel"]), "ts": str(response["ts"])}

    async def _replace(self, post: JSON, message: render.Message) -> bool:
        """False when Slack no longer has the post (deleted by hand)."""
        try:
            async with _until_fixed(), slack_errors("chat.update", self.timeout):
                await self.client.chat_update(
                    channel=str(post["channel"]),
                    ts=str(post["ts"]),
                    text=message.text,
                    blocks=message.blocks,
                    unfurl_links=False,
                    unfurl_media=False,
                )
        except SlackRefused as e:
            if e.code != "message_not_found":
                raise
            return False
        return True


@asynccontextmanager
async def _until_fixed() -> AsyncIterator[None]:
    """A channel the bot cannot use waits for the school to fix it, rather than failing."""
    try:
        yield
    except SlackRefused as e:
        if e.code not in SETUP_PROBLEMS:
            raise
        log.error(CHANNEL_PROBLEM, e.code)
        raise RetryLater(str(e), SETUP_RETRY_SECONDS) from None


def stamp(*items: OutboxItem) -> JSON:
    """Message metadata carrying the outbox ids, so a retry can find what already went: the
    first item's, and (for a message of several replies) every item's, space-separated."""
    payload = {"outbox_id": items[0].id}
    if len(items) > 1:
        payload["outbox_ids"] = " ".join(i.id for i in items)
    return {"event_type": METADATA_TYPE, "event_payload": payload}


async def earlier_message(
    client: AsyncWebClient, channel: str, item: OutboxItem, wait: float
) -> str | None:
    """The ts of a message an earlier attempt at `item` made after all, if Slack has it."""
    for message in await _recent(client, channel, item, wait):
        if item.id in _stamped(message):
            return str(message["ts"])
    return None


async def sent_before(
    client: AsyncWebClient, channel: str, items: Sequence[OutboxItem], wait: float
) -> set[str]:
    """Of `items`, those in a message an earlier attempt made after all (one look)."""
    ids = {i.id for i in items}
    found = set[str]()
    for message in await _recent(client, channel, min(items, key=lambda i: i.created_at), wait):
        found |= ids & _stamped(message)
    return found


def _stamped(message: JSON) -> set[str]:
    meta = message.get("metadata") or {}
    if meta.get("event_type") != METADATA_TYPE:
        return set()
    payload = meta.get("event_payload") or {}
    return {str(payload.get("outbox_id", "")), *str(payload.get("outbox_ids", "")).split()}


async def _recent(
    client: AsyncWebClient, channel: str, item: OutboxItem, wait: float
) -> list[JSON]:
    """The channel's messages since just before `item` was made; none if Slack will not say."""
    try:
        async with slack_errors("conversations.history", wait):
            response = await client.conversations_history(
                channel=channel,
                oldest=f"{item.created_at.timestamp() - 60:.6f}",
                include_all_metadata=True,
                limit=200,
            )
    except SlackRefused as e:
        if e.code not in CANNOT_LOOK:
            raise
        log.warning("cannot check for an earlier message (%s); sending", e.code)
        return []
    return list(response.get("messages") or [])

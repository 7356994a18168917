"""SlackSender: delivers one outbox item to Slack (the `bot.ports.Sender` the courier drives).

A person's replies go to their DM with the bot (or, for a refusal in the leadership channel,
as an ephemeral message only they see). Leadership cards go through `LeadershipPosts`.
Every post has link and media unfurling off: a post must never preview the abusive video.
"""

from __future__ import annotations

import logging

from slack_sdk.web.async_client import AsyncWebClient

from adapters.compose import Runtime
from adapters.slack import render
from adapters.slack.client import slack_errors
from adapters.slack.directory import Directory
from adapters.slack.posts import LeadershipPosts, earlier_message, stamp
from bot.codec import reply_from_dict
from bot.errors import DeliveryError, DeliveryRefused
from bot.hours import status_text
from bot.model import (
    JSON,
    Audience,
    CaseCard,
    CaseList,
    HandoffReply,
    Notice,
    OutboxItem,
    Question,
    Reply,
)
from bot.views import case_line

log = logging.getLogger(__name__)


class SlackSender:
    def __init__(
        self, client: AsyncWebClient, runtime: Runtime, directory: Directory, timeout: float
    ) -> None:
        self.client = client
        self.runtime = runtime
        self.directory = directory
        self.timeout = timeout
        self.posts = LeadershipPosts(client, runtime, directory, timeout)

    async def send(self, item: OutboxItem) -> JSON | None:
        reply = reply_from_dict(item.reply)
        if item.audience == Audience.LEADERSHIP:
            if isinstance(reply, Notice):  # a reminder: no case details, fine in any channel
                await self.posts.notice(item, render.notice(reply))
                return None
            if not isinstance(reply, CaseCard):
                raise DeliveryRefused(f"the leadership channel cannot show {type(reply).__name__}")
            return await self.posts.deliver(item, reply)
        await self.to_person(item.address, reply, item)
        return None  # receipts are only kept for leadership posts

    async def to_person(
        self, address: dict[str, str], reply: Reply, item: OutboxItem | None = None
    ) -> None:
        """A DM (or ephemeral message); `item` makes it once-only across failed attempts."""
        channel = address.get("channel", "")
        if not channel:
            raise DeliveryRefused("no Slack address for this reply")
        message = await self.message_for(reply, address.get("user", ""))
        if address.get("ephemeral"):
            async with slack_errors("chat.postEphemeral", self.timeout):
                await self.client.chat_postEphemeral(
                    channel=channel, user=address["user"], text=message.text, blocks=message.blocks
                )
            return
        if item is not None and item.attempts > 1 and await self._went_before(channel, item):
            return
        async with slack_errors("chat.postMessage", self.timeout):
            await self.client.chat_postMessage(
                channel=channel,
                text=message.text,
                blocks=message.blocks,
                unfurl_links=False,
                unfurl_media=False,
                metadata=stamp(item) if item is not None else None,
            )

    async def _went_before(self, channel: str, item: OutboxItem) -> bool:
        """Did an earlier attempt reach the DM after all (a timeout after Slack took it)?"""
        if channel.startswith("U"):  # a user id: the DM's own id is needed to read it
            async with slack_errors("conversations.open", self.timeout):
                opened = await self.client.conversations_open(users=channel)
            channel = str((opened.get("channel") or {}).get("id", channel))
        return await earlier_message(self.client, channel, item, self.timeout) is not None

    async def best_effort(self, address: dict[str, str], replies: list[Reply]) -> None:
        """Send what the engine could not store (an apology): once, and never raise."""
        for reply in replies:
            try:
                await self.to_person(address, reply)
            except DeliveryError as e:
                log.warning("could not send an unstored reply to Slack: %s", e)

    async def message_for(self, reply: Reply, user: str) -> render.Message:
        now = self.runtime.clock.now()
        match reply:
            case Notice():
                return render.notice(reply)
            case Question():
                return render.question(reply)
            case HandoffReply(handoff=h):
                return render.handoff(h, status_text(self.runtime.facts, now))
            case CaseList(title=title, references=refs, empty=empty):
                return render.case_list(title, await self._lines(refs), empty)
            case CaseCard(reference=ref):  # a leader's `show REF`: the card, in their DM
                return await self.posts.card_message(ref)
        raise DeliveryRefused(f"a person's chat cannot show {type(reply).__name__}")

    async def _lines(self, references: tuple[str, ...]) -> list[str]:
        lines = []
        for reference in references:
            case = await self.runtime.store.case(reference)
            if case:
                lines.append(case_line(case, self.runtime.facts))
        return lines

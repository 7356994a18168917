"""SlackSender: delivers one resolved reply to Slack (the `bot.ports.Sender` the courier drives).

A person's replies go to their DM with the bot (or, for a refusal in the leadership channel,
as an ephemeral message only they see); a notice for leadership (a reminder) goes to the
channel through `SlackPosts`, as case cards do. Every post has link and media unfurling off: a
post must never preview the abusive video.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from slack_sdk.errors import SlackRequestError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import render
from adapters.slack.client import slack_errors
from adapters.slack.posts import SlackPosts, sent_before, stamp
from bot.errors import DeliveryError, DeliveryRefused, RetryLater
from bot.model import Audience, OutboxItem, Reply
from bot.resolve import complete
from bot.views import Resolved, ResolvedFile

log = logging.getLogger(__name__)


class SlackSender:
    def __init__(self, client: AsyncWebClient, posts: SlackPosts, timeout: float) -> None:
        self.client = client
        self.posts = posts
        self.timeout = timeout

    async def send(self, item: OutboxItem, reply: Resolved) -> None:
        if item.audience == Audience.LEADERSHIP:  # a notice: case cards go as posts
            await self.posts.notice(item, render.message(reply))
            return
        await self.to_person(item.address, reply, item)

    def joined(self, replies: Sequence[Resolved]) -> list[list[int]]:
        """A turn's replies in one DM message (more, only past Slack's limits). A file never
        comes here: it is a run of its own (`bot.outbox.together`)."""
        return render.joined([render.message(r) for r in replies])

    async def send_together(self, items: Sequence[OutboxItem], replies: Sequence[Resolved]) -> None:
        """One DM message of several replies, stamped with every item's id; on a later
        attempt, those already in the DM (an earlier attempt's, however joined) are left out."""
        address = items[0].address
        if any(i.attempts > 1 for i in items) and not address.get("ephemeral"):
            went = await self._went_before(address.get("channel", ""), items)
            replies = [r for i, r in zip(items, replies, strict=True) if i.id not in went]
            items = [i for i in items if i.id not in went]
        if items:
            message = render.join([render.message(r) for r in replies])
            await self._to_channel(address, message, items, look=False)

    async def to_person(
        self, address: dict[str, str], reply: Resolved, item: OutboxItem | None = None
    ) -> None:
        """A DM (or ephemeral message); `item` makes it once-only across failed attempts."""
        if isinstance(reply, ResolvedFile):
            if not address.get("channel"):
                raise DeliveryRefused("no Slack address for this reply")
            await self.upload(address, reply)
            return
        await self._to_channel(address, render.message(reply), [item] if item else [])

    async def _to_channel(
        self,
        address: dict[str, str],
        message: render.Message,
        items: Sequence[OutboxItem],
        *,
        look: bool = True,
    ) -> None:
        channel = address.get("channel", "")
        if not channel:
            raise DeliveryRefused("no Slack address for this reply")
        if address.get("ephemeral"):
            async with slack_errors("chat.postEphemeral", self.timeout):
                await self.client.chat_postEphemeral(
                    channel=channel, user=address["user"], text=message.text, blocks=message.blocks
                )
            return
        again = look and any(i.attempts > 1 for i in items)
        if again and await self._went_before(channel, items):
            return
        async with slack_errors("chat.postMessage", self.timeout):
            await self.client.chat_postMessage(
                channel=channel,
                text=message.text,
                blocks=message.blocks,
                unfurl_links=False,
                unfurl_media=False,
                metadata=stamp(*items) if items else None,
            )

    async def upload(self, address: dict[str, str], file: ResolvedFile) -> None:
        """A leader's file, into their DM: files_upload_v2 does Slack's three steps
        (files.getUploadURLExternal, the bytes to its upload_url, files.completeUploadExternal).
        Never into a channel: the file holds safeguarding records."""
        channel = address["channel"]
        if not channel.startswith("D"):  # a channel (an ephemeral reply's): the DM instead
            channel = await self._dm_id(address.get("user") or channel)
        try:
            async with slack_errors("files.upload", self.timeout * 3):
                await self.client.files_upload_v2(
                    channel=channel,
                    content=file.content,
                    filename=file.filename,
                    title=file.title,
                    initial_comment=file.comment,
                )
        except SlackRequestError as e:  # the upload URL did not take the bytes: try again
            raise RetryLater(f"files.upload: {type(e).__name__}") from None

    async def _dm_id(self, channel: str) -> str:
        """The DM's own id (a user id opens it): files and history need it."""
        if not channel.startswith("U"):
            return channel
        async with slack_errors("conversations.open", self.timeout):
            opened = await self.client.conversations_open(users=channel)
        return str((opened.get("channel") or {}).get("id", channel))

    async def _went_before(self, channel: str, items: Sequence[OutboxItem]) -> set[str]:
        """Of these items, those an earlier attempt put in the DM after all (a timeout after
        Slack took the message)."""
        channel = await self._dm_id(channel)
        return await sent_before(self.client, channel, items, self.timeout)

    async def best_effort(self, address: dict[str, str], replies: Sequence[Reply]) -> None:
        """Send what the engine could not store (an apology): once, and never raise."""
        for reply in replies:
            try:
                await self.to_person(address, complete(reply))
            except (DeliveryError, TypeError) as e:
                log.warning("could not send an unstored reply to Slack: %s", e)

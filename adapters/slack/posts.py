"""The case post in the leadership channel: posted once, then updated in place.

Case details go only to a private channel; a channel that is not private gets the content-free
alert. A post that may have gone out before a failure (a timeout after Slack accepted it) is
looked for before posting again, by the outbox id carried in the message's metadata, so an
outage delays the leadership post but never doubles it, across restarts too.
"""

from __future__ import annotations

import logging

from slack_sdk.web.async_client import AsyncWebClient

from adapters.compose import Runtime
from adapters.slack import render
from adapters.slack.client import SETUP_RETRY_SECONDS, SlackRefused, slack_errors
from adapters.slack.directory import Directory
from bot.errors import RetryLater
from bot.hours import status_text
from bot.model import JSON, CaseCard, CaseStatus, Notice, OutboxItem, Platform
from bot.views import case_view

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


def receipt_key(reference: str) -> str:
    return f"post:{Platform.SLACK}:{reference}"


class LeadershipPosts:
    def __init__(
        self, client: AsyncWebClient, runtime: Runtime, directory: Directory, timeout: float
    ) -> None:
        self.client = client
        self.runtime = runtime
        self.directory = directory
        self.channel = directory.channel
        self.timeout = timeout

    async def deliver(self, item: OutboxItem, card: CaseCard) -> JSON | None:
        """Post or update the card; returns the new post's {channel, ts} receipt."""
        try:
            return await self._deliver(item, card)
        except SlackRefused as e:
            if e.code not in SETUP_PROBLEMS:
                raise
            log.error(CHANNEL_PROBLEM, e.code)
            raise RetryLater(str(e), SETUP_RETRY_SECONDS) from None

    async def _deliver(self, item: OutboxItem, card: CaseCard) -> JSON | None:
        case = await self.runtime.store.case(card.reference)
        if case is None:
            return None  # nothing left to show
        if case.status == CaseStatus.DELETED:
            await self._scrub(card.reference)
            return None
        now = self.runtime.clock.now()
        view = case_view(case, self.runtime.facts, now)
        if not await self.directory.channel_is_private():
            # The alert never changes, so an update has nothing to say in a public channel.
            return None if card.update else await self._post(item, render.case_alert(view))
        if card.minimal:  # the full card was refused: name the case, say where to read it
            message = render.case_minimal(view)
        else:
            message = render.case_card(view, status_text(self.runtime.facts, now))
        if card.update:
            return await self._update(item, card.reference, message)
        return await self._post(item, message)

    async def notice(self, item: OutboxItem, message: render.Message) -> None:
        """A reminder or other notice to the channel, once."""
        await self._post(item, message)

    async def card_message(self, reference: str) -> render.Message:
        """The case card as it stands, for a leader who asked to see it in their DM."""
        case = await self.runtime.store.case(reference)
        if case is None or case.status == CaseStatus.DELETED:
            return render.notice(Notice(f"Case {reference} is no longer held."))
        now = self.runtime.clock.now()
        view = case_view(case, self.runtime.facts, now)
        return render.case_card(view, status_text(self.runtime.facts, now))

    async def _scrub(self, reference: str) -> None:
        """Overwrite a deleted case's post so its details leave the channel too."""
        receipt = await self.runtime.store.get_meta(receipt_key(reference))
        if not (receipt and receipt.get("channel") and receipt.get("ts")):
            return
        text = f"Case {reference} was deleted under the school's retention schedule."
        try:
            async with slack_errors("chat.update", self.timeout):
                await self.client.chat_update(
                    channel=str(receipt["channel"]),
                    ts=str(receipt["ts"]),
                    text=text,
                    blocks=[{"type": "section", "text": render.plain(text)}],
                    unfurl_links=False,
                    unfurl_media=False,
                )
        except SlackRefused as e:
            if e.code != "message_not_found":
                raise

    async def _update(
        self, item: OutboxItem, reference: str, message: render.Message
    ) -> JSON | None:
        """None when the post was updated; the new post's receipt when it had to be made again."""
        receipt = await self.runtime.store.get_meta(receipt_key(reference))
        if receipt and receipt.get("channel") and receipt.get("ts"):
            try:
                async with slack_errors("chat.update", self.timeout):
                    await self.client.chat_update(
                        channel=str(receipt["channel"]),
                        ts=str(receipt["ts"]),
                        text=message.text,
                        blocks=message.blocks,
                        unfurl_links=False,
                        unfurl_media=False,
                    )
                return None
            except SlackRefused as e:
                if e.code != "message_not_found":
                    raise
        # No post to update (it was refused, or deleted by hand): make a fresh one.
        return await self._post(item, message)

    async def _post(self, item: OutboxItem, message: render.Message) -> JSON:
        if item.attempts > 1:  # an earlier claim may have posted it
            earlier = await self._earlier_post(item)
            if earlier:
                return earlier
        async with slack_errors("chat.postMessage", self.timeout):
            response = await self.client.chat_postMessage(
                channel=self.channel,
                text=message.text,
                blocks=message.blocks,
                unfurl_links=False,
                unfurl_media=False,
                metadata=stamp(item),
            )
        return {"channel": str(response["channel"]), "ts": str(response["ts"])}

    async def _earlier_post(self, item: OutboxItem) -> JSON | None:
        """The post an earlier, failed-looking attempt made after all, if there is one."""
        ts = await earlier_message(self.client, self.channel, item, self.timeout)
        return {"channel": self.channel, "ts": ts} if ts else None


def stamp(item: OutboxItem) -> JSON:
    """Message metadata carrying the outbox id, so a retry can find what already went."""
    return {"event_type": METADATA_TYPE, "event_payload": {"outbox_id": item.id}}


async def earlier_message(
    client: AsyncWebClient, channel: str, item: OutboxItem, wait: float
) -> str | None:
    """The ts of a message an earlier attempt at `item` made after all, if Slack has it."""
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
        return None
    for message in response.get("messages") or []:
        meta = message.get("metadata") or {}
        payload = meta.get("event_payload") or {}
        if meta.get("event_type") == METADATA_TYPE and payload.get("outbox_id") == item.id:
            return str(message["ts"])
    return None

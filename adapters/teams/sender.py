"""The courier's Teams sender: posts and updates cards through the CloudAdapter.

Every message goes proactively, through `continue_conversation` and a conversation reference
kept in the store, so a reply survives a restart or an outage. Inside the continuation the bot
calls the connector itself: `TurnContext.send_activity` would set replyToId to the
continuation's made-up id. A leadership post returns a receipt (its activity id and where it
is) that the courier stores, so later status changes update that card in place.

The Bot Connector cannot be asked whether it already has a post, so after an unclear failure
(a timeout once it had accepted the card, or a stop between posting and recording it) the
leadership card is posted again: it can appear twice, never zero times. A deleted case's card
is only ever overwritten with a content-free line, never posted.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from botbuilder.core import BotAdapter, TurnContext
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import Activity, ActivityTypes, Attachment

from adapters.teams import cards, references
from adapters.teams.config import TeamRef
from adapters.teams.connectors import warm_token
from adapters.teams.failures import FIX_WAIT, classify, http_status
from adapters.teams.render import Message, Renderer
from bot.codec import reply_from_dict
from bot.errors import DeliveryError, DeliveryRefused, RetryLater
from bot.model import JSON, Audience, CaseCard, OutboxItem
from bot.ports import Store

log = logging.getLogger(__name__)

WAIT_FOR_CHANNEL = 60.0  # seconds between looks for a leadership channel while there is none


def receipt_key(reference: str) -> str:
    return f"post:teams:{reference}"  # the key bot.delivery.Courier stores receipts under


class TeamsSender:
    def __init__(
        self,
        adapter: CloudAdapter,
        app_id: str,
        store: Store,
        renderer: Renderer,
        team: TeamRef | None = None,
    ) -> None:
        self.adapter = adapter
        self.app_id = app_id
        self.store = store
        self.renderer = renderer
        self.team = team  # REPORTBOT_TEAMS_LEADERSHIP_TEAM: new cards go to no other team

    async def send(self, item: OutboxItem) -> JSON | None:
        leadership = item.audience == Audience.LEADERSHIP
        try:
            return await self._send(item, leadership)
        except DeliveryError:
            raise
        except Exception as e:
            mapped = classify(e, leadership=leadership)
            if mapped is None:
                raise
            raise mapped from None  # the SDK's message can quote the request; keep it out

    async def _send(self, item: OutboxItem, leadership: bool) -> JSON | None:
        reply = reply_from_dict(item.reply)
        message = await self.renderer.message(reply)
        if leadership and isinstance(reply, CaseCard) and message.gone:
            await self._scrub(reply.reference, message)
            return None
        if leadership and isinstance(reply, CaseCard) and reply.update:
            await self._update(item, reply.reference, message)
            return None
        if leadership and item.attempts:  # we cannot ask Teams whether that attempt landed
            log.warning(
                "posting the card for %s again after a failed attempt; if that attempt timed "
                "out after Teams took the card, the card appears twice",
                item.case_reference or item.id,
            )
        target = await self._leadership(item) if leadership else await self._chat(item)
        activity_id = await self._post(target, message)
        return {"activity_id": activity_id, "reference": target} if leadership else None

    async def _chat(self, item: OutboxItem) -> JSON:
        conversation_id = item.address.get("conversation", "")
        doc = await references.reference_for(self.store, conversation_id)
        if doc is None:
            raise DeliveryRefused("no Teams conversation reference for this chat")
        return doc

    async def _leadership(self, item: OutboxItem) -> JSON:
        chosen = await references.leadership(self.store, item.workspace, self.team)
        if chosen is None:
            reason = "no leadership channel yet: add the bot to the leadership team in Teams"
            raise RetryLater(reason, WAIT_FOR_CHANNEL)
        return chosen.reference

    async def _scrub(self, reference: str, message: Message) -> None:
        """Overwrite a deleted case's post in place; with no post (or it is gone), nothing."""
        receipt = await self.store.get_meta(receipt_key(reference))
        if not (receipt and receipt.get("activity_id")):
            return
        try:
            await self._replace(receipt["reference"], str(receipt["activity_id"]), message)
        except Exception as e:
            if http_status(e) != 404:
                raise

    async def _update(self, item: OutboxItem, reference: str, message: Message) -> None:
        receipt = await self.store.get_meta(receipt_key(reference))
        if receipt and receipt.get("activity_id"):
            try:
                await self._replace(receipt["reference"], str(receipt["activity_id"]), message)
                return
            except Exception as e:
                if http_status(e) != 404:
                    raise
                log.warning("the card for a case was deleted in Teams; posting it again")
        # No post to update (made elsewhere, or deleted): post anew and keep its receipt.
        target = await self._leadership(item)
        activity_id = await self._post(target, message)
        await self.store.put_meta(
            receipt_key(reference), {"activity_id": activity_id, "reference": target}
        )

    async def _post(self, target: JSON, message: Message) -> str:
        posted: list[str] = []

        async def post(client: Any, reference: Any) -> None:
            activity = TurnContext.apply_conversation_reference(activity_for(message), reference)
            _tenant(activity, reference)
            response = await client.conversations.send_to_conversation(
                reference.conversation.id, activity
            )
            posted.append(str(getattr(response, "id", "") or ""))

        await self._continue(target, post)
        if not posted or not posted[0]:
            raise RetryLater("Bot Connector returned no activity id", FIX_WAIT)
        return posted[0]

    async def _replace(self, target: JSON, activity_id: str, message: Message) -> None:
        async def replace(client: Any, reference: Any) -> None:
            activity = TurnContext.apply_conversation_reference(activity_for(message), reference)
            _tenant(activity, reference)
            activity.id = activity_id
            await client.conversations.update_activity(
                reference.conversation.id, activity_id, activity
            )

        await self._continue(target, replace)

    async def _continue(self, target: JSON, call: Callable[[Any, Any], Awaitable[None]]) -> None:
        reference = references.to_reference(target)

        async def logic(context: TurnContext) -> None:
            client = context.turn_state.get(BotAdapter.BOT_CONNECTOR_CLIENT_KEY)
            await warm_token(client)
            await call(client, reference)

        await self.adapter.continue_conversation(reference, logic, self.app_id)


def activity_for(message: Message) -> Activity:
    return Activity(
        type=ActivityTypes.message,
        summary=message.summary,
        attachments=[Attachment(content_type=cards.CONTENT_TYPE, content=message.card)],
    )


def _tenant(activity: Activity, reference: Any) -> None:
    """Teams wants the tenant on proactive messages; it is in the stored reference."""
    tenant = getattr(reference.conversation, "tenant_id", None)
    if tenant:
        activity.channel_data = {"tenant": {"id": tenant}}

"""The courier's Teams sender: posts and updates cards through the Agents SDK's CloudAdapter.

Every message goes proactively, through `continue_conversation` and a conversation reference
kept in the store, so a reply survives a restart or an outage. Inside the continuation the bot
calls the connector itself: `TurnContext.send_activity` would set replyToId to the
continuation's made-up id. Each call is bounded by REPORTBOT_TEAMS_TIMEOUT.

Leadership cards: every card posted for a case is kept (`receipts`), and each later change –
status updates, and the content-free line of a deleted case – reaches every copy. The Bot
Connector cannot be asked whether it already has a post, so after a timeout the card is posted
again; but the first attempt keeps listening (up to LATE_LIMIT), and if Teams' answer arrives
late its card joins the list and is brought up to date at once. A retry whose earlier attempt
turns out to have landed posts nothing new.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from microsoft_agents.activity import Activity, ActivityTypes
from microsoft_agents.hosting.aiohttp import CloudAdapter
from microsoft_agents.hosting.core import CardFactory, TurnContext
from microsoft_agents.hosting.core.connector import ConnectorClientBase

from adapters.teams import references
from adapters.teams.clients import ConnectorClients
from adapters.teams.config import TeamRef
from adapters.teams.failures import FIX_WAIT, classify, http_status
from adapters.teams.receipts import Card, Receipts
from adapters.teams.render import Message, Renderer
from bot.codec import reply_from_dict
from bot.errors import DeliveryError, DeliveryRefused, RetryLater
from bot.model import JSON, Audience, CaseCard, OutboxItem, Person, Platform
from bot.outbox import outbox_item
from bot.ports import Clock, Store, UnitOfWork

log = logging.getLogger(__name__)

WAIT_FOR_CHANNEL = 60.0  # seconds between looks for a leadership channel while there is none
LATE_LIMIT = 120.0  # how long a timed-out card post keeps listening for Teams' answer

Call = Callable[[Any, Activity], Awaitable[Any]]


class TeamsSender:
    def __init__(
        self,
        adapter: CloudAdapter,
        clients: ConnectorClients,
        app_id: str,
        store: Store,
        renderer: Renderer,
        clock: Clock,
        *,
        timeout: float,
        team: TeamRef | None = None,
        wake: Callable[[], None] = lambda: None,
    ) -> None:
        self.adapter = adapter
        self.clients = clients
        self.app_id = app_id
        self.store = store
        self.renderer = renderer
        self.clock = clock
        self.timeout = timeout
        self.team = team  # REPORTBOT_TEAMS_LEADERSHIP_TEAM: new cards go to no other team
        self.wake = wake  # the courier, when a late card needs bringing up to date
        self.receipts = Receipts(store)
        self._late: set[asyncio.Task[None]] = set()

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

    async def settle(self) -> None:
        """Wait for the card posts still listening for a late answer (tests, shutdown)."""
        while self._late:
            await asyncio.gather(*self._late, return_exceptions=True)

    async def close(self) -> None:
        for task in self._late:
            task.cancel()
        await asyncio.gather(*self._late, return_exceptions=True)

    async def _send(self, item: OutboxItem, leadership: bool) -> JSON | None:
        reply = reply_from_dict(item.reply)
        message = await self.renderer.message(reply)
        if not (leadership and isinstance(reply, CaseCard)):
            target = await self._leadership(item) if leadership else await self._chat(item)
            await self._post(target, message)
            return None
        if message.gone:
            await self._scrub(reply.reference, message)
        elif reply.update:
            await self._update(item, reply.reference, message)
        else:
            await self._first_post(item, reply.reference, message)
        return None  # the receipts are kept here, every card of them, not by the courier

    async def _chat(self, item: OutboxItem) -> JSON:
        doc = await references.reference_in(self.store, item.address)
        if doc is None:
            raise DeliveryRefused("no Teams conversation reference for this chat")
        return doc

    async def _leadership(self, item: OutboxItem) -> JSON:
        chosen = await references.leadership(self.store, item.workspace, self.team)
        if chosen is None:
            reason = "no leadership channel yet: add the bot to the leadership team in Teams"
            raise RetryLater(reason, WAIT_FOR_CHANNEL)
        return chosen.reference

    # --- a case's cards ----------------------------------------------------------------------

    async def _first_post(self, item: OutboxItem, reference: str, message: Message) -> None:
        if item.attempts > 1:  # an earlier claim may have posted it
            if any(c.item == item.id for c in await self.receipts.cards(reference)):
                return  # the earlier attempt landed after all: its card is already kept
            log.warning(
                "posting the card for %s again after a failed attempt; if that attempt timed "
                "out after Teams took the card, the card appears twice (both are kept up to "
                "date once Teams' answer arrives)",
                item.case_reference or item.id,
            )
        await self._post_card(item, reference, await self._leadership(item), message)

    async def _post_card(
        self, item: OutboxItem, reference: str, target: JSON, message: Message
    ) -> None:
        call = self._call(target, message, _post, limit=LATE_LIMIT)
        attempt = asyncio.get_running_loop().create_task(call)
        try:
            activity_id = await asyncio.wait_for(asyncio.shield(attempt), self.timeout)
        except TimeoutError:
            self._listen_late(attempt, item, reference, target)
            raise
        await self.receipts.add(reference, Card(activity_id, target, item.id))

    def _listen_late(
        self, attempt: asyncio.Task[str], item: OutboxItem, reference: str, target: JSON
    ) -> None:
        async def late() -> None:
            try:
                activity_id = await asyncio.wait_for(attempt, LATE_LIMIT)
            except Exception as e:  # no answer at all: that card's id cannot be known
                log.warning("a timed-out card post got no late answer (%s)", type(e).__name__)
                return
            await self.receipts.add(reference, Card(activity_id, target, item.id))
            await self._refresh_later(item, reference, activity_id)

        task = asyncio.get_running_loop().create_task(late())
        self._late.add(task)
        task.add_done_callback(self._late.discard)

    async def _refresh_later(self, item: OutboxItem, reference: str, activity_id: str) -> None:
        """A card found late may be out of date, or its case deleted: update every card."""
        now: datetime = self.clock.now()
        place = Person(Platform.TEAMS, item.workspace, "")
        refresh = CaseCard(reference, update=True)
        item_id = f"teams:late-card:{reference}:{activity_id}"
        queued = outbox_item(place, Audience.LEADERSHIP, {}, refresh, item_id, now, reference)
        await self.store.commit(UnitOfWork(outbox=[queued]))
        self.wake()

    async def _update(self, item: OutboxItem, reference: str, message: Message) -> None:
        cards = await self.receipts.cards(reference)
        gone = await self._replace_all(cards, message)
        await self.receipts.drop(reference, gone)
        if cards and len(gone) < len(cards):
            return
        if cards:
            log.warning("the cards for a case were deleted in Teams; posting it again")
        # No card to update (posted elsewhere, or deleted in Teams): post anew and keep it.
        await self._post_card(item, reference, await self._leadership(item), message)

    async def _scrub(self, reference: str, message: Message) -> None:
        """Overwrite every card of a deleted case in place; never post one anew."""
        await self._replace_all(await self.receipts.cards(reference), message)

    async def _replace_all(self, cards: list[Card], message: Message) -> set[str]:
        """Replace each card; returns the ids Teams no longer has (404)."""
        gone: set[str] = set()
        for card in cards:
            try:
                await self._call(card.reference, message, _replacing(card.activity_id))
            except Exception as e:
                if http_status(e) != 404:
                    raise
                gone.add(card.activity_id)
        return gone

    # --- one call to the Bot Connector ----------------------------------------------------------

    async def _post(self, target: JSON, message: Message) -> str:
        return await self._call(target, message, _post)

    async def _call(
        self, target: JSON, message: Message, call: Call, *, limit: float | None = None
    ) -> str:
        reference = references.to_reference(target)
        result: list[str] = []
        failed: list[BaseException] = []

        async def logic(context: TurnContext) -> None:
            try:
                client = context.services.get(ConnectorClientBase)  # type: ignore[type-abstract]
                activity = activity_for(message).apply_conversation_reference(reference)
                _tenant(activity, reference)
                result.append(str(await call(client, activity) or ""))
            except Exception as e:  # the adapter would hand it to on_turn_error and carry on
                failed.append(e)

        async def proactive() -> None:
            await self.clients.for_service(str(reference.service_url))  # a current token
            continuation = reference.get_continuation_activity()
            await self.adapter.continue_conversation(self.app_id, continuation, logic)

        await asyncio.wait_for(proactive(), limit or self.timeout)
        if failed:
            raise failed[0]
        if not result or not result[0]:
            raise RetryLater("Bot Connector returned no activity id", FIX_WAIT)
        return result[0]


async def _post(client: Any, activity: Activity) -> str:
    response = await client.conversations.send_to_conversation(activity.conversation.id, activity)
    return str(getattr(response, "id", "") or "")


def _replacing(activity_id: str) -> Call:
    async def replace(client: Any, activity: Activity) -> str:
        activity.id = activity_id
        await client.conversations.update_activity(activity.conversation.id, activity_id, activity)
        return activity_id

    return replace


def activity_for(message: Message) -> Activity:
    return Activity(
        type=ActivityTypes.message,
        summary=message.summary or " ",
        attachments=[CardFactory.adaptive_card(message.card)],
    )


def _tenant(activity: Activity, reference: Any) -> None:
    """Teams wants the tenant on proactive messages; it is in the stored reference."""
    tenant = getattr(reference.conversation, "tenant_id", None)
    if tenant:
        activity.channel_data = {"tenant": {"id": tenant}}

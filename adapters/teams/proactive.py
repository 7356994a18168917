"""One proactive call to the Bot Connector, through the Agents SDK's connector client.

Every message goes proactively, from a stored conversation reference, so a reply survives a
restart or an outage. The SDK's `CloudAdapter.continue_conversation` would run a whole turn
for it (a TurnContext, the middleware, telemetry spans) only to hand back the connector client
this bot keeps per service URL (`adapters.teams.clients`): about 3% of the server's CPU under
load, measured, around the send itself (about 11%). So the client is asked directly, with a
current token, and the
activity addressed from the reference as the SDK's `apply_conversation_reference` does. Each
call is bounded by REPORTBOT_TEAMS_TIMEOUT, and its failure is read for the outbox
(`failures.classify`): try again later, or never.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from microsoft_agents.activity import Activity, ActivityTypes
from microsoft_agents.hosting.core import CardFactory

from adapters.teams import references
from adapters.teams.clients import ConnectorClients
from adapters.teams.config import TeamRef
from adapters.teams.failures import classify
from adapters.teams.references import Places
from adapters.teams.render import Message
from bot.errors import DeliveryError, DeliveryRefused, RetryLater
from bot.model import JSON, OutboxItem

WAIT_FOR_CHANNEL = 60.0  # seconds between looks for a leadership channel while there is none

Call = Callable[[Any, Activity], Awaitable[Any]]


class Proactive:
    def __init__(
        self,
        clients: ConnectorClients,
        places: Places,
        *,
        timeout: float,
        team: TeamRef | None = None,
    ) -> None:
        self.clients = clients
        self.places = places
        self.timeout = timeout
        self.team = team  # REPORTBOT_TEAMS_LEADERSHIP_TEAM: new cards go to no other team

    async def chat(self, item: OutboxItem) -> JSON:
        """The conversation reference of a person's chat (or a channel's thread)."""
        doc = await self.places.reference_in(item.address)
        if doc is None:
            raise DeliveryRefused("no Teams conversation reference for this chat")
        return doc

    async def leadership(self, item: OutboxItem) -> JSON:
        """The conversation reference of the channel that receives new cases."""
        chosen = await self.places.leadership(item.workspace, self.team)
        if chosen is None:
            reason = "no leadership channel yet: add the bot to the leadership team in Teams"
            raise RetryLater(reason, WAIT_FOR_CHANNEL)
        return chosen.reference

    async def post(self, target: JSON, message: Message, *, limit: float | None = None) -> str:
        """Post a new activity; returns its id."""
        return await self.call(target, message, _post, limit=limit)

    async def replace(self, target: JSON, activity_id: str, message: Message) -> None:
        await self.call(target, message, _replacing(activity_id))

    async def call(
        self, target: JSON, message: Message, call: Call, *, limit: float | None = None
    ) -> str:
        """The activity's id; "" when the connector took it (a 2xx) without saying its id, as
        the Agents Playground does for stacked cards (202, no body). Taken is delivered: sent
        again, it would show twice, and the person's next reply would wait behind it."""
        reference = references.to_reference(target)

        async def send() -> str:
            client = await self.clients.for_service(str(reference.service_url))
            activity = activity_for(message).apply_conversation_reference(reference)
            _tenant(activity, reference)
            return str(await call(client, activity) or "")

        return await asyncio.wait_for(send(), limit or self.timeout)


@asynccontextmanager
async def for_the_outbox(*, leadership: bool) -> AsyncIterator[None]:
    """A failed call as the courier reads it: RetryLater or DeliveryRefused (a bug: as it is)."""
    try:
        yield
    except DeliveryError:
        raise
    except Exception as e:
        mapped = classify(e, leadership=leadership)
        if mapped is None:
            raise
        raise mapped from None  # the SDK's message can quote the request; keep it out


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
    cards = [message.card, *message.more]
    activity = Activity(
        type=ActivityTypes.message,
        summary=message.summary or " ",
        attachments=[CardFactory.adaptive_card(card) for card in cards],
    )
    if message.more:  # stacked, one under another (not a carousel)
        activity.attachment_layout = "list"
    return activity


def _tenant(activity: Activity, reference: Any) -> None:
    """Teams wants the tenant on proactive messages; it is in the stored reference."""
    tenant = getattr(reference.conversation, "tenant_id", None)
    if tenant:
        activity.channel_data = {"tenant": {"id": tenant}}

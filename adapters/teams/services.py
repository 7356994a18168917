"""What the Teams handlers share, and the one way they call the engine."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from microsoft_agents.activity import Activity, TurnContextProtocol

from adapters.teams import render
from adapters.teams.clients import ConnectorClients
from adapters.teams.config import TeamsConfig
from adapters.teams.proactive import activity_for
from adapters.teams.references import Places
from bot.delivery import Courier
from bot.engine import BUG_SORRY as BUG_SORRY  # the engine's words, so both say the same
from bot.engine import STORAGE_SORRY as STORAGE_SORRY
from bot.errors import StorageError, error_reference, log_bug
from bot.model import Notice, Reply, Turn
from bot.resolve import complete

log = logging.getLogger(__name__)

Context = TurnContextProtocol[Activity]  # what the SDK hands each handler


@dataclass(frozen=True)
class Services:
    handle_turn: Callable[[Turn], Awaitable[list[Reply]]]  # the engine's
    courier: Courier  # the Teams outbox: messages the handlers owe, cards waiting for a channel
    places: Places  # where the bot can write (conversation references, the leadership channel)
    clients: ConnectorClients
    config: TeamsConfig
    # Teams sends installationUpdate and conversationUpdate together on install: one at a time.
    leadership_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def handle(self, context: Context, turn: Turn) -> None:
        """Run a turn. The engine stores the step and queues the replies before returning;
        what it returns could not be stored (an apology), so it is sent now, best-effort."""
        for reply in await self.handle_turn(turn):
            await self.say_now(context, reply)

    async def tell(self, item_id: str, tenant: str, where: dict[str, str], notice: Notice) -> None:
        """A message the adapter itself owes (a welcome, a confirmation), through the outbox.
        `where`: an address from `references.address` (it carries the conversation reference);
        ids are built from what caused the message, so a redelivered activity queues nothing."""
        await self.courier.tell(item_id, tenant, where, notice)

    async def say_now(self, context: Context, reply: Reply) -> None:
        await say_now(self.clients, self.config, context, reply)

    async def apologise(self, context: Context, error: Exception) -> None:
        await apologise(self.clients, self.config, context, error)


async def say_now(
    clients: ConnectorClients, config: TeamsConfig, context: Context, reply: Reply
) -> None:
    """A reply in this turn, best-effort (nothing stored, no retry)."""
    try:
        message = render.message(complete(reply))
        await clients.for_service(str(context.activity.service_url))  # a current token
        await asyncio.wait_for(context.send_activity(activity_for(message)), config.timeout)
    except Exception as e:  # the person may not hear back; the log says why
        log_bug(log, error_reference(), e)


async def apologise(
    clients: ConnectorClients, config: TeamsConfig, context: Context, error: Exception
) -> None:
    """An unexpected failure in the adapter: a code for the person, the trace for the log."""
    code = error_reference()
    if isinstance(error, StorageError):
        log.error("storage failure %s on a Teams turn: %s", code, type(error).__name__)
        text = STORAGE_SORRY.format(code=code)
    else:
        log_bug(log, code, error)
        text = BUG_SORRY.format(code=code)
    await say_now(clients, config, context, Notice(text, tone="danger"))

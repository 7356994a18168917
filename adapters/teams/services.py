"""What the Teams handlers share, and the one way they call the engine."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from microsoft_agents.activity import Activity, TurnContextProtocol

from adapters.compose import Runtime
from adapters.teams.clients import ConnectorClients
from adapters.teams.config import TeamsConfig
from adapters.teams.render import Renderer
from adapters.teams.sender import activity_for
from bot.engine import BUG_SORRY as BUG_SORRY  # the engine's words, so both say the same
from bot.engine import STORAGE_SORRY as STORAGE_SORRY
from bot.errors import StorageError, error_reference, log_bug
from bot.model import Notice, Reply, Turn

log = logging.getLogger(__name__)

Context = TurnContextProtocol[Activity]  # what the SDK hands each handler


@dataclass(frozen=True)
class Services:
    runtime: Runtime
    clients: ConnectorClients
    config: TeamsConfig
    renderer: Renderer
    # Teams sends installationUpdate and conversationUpdate together on install: one at a time.
    leadership_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def handle(self, context: Context, turn: Turn) -> None:
        """Run a turn. The engine stores the step and queues the replies before returning;
        what it returns could not be stored (an apology), so it is sent now, best-effort."""
        for reply in await self.runtime.engine.handle(turn):
            await self.say_now(context, reply)

    async def say_now(self, context: Context, reply: Reply) -> None:
        try:
            message = await self.renderer.message(reply)
            await self.clients.for_service(str(context.activity.service_url))  # a current token
            sending = context.send_activity(activity_for(message))
            await asyncio.wait_for(sending, self.config.timeout)
        except Exception as e:  # the person may not hear back; the log says why
            log_bug(log, error_reference(), e)

    async def apologise(self, context: Context, error: Exception) -> None:
        """An unexpected failure in the adapter: a code for the person, the trace for the log."""
        code = error_reference()
        if isinstance(error, StorageError):
            log.error("storage failure %s on a Teams turn: %s", code, type(error).__name__)
            text = STORAGE_SORRY.format(code=code)
        else:
            log_bug(log, code, error)
            text = BUG_SORRY.format(code=code)
        await self.say_now(context, Notice(text, tone="danger"))

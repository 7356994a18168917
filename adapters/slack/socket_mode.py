"""Socket Mode: the same Bolt app over a WebSocket the bot opens, so no public URL is needed.

The connection is opened in the background: a Slack outage at start-up must not stop the
bot's other work (the courier keeps its queue; slack_sdk keeps reconnecting).
"""

from __future__ import annotations

import asyncio
import logging

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.client import quiet_logger

log = logging.getLogger(__name__)


class SocketLink:
    def __init__(self, bolt: AsyncApp, app_token: str, client: AsyncWebClient) -> None:
        self.handler = AsyncSocketModeHandler(
            bolt, app_token, logger=quiet_logger("socket"), web_client=client
        )
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._connect(), name="slack-socket-mode")

    async def _connect(self) -> None:
        await self.handler.connect_async()  # type: ignore[no-untyped-call]
        log.info("Slack Socket Mode connected")

    @property
    def connected(self) -> bool:
        session = self.handler.client.current_session
        return session is not None and not session.closed

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self.handler.close_async()  # type: ignore[no-untyped-call]

"""Socket Mode: the same Bolt app over a WebSocket the bot opens, so no public URL is needed.

The connection is opened in the background: a Slack outage at start-up must not stop the
bot's other work (the courier keeps its queue; slack_sdk keeps reconnecting).
"""

from __future__ import annotations

import asyncio
import logging

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import shapes
from adapters.slack.client import quiet_logger
from adapters.slack.shapes import Verdict

log = logging.getLogger(__name__)


class CheckedHandler(AsyncSocketModeHandler):
    """Bolt's handler, with each envelope's shape checked first, as /slack/events does: an odd
    payload is acknowledged (Slack would resend it) and logged by kind only, never given to
    Bolt, which would log what was typed or fail with a traceback."""

    async def handle(self, client: SocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]
        payload = req.payload if isinstance(req.payload, dict) else {}
        verdict = shapes.judge(payload) if payload else Verdict.MALFORMED
        if verdict is Verdict.BOLT:
            await super().handle(client, req)
            return
        if verdict is Verdict.MALFORMED:
            log.warning("ignored a malformed Slack Socket Mode %s envelope", req.type)
        else:
            log.info("a Slack %s envelope came; nothing here handles it", shapes.kind_name(payload))
        await client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))


class SocketLink:
    def __init__(self, bolt: AsyncApp, app_token: str, client: AsyncWebClient) -> None:
        self.handler = CheckedHandler(
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

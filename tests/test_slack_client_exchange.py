"""The Web API client's own HTTP exchange (`adapters.slack.client.WebClient`) answers as
slack_sdk's does: the same data, and the same errors for refusals, rate limits, an HTML
error page and a body that is not JSON. (One difference: orjson reads an integer beyond 64
bits as a float, the SDK's json exactly; nothing Slack sends holds one.)"""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.json_body import dumps
from adapters.slack.client import WebClient

ANSWERS = {
    "ok": (200, "application/json", b'{"ok": true, "channel": "D1", "ts": "1.2"}'),
    "refused": (200, "application/json", b'{"ok": false, "error": "channel_not_found"}'),
    "limited": (429, "application/json", b'{"ok": false, "error": "ratelimited"}'),
    "down": (500, "text/html", b"<html>Slack is down</html>"),
    "garbled": (200, "application/json", b"{not json"),
    "utf16": (200, "application/json; charset=utf-16", '{"ok": true}'.encode("utf-16")),
}


@pytest.fixture
async def api() -> AsyncIterator[str]:
    async def answer(request: web.Request) -> web.Response:
        status, kind, body = ANSWERS[(await request.json())["channel"]]
        headers = {"Retry-After": "7", "Content-Type": kind}
        return web.Response(status=status, body=body, headers=headers)

    app = web.Application()
    app.router.add_post("/api/{method}", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}/api/"
    await runner.cleanup()


async def _outcome(client: AsyncWebClient, channel: str) -> object:
    try:
        response = await client.chat_postMessage(channel=channel, text="hi")
    except SlackApiError as e:
        response = e.response  # for a body that is not JSON, aiohttp's own (as the SDK gives it)
        code, data = getattr(response, "status_code", None), getattr(response, "data", None)
        return ("error", str(e).split("\n")[0], code, data, response.headers["Retry-After"])
    return ("ok", response.status_code, response.data)


@pytest.mark.parametrize("channel", sorted(ANSWERS))
async def test_the_same_answer_as_slack_sdk(api: str, channel: str) -> None:
    async with aiohttp.ClientSession(json_serialize=dumps) as session:
        ours = WebClient(token="xoxb-1", base_url=api, session=session, retry_handlers=[])
        sdk = AsyncWebClient(token="xoxb-1", base_url=api, session=session, retry_handlers=[])
        assert await _outcome(ours, channel) == await _outcome(sdk, channel)

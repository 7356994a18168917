"""Slack on loopback: the test stand-in (timed), a minimal Bolt app, and users driving both.

The stand-in is `tests.slack_fakes.FakeSlack`, extended only to note when each DM message
arrives and to answer `conversations.open` (which the minimal Bolt app calls).
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from benchmarks.arrivals import Arrivals, StepTiming, timed_step
from benchmarks.servers import BOT_TOKEN, SECRET
from tests.slack_fakes import (
    REPORT_STEPS,
    FakeSlack,
    _choose,
    block_actions,
    command_form,
    dm_channel,
    form_body,
    message_event,
    payload_body,
    signed_headers,
)

JSONDict = dict[str, Any]
COMMAND = "/report-tiktok"


@dataclass
class TimedSlack(FakeSlack):
    """The Web API stand-in, noting when each chat.postMessage reaches it, per channel."""

    arrivals: Arrivals = field(default_factory=Arrivals)

    def _chat_postMessage(self, p: JSONDict) -> JSONDict:
        result: JSONDict = super()._chat_postMessage(p)
        if result.get("ok"):
            self.arrivals.record(str(result["channel"]))
        return result

    def _conversations_open(self, p: JSONDict) -> JSONDict:
        return {"ok": True, "channel": {"id": dm_channel(str(p["users"]))}}

    def add_user(self, user: str) -> None:
        self.users[user] = {"real_name": f"Staff {user}", "email": f"{user.lower()}@school.example"}


# -- the minimal Bolt app ----------------------------------------------------------------------


def minimal_bolt(api_url: str) -> web.Application:
    """Bolt as its docs show it: /report-tiktok opens a DM and posts once; any DM message or
    button press gets one chat.postMessage. Served from aiohttp the standard way."""
    bolt = AsyncApp(
        signing_secret=SECRET,
        client=AsyncWebClient(token=BOT_TOKEN, base_url=api_url),
        process_before_response=True,
    )

    @bolt.command(COMMAND)
    async def command(ack: Any, body: JSONDict, client: AsyncWebClient) -> None:
        await ack()
        opened = await client.conversations_open(users=body["user_id"])
        await client.chat_postMessage(channel=opened["channel"]["id"], text="Paste the link.")

    @bolt.event("message")
    async def message(event: JSONDict, client: AsyncWebClient) -> None:
        await client.chat_postMessage(channel=event["channel"], text="Thanks. Next question?")

    @bolt.action(re.compile(".*"))
    async def action(ack: Any, body: JSONDict, client: AsyncWebClient) -> None:
        await ack()
        channel = body["container"]["channel_id"]
        await client.chat_postMessage(channel=channel, text="Thanks. Next question?")

    async def events(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

    app = web.Application()
    app.router.add_post("/slack/events", events)
    return app


# -- users ----------------------------------------------------------------------------------------


@dataclass
class SlackTarget:
    """One app under test: where it listens, and how many DM messages each step brings."""

    name: str
    url: str
    slack: TimedSlack
    session: aiohttp.ClientSession
    expected: list[int]  # per step: [command, *REPORT_STEPS]
    real_buttons: bool  # press the buttons the app sent (the bot) or made-up ones (Bolt)

    async def post(self, body: bytes, content_type: str) -> None:
        headers = {"Content-Type": content_type, **signed_headers(body)}
        async with self.session.post(f"{self.url}/slack/events", data=body, headers=headers) as r:
            await r.read()
            if r.status != 200:
                raise RuntimeError(f"{self.name}: HTTP {r.status} from /slack/events")

    def sender(self, user: str, how: str, what: str) -> Callable[[], Awaitable[None]]:
        if how == "command":
            body = form_body(command_form(user, link_for(user)))
            return lambda: self.post(body, "application/x-www-form-urlencoded")
        if how == "say":
            event = json.dumps(message_event(user, what)).encode()
            return lambda: self.post(event, "application/json")
        payload = payload_body(self._press(user, what.split(",")))
        return lambda: self.post(payload, "application/x-www-form-urlencoded")

    def _press(self, user: str, values: list[str]) -> JSONDict:
        channel = dm_channel(user)
        latest = self.slack.dm(user)[-1]
        if not self.real_buttons:
            button = {"action_id": "answer:step", "value": values[0], "type": "button"}
            return block_actions(user, button, channel=channel, message_ts=latest["ts"])
        for message in reversed(self.slack.dm(user)):
            action, state = _choose(message, tuple(values))
            if action:
                return block_actions(
                    user, action, channel=channel, message_ts=message["ts"], state=state
                )
        raise RuntimeError(f"{self.name}: no question offers {values} to {user}")

    async def step(self, user: str, index: int, how: str, what: str) -> StepTiming:
        name = COMMAND if how == "command" else f"{how} {what}"
        send = self.sender(user, how, what)
        return await timed_step(
            name, send, self.slack.arrivals, dm_channel(user), self.expected[index]
        )


def link_for(user: str) -> str:
    """Each user reports an account of their own: the same one twice would be a duplicate."""
    return f"https://www.tiktok.com/@fake.{user.lower()}"  # at most 24 characters


def journey(whole: bool) -> list[tuple[str, str]]:
    """The slash command (with a link), then (for a whole report) every answer the tests give."""
    steps = [("command", "link")]
    return [*steps, *REPORT_STEPS] if whole else steps


async def walk(target: SlackTarget, user: str, whole: bool) -> list[StepTiming]:
    timings = []
    for index, (how, what) in enumerate(journey(whole)):
        timings.append(await target.step(user, index, how, what))
    return timings

"""Teams on loopback: the test Bot Connector stand-in (timed), a minimal Agents SDK echo bot,
and personal-chat users driving both."""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web
from microsoft_agents.activity import Activity, TurnContextProtocol
from microsoft_agents.authentication.msal import MsalConnectionManager
from microsoft_agents.hosting.aiohttp import CloudAdapter, jwt_authorization_middleware
from microsoft_agents.hosting.core import (
    ActivityHandler,
    AgentAuthConfiguration,
    CardFactory,
    MessageFactory,
)

from benchmarks.arrivals import Arrivals, StepTiming, timed_step

# Imported at run time, so mypy does not check the test helper (strict mode flags it) as part
# of the benchmarks; what is used from it is therefore untyped here.
teams_fakes: Any = importlib.import_module("tests.teams_fakes")
ANSWERS: dict[str, tuple[str, Any]] = teams_fakes.ANSWERS
TENANT: str = teams_fakes.TENANT
FakeConnector: Any = teams_fakes.FakeConnector
Call: Any = teams_fakes.Call
bot_added_to_team = teams_fakes.bot_added_to_team
button = teams_fakes.button
choose = teams_fakes.choose
personal_message = teams_fakes.personal_message

ECHO_CARD = {
    "type": "AdaptiveCard",
    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
    "version": "1.5",
    "body": [{"type": "TextBlock", "text": "Thanks. Next question?", "wrap": True}],
    "actions": [{"type": "Action.Submit", "title": "Continue", "data": {"action": "go"}}],
}
Step = tuple[str, Any]  # ("say", text) | ("press", value) | ("choose", (values…))
LINK = "<link>"  # in a script: this user's own TikTok link


def link_for(user: dict[str, str]) -> str:
    """Each user reports an account of their own: the same one twice would be a duplicate."""
    handle = user["id"].removeprefix("29:").replace("-", ".")  # no hyphens in a TikTok handle
    return f"https://www.tiktok.com/@fake.{handle}"  # at most 24 characters


@dataclass
class TimedConnector(FakeConnector):  # type: ignore[misc]
    """The Bot Connector stand-in, noting when each posted activity reaches it."""

    arrivals: Arrivals = field(default_factory=Arrivals)
    _posted: dict[str, list[Call]] = field(default_factory=dict)  # per conversation
    _indexed: int = 0  # calls already in _posted

    async def _post(self, request: web.Request) -> web.Response:
        response: web.Response = await super()._post(request)
        self.arrivals.record(request.match_info["cid"])
        return response

    def posts_to(self, conversation: str) -> list[Call]:
        """As the stand-in's own, from an index: its scan of every call ever made grew with
        the run, in the process that also times the bot (a user reads the last card before
        each press)."""
        for call in self.calls[self._indexed :]:
            if call.method == "POST" and call.body is not None:
                self._posted.setdefault(call.conversation, []).append(call)
        self._indexed = len(self.calls)
        return list(self._posted.get(conversation, []))

    def last_card(self, conversation: str) -> dict[str, Any]:
        return dict(self.posts_to(conversation)[-1].card)


# -- the minimal echo bot -----------------------------------------------------------------------


class EchoBot(ActivityHandler):
    async def on_message_activity(self, turn_context: TurnContextProtocol[Activity]) -> None:
        card = CardFactory.adaptive_card(ECHO_CARD)
        await turn_context.send_activity(MessageFactory.attachment(card))


def echo_bot() -> web.Application:
    """The Agents SDK 1.9 as its samples show it: CloudAdapter, the JWT middleware, one
    Adaptive Card per message. No app id: anonymous, development mode (local use only)."""
    anonymous = AgentAuthConfiguration(anonymous_allowed=True)
    connections = MsalConnectionManager(
        connections_configurations={"SERVICE_CONNECTION": anonymous}
    )
    adapter = CloudAdapter(connection_manager=connections)
    bot = EchoBot()

    async def messages(request: web.Request) -> web.Response:
        response = await adapter.process(request, bot)
        return response if isinstance(response, web.Response) else web.Response(status=200)

    app = web.Application(middlewares=[jwt_authorization_middleware])
    app["agent_configuration"] = anonymous
    app.router.add_post("/api/messages", messages)
    return app


# -- users --------------------------------------------------------------------------------------


def teams_user(name: str) -> dict[str, str]:
    return {"id": f"29:bench-{name}", "name": f"Staff {name}", "aadObjectId": f"aad-{name}"}


def chat_of(user: dict[str, str]) -> str:
    """The personal chat id `tests.teams_fakes.personal_message` gives a user."""
    return f"a:chat-{user['id']}"


@dataclass
class TeamsTarget:
    name: str
    url: str
    connector: TimedConnector
    service_url: str
    session: aiohttp.ClientSession
    expected: list[int]  # replies per step of `script`
    script: list[Step]
    real_cards: bool  # press the cards the bot sent (the bot) or made-up data (the echo bot)

    async def post(self, activity: dict[str, Any]) -> None:
        async with self.session.post(f"{self.url}/api/messages", json=activity) as response:
            await response.read()
            if response.status not in (200, 201, 202):
                raise RuntimeError(f"{self.name}: HTTP {response.status} from /api/messages")

    def activity(self, user: dict[str, str], step: Step) -> dict[str, Any]:
        kind, value = step
        if kind == "say":
            text = link_for(user) if value == LINK else str(value)
            return dict(personal_message(self.service_url, text, user=user))
        if self.real_cards:
            card = self.connector.last_card(chat_of(user))
            data = button(card, value) if kind == "press" else choose(card, *value)
        else:
            data = {"action": value if kind == "press" else "go", "choices": ",".join(value)}
        return dict(personal_message(self.service_url, value=data, user=user))

    def sender(self, user: dict[str, str], step: Step) -> Callable[[], Awaitable[None]]:
        activity = self.activity(user, step)
        return lambda: self.post(activity)

    async def walk(self, user: dict[str, str], steps: int) -> list[StepTiming]:
        timings = []
        for index, step in enumerate(self.script[:steps]):
            send = self.sender(user, step)
            arrivals, expected = self.connector.arrivals, self.expected[index]
            timings.append(
                await timed_step(step_name(step), send, arrivals, chat_of(user), expected)
            )
        return timings


def step_name(step: Step) -> str:
    kind, value = step
    return f"{kind} {','.join(value) if kind == 'choose' else value}"

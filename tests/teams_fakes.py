"""Teams at its edge, for tests: a local Bot Connector REST API and real-shaped activities.

`FakeConnector` is an aiohttp server on 127.0.0.1 that answers what the bot calls – post,
reply, update, create conversation, get member – records every call, and can be told to fail
(500, 429 with Retry-After) or hang, then recover, or to take a post and then hang (the post is
in the channel, but the bot times out waiting for its id). `TeamsHarness` runs the real server app
(`adapters.server.build_app`) in development mode with activities whose `serviceUrl` points
at the stand-in, and delivers the outbox by draining the courier (no timed waits).

`TokenIssuer` plays Bot Framework's token signing on 127.0.0.1: an RSA key made for the run,
served as an OpenID metadata document and a JWKS (`REPORTBOT_TEAMS_OPENID_METADATA` points the
bot at it), and tokens signed with it – or with another key, expired, for another audience or
another serviceUrl, as an attacker would send them.

The activity shapes follow /work/shared/payloads (MicrosoftDocs/msteams-docs samples: a
personal message, an Action.Submit post-back, conversationUpdate when the bot is added to a
team, installationUpdate), with one tenant throughout.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from adapters.compose import Runtime, build_runtime
from adapters.server import build_app
from bot.clock import FakeClock
from bot.config import Settings
from bot.delivery import Courier
from bot.model import Platform
from bot.ports import Store
from storage.memory import MemoryStore
from storage.tinydb_store import open_store

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
BOT = {"id": "28:c9e8c047-2a74-40a2-b28a-b162d5f5327c", "name": "ReportBot"}
REPORTER = {
    "id": "29:1XJKJMvc5GBtc2JwZq0oj8tHZmzrQgFmB39ATiQWA85gQtHieVkKilBZ9XHoq9j7Zaqt7CZ",
    "name": "Megan Bowen",
    "aadObjectId": "7faf8ab2-3d56-4244-b585-20c8a42ed2b8",
}
LEADER = {"id": "29:leader-adele", "name": "Adele Vance", "aadObjectId": "a1"}
OUTSIDER = {"id": "29:outsider-lee", "name": "Lee Gu", "aadObjectId": "b2"}
PERSONAL_CHAT = "a:17I0kl9EkpE1O9PH5TWrzrLNwnWWcfrU7QZjKR0WSfOpzbfcAg2IaydGElSo10tVr4C7Fc6G"
TEAM_GROUP = "f3ec8cd2-e704-4344-8c47-9a3a21d683c0"  # the leadership team's Microsoft 365 group
TEAM = {"id": "19:zFLSDFWsesfzcmKArqKJ-65aOXJz@thread.tacv2", "name": "Leadership"}
GENERAL = "19:zFLSDFWsesfzcmKArqKJ-65aOXJz@thread.tacv2"  # a team's General channel id
LEADS_CHANNEL = "19:0b7f32667e064dd9b25d7969801541f4@thread.tacv2"
OTHER_CHANNEL = "19:9c5d1e2f3a4b5c6d7e8f9a0b1c2d3e4f@thread.tacv2"
# Another team in the school: install events carry its own group id (channel messages don't).
STAFF_TEAM = {
    "id": "19:a1b2c3d4e5f60718293a4b5c6d7e8f90@thread.tacv2",
    "name": "All staff",
    "aadGroupId": "0c5e9d3a-7b21-4f6e-9a8d-1e2f3a4b5c6d",
}
STAFF_CHANNEL = "19:5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b@thread.tacv2"
# What Teams' "Get link to team" gives for the leadership team.
TEAM_LINK = (
    "https://teams.microsoft.com/l/team/19%3AzFLSDFWsesfzcmKArqKJ-65aOXJz%40thread.tacv2/"
    f"conversations?groupId={TEAM_GROUP}&tenantId={TENANT}"
)
REPORTER_KEY = f"teams:{TENANT}:{REPORTER['id']}"
DEV_ENV = {"REPORTBOT_TEAMS_DEV": "1", "REPORTBOT_TEAMS_TIMEOUT": "0.5"}
APP_ID = "6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
SECRET = "not-a-real-client-secret-123"
AUTH_ENV = {  # a single-tenant bot, as Azure makes them now (today's variable names)
    "MicrosoftAppId": APP_ID,
    "MicrosoftAppPassword": SECRET,
    "MicrosoftAppType": "SingleTenant",
    "MicrosoftAppTenantId": TENANT,
    "REPORTBOT_TEAMS_TIMEOUT": "0.5",
}
BOT_FRAMEWORK_ISSUER = "https://api.botframework.com"
START = datetime(2026, 3, 10, 11, 0, tzinfo=UTC)  # a Tuesday, POSH open


# --- the Bot Connector stand-in -------------------------------------------------------------


@dataclass
class Call:
    method: str
    conversation: str
    activity_id: str = ""
    body: Any = None
    authorization: str = ""  # the Authorization header the bot sent

    @property
    def card(self) -> dict[str, Any]:
        """The Adaptive Card a post or update carried; of a message of several stacked cards
        (a turn's replies), one card with all their text and buttons, in the order shown."""
        first, *rest = self.cards
        return (
            {
                **first,
                "body": [b for c in self.cards for b in c.get("body", [])],
                "actions": [a for c in self.cards for a in c.get("actions", [])],
            }
            if rest
            else first
        )

    @property
    def cards(self) -> list[dict[str, Any]]:
        """Every Adaptive Card a post or update carried, in the order Teams shows them."""
        return [dict(a["content"]) for a in self.body["attachments"]]


@dataclass
class FakeConnector:
    calls: list[Call] = field(default_factory=list)
    members: set[tuple[str, str]] = field(default_factory=set)
    _faults: list[tuple[int, dict[str, str]] | str] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _release: asyncio.Event = field(default_factory=asyncio.Event)
    _take_then_hang: list[str] = field(default_factory=list)
    _no_id: list[str] = field(default_factory=list)

    def fail(self, status: int, times: int = 1, headers: Mapping[str, str] = {}) -> None:
        self._faults += [(status, dict(headers))] * times

    def hang(self, times: int = 1) -> None:
        self._faults += ["hang"] * times

    def take_without_id(self, conversation: str) -> None:
        """The next post to this conversation lands, answered 202 with no body (no activity
        id), as the Agents Playground answers a message of stacked cards."""
        self._no_id.append(conversation)

    def take_then_hang(self, conversation: str) -> None:
        """The next post to this conversation lands, but its answer never comes in time."""
        self._take_then_hang.append(conversation)

    @property
    def posts(self) -> list[Call]:
        return [c for c in self.calls if c.method == "POST" and c.body is not None]

    @property
    def updates(self) -> list[Call]:
        return [c for c in self.calls if c.method == "PUT"]

    def posts_to(self, conversation: str) -> list[Call]:
        return [c for c in self.posts if c.conversation == conversation]

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._faulty])
        app.router.add_post("/v3/conversations/{cid}/activities", self._post)
        app.router.add_post("/v3/conversations/{cid}/activities/{aid}", self._post)
        app.router.add_put("/v3/conversations/{cid}/activities/{aid}", self._put)
        app.router.add_post("/v3/conversations", self._create)
        app.router.add_get("/v3/conversations/{cid}/members/{uid}", self._member)
        return app

    def release(self) -> None:
        self._release.set()

    @web.middleware
    async def _faulty(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if not self._faults:
            return await handler(request)
        fault = self._faults.pop(0)
        self.calls.append(Call("FAILED", request.path))
        if fault == "hang":
            with suppress(TimeoutError):
                await asyncio.wait_for(self._release.wait(), 10)
            return web.json_response({"error": "hung"}, status=503)
        status, headers = fault
        return web.json_response({"error": {"code": "Fault"}}, status=status, headers=headers)

    async def _post(self, request: web.Request) -> web.Response:
        body = await request.json()
        cid, activity_id = request.match_info["cid"], f"activity-{next(self._ids)}"
        self.calls.append(Call("POST", cid, activity_id, body, _auth(request)))
        response = web.json_response({"id": activity_id}, status=201)
        if cid in self._no_id:
            self._no_id.remove(cid)
            response = web.Response(status=202)
        if cid in self._take_then_hang:
            self._take_then_hang.remove(cid)
            with suppress(TimeoutError):
                await asyncio.wait_for(self._release.wait(), 10)
        return response

    async def _put(self, request: web.Request) -> web.Response:
        body = await request.json()
        aid = request.match_info["aid"]
        self.calls.append(Call("PUT", request.match_info["cid"], aid, body, _auth(request)))
        return web.json_response({"id": aid})

    async def _create(self, request: web.Request) -> web.Response:
        self.calls.append(Call("CREATE", "", "", await request.json()))
        return web.json_response({"id": "created", "activityId": f"activity-{next(self._ids)}"})

    async def _member(self, request: web.Request) -> web.Response:
        team, user = request.match_info["cid"], request.match_info["uid"]
        self.calls.append(Call("MEMBER", team, user, None, _auth(request)))
        if (team, user) in self.members:
            return web.json_response({"id": user, "name": "member"})
        return web.json_response({"error": {"code": "MemberNotFoundInConversation"}}, status=404)


# --- Bot Framework's token signing, on loopback -------------------------------------------------


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class TokenIssuer:
    """OpenID metadata and signing keys as login.botframework.com serves them, and tokens."""

    key: rsa.RSAPrivateKey = field(default_factory=rsa_key)
    kid: str = "reportbot-test-key-1"
    fetches: list[str] = field(default_factory=list)
    delay: float = 0.0  # seconds each key document takes to arrive
    url: str = ""  # set when served

    @property
    def metadata_url(self) -> str:
        return f"{self.url}/v1/.well-known/openidconfiguration"

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/v1/.well-known/openidconfiguration", self._metadata)
        app.router.add_get("/v1/.well-known/keys", self._keys)
        return app

    async def _metadata(self, request: web.Request) -> web.Response:
        self.fetches.append("metadata")
        await asyncio.sleep(self.delay)
        return web.json_response(
            {"issuer": BOT_FRAMEWORK_ISSUER, "jwks_uri": f"{self.url}/v1/.well-known/keys"}
        )

    async def _keys(self, request: web.Request) -> web.Response:
        self.fetches.append("keys")
        await asyncio.sleep(self.delay)
        public = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        jwk = {**public, "kid": self.kid, "use": "sig", "endorsements": ["msteams"]}
        return web.json_response({"keys": [jwk]})

    def token(
        self,
        service_url: str,
        *,
        audience: str = APP_ID,
        issuer: str = BOT_FRAMEWORK_ISSUER,
        lifetime: float = 3600,
        key: rsa.RSAPrivateKey | None = None,
        kid: str | None = None,
        **claims: Any,
    ) -> str:
        """A channel token as the Bot Connector signs it (other keys, times or claims: forged)."""
        now = int(datetime.now(UTC).timestamp())
        body = {
            "iss": issuer,
            "aud": audience,
            "serviceurl": service_url,
            "nbf": now - 60,
            "iat": now - 60,
            "exp": now + int(lifetime),
            **claims,
        }
        headers = {"kid": kid or self.kid, "typ": "JWT"}
        return jwt.encode(body, key or self.key, algorithm="RS256", headers=headers)

    def env(self, base: Mapping[str, str] = AUTH_ENV) -> dict[str, str]:
        return {**base, "REPORTBOT_TEAMS_OPENID_METADATA": self.metadata_url}


@asynccontextmanager
async def token_issuer() -> AsyncIterator[TokenIssuer]:
    issuer = TokenIssuer()
    server = TestServer(issuer.app(), host="127.0.0.1")
    await server.start_server()
    issuer.url = str(server.make_url("")).rstrip("/")
    try:
        yield issuer
    finally:
        await server.close()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _auth(request: web.Request) -> str:
    return request.headers.get("Authorization", "")


# --- activities, shaped as Teams sends them ---------------------------------------------------

_activity_ids = itertools.count(1485983408511)


def _base(service_url: str, kind: str, user: dict[str, str], activity_id: str | None) -> Any:
    return {
        "type": kind,
        "id": activity_id or str(next(_activity_ids)),
        "timestamp": "2026-03-10T11:00:00.000Z",
        "serviceUrl": service_url,
        "channelId": "msteams",
        "from": dict(user),
        "recipient": dict(BOT),
        "locale": "en-GB",
        "entities": [{"locale": "en-GB", "country": "GB", "type": "clientInfo"}],
    }


def personal_message(
    service_url: str,
    text: str = "",
    *,
    value: dict[str, Any] | None = None,
    user: dict[str, str] = REPORTER,
    activity_id: str | None = None,
) -> dict[str, Any]:
    """teams_message_personal.json; a card press has empty text and the data in `value`."""
    activity = _base(service_url, "message", user, activity_id)
    activity["conversation"] = {
        "conversationType": "personal",
        "id": PERSONAL_CHAT if user is REPORTER else f"a:chat-{user['id']}",
        "tenantId": TENANT,
    }
    activity["channelData"] = {"tenant": {"id": TENANT}}
    activity["textFormat"] = "plain"
    if value is not None:
        activity["value"] = value
        activity["replyToId"] = "1575667808184"
    else:
        activity["text"] = text
        activity["attachments"] = [{"contentType": "text/html", "content": f"<p>{text}</p>"}]
    return activity


def channel_message(
    service_url: str,
    text: str = "",
    *,
    value: dict[str, Any] | None = None,
    user: dict[str, str] = LEADER,
    channel: str = LEADS_CHANNEL,
    team: dict[str, str] = TEAM,
    activity_id: str | None = None,
) -> dict[str, Any]:
    """A channel post mentioning the bot, or a press on a card in a channel thread."""
    activity = _base(service_url, "message", user, activity_id)
    activity["conversation"] = {
        "isGroup": True,
        "conversationType": "channel",
        "id": f"{channel};messageid=1575667808184",
        "tenantId": TENANT,
    }
    activity["channelData"] = {
        "channel": {"id": channel},
        "team": {k: v for k, v in team.items() if k != "aadGroupId"},  # only installs carry it
        "tenant": {"id": TENANT},
    }
    if value is not None:
        activity["value"] = value
        activity["replyToId"] = "1575667808184"
    else:
        activity["text"] = f"<at>{BOT['name']}</at> {text}"
        activity["entities"].append(
            {"type": "mention", "mentioned": dict(BOT), "text": f"<at>{BOT['name']}</at>"}
        )
    return activity


def bot_added_to_team(
    service_url: str, channel: str = LEADS_CHANNEL, team: dict[str, str] = TEAM
) -> dict[str, Any]:
    """teams_conversationUpdate_bot_added_to_team.json."""
    activity = _base(service_url, "conversationUpdate", LEADER, None)
    activity["id"] = "f:0b9079f4-d4d3-3d8e-b883-798298053c7e"
    activity["membersAdded"] = [{"id": BOT["id"]}]
    activity["conversation"] = {
        "isGroup": True,
        "conversationType": "channel",
        "tenantId": TENANT,
        "id": team["id"],
        "name": "General",
    }
    activity["channelData"] = {
        "settings": {"selectedChannel": {"id": channel}},
        "team": {"aadGroupId": TEAM_GROUP, **team},
        "eventType": "teamMemberAdded",
        "tenant": {"id": TENANT},
    }
    return activity


def installation_update(
    service_url: str,
    action: str = "add",
    channel: str = LEADS_CHANNEL,
    team: dict[str, str] = TEAM,
) -> dict[str, Any]:
    """installationUpdate, as Teams sends it beside conversationUpdate when a team adds the app."""
    activity = bot_added_to_team(service_url, channel, team)
    del activity["membersAdded"]
    activity["type"] = "installationUpdate"
    activity["id"] = f"f:install-{action}-{next(_activity_ids)}"
    activity["action"] = action
    activity["channelData"]["source"] = {"name": "message"}
    del activity["channelData"]["eventType"]
    return activity


# --- cards the bot sent, and pressing them ----------------------------------------------------


def question_step(card: dict[str, Any]) -> str | None:
    for action in card.get("actions", []):
        data = action.get("data") or {}
        if data.get("reportbot") == "answer":
            return str(data["step"])
    return None


def button(card: dict[str, Any], value: str) -> dict[str, Any]:
    """The data an Action.Submit posts back: the button whose data carries this value."""
    for action in _all_actions(card):
        data = action.get("data") or {}
        if action["type"] == "Action.Submit" and value in (data.get("action"), action["title"]):
            return dict(data)
    raise AssertionError(f"no button {value!r} on the card")


def choose(card: dict[str, Any], *values: str) -> dict[str, Any]:
    """The Continue button's data plus the choice set, as Teams joins it: 'a,b'."""
    data = button(card, "Continue")
    data["choices"] = ",".join(values)
    return data


def _all_actions(card: dict[str, Any]) -> list[dict[str, Any]]:
    found = list(card.get("actions", []))
    for block in card.get("body", []):
        if block.get("type") == "ActionSet":
            found += block["actions"]
    return found


def texts(card: dict[str, Any]) -> str:
    """Every string a person would read on the card, one per line."""
    out: list[str] = []
    for block in card.get("body", []):
        out += [run["text"] for run in block.get("inlines", [])]
        if "text" in block:
            out.append(block["text"])
    out += [a.get("title", "") for a in _all_actions(card)]
    return "\n".join(out)


# --- the harness --------------------------------------------------------------------------------


@dataclass
class TeamsHarness:
    connector: FakeConnector
    service_url: str
    runtime: Runtime
    client: TestClient[web.Request, web.Application]
    clock: FakeClock

    @property
    def courier(self) -> Courier:
        return self.runtime.couriers[Platform.TEAMS]

    async def send(self, activity: dict[str, Any], headers: Mapping[str, str] = {}) -> int:
        response = await self.client.post("/api/messages", json=activity, headers=headers)
        await response.read()
        return response.status

    async def deliver(self) -> int:
        """Drain the outbox until nothing more is due now; returns how many went."""
        total = 0
        while sent := await self.courier.drain():
            total += sent
        return total

    async def settle(self) -> None:
        """Let card posts that timed out hear Teams' late answers (after `connector.release`)."""
        await self.courier.posts.settle()  # type: ignore[attr-defined]

    async def say(self, text: str, **kwargs: Any) -> int:
        status = await self.send(personal_message(self.service_url, text, **kwargs))
        await self.deliver()
        return status

    async def press(self, value: dict[str, Any], **kwargs: Any) -> int:
        status = await self.send(personal_message(self.service_url, value=value, **kwargs))
        await self.deliver()
        return status

    async def install(self, team: dict[str, str] = TEAM, channel: str = LEADS_CHANNEL) -> None:
        assert await self.send(bot_added_to_team(self.service_url, channel, team)) == 200
        await self.deliver()

    async def remove(self, team: dict[str, str] = TEAM, channel: str = LEADS_CHANNEL) -> None:
        assert (
            await self.send(installation_update(self.service_url, "remove", channel, team)) == 200
        )
        await self.deliver()

    def chat_cards(self) -> list[dict[str, Any]]:
        """Every card shown in the personal chat, in order (a message may stack several)."""
        return [card for c in self.connector.posts_to(PERSONAL_CHAT) for card in c.cards]


@asynccontextmanager
async def connector_stand_in() -> AsyncIterator[tuple[FakeConnector, str]]:
    connector = FakeConnector()
    server = TestServer(connector.app(), host="127.0.0.1")
    await server.start_server()
    try:
        yield connector, str(server.make_url("")).rstrip("/") + "/"
    finally:
        connector.release()
        await server.close()


@asynccontextmanager
async def harness(
    env: Mapping[str, str] = DEV_ENV,
    *,
    store: Store | None = None,
    data_dir: Path | None = None,
    connector: tuple[FakeConnector, str] | None = None,
    clock: FakeClock | None = None,
) -> AsyncIterator[TeamsHarness]:
    """The real server app around one store; the stand-in is shared when one is passed."""
    clock = clock or FakeClock(START)
    async with _maybe_connector(connector) as (fake, url):
        if store is None:
            store = await open_store(data_dir, clock=clock) if data_dir else MemoryStore()
        runtime = build_runtime(Settings(), store, clock)
        app, _ = await build_app(runtime, env)
        client = TestClient(TestServer(app, host="127.0.0.1"))
        await client.start_server()
        try:
            yield TeamsHarness(fake, url, runtime, client, clock)
        finally:
            await client.close()
            await runtime.close()


@asynccontextmanager
async def _maybe_connector(
    given: tuple[FakeConnector, str] | None,
) -> AsyncIterator[tuple[FakeConnector, str]]:
    if given is not None:
        yield given
        return
    async with connector_stand_in() as made:
        yield made


def dumps(card: dict[str, Any]) -> str:
    return json.dumps(card, ensure_ascii=False)


# --- a whole report, answered the way a member of staff would -----------------------------------

TIKTOK_LINK = "https://www.tiktok.com/@fake.head.teacher"
# Per step: press a button, choose in a choice set (+ Continue), or type.
ANSWERS: dict[str, tuple[str, Any]] = {
    "harm": ("choose", ("impersonation", "harassment")),
    "danger": ("press", "no"),
    "sexual_images": ("press", "no"),
    "target": ("choose", ("staff",)),
    "target_staff": ("type", "Ms J Patel, Head of Year 9"),
    "first_seen": ("press", "today"),
    "in_app": ("press", "yes"),
    "in_app_when": ("type", "yesterday"),
    "in_app_reply": ("choose", ("no_violation",)),
    "evidence": ("choose", ("yes",)),
    "description": ("press", "skip"),
    "poster": ("choose", ("suspected",)),
    "told": ("choose", ("dsl",)),
    "name": ("press", "profile"),
    "role": ("type", "Deputy Headteacher"),
    "contact": ("type", "01632 960 123"),
    "who_calls": ("choose", ("reporter",)),
    "summary": ("press", "submit"),
}


async def complete_report(h: TeamsHarness, answers: Mapping[str, tuple[str, Any]] = ANSWERS) -> str:
    """Start with "report", paste a link, then answer every card until the report is sent."""
    await answer_until(h, None, answers)
    cases = await h.runtime.store.cases(reporter=REPORTER_KEY)
    assert cases, "the report was not filed"
    return cases[-1].reference


async def answer_until(
    h: TeamsHarness, stop_at: str | None, answers: Mapping[str, tuple[str, Any]] = ANSWERS
) -> None:
    """Answer from the start until the question `stop_at` is asked (None: to the end)."""
    assert await h.say("report") == 200
    assert await h.say(TIKTOK_LINK) == 200
    assert await h.press(button(h.chat_cards()[-1], "done")) == 200
    for _ in range(len(answers) + 2):
        conversation = await h.runtime.store.conversation(REPORTER_KEY)
        if conversation is None or conversation.step in (stop_at, "end"):
            return
        kind, answer = answers[conversation.step]
        card = h.chat_cards()[-1]
        if kind == "press":
            await h.press(button(card, answer))
        elif kind == "choose":
            await h.press(choose(card, *answer))
        else:
            await h.say(answer)

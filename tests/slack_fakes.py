"""Slack at its edge, on loopback: a stand-in for the Web API and Socket Mode, a request signer,
real-shaped payloads, and a harness that runs the real aiohttp app against them.

The stand-in records every call (method, parameters, token kind) and can be told to fail a
method with a 500, a 429 with Retry-After, or a hang (before or after it "posts"), then recover;
or to refuse, for good, the messages a test picks (`refuse`). Like Slack, it checks every
message's blocks against Block Kit's documented limits and answers `invalid_blocks` when one is
broken, and cuts a `text` over 40,000 characters with a `message_truncated` warning.

It can also play several workspaces that install the app through OAuth (`workspace`, then
`grant` a code as Slack's authorize page would): `oauth.v2.access` exchanges the code, or a
refresh token when rotation is on, as Slack documents it; each token then acts in its own
workspace only (a channel of another workspace is `channel_not_found`), every call and post
records the workspace whose token made it, and a revoked token is `token_revoked`.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import itertools
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp
from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestClient, TestServer
from yarl import URL

from adapters.compose import Runtime, build_runtime
from adapters.server import Attached, build_app
from bot.clock import FakeClock
from bot.config import Settings
from bot.delivery import Courier
from bot.model import Platform
from bot.ports import Store
from storage.memory import MemoryStore

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
CLIENT_ID = "1234567890.0987654321"
CLIENT_SECRET = "client-secret-abc123"
SECRET_KEY = "3q2-7xQ_pZ0Q8m9bLq3Yxkq5mH0rVtF2T8WcJ4dE6aA="  # a Fernet key for tests only
APP_ID = "A0REPORT"
BOT_TOKEN = "xoxb-test-token"
APP_TOKEN = "xapp-test-token"
TEAM = "T0SCHOOL"
LEADERS = "C0LEADERS"
STAFFROOM = "C0STAFFROOM"
LEADER = "U0LEADER"
STAFF = "U0STAFF"
OUTSIDER = "U0OUTSIDER"
BOT_USER = "U0BOT"
# A Tuesday in term, inside POSH hours (10:00-16:00 UK time).
START = datetime(2026, 3, 3, 11, 0, tzinfo=UTC)
JSONDict = dict[str, Any]


# --- the Web API stand-in ---------------------------------------------------------------------


@dataclass
class Call:
    method: str
    params: JSONDict
    token: str
    team: str = ""  # the workspace whose token made the call ("" if the token is not one)


@dataclass
class Grant:
    """What Slack's authorize page hands back as a code: who installed the app, and where."""

    team: str
    installer: str
    enterprise: str = ""
    org_wide: bool = False
    rotation: bool = False


@dataclass
class FakeSlack:
    users: dict[str, JSONDict] = field(
        default_factory=lambda: {
            STAFF: {"real_name": "Sam Staff", "email": "sam.staff@school.example"},
            LEADER: {"real_name": "Lee Leader", "email": "lee.leader@school.example"},
            OUTSIDER: {"real_name": "Olly Outsider", "email": "olly@school.example"},
        }
    )
    members: dict[str, list[str]] = field(default_factory=lambda: {LEADERS: [LEADER, BOT_USER]})
    private: dict[str, bool] = field(default_factory=lambda: {LEADERS: True, STAFFROOM: False})
    calls: list[Call] = field(default_factory=list)
    messages: dict[str, list[JSONDict]] = field(default_factory=dict)
    faults: dict[str, list[Any]] = field(default_factory=dict)
    refusals: list[tuple[Callable[[JSONDict], bool], str]] = field(default_factory=list)
    invalid: list[tuple[str, list[str]]] = field(default_factory=list)  # (method, errors)
    truncated: list[str] = field(default_factory=list)  # methods that cut a text
    socket_acks: dict[str, asyncio.Future[JSONDict]] = field(default_factory=dict)
    # Several workspaces (OAuth): who owns each token and channel, each one's bot user.
    tokens: dict[str, str] = field(default_factory=lambda: {BOT_TOKEN: TEAM})
    channel_team: dict[str, str] = field(default_factory=dict)
    bot_users: dict[str, str] = field(default_factory=lambda: {TEAM: BOT_USER})
    admins: set[str] = field(default_factory=set)
    grants: dict[str, Grant] = field(default_factory=dict)
    refresh_tokens: dict[str, str] = field(default_factory=dict)  # refresh token -> its token
    revoked: set[str] = field(default_factory=set)
    client: tuple[str, str] = (CLIENT_ID, CLIENT_SECRET)
    token_lifetime: int = 43_200  # seconds, as Slack's rotating tokens last (12 hours)
    _ws: list[web.WebSocketResponse] = field(default_factory=list)
    _connected: asyncio.Event = field(default_factory=asyncio.Event)
    _closing: asyncio.Event = field(default_factory=asyncio.Event)
    _ts: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _server: TestServer | None = None
    uploads: dict[str, JSONDict] = field(default_factory=dict)  # file id → what was uploaded
    files: dict[str, list[JSONDict]] = field(default_factory=dict)  # channel → files shared

    # -- running ---------------------------------------------------------------------------------

    async def start(self) -> str:
        """Serve on loopback; returns the Web API base URL (again, if already serving)."""
        if self._server is not None:
            return str(self._server.make_url("/api/"))
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_get("/socket", self._socket)
        app.router.add_post("/upload/{file_id}", self._upload)
        self._server = TestServer(app, host="127.0.0.1")
        await self._server.start_server()
        return str(self._server.make_url("/api/"))

    async def close(self) -> None:
        self._closing.set()
        for ws in self._ws:
            await ws.close()
        if self._server:
            await self._server.close()

    def fail(self, method: str, *faults: Any, channel: str = "") -> None:
        """Queue faults for a method (optionally only for one channel): 500, (429, seconds),
        "hang" (never answers), or "hang-after-post" (does the work, then never answers)."""
        key = f"{method}#{channel}" if channel else method
        self.faults.setdefault(key, []).extend(faults)

    def refuse(self, error: str, when: Callable[[JSONDict], bool]) -> None:
        """Refuse for good (`{"ok": false, "error": error}`) every message `when` picks,
        e.g. `is_archived` for a DM whose text holds a given word."""
        self.refusals.append((when, error))

    def _refusal(self, method: str, params: JSONDict) -> str:
        if method not in POSTING:
            return ""
        return next((error for when, error in self.refusals if when(params)), "")

    def _fault(self, method: str, params: JSONDict) -> Any:
        for key in (f"{method}#{params.get('channel', '')}", method):
            if self.faults.get(key):
                return self.faults[key].pop(0)
        return None

    # -- what was sent -----------------------------------------------------------------------------

    def called(self, method: str) -> list[JSONDict]:
        return [c.params for c in self.calls if c.method == method]

    def posts(self, channel: str) -> list[JSONDict]:
        return list(self.messages.get(channel, []))

    def dm(self, user: str) -> list[JSONDict]:
        return self.posts(dm_channel(user))

    # -- several workspaces ------------------------------------------------------------------------

    def workspace(
        self,
        team: str,
        *,
        leaders: str,
        people: dict[str, str],
        admins: tuple[str, ...] = (),
        bot_user: str = "",
    ) -> None:
        """A workspace with a private leadership channel (the bot invited) and its people
        (user id -> real name)."""
        bot = bot_user or f"U0BOT{team}"
        self.bot_users[team] = bot
        self.channel_team[leaders] = team
        self.private[leaders] = True
        self.members[leaders] = [*(u for u in people if u in admins), bot]
        self.admins.update(admins)
        for user, name in people.items():
            email = f"{name.split()[0].lower()}@{team.lower()}.example"
            self.users[user] = {"real_name": name, "email": email, "team": team}

    def grant(self, code: str, grant: Grant) -> None:
        """What Slack does when someone approves the install: a one-use code for the bot."""
        self.grants[code] = grant

    def token_of(self, team: str) -> str:
        return next(t for t, owner in reversed(self.tokens.items()) if owner == team)

    def team_of_call(self, message: JSONDict) -> str:
        return str(message.get("_team", ""))

    # -- the API -----------------------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        params = await _params(request)
        authorization = request.headers.get("Authorization", "")
        token = authorization.removeprefix("Bearer ")
        if authorization.startswith("Basic "):  # oauth.v2.access: the app's own credentials
            who = base64.b64decode(authorization.removeprefix("Basic ")).decode()
            params["client_id"], _, params["client_secret"] = who.partition(":")
            token = ""
        team = self.tokens.get(token, "")
        self.calls.append(Call(method, params, token[:5], team))
        if token in self.revoked:
            return web.json_response({"ok": False, "error": "token_revoked"})
        if team and not self._owns(team, params):
            return web.json_response({"ok": False, "error": "channel_not_found"})
        params["_team"] = team
        fault = self._fault(method, params)
        if fault == 500:
            return web.Response(
                status=500, text="<html>Slack is down</html>", content_type="text/html"
            )
        if isinstance(fault, tuple) and fault[0] == 429:
            body = {"ok": False, "error": "ratelimited"}
            return web.json_response(body, status=429, headers={"Retry-After": str(fault[1])})
        if fault == "hang":
            await self._closing.wait()
        answer = getattr(self, "_" + method.replace(".", "_"), None)
        if answer is None:
            return web.json_response({"ok": False, "error": "unknown_method"})
        refused = self._refusal(method, params)
        if refused:
            return web.json_response({"ok": False, "error": refused})
        errors = message_errors(method, params)
        if errors:
            self.invalid.append((method, errors))
            return web.json_response(invalid_blocks(errors))
        params, warning = _truncate(params)
        if warning:
            self.truncated.append(method)
        result: JSONDict = answer(params)
        if warning and result.get("ok"):
            result["response_metadata"] = {"warnings": [warning], "messages": [TRUNCATED]}
        if fault == "hang-after-post":
            await self._closing.wait()
        return web.json_response(result)

    def _owns(self, team: str, params: JSONDict) -> bool:
        """A token reaches only its own workspace's channels."""
        channel = str(params.get("channel", ""))
        owner = self.channel_team.get(channel, TEAM if channel in self.private else "")
        return not owner or owner == team

    def _auth_test(self, p: JSONDict) -> JSONDict:
        team = p.get("_team") or TEAM
        bot = self.bot_users.get(team, BOT_USER)
        return {"ok": True, "user_id": bot, "bot_id": f"B{bot[1:]}", "team_id": team}

    def _oauth_v2_access(self, p: JSONDict) -> JSONDict:
        """oauth.v2.access as Slack documents it: a code for the first token, or (rotation
        on) a refresh token for a new one; each is good once."""
        if (p.get("client_id"), p.get("client_secret")) != self.client:
            return {"ok": False, "error": "invalid_client_id"}
        if p.get("grant_type") == "refresh_token":
            old = self.refresh_tokens.pop(str(p.get("refresh_token", "")), "")
            if not old:
                return {"ok": False, "error": "invalid_refresh_token"}
            return self._issue(self.tokens[old], rotation=True)
        grant = self.grants.pop(str(p.get("code", "")), None)
        if grant is None:
            return {"ok": False, "error": "invalid_code"}
        answer = self._issue(grant.team, rotation=grant.rotation)
        enterprise = {"id": grant.enterprise, "name": "Trust"} if grant.enterprise else None
        answer.update(
            {
                "scope": "commands,chat:write,im:history,im:write,groups:read",
                "app_id": APP_ID,
                "team": None if grant.org_wide else {"id": grant.team, "name": grant.team},
                "enterprise": enterprise,
                "authed_user": {"id": grant.installer},
                "is_enterprise_install": grant.org_wide,
            }
        )
        return answer

    def _issue(self, team: str, *, rotation: bool) -> JSONDict:
        n = next(self._ts)
        token = f"xoxe.xoxb-{team}-{n}" if rotation else f"xoxb-{team}-{n}"
        self.tokens[token] = team
        answer: JSONDict = {
            "ok": True,
            "access_token": token,
            "token_type": "bot",
            "bot_user_id": self.bot_users.get(team, BOT_USER),
            "app_id": APP_ID,
            "team": {"id": team, "name": team},
        }
        if rotation:
            refresh = f"xoxe-1-{team}-{n}"
            self.refresh_tokens[refresh] = token
            answer.update({"refresh_token": refresh, "expires_in": self.token_lifetime})
        return answer

    def _chat_postMessage(self, p: JSONDict) -> JSONDict:
        channel = str(p["channel"])
        if channel.startswith("U"):
            channel = dm_channel(channel)  # a user id posts to the bot's DM with them
        if channel not in self.private and not channel.startswith("D"):
            return {"ok": False, "error": "channel_not_found"}
        message = {**p, "channel": channel, "ts": f"1700000000.{next(self._ts):06d}"}
        self.messages.setdefault(channel, []).append(message)  # "_team": whose token posted
        return {"ok": True, "channel": channel, "ts": message["ts"], "message": message}

    def _chat_update(self, p: JSONDict) -> JSONDict:
        for message in self.messages.get(str(p["channel"]), []):
            if message["ts"] == p["ts"]:
                message.update({k: v for k, v in p.items() if k != "ts"})
                return {"ok": True, "channel": p["channel"], "ts": p["ts"]}
        return {"ok": False, "error": "message_not_found"}

    def _chat_postEphemeral(self, p: JSONDict) -> JSONDict:
        return {"ok": True, "message_ts": f"1700000001.{next(self._ts):06d}"}

    def _conversations_members(self, p: JSONDict) -> JSONDict:
        members = self.members.get(str(p["channel"]), [])
        return {"ok": True, "members": members, "response_metadata": {"next_cursor": ""}}

    def _conversations_info(self, p: JSONDict) -> JSONDict:
        channel = str(p["channel"])
        if channel not in self.private:
            return {"ok": False, "error": "channel_not_found"}
        bot = self.bot_users.get(p.get("_team") or TEAM, BOT_USER)
        member = bot in self.members.get(channel, [])
        if self.private[channel] and not member and channel in self.channel_team:
            return {"ok": False, "error": "channel_not_found"}  # a private channel, bot not in it
        info = {"id": channel, "is_private": self.private[channel], "is_member": member}
        return {"ok": True, "channel": info}

    def _conversations_open(self, p: JSONDict) -> JSONDict:
        return {"ok": True, "channel": {"id": dm_channel(str(p["users"]))}}

    def _conversations_history(self, p: JSONDict) -> JSONDict:
        found = list(reversed(self.messages.get(str(p["channel"]), [])))
        return {"ok": True, "messages": found, "has_more": False}

    def _users_info(self, p: JSONDict) -> JSONDict:
        user = str(p["user"])
        known = self.users.get(user)
        team = p.get("_team")
        if known is None or (team and known.get("team", team) != team):
            return {"ok": False, "error": "user_not_found"}
        profile = {"real_name": known["real_name"], "email": known["email"]}
        found = {"id": user, "name": user.lower(), "profile": profile}
        return {"ok": True, "user": {**found, "is_admin": user in self.admins}}

    def _views_publish(self, p: JSONDict) -> JSONDict:
        return {"ok": True, "view": p["view"]}

    def _apps_connections_open(self, p: JSONDict) -> JSONDict:
        assert self._server is not None
        url = str(self._server.make_url("/socket")).replace("http://", "ws://")
        return {"ok": True, "url": url}

    # -- Socket Mode -------------------------------------------------------------------------------

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._ws.append(ws)
        await ws.send_json({"type": "hello", "num_connections": 1})
        self._connected.set()
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                ack = json.loads(msg.data)
                future = self.socket_acks.get(ack.get("envelope_id", ""))
                if future and not future.done():
                    future.set_result(ack)
        return ws

    async def envelope(self, kind: str, payload: JSONDict) -> JSONDict:
        """Send one Socket Mode envelope and wait for the bot's acknowledgement."""
        await asyncio.wait_for(self._connected.wait(), 10)
        envelope_id = f"env-{next(self._ts)}"
        future: asyncio.Future[JSONDict] = asyncio.get_running_loop().create_future()
        self.socket_acks[envelope_id] = future
        await self._ws[-1].send_json(
            {
                "envelope_id": envelope_id,
                "type": kind,
                "payload": payload,
                "accepts_response_payload": kind != "events_api",
                "retry_attempt": 0,
                "retry_reason": "",
            }
        )
        return await asyncio.wait_for(future, 10)

    # -- files: the three-step upload (files_upload_v2) ------------------------------------------
    # From docs.slack.dev: files.getUploadURLExternal (filename and length required; answers
    # upload_url and file_id), a POST of the bytes to upload_url (200 "OK - <length>"), then
    # files.completeUploadExternal (files: a JSON array of {id, title}; channel_id: where it is
    # shared; initial_comment) answering the files it completed.

    def shared(self, user: str) -> list[JSONDict]:
        """The files shared in the bot's DM with `user`: name, title, comment, content."""
        return list(self.files.get(dm_channel(user), []))

    def _files_getUploadURLExternal(self, p: JSONDict) -> JSONDict:
        length = str(p.get("length", ""))
        if not p.get("filename") or not length.isdigit():
            return {"ok": False, "error": "invalid_arguments"}
        assert self._server is not None
        file_id = f"F{next(self._ts):08d}"
        self.uploads[file_id] = {"filename": p["filename"], "length": int(length)}
        url = str(self._server.make_url(f"/upload/{file_id}"))
        return {"ok": True, "upload_url": url, "file_id": file_id}

    async def _upload(self, request: web.Request) -> web.Response:
        upload = self.uploads.get(request.match_info["file_id"])
        body = await request.read()
        if self._fault("upload", {}) == 500:  # fail("upload", 500): the upload URL is down
            return web.Response(status=500, text="upload failed")
        if upload is None:
            return web.Response(status=404, text="file not found")
        if len(body) != upload["length"]:
            return web.Response(status=400, text="length mismatch")
        upload["content"] = body
        return web.Response(text=f"OK - {len(body)}")

    def _files_completeUploadExternal(self, p: JSONDict) -> JSONDict:
        listed = json.loads(str(p.get("files") or "[]"))
        channel = str(p.get("channel_id") or "")
        if not listed or any(
            self.uploads.get(f.get("id"), {}).get("content") is None for f in listed
        ):
            return {"ok": False, "error": "file_not_found"}
        if channel and channel not in self.private and not channel.startswith("D"):
            return {"ok": False, "error": "channel_not_found"}
        shared = []
        for f in listed:
            upload = self.uploads[f["id"]]
            text = f"{p.get('initial_comment', '')}\n{upload['content'].decode(errors='replace')}"
            refused = next(
                (e for when, e in self.refusals if when({"channel": channel, "text": text})), ""
            )
            if refused:
                return {"ok": False, "error": refused}
            shared.append(
                {
                    **upload,
                    "id": f["id"],
                    "title": f.get("title", ""),
                    "comment": p.get("initial_comment", ""),
                }
            )
        if channel:
            self.files.setdefault(channel, []).extend(shared)
        return {"ok": True, "files": [{"id": f["id"], "title": f["title"]} for f in shared]}


# --- Block Kit's limits, as Slack enforces them --------------------------------------------------
# From docs.slack.dev (Block Kit reference: blocks, block elements, composition objects) and the
# changelog "Truncating really long messages" (2018). Slack counts characters; it does not say
# how, so a character here is a Python one (a code point).

POSTING = frozenset({"chat.postMessage", "chat.update", "chat.postEphemeral", "views.publish"})
MESSAGE_BLOCKS = 50  # a message; a Home tab (views.publish) may hold 100
VIEW_BLOCKS = 100
TEXT_OBJECT = 3000  # any text object: 1 to 3,000 characters
HEADER_TEXT = 150
CONTEXT_ELEMENTS = 10
ACTIONS_ELEMENTS = 25
BUTTON_TEXT = 75
BUTTON_VALUE = 2000
BUTTON_URL = 3000
ACTION_ID = 255
BLOCK_ID = 255
CHECKBOX_OPTIONS = 10
OPTION_TEXT = 75
OPTION_VALUE = 150
CONFIRM_LIMITS = {"title": 100, "text": 300, "confirm": 30, "deny": 30}
MESSAGE_TEXT = 40_000  # longer is cut, and the answer carries a warning
TRUNCATED = "[WARN] Your message was truncated but still posted."


def invalid_blocks(errors: list[str]) -> JSONDict:
    """Slack's answer to blocks that break a limit (as chat.postMessage gives it)."""
    return {
        "ok": False,
        "error": "invalid_blocks",
        "errors": errors,
        "response_metadata": {"messages": [f"[ERROR] {e}" for e in errors]},
    }


def message_errors(method: str, params: JSONDict) -> list[str]:
    """What Slack would refuse in a message's (or a Home tab's) blocks; [] if nothing."""
    if method == "views.publish":
        view = _decoded(params.get("view")) or {}
        return block_errors(view.get("blocks") or [], VIEW_BLOCKS, "/view/blocks")
    if method not in POSTING or params.get("blocks") in (None, "", []):
        return []
    return block_errors(_decoded(params["blocks"]), MESSAGE_BLOCKS, "/blocks")


def block_errors(blocks: Any, most: int, where: str) -> list[str]:
    if not isinstance(blocks, list):
        return [f"must be an array [json-pointer:{where}]"]
    errors = (
        [f"must have at most {most} items [json-pointer:{where}]"] if len(blocks) > most else []
    )
    ids = [b.get("block_id") for b in blocks if isinstance(b, dict) and b.get("block_id")]
    errors += [
        f"duplicate block_id {i!r} [json-pointer:{where}]" for i in set(ids) if ids.count(i) > 1
    ]
    for n, block in enumerate(blocks):
        errors += _block(block, f"{where}/{n}")
    return errors


def _block(block: Any, at: str) -> list[str]:
    if not isinstance(block, dict):
        return [f"must be an object [json-pointer:{at}]"]
    errors = _length(block.get("block_id"), BLOCK_ID, f"{at}/block_id")
    kind = block.get("type")
    if kind == "section":
        errors += _text(block.get("text"), TEXT_OBJECT, f"{at}/text")
    elif kind == "header":
        errors += _text(block.get("text"), HEADER_TEXT, f"{at}/text", plain_only=True)
    elif kind == "context":
        elements = block.get("elements") or []
        errors += _items(elements, CONTEXT_ELEMENTS, f"{at}/elements")
        for n, element in enumerate(elements):
            errors += _text(element, TEXT_OBJECT, f"{at}/elements/{n}")
    elif kind == "actions":
        elements = block.get("elements") or []
        errors += _items(elements, ACTIONS_ELEMENTS, f"{at}/elements")
        for n, element in enumerate(elements):
            errors += _element(element, f"{at}/elements/{n}")
    elif kind != "divider":
        errors.append(f"unsupported block type {kind!r} [json-pointer:{at}/type]")
    return errors


def _element(element: Any, at: str) -> list[str]:
    if not isinstance(element, dict):
        return [f"must be an object [json-pointer:{at}]"]
    errors = _length(element.get("action_id"), ACTION_ID, f"{at}/action_id")
    if "confirm" in element:
        for key, most in CONFIRM_LIMITS.items():
            errors += _text(element["confirm"].get(key), most, f"{at}/confirm/{key}")
    if element.get("type") == "button":
        errors += _text(element.get("text"), BUTTON_TEXT, f"{at}/text", plain_only=True)
        errors += _length(element.get("value"), BUTTON_VALUE, f"{at}/value")
        errors += _length(element.get("url"), BUTTON_URL, f"{at}/url")
    elif element.get("type") == "checkboxes":
        options = element.get("options") or []
        errors += _items(options, CHECKBOX_OPTIONS, f"{at}/options")
        for n, option in enumerate(options):
            errors += _text(option.get("text"), OPTION_TEXT, f"{at}/options/{n}/text")
            errors += _length(option.get("value"), OPTION_VALUE, f"{at}/options/{n}/value")
    return errors


def _text(obj: Any, most: int, at: str, *, plain_only: bool = False) -> list[str]:
    kinds = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
    if not isinstance(obj, dict) or obj.get("type") not in kinds:
        return [f"must be a text object of type {' or '.join(kinds)} [json-pointer:{at}]"]
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        return [f"must be at least 1 character [json-pointer:{at}/text]"]
    return _length(text, most, f"{at}/text")


def _length(value: Any, most: int, at: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, str) or len(value) > most:
        return [f"must be less than {most + 1} characters [json-pointer:{at}]"]
    return []


def _items(items: Any, most: int, at: str) -> list[str]:
    if not isinstance(items, list) or not items:
        return [f"must be a non-empty array [json-pointer:{at}]"]
    return [f"must have at most {most} items [json-pointer:{at}]"] if len(items) > most else []


def _decoded(value: Any) -> Any:
    """Blocks arrive as JSON when the client posts a form (slack_sdk sends JSON for these)."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


def _truncate(params: JSONDict) -> tuple[JSONDict, str]:
    text = params.get("text")
    if isinstance(text, str) and len(text) > MESSAGE_TEXT:
        return {**params, "text": text[:MESSAGE_TEXT]}, "message_truncated"
    return params, ""


async def _params(request: web.Request) -> JSONDict:
    params: JSONDict = dict(request.query)
    if request.content_type == "application/json":
        params.update(await request.json())
    elif request.can_read_body:
        params.update(dict(await request.post()))
    return params


async def eventually(condition: Callable[[], bool], limit: float = 5.0) -> None:
    """Wait for background work (e.g. the Home tab, published after the acknowledgement)."""
    async with asyncio.timeout(limit):
        while not condition():  # noqa: ASYNC110 - the condition is any state, not one event
            await asyncio.sleep(0.01)


def dm_channel(user: str) -> str:
    return "D" + user[1:]


# --- signing and payloads (shapes from /work/shared/payloads) ---------------------------------


def signed_headers(
    body: bytes, *, timestamp: int | None = None, secret: str = SECRET
) -> dict[str, str]:
    """Headers exactly as Slack signs a request: v0=HMAC-SHA256(secret, 'v0:ts:body')."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    base = b"v0:" + ts.encode() + b":" + body
    signature = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature}


def command_form(
    user: str, text: str = "", *, trigger: str = "", channel: str = STAFFROOM, team: str = TEAM
) -> JSONDict:
    return {
        "token": "verification_token",
        "team_id": team,
        "team_domain": "school",
        "channel_id": channel,
        "channel_name": "staffroom",
        "user_id": user,
        "user_name": user.lower(),
        "command": "/report-tiktok",
        "text": text,
        "api_app_id": "A0REPORT",
        "is_enterprise_install": "false",
        "response_url": "https://hooks.slack.com/commands/T0SCHOOL/1/xxxx",
        "trigger_id": trigger or f"trigger.{user}.{time.monotonic_ns()}",
    }


def message_event(user: str, text: str, *, event_id: str = "", team: str = TEAM) -> JSONDict:
    channel = dm_channel(user)
    ts = f"{time.time():.6f}"
    return {
        "token": "one-long-verification-token",
        "team_id": team,
        "api_app_id": "A0REPORT",
        "event": {
            "type": "message",
            "channel": channel,
            "user": user,
            "text": text,
            "ts": ts,
            "event_ts": ts,
            "channel_type": "im",
        },
        "type": "event_callback",
        "authorizations": [
            {"team_id": team, "user_id": BOT_USER, "is_bot": True, "is_enterprise_install": False}
        ],
        "event_id": event_id or f"Ev{time.monotonic_ns()}",
        "event_time": int(time.time()),
    }


def home_event(user: str, team: str = TEAM) -> JSONDict:
    return {
        "token": "verification-token",
        "team_id": team,
        "api_app_id": "A0REPORT",
        "event": {
            "type": "app_home_opened",
            "user": user,
            "channel": dm_channel(user),
            "tab": "home",
            "event_ts": f"{time.time():.6f}",
        },
        "type": "event_callback",
        "event_id": f"Ev{time.monotonic_ns()}",
        "event_time": int(time.time()),
    }


def block_actions(
    user: str,
    action: JSONDict,
    *,
    channel: str,
    message_ts: str,
    state: JSONDict | None = None,
    action_ts: str = "",
    team: str = TEAM,
) -> JSONDict:
    pressed = {
        **action,
        "block_id": action.get("block_id", "b"),
        "action_ts": action_ts or f"{time.time():.6f}",
    }
    pressed.setdefault("text", {"type": "plain_text", "text": "Button", "emoji": True})
    return {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": team},
        "api_app_id": "A0REPORT",
        "token": "verification_token",
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel,
            "is_ephemeral": False,
        },
        "trigger_id": f"trigger.{time.monotonic_ns()}",
        "team": {"id": team, "domain": "school"},
        "channel": {"id": channel, "name": "channel"},
        "message": {"ts": message_ts, "type": "message"},
        "state": {"values": state or {}},
        "response_url": "https://hooks.slack.com/actions/T0SCHOOL/1/xxxx",
        "actions": [pressed],
    }


def form_body(fields: JSONDict) -> bytes:
    return urlencode(fields).encode()


def payload_body(payload: JSONDict) -> bytes:
    return f"payload={quote(json.dumps(payload))}".encode()


def buttons(message: JSONDict) -> list[JSONDict]:
    return [
        e
        for b in message.get("blocks", [])
        if b.get("type") == "actions"
        for e in b["elements"]
        if e.get("type") == "button"
    ]


def all_text(message: JSONDict) -> str:
    """Every piece of text in a message, fallback included, for assertions."""
    blocks = json.dumps(message.get("blocks", []), ensure_ascii=False)
    return f"{message.get('text', '')}\n{blocks}"


# --- the harness ------------------------------------------------------------------------------


@dataclass
class Harness:
    fake: FakeSlack
    runtime: Runtime
    client: TestClient[web.Request, web.Application]
    attached: list[Attached]
    clock: FakeClock
    socket: bool = False  # send payloads as Socket Mode envelopes instead of HTTP requests

    @property
    def courier(self) -> Courier:
        return self.runtime.couriers[Platform.SLACK]

    async def post(self, body: bytes, content_type: str, **headers: str) -> web.Response | Any:
        all_headers = {"Content-Type": content_type, **signed_headers(body), **headers}
        return await self.client.post("/slack/events", data=body, headers=all_headers)

    async def command(self, user: str, text: str = "", **kw: Any) -> Any:
        fields = command_form(user, text, **kw)
        if self.socket:
            return await self.fake.envelope("slash_commands", fields)
        return await self.post(form_body(fields), "application/x-www-form-urlencoded")

    async def event(self, payload: JSONDict, **headers: str) -> Any:
        if self.socket:
            return await self.fake.envelope("events_api", payload)
        return await self.post(json.dumps(payload).encode(), "application/json", **headers)

    async def dm(self, user: str, text: str) -> Any:
        return await self.event(message_event(user, text))

    async def action(self, payload: JSONDict) -> Any:
        if self.socket:
            return await self.fake.envelope("interactive", payload)
        return await self.post(payload_body(payload), "application/x-www-form-urlencoded")

    async def deliver(self) -> int:
        """Drive the courier until nothing is due now (it is stopped, so nothing races it)."""
        sent = idle = 0
        while idle < 2:  # a round that sent nothing is tried once more if something is due
            n = await self.courier.drain()
            sent += n
            idle = 0 if n else idle + 1
            if not n and not await self._due_now():
                break
        return sent

    async def _due_now(self) -> bool:
        """Is something still waiting that the running courier would send straight away?"""
        now = self.clock.now()
        pending = [
            i
            for i in await self.runtime.store.outbox_items()
            if i.platform == Platform.SLACK and not i.failed
        ]
        return any(i.due_at is None or i.due_at <= now for i in pending)

    async def answer(self, user: str, *values: str) -> Any:
        """Press the button (or tick the boxes and Continue) for `values` on the latest question."""
        channel = dm_channel(user)
        for message in reversed(self.fake.dm(user)):
            action, state = _choose(message, values)
            if action:
                payload = block_actions(
                    user, action, channel=channel, message_ts=message["ts"], state=state
                )
                response = await self.action(payload)
                await self.deliver()
                return response
        raise AssertionError(f"no question in the DM offers {values}")

    async def say(self, user: str, text: str) -> Any:
        response = await self.dm(user, text)
        await self.deliver()
        return response

    async def press_case(self, user: str, verb: str, *, message: JSONDict | None = None) -> Any:
        post = message or self.fake.posts(LEADERS)[-1]
        action = next(b for b in buttons(post) if b["action_id"] == f"case:{verb}")
        payload = block_actions(user, action, channel=LEADERS, message_ts=post["ts"])
        response = await self.action(payload)
        await self.deliver()
        return response

    async def close(self) -> None:
        for handle in self.attached:
            await handle.close()
        await self.client.close()


def _choose(message: JSONDict, values: tuple[str, ...]) -> tuple[JSONDict | None, JSONDict | None]:
    for block in message.get("blocks", []):
        for element in block.get("elements", []) if block.get("type") == "actions" else []:
            if (
                element.get("type") == "button"
                and element.get("value") in values
                and len(values) == 1
            ):
                return element, None
            if element.get("type") == "checkboxes":
                ticked = [o for o in element["options"] if o["value"] in values]
                if ticked:
                    state = {
                        block["block_id"]: {
                            element["action_id"]: {"type": "checkboxes", "selected_options": ticked}
                        }
                    }
                    step = element["action_id"].split(":")[1]
                    go = next(b for b in buttons(message) if b["action_id"] == f"continue:{step}")
                    return go, state
    return None, None


def oauth_env(api_url: str, database_url: str, **extra: str) -> dict[str, str]:
    """A deployment for many schools: Slack's OAuth install, on Postgres."""
    return {
        "SLACK_CLIENT_ID": CLIENT_ID,
        "SLACK_CLIENT_SECRET": CLIENT_SECRET,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": api_url,
        "SLACK_API_TIMEOUT": "2",
        "REPORTBOT_DATABASE_URL": database_url,
        "REPORTBOT_SECRET_KEY": SECRET_KEY,
        **extra,
    }


@dataclass(frozen=True)
class Installed:
    status: int  # what /slack/oauth_redirect answered
    page: str


async def install_app(
    session: aiohttp.ClientSession,
    start_at: str,
    finish_at: str,
    fake: FakeSlack,
    grant: Grant,
) -> Installed:
    """What an installer's browser does: /slack/install (on `start_at`) sends it to Slack's
    authorize page with a state, in the URL and a cookie; there they approve, and Slack sends
    them back to /slack/oauth_redirect (on `finish_at`, maybe another instance) with a code."""
    async with session.get(f"{start_at}/slack/install", allow_redirects=False) as began:
        assert began.status == 302, began.status
        location = URL(began.headers["Location"])
        cookie = SimpleCookie(began.headers.get("Set-Cookie", ""))
    assert location.host == "slack.com" and location.path == "/oauth/v2/authorize"
    assert location.query["client_id"] == CLIENT_ID
    state = location.query["state"]
    code = f"code-{grant.team}-{next(fake._ts)}"
    fake.grant(code, grant)
    cookies = "; ".join(f"{k}={v.value}" for k, v in cookie.items())
    back = f"{finish_at}/slack/oauth_redirect?code={code}&state={state}"
    async with session.get(back, headers={"Cookie": cookies}, allow_redirects=False) as done:
        return Installed(done.status, await done.text())


def slack_env(api_url: str, **extra: str) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_LEADERSHIP_CHANNEL": LEADERS,
        "SLACK_API_URL": api_url,
        "SLACK_API_TIMEOUT": "2",
        **extra,
    }


@asynccontextmanager
async def slack_harness(
    *,
    store: Store | None = None,
    fake: FakeSlack | None = None,
    clock: FakeClock | None = None,
    env: dict[str, str] | None = None,
) -> AsyncIterator[Harness]:
    """The real server app (`build_app`) with Slack attached, against the stand-in.

    Pass the same `fake`, `store` and `clock` to a second harness to restart the bot.
    """
    fake = fake or FakeSlack()
    owns_fake = fake._server is None
    api_url = await fake.start()
    clock = clock or FakeClock(START)
    runtime = build_runtime(Settings(), store or MemoryStore(), clock)
    app, attached = await build_app(runtime, env or slack_env(api_url))
    await runtime.couriers[Platform.SLACK].stop()  # tests drive delivery with `deliver()`
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    for handle in attached:
        await handle.start()
    harness = Harness(
        fake, runtime, client, attached, clock, socket="SLACK_APP_TOKEN" in (env or {})
    )
    try:
        yield harness
    finally:
        await harness.close()
        if owns_fake:
            await fake.close()


REPORT_STEPS: tuple[tuple[str, str], ...] = (
    # (how, what): "press" a button / ticked boxes by value, or "say" typed text in the DM
    ("press", "done"),
    ("press", "impersonation,harassment"),
    ("press", "no"),
    ("press", "no"),
    ("press", "staff"),
    ("say", "Ms J Patel, Head of Year 9"),
    ("press", "today"),
    ("press", "no"),
    ("press", "yes"),
    ("press", "skip"),
    ("press", "unknown"),
    ("press", "dsl"),
    ("press", "profile"),
    ("say", "Deputy Headteacher"),
    ("say", "01632 960 123"),
    ("press", "reporter"),
    ("press", "submit"),
)


# The same report, leaving POSH to the leadership team (the default a school starts with).
LEADERS_CALL = tuple(
    ("press", "leaders") if s == ("press", "reporter") else s for s in REPORT_STEPS
)


async def walk(h: Harness, user: str, steps: tuple[tuple[str, str], ...] = REPORT_STEPS) -> None:
    for how, what in steps:
        if how == "say":
            await h.say(user, what)
        else:
            await h.answer(user, *what.split(","))


async def report(
    h: Harness,
    user: str = STAFF,
    link: str = "https://www.tiktok.com/@fake.teacher",
    steps: tuple[tuple[str, str], ...] = REPORT_STEPS,
) -> str:
    """A whole report from the slash command to submit; returns the case reference."""
    await h.command(user, link)
    await h.deliver()
    await walk(h, user, steps)
    cases = await h.runtime.store.cases(reporter=f"slack:{TEAM}:{user}")
    return cases[-1].reference

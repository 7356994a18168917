"""`POST /slack/events`: Events API, slash commands and interactivity on one request URL.

Every request is checked here before Bolt sees it:
- the signature (v0 HMAC-SHA256 of the raw body, timestamp within 5 minutes): otherwise 401,
  logged without the body, and nothing reaches the engine or the store;
- the content type and body shape (`adapters.slack.shapes`): otherwise 4xx, never Bolt's 500;
  a kind nothing here handles is answered here too, so Bolt never logs parts of it.
Bolt then gets the parsed body. Bolt would otherwise re-parse the raw text, and it reads any
form body that merely contains the word "payload" (a TikTok link can) as an empty request;
Bolt takes a pre-parsed body only under its "socket_mode" label, which here means just "already
verified" and skips its own check (whose failure log would hold the whole body).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, cast
from urllib.parse import unquote

import orjson
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest

from adapters.slack import shapes
from adapters.slack.shapes import Verdict

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
JSON_TYPE = "application/json"
FORM_TYPE = "application/x-www-form-urlencoded"
PASSED_HEADERS = ("x-slack-retry-num", "x-slack-retry-reason")
MAX_AGE = 5 * 60  # seconds: Slack's own limit against replays


def events_handler(bolt: AsyncApp, signing_secret: str) -> Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        if not signature_ok(signing_secret, raw, request.headers, time.time()):
            log.warning("rejected a request to /slack/events: missing, wrong or stale signature")
            return _error(401, "invalid signature")
        if request.content_type not in (JSON_TYPE, FORM_TYPE):
            return _error(415, "unsupported content type")
        body = parse(raw, request.content_type)
        verdict = shapes.judge(body) if body is not None else Verdict.MALFORMED
        if body is None or verdict is Verdict.MALFORMED:
            log.warning("rejected a signed but malformed request to /slack/events")
            return _error(400, "malformed request")
        if verdict is not Verdict.BOLT:
            return _not_for_bolt(shapes.kind_name(body), verdict)
        headers: dict[str, str | Sequence[str]] = {"content-type": request.content_type}
        headers.update({k: request.headers[k] for k in PASSED_HEADERS if k in request.headers})
        try:
            bolt_request = AsyncBoltRequest(body=body, headers=headers, mode="socket_mode")
        except Exception:  # Bolt could not read its context from the body
            return _error(400, "malformed request")
        return await to_aiohttp_response(await bolt.async_dispatch(bolt_request))

    return handle


def signature_ok(secret: str, raw: bytes, headers: Mapping[str, str], now: float) -> bool:
    """Slack's v0 signature over the raw bytes, made at most five minutes ago.

    Computed here rather than by slack_sdk's verifier, which decodes the body first and so
    fails with an exception, not a "no", on a body that is not UTF-8.
    """
    timestamp = headers.get("X-Slack-Request-Timestamp", "")
    signature = headers.get("X-Slack-Signature", "")
    # ASCII digits only ("²".isdigit() is true), and short enough to be a time at all.
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        return False
    if abs(now - int(timestamp)) > MAX_AGE:
        return False
    base = b"v0:" + timestamp.encode() + b":" + raw
    expected = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace"))


def parse(raw: bytes, content_type: str) -> dict[str, Any] | None:
    """The body as Slack means it (a JSON object, or a command's form), or None."""
    try:
        text = raw.decode("utf-8")
        if content_type == JSON_TYPE:
            return _json(_loads(text))
        form = _form(text)
    except (UnicodeDecodeError, ValueError, RecursionError):  # RecursionError: deep nesting
        return None
    if "payload" in form:
        try:
            return _json(_loads(form["payload"]))
        except (ValueError, RecursionError):
            return None
    if form.get("ssl_check") == "1" or _is_command(form):
        return dict(form)
    return None


def _form(text: str) -> dict[str, str]:
    """A form body as `dict(parse_qsl(text, keep_blank_values=True, strict_parsing=True))`
    reads it (ValueError for a field without "="; a later field wins), decoded faster."""
    form = {}
    for field in text.split("&") if text else ():
        name, equals, value = field.partition("=")
        if not equals:
            raise ValueError("a form field without '='")
        form[_unquote_plus(name)] = _unquote_plus(value)
    return form


def _urllib_unquote_plus(text: str) -> str:
    return unquote(text.replace("+", " "))


def _fast_unquote_plus() -> Callable[[str], str]:
    """yarl's unquoter (in C; aiohttp's own dependency), which decodes as urllib does,
    U+FFFD for escapes that are not UTF-8 included: a button press's payload (the whole
    message pressed, a third of it escapes) took about 70 µs in urllib, 2 µs here. Should a
    yarl not offer it, urllib's."""
    try:
        from yarl._quoting import _Unquoter

        return cast(Callable[[str], str], _Unquoter(plus=True, replace_invalid=True))
    except (ImportError, TypeError):
        return _urllib_unquote_plus


_unquote_plus = _fast_unquote_plus()


def _loads(text: str) -> Any:
    """JSON by orjson, several times faster on a press's payload (it carries the whole message
    pressed); what orjson refuses (a lone surrogate, an integer over 64 bits, deep nesting)
    is read by json as before, which raises ValueError or RecursionError if it is not JSON."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def _is_command(form: dict[str, str]) -> bool:
    """A slash command's form; fields Bolt reads as other kinds of request must be absent."""
    return form.get("command", "").startswith("/") and not {"event", "type"} & form.keys()


def _json(value: object) -> dict[str, Any] | None:
    return value if isinstance(value, dict) else None


def _not_for_bolt(kind: str, verdict: Verdict) -> web.Response:
    """An event no listener wants is acknowledged (Slack would retry anything else); an
    interaction this bot never offers gets a 404, as Bolt would answer, but logged by kind only."""
    log.info("a Slack %s request reached /slack/events; nothing here handles it", kind)
    if verdict is Verdict.IGNORE:
        return web.Response(status=200)
    return _error(404, "not handled")


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)

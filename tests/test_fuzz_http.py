"""Bad input at the HTTP edge: `/slack/events` and `/api/messages` of the real server app.

Whatever arrives – malformed or deeply nested JSON, wrong content types, bodies over 1 MiB,
missing or forged signatures and tokens, duplicate or non-ASCII headers, no Content-Length,
bytes that are not UTF-8, and a few hundred mutations of real payloads – the answer is a 4xx
(or the 200 Slack and Teams expect for an event the bot ignores), never a 5xx, and no log line
at any level holds anything from a body: each body carries a marker that must never be logged.
Mutations come from a fixed seed (FUZZ_SEED replays another; printed on failure).
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import os
import random
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlencode

import pytest
from slack_fakes import (
    LEADERS,
    STAFF,
    Harness,
    block_actions,
    command_form,
    home_event,
    message_event,
    signed_headers,
    slack_harness,
)
from teams_fakes import (
    DEV_ENV,
    TENANT,
    TeamsHarness,
    bot_added_to_team,
    channel_message,
    harness,
    installation_update,
    personal_message,
)

SEED = int(os.environ.get("FUZZ_SEED", "1234"))
MUTATIONS = 300
MARK = "QZMARK"  # every body carries MARK + a number; none may ever reach a log
FORM = "application/x-www-form-urlencoded"
JSON_TYPE = "application/json"
HUGE = 1024 * 1024 + 1
APP_ID = "6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
AUTH_ENV = {
    "MicrosoftAppId": APP_ID,
    "MicrosoftAppPassword": "not-a-real-client-secret-123",
    "MicrosoftAppType": "SingleTenant",
    "MicrosoftAppTenantId": TENANT,
}
_marks = iter(range(10**9))


def mark() -> str:
    return f"{MARK}{next(_marks):06d}"


@contextmanager
def seed_note(seed: int) -> Iterator[None]:
    try:
        yield
    except BaseException as exc:
        exc.add_note(f"FUZZ_SEED={seed} replays this run")
        raise


def no_marks_logged(caplog: pytest.LogCaptureFixture) -> None:
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    assert MARK not in logged, "a log line holds request body content"


# --- junk and mutations ---------------------------------------------------------------------


def nested(depth: int, leaf: Any = 1) -> Any:
    for n in range(depth):
        leaf = [leaf] if n % 2 else {"a": leaf}
    return leaf


def deep_json(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def junk(rng: random.Random) -> Any:
    return rng.choice(
        [
            None,
            True,
            0,
            -1,
            2**70,
            1.5e308,
            "",
            " ",
            "\x00",
            "💥",
            "\ud800",  # a lone surrogate: json.dumps writes it as \\ud800
            "<!channel> &amp; <@U0LEADER>",
            "case:assign:TT-2026-0001",
            "x" * 5000,
            [],
            {},
            [1, "a", None],
            {"type": "message", "id": 3},
            nested(rng.randint(5, 200)),
        ]
    )


def _slots(doc: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path to a value inside a JSON document."""
    items = doc.items() if isinstance(doc, dict) else enumerate(doc)
    for key, value in items:
        yield (*path, key)
        if isinstance(value, dict | list) and len(path) < 8:
            yield from _slots(value, (*path, key))


def mutate(doc: Any, rng: random.Random) -> tuple[Any, str]:
    """A copy of `doc` with one to three values replaced, removed or added; and what was done."""
    doc = copy.deepcopy(doc)
    done = []
    for _ in range(rng.randint(1, 3)):
        slots = list(_slots(doc))
        if not slots:
            break
        path = rng.choice(slots)
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        op = rng.choice(["replace", "replace", "delete", "add"])
        if op == "replace":
            parent[path[-1]] = junk(rng)
        elif op == "delete":
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[rng.choice(["type", "user", "event", "value", "extra"])] = junk(rng)
        else:
            parent.append(junk(rng))
        done.append(f"{op} {'/'.join(map(str, path))}")
    return doc, "; ".join(done)


def corrupt(raw: bytes, rng: random.Random) -> tuple[bytes, str]:
    """Byte-level damage: a cut, a wrong byte, bytes that are not UTF-8, or a repeat."""
    at = rng.randrange(len(raw) + 1)
    op = rng.choice(["cut", "byte", "not-utf8", "repeat"])
    if op == "cut":
        return raw[:at], f"cut at {at}"
    if op == "byte":
        return raw[:at] + bytes([rng.randrange(256)]) + raw[at + 1 :], f"byte at {at}"
    if op == "not-utf8":
        return raw[:at] + b"\xff\xfe\xc3" + raw[at:], f"not UTF-8 at {at}"
    return raw[:at] + raw[at // 2 :], f"repeat at {at}"


def dumps(doc: Any) -> bytes:
    return json.dumps(doc).encode()


# --- raw HTTP, for what a well-behaved client will not send -----------------------------------


async def raw_status(host: str, port: int, request: bytes) -> int:
    """Send bytes as they are; the status code of the answer (0 if the server just closed)."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(request)
        await writer.drain()
        async with asyncio.timeout(10):
            line = await reader.readline()
    finally:
        writer.close()
        await writer.wait_closed()
    parts = line.split()
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0


def raw_post(path: str, headers: list[tuple[bytes, bytes]], body: bytes) -> bytes:
    head = b"".join(k + b": " + v + b"\r\n" for k, v in headers)
    return b"POST " + path.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n" + head + b"\r\n" + body


def chunked(body: bytes) -> bytes:
    """`body` in HTTP/1.1 chunked encoding (two chunks), for a raw request."""
    half = len(body) // 2
    parts = [body[:half], body[half:], b""]
    return b"".join(f"{len(p):x}".encode() + b"\r\n" + p + b"\r\n" for p in parts)


async def chunks(body: bytes) -> AsyncIterator[bytes]:
    """A body sent chunked, with no Content-Length."""
    for i in range(0, len(body), 64 * 1024):
        yield body[i : i + 64 * 1024]


# --- Slack ------------------------------------------------------------------------------------


def slack_templates() -> list[tuple[str, Any]]:
    """Real-shaped Slack bodies: ("form", fields) or ("payload", JSON) or ("json", JSON)."""
    press = {"type": "button", "action_id": "answer:harm:0", "value": "impersonation"}
    case = {"type": "button", "action_id": "case:assign", "value": "case:assign:TT-2026-0001"}
    return [
        ("form", command_form(STAFF, "https://www.tiktok.com/@x")),
        ("json", message_event(STAFF, "https://www.tiktok.com/@fake")),
        ("json", home_event(STAFF)),
        ("json", {"token": "t", "challenge": "c", "type": "url_verification"}),
        ("payload", block_actions(STAFF, press, channel="D0STAFF", message_ts="1.1")),
        ("payload", block_actions(STAFF, case, channel=LEADERS, message_ts="1.2")),
    ]


def slack_body(kind: str, doc: Any, marker: str) -> tuple[bytes, str]:
    if kind == "form":
        fields = {str(k): str(v) for k, v in doc.items()} if isinstance(doc, dict) else {}
        fields["text"] = f"{fields.get('text', '')} {marker}"
        return urlencode(fields, errors="surrogatepass").encode(), FORM
    if isinstance(doc, dict):
        doc = {**doc, "fuzz": marker}
    if kind == "payload":
        return urlencode({"payload": json.dumps(doc), "fuzz": marker}).encode(), FORM
    return dumps(doc), JSON_TYPE


async def slack_post(h: Harness, body: bytes, content_type: str | None, **headers: str) -> int:
    sent = {**signed_headers(body), **headers}
    if content_type is not None:
        sent["Content-Type"] = content_type
    response = await h.client.post("/slack/events", data=body, headers=sent)
    await response.read()
    return response.status


async def test_slack_mutated_payloads_never_get_a_5xx_nor_reach_the_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    rng = random.Random(SEED)
    failures: list[str] = []
    with seed_note(SEED):
        async with slack_harness() as h:
            templates = slack_templates()
            for n in range(MUTATIONS):
                kind, template = rng.choice(templates)
                doc, what = mutate(template, rng)
                body, content_type = slack_body(kind, doc, mark())
                if n % 4 == 0:
                    body, damage = corrupt(body, rng)
                    what += f"; {damage}"
                status = await slack_post(h, body, content_type)
                if status >= 500:
                    failures.append(f"{status} for {kind} after {what}")
            await asyncio.sleep(0.2)  # background sends (apologies, Home tab) run too
        assert not failures, "\n".join(failures)
    no_marks_logged(caplog)


def inside(doc: dict[str, Any], key: str, raw: bytes) -> bytes:
    """`doc` as JSON with `raw` (JSON text too deep for json.dumps) as the value of `key`."""
    return dumps(doc)[:-1] + f', "{key}": '.encode() + raw + b"}"


def _slack_bad_bodies() -> list[Any]:
    event = message_event(STAFF, "hello " + MARK)
    return [
        pytest.param(b"{" + MARK.encode(), JSON_TYPE, id="not json"),
        pytest.param(b'{"type": "' + MARK.encode() + b'\xff\xfe"}', JSON_TYPE, id="not UTF-8"),
        pytest.param(b"command=/x&text=" + MARK.encode() + b"\xff", FORM, id="form not UTF-8"),
        pytest.param(dumps(event), FORM, id="JSON as form"),
        pytest.param(
            urlencode({"command": "/x", "text": MARK}).encode(), JSON_TYPE, id="form as JSON"
        ),
        pytest.param(MARK.encode(), "text/plain", id="plain text"),
        pytest.param(
            b"--x\r\n\r\n" + MARK.encode(), "multipart/form-data; boundary=x", id="multipart"
        ),
        pytest.param(dumps(event), None, id="no content type"),
        pytest.param(
            json.dumps(event).encode("utf-16"), "application/json; charset=utf-16", id="UTF-16"
        ),
        pytest.param(json.dumps(MARK).encode(), JSON_TYPE, id="a JSON string"),
        pytest.param(b"", JSON_TYPE, id="an empty body"),
        pytest.param(dumps(nested(500, MARK)), JSON_TYPE, id="nested 500 deep"),
        pytest.param(
            inside(event, "event", dumps(nested(500, MARK))), JSON_TYPE, id="event 500 deep"
        ),
        pytest.param(deep_json(100_000), JSON_TYPE, id="deep JSON"),
        pytest.param(b"payload=" + b"%5B" * 100_000, FORM, id="deep JSON in a payload"),
        pytest.param(inside(event, "event", deep_json(5000)), JSON_TYPE, id="deep event"),
    ]


@pytest.mark.parametrize(("body", "content_type"), _slack_bad_bodies())
async def test_slack_bad_bodies_get_4xx(
    body: bytes, content_type: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with slack_harness() as h:
        status = await slack_post(h, body, content_type)
        assert 400 <= status < 500, status
        assert await h.runtime.store.cases() == []
    no_marks_logged(caplog)


async def test_slack_bodies_over_1_mib_get_413_signed_or_not_chunked_or_not(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    body = dumps(message_event(STAFF, MARK + "x" * HUGE))
    async with slack_harness() as h:
        for headers in ({}, signed_headers(body)):
            for data in (body, chunks(body)):
                response = await h.client.post(
                    "/slack/events", data=data, headers={"Content-Type": JSON_TYPE, **headers}
                )
                assert response.status == 413
    no_marks_logged(caplog)


FORBIDDEN = (401,)  # a request that is not Slack's gets 401, nothing else


def _slack_bad_headers() -> list[Any]:
    """(headers to change, the answers allowed)."""
    now = str(int(time.time()))
    return [
        pytest.param({"X-Slack-Request-Timestamp": ""}, FORBIDDEN, id="no timestamp"),
        pytest.param({"X-Slack-Request-Timestamp": "yesterday"}, FORBIDDEN, id="ts words"),
        pytest.param({"X-Slack-Request-Timestamp": "-" + now}, FORBIDDEN, id="ts negative"),
        pytest.param({"X-Slack-Request-Timestamp": now + ".5"}, FORBIDDEN, id="ts fraction"),
        pytest.param({"X-Slack-Request-Timestamp": "١٧٠٠٠٠٠٠٠٠"}, FORBIDDEN, id="ts Arabic digits"),
        pytest.param({"X-Slack-Request-Timestamp": "9" * 300}, FORBIDDEN, id="ts 300 digits"),
        pytest.param({"X-Slack-Request-Timestamp": "9" * 400}, FORBIDDEN, id="ts 400 digits"),
        pytest.param({"X-Slack-Request-Timestamp": "²"}, FORBIDDEN, id="ts superscript"),
        pytest.param({"X-Slack-Request-Timestamp": f" {now} "}, (200, 401), id="ts with spaces"),
        pytest.param({"X-Slack-Signature": ""}, FORBIDDEN, id="no signature"),
        pytest.param({"X-Slack-Signature": "v1=" + "0" * 64}, FORBIDDEN, id="signature v1"),
        pytest.param({"X-Slack-Signature": "v0=é" + "0" * 63}, FORBIDDEN, id="sig non-ASCII"),
        pytest.param({"X-Slack-Signature": "v0=" + "a" * 9_000}, (400, 401), id="sig too long"),
        pytest.param({"Content-Type": "Application/JSON"}, (200, 415), id="content type case"),
        pytest.param(
            {"X-Slack-Retry-Num": "∞", "X-Slack-Retry-Reason": "é" * 99}, (200,), id="retry"
        ),
    ]


@pytest.mark.parametrize(("headers", "allowed"), _slack_bad_headers())
async def test_slack_odd_or_forged_headers_never_get_a_5xx(
    headers: dict[str, str], allowed: tuple[int, ...], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    body = dumps(message_event(STAFF, "hello " + mark()))
    async with slack_harness() as h:
        status = await slack_post(h, body, JSON_TYPE, **headers)
        assert status in allowed, status
        if status != 200:
            assert await h.runtime.store.conversation(f"slack:T0SCHOOL:{STAFF}") is None
    no_marks_logged(caplog)


def _framings(body: bytes) -> dict[str, list[tuple[bytes, bytes]]]:
    """Header lists no well-behaved client sends: repeats, non-ASCII bytes, bad lengths."""
    signed = signed_headers(body)
    ts, sig = signed["X-Slack-Request-Timestamp"].encode(), signed["X-Slack-Signature"].encode()
    length = (b"Content-Length", str(len(body)).encode())
    base = [(b"Content-Type", JSON_TYPE.encode()), (b"X-Slack-Request-Timestamp", ts)]
    good, bad = (b"X-Slack-Signature", sig), (b"X-Slack-Signature", b"v0=bad")
    return {
        "signature twice, the good one second": [*base, bad, good, length],
        "signature twice, the good one first": [*base, good, bad, length],
        "timestamp twice": [*base, (b"X-Slack-Request-Timestamp", b"1"), good, length],
        "content type twice": [*base, (b"Content-Type", b"text/plain"), good, length],
        "non-ASCII header bytes": [
            *base,
            (b"X-Slack-Signature", b"v0=\xff\xfe\xc3\x28"),
            (b"X-Slack-Retry-Reason", "é".encode()),
            length,
        ],
        "Content-Length twice, different": [*base, good, length, (b"Content-Length", b"3")],
        "Content-Length not a number": [*base, good, (b"Content-Length", b"x")],
        "Content-Length negative": [*base, good, (b"Content-Length", b"-1")],
        "chunked and Content-Length": [*base, good, length, (b"Transfer-Encoding", b"chunked")],
    }


async def test_slack_raw_requests_with_odd_framing_never_get_a_5xx(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    body = dumps(message_event(STAFF, "hello " + mark()))
    async with slack_harness() as h:
        server = h.client.server
        statuses = {
            name: await raw_status(
                str(server.host), int(server.port or 0), raw_post("/slack/events", headers, body)
            )
            for name, headers in _framings(body).items()
        }
        bad = {name: s for name, s in statuses.items() if not 200 <= s < 500}
        assert not bad, bad
        assert statuses["signature twice, the good one second"] == 401  # the first one counts
        assert await h.runtime.store.cases() == []
        # With no Content-Length at all, a chunked body is read whole and accepted.
        framing = [
            (b"Content-Type", JSON_TYPE.encode()),
            *[(k.encode(), v.encode()) for k, v in signed_headers(body).items()],
            (b"Transfer-Encoding", b"chunked"),
        ]
        request = raw_post("/slack/events", framing, chunked(body))
        assert await raw_status(str(server.host), int(server.port or 0), request) == 200
    no_marks_logged(caplog)


async def test_slack_a_body_without_a_length_never_reaches_the_debug_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    body = dumps(message_event(STAFF, "hello " + mark()))
    signed = signed_headers(body)
    headers = [(k.encode(), v.encode()) for k, v in signed.items()]
    async with slack_harness() as h:
        server = h.client.server
        request = raw_post(
            "/slack/events", [(b"Content-Type", b"application/json"), *headers], body
        )
        status = await raw_status(str(server.host), int(server.port or 0), request)
        assert 400 <= status < 500
    no_marks_logged(caplog)


async def test_slack_a_signed_command_with_an_event_field_gets_a_4xx() -> None:
    async with slack_harness() as h:
        form = {**command_form(STAFF, "hi"), "event": "x"}
        assert 400 <= await slack_post(h, urlencode(form).encode(), FORM) < 500


@pytest.mark.parametrize(
    "actions",
    [[], [{"type": "button", "value": "x"}], [{"type": "button", "action_id": 5, "value": "x"}]],
    ids=["no actions", "no action_id", "action_id not a string"],
)
async def test_slack_a_signed_press_without_a_usable_action_gets_a_4xx(
    actions: list[dict[str, Any]],
) -> None:
    press = {"type": "button", "action_id": "answer:harm:0", "value": "impersonation"}
    payload = {
        **block_actions(STAFF, press, channel="D0STAFF", message_ts="1.1"),
        "actions": actions,
    }
    async with slack_harness() as h:
        body = urlencode({"payload": json.dumps(payload)}).encode()
        assert 400 <= await slack_post(h, body, FORM) < 500


# --- Teams --------------------------------------------------------------------------------------


def teams_templates(url: str) -> list[dict[str, Any]]:
    press = {"reportbot": "answer", "step": "danger", "action": "no"}
    return [
        personal_message(url, "report"),
        personal_message(url, "https://www.tiktok.com/@fake"),
        personal_message(url, value=press),
        channel_message(url, "cases"),
        channel_message(url, value={"reportbot": "case", "action": "case:assign:TT-2026-0001"}),
        bot_added_to_team(url),
        installation_update(url),
    ]


def teams_body(doc: Any, marker: str) -> bytes:
    if isinstance(doc, dict):
        doc = {**doc, "fuzz": marker}
        if isinstance(doc.get("text"), str):
            doc["text"] += " " + marker
    return dumps(doc)


async def teams_post(
    h: TeamsHarness, body: Any, content_type: str | None = JSON_TYPE, **headers: str
) -> int:
    sent = dict(headers)
    if content_type is not None:
        sent["Content-Type"] = content_type
    response = await h.client.post("/api/messages", data=body, headers=sent)
    await response.read()
    return response.status


@pytest.mark.parametrize("env", [DEV_ENV, AUTH_ENV], ids=["dev-mode", "app-id"])
async def test_teams_mutated_activities_never_get_a_5xx_nor_reach_the_logs(
    env: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    rng = random.Random(SEED)
    failures: list[str] = []
    with seed_note(SEED):
        async with harness(env) as h:
            templates = teams_templates(h.service_url)
            for n in range(MUTATIONS):
                doc, what = mutate(rng.choice(templates), rng)
                body = teams_body(doc, mark())
                if n % 4 == 0:
                    body, damage = corrupt(body, rng)
                    what += f"; {damage}"
                status = await teams_post(h, body)
                if status >= 500:
                    failures.append(f"{status} after {what}")
                if env is AUTH_ENV:
                    assert status in (400, 401, 403), (status, what)
            await h.deliver()
            if env is AUTH_ENV:
                assert h.connector.calls == []  # nothing unauthenticated got an answer
        assert not failures, "\n".join(failures)
    no_marks_logged(caplog)


LOCAL = "http://127.0.0.1:9/"  # a loopback serviceUrl: never reached, every body is refused


def _teams_bad_bodies() -> list[Any]:
    activity = personal_message(LOCAL, "report " + MARK)
    return [
        pytest.param(b"{" + MARK.encode(), JSON_TYPE, id="not json"),
        pytest.param(dumps(activity)[:-1] + b', "x": "\xff\xfe"}', JSON_TYPE, id="not UTF-8"),
        pytest.param(urlencode({"type": "message", "text": MARK}).encode(), FORM, id="form"),
        pytest.param(dumps(activity), "text/plain", id="plain text"),
        pytest.param(dumps(activity), None, id="no content type"),
        pytest.param(b"", JSON_TYPE, id="an empty body"),
        pytest.param(b"null", JSON_TYPE, id="null"),
        pytest.param(dumps(nested(500, MARK)), JSON_TYPE, id="nested 500 deep"),
        pytest.param(deep_json(100_000), JSON_TYPE, id="deep JSON"),
        pytest.param(inside(activity, "value", deep_json(5000)), JSON_TYPE, id="deep value"),
    ]


@pytest.mark.parametrize(("body", "content_type"), _teams_bad_bodies())
@pytest.mark.parametrize("env", [DEV_ENV, AUTH_ENV], ids=["dev-mode", "app-id"])
async def test_teams_bad_bodies_get_4xx(
    env: dict[str, str],
    body: bytes,
    content_type: str | None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    async with harness(env) as h:
        status = await teams_post(h, body, content_type)
        assert 400 <= status < 500, status
        assert h.connector.calls == []
    no_marks_logged(caplog)


@pytest.mark.parametrize("env", [DEV_ENV, AUTH_ENV], ids=["dev-mode", "app-id"])
async def test_teams_bodies_over_1_mib_get_413_chunked_or_not(
    env: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with harness(env) as h:
        huge = dumps(personal_message(h.service_url, MARK + "x" * HUGE))
        assert await teams_post(h, huge) == 413
        assert await teams_post(h, chunks(huge)) == 413
        assert h.connector.calls == []
    no_marks_logged(caplog)


@pytest.mark.parametrize("env", [DEV_ENV, AUTH_ENV], ids=["dev-mode", "app-id"])
async def test_teams_raw_requests_with_odd_framing_never_get_a_5xx(
    env: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with harness(env) as h:
        body = teams_body(personal_message(h.service_url, "report"), mark())
        json_type = (b"Content-Type", JSON_TYPE.encode())
        length = (b"Content-Length", str(len(body)).encode())
        token = (b"Authorization", b"Bearer a.b.c")
        framings = {
            "Authorization twice": (
                [json_type, token, (b"Authorization", b"Basic eA=="), length],
                body,
            ),
            "content type twice": ([json_type, (b"Content-Type", b"text/plain"), length], body),
            "non-ASCII header bytes": (
                [json_type, (b"Authorization", b"Bearer \xff\xfe"), length],
                body,
            ),
            "Content-Length twice": ([json_type, length, (b"Content-Length", b"2")], body),
            "Content-Length not a number": ([json_type, (b"Content-Length", b"x")], body),
            "chunked, no Content-Length": (
                [json_type, (b"Transfer-Encoding", b"chunked")],
                chunked(body),
            ),
        }
        server = h.client.server
        statuses = {
            name: await raw_status(
                str(server.host), int(server.port or 0), raw_post("/api/messages", headers, data)
            )
            for name, (headers, data) in framings.items()
        }
        allowed = range(200, 500) if env is DEV_ENV else range(400, 500)
        bad = {name: s for name, s in statuses.items() if s not in allowed}
        assert not bad, bad
        await h.deliver()
        if env is AUTH_ENV:
            assert h.connector.calls == []
    no_marks_logged(caplog)


@pytest.mark.parametrize(
    "authorization",
    [
        "",
        "Bearer",
        "Bearer ",
        "Bearer a.b.c",
        "Bearer " + "a" * 7_000,
        "Bearer é.é.é",
        "Bearer eyJhbGciOiJub25lIn0.eyJhdWQiOiJ4In0.",  # alg "none"
        "Basic dXNlcjpwYXNz",
        "bearer " + "x.y.z",
    ],
)
async def test_teams_with_an_app_id_odd_tokens_get_401(
    authorization: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with harness(AUTH_ENV) as h:
        body = dumps(personal_message(h.service_url, "report " + mark()))
        status = await teams_post(h, body, Authorization=authorization)
        assert status == 401, status
        assert h.connector.calls == []
    no_marks_logged(caplog)

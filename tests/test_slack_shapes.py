"""Odd but signed Slack payloads (issue 14.3): every kind Slack sends, every field broken.

For each payload kind – Events API callbacks of several event types, block_actions,
view_submission, view_closed, block_suggestion, shortcut, message_action, a slash command,
url_verification and ssl_check – every field (to three levels deep) is in turn removed, set to
null, given the wrong type, or nested oddly. Each variant is signed as Slack signs it and sent to
the real server app. None may get a 5xx, and nothing a person typed (each typed value carries a
marker) may reach the log at any level.
"""

from __future__ import annotations

import copy
import json
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from slack_fakes import (
    LEADERS,
    STAFF,
    STAFFROOM,
    TEAM,
    Harness,
    JSONDict,
    block_actions,
    command_form,
    dm_channel,
    home_event,
    message_event,
    signed_headers,
    slack_harness,
)

from adapters.slack.client import quiet_logger
from adapters.slack.endpoint import parse

TYPED = "QZTYPED"  # in every value a person types; it must never be logged
FORM = "application/x-www-form-urlencoded"
JSON_TYPE = "application/json"
USER = {"id": STAFF, "username": "u0staff", "name": "u0staff", "team_id": TEAM}
TEAM_OBJ = {"id": TEAM, "domain": "school"}
DEPTH = 3


def _event(event: JSONDict) -> JSONDict:
    return {
        "token": "verification-token",
        "team_id": TEAM,
        "api_app_id": "A0REPORT",
        "event": event,
        "type": "event_callback",
        "event_id": f"Ev{time.monotonic_ns()}",
        "event_time": int(time.time()),
        "authorizations": [{"team_id": TEAM, "user_id": "U0BOT", "is_bot": True}],
    }


def _view(kind: str) -> JSONDict:
    view = {
        "id": "V0REPORT",
        "team_id": TEAM,
        "type": "modal",
        "callback_id": "report",
        "private_metadata": "",
        "hash": "1.abc",
        "title": {"type": "plain_text", "text": "Report"},
        "blocks": [{"type": "input", "block_id": "b", "element": {"type": "plain_text_input"}}],
        "state": {"values": {"b": {"a": {"type": "plain_text_input", "value": TYPED}}}},
    }
    body: JSONDict = {
        "type": kind,
        "team": TEAM_OBJ,
        "user": USER,
        "api_app_id": "A0REPORT",
        "token": "verification_token",
        "view": view,
    }
    if kind == "view_submission":
        body |= {"trigger_id": "1.2.3", "response_urls": []}
    else:
        body["is_cleared"] = False
    return body


def kinds() -> dict[str, tuple[str, JSONDict]]:
    """Every kind of request Slack sends to the request URL: (how it is sent, its body)."""
    press = {"type": "button", "action_id": "answer:harm:0", "value": "impersonation"}
    typed = {"b": {"a": {"type": "plain_text_input", "value": TYPED}}}
    now = f"{time.time():.6f}"
    return {
        "event message.im": ("json", message_event(STAFF, f"hello {TYPED}")),
        "event app_home_opened": ("json", home_event(STAFF)),
        "event app_mention": (
            "json",
            _event(
                {
                    "type": "app_mention",
                    "user": STAFF,
                    "text": f"<@U0BOT> {TYPED}",
                    "ts": now,
                    "channel": STAFFROOM,
                    "event_ts": now,
                }
            ),
        ),
        "event message_changed": (
            "json",
            _event(
                {
                    "type": "message",
                    "subtype": "message_changed",
                    "channel": dm_channel(STAFF),
                    "channel_type": "im",
                    "message": {"type": "message", "user": STAFF, "text": TYPED, "ts": now},
                    "ts": now,
                    "event_ts": now,
                }
            ),
        ),
        "event app_uninstalled": ("json", _event({"type": "app_uninstalled"})),
        "block_actions": (
            "payload",
            block_actions(STAFF, press, channel=dm_channel(STAFF), message_ts="1.1", state=typed),
        ),
        "view_submission": ("payload", _view("view_submission")),
        "view_closed": ("payload", _view("view_closed")),
        "block_suggestion": (
            "payload",
            {
                "type": "block_suggestion",
                "user": USER,
                "container": {"type": "message", "message_ts": "1.1", "channel_id": LEADERS},
                "api_app_id": "A0REPORT",
                "token": "verification_token",
                "action_id": "pick",
                "block_id": "b",
                "value": TYPED,
                "team": TEAM_OBJ,
                "channel": {"id": LEADERS, "name": "leaders"},
                "message": {"type": "message", "ts": "1.1", "text": "x"},
            },
        ),
        "shortcut": (
            "payload",
            {
                "type": "shortcut",
                "token": "verification_token",
                "action_ts": now,
                "team": TEAM_OBJ,
                "user": USER,
                "callback_id": "report_tiktok",
                "trigger_id": "1.2.3",
            },
        ),
        "message_action": (
            "payload",
            {
                "type": "message_action",
                "token": "verification_token",
                "action_ts": now,
                "team": TEAM_OBJ,
                "user": USER,
                "channel": {"id": STAFFROOM, "name": "staffroom"},
                "callback_id": "report_this",
                "trigger_id": "1.2.3",
                "message_ts": "1.1",
                "message": {"type": "message", "user": STAFF, "ts": "1.1", "text": TYPED},
                "response_url": "https://hooks.slack.com/app/T0SCHOOL/1/x",
            },
        ),
        "slash command": ("form", command_form(STAFF, f"https://www.tiktok.com/@x {TYPED}")),
        "url_verification": (
            "json",
            {"token": "verification-token", "challenge": "c0ffee", "type": "url_verification"},
        ),
        "ssl_check": ("form", {"ssl_check": "1", "token": "verification-token"}),
    }


# --- variants ---------------------------------------------------------------------------------


def paths(doc: Any, at: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path to a field, DEPTH levels deep."""
    items = doc.items() if isinstance(doc, dict) else enumerate(doc)
    for key, value in items:
        yield (*at, key)
        if isinstance(value, dict | list) and len(at) + 1 < DEPTH:
            yield from paths(value, (*at, key))


def wrong_type(value: Any) -> Any:
    if isinstance(value, str):
        return 7
    if isinstance(value, bool | int | float):
        return "seven"
    return "a string"


def nested_oddly(value: Any) -> Any:
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list):
        return {"0": value}
    return {"value": value, "nested": [[value]]}


Change = Callable[[Any], Any]
FAMILIES: dict[str, Change | None] = {
    "missing": None,
    "null": lambda v: None,
    "wrong type": wrong_type,
    "nested oddly": nested_oddly,
}


def variant(doc: JSONDict, path: tuple[Any, ...], change: Change | None) -> JSONDict:
    doc = copy.deepcopy(doc)
    parent: Any = doc
    for key in path[:-1]:
        parent = parent[key]
    if change is None:
        del parent[path[-1]]
    else:
        parent[path[-1]] = change(parent[path[-1]])
    return doc


def form_variants(fields: JSONDict, family: str) -> Iterator[tuple[str, JSONDict]]:
    """A form carries only strings: missing, empty, JSON where a word belongs, or repeated."""
    for key in fields:
        changed = dict(fields)
        if family == "missing":
            del changed[key]
        elif family == "null":
            changed[key] = ""
        elif family == "wrong type":
            changed[key] = json.dumps({"value": fields[key]})
        else:
            changed[key] = "[[" + str(fields[key]) + "]]"
        yield key, changed


def encoded(how: str, doc: JSONDict) -> tuple[bytes, str]:
    if how == "form":
        return urlencode(doc).encode(), FORM
    if how == "payload":
        return f"payload={quote(json.dumps(doc))}".encode(), FORM
    return json.dumps(doc).encode(), JSON_TYPE


async def post(h: Harness, body: bytes, content_type: str) -> int:
    headers = {"Content-Type": content_type, **signed_headers(body)}
    response = await h.client.post("/slack/events", data=body, headers=headers)
    await response.read()
    return response.status


def variants(how: str, doc: JSONDict, family: str) -> Iterator[tuple[str, JSONDict]]:
    if how == "form":
        yield from form_variants(doc, family)
        return
    for path in paths(doc):
        yield "/".join(map(str, path)), variant(doc, path, FAMILIES[family])


CASES = [pytest.param(k, f, id=f"{k}-{f}") for k in kinds() for f in FAMILIES]


@pytest.mark.parametrize(("kind", "family"), CASES)
async def test_a_signed_payload_of_any_shape_gets_no_5xx_and_logs_nothing_typed(
    kind: str, family: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    how, template = kinds()[kind]
    failures = []
    async with slack_harness() as h:
        assert await post(h, *encoded(how, template)) < 500  # the untouched payload too
        for where, doc in variants(how, template, family):
            status = await post(h, *encoded(how, doc))
            if status >= 500:
                failures.append(f"{status}: {family} {where}")
        await h.deliver()  # replies owed (apologies, questions) go out too
    assert not failures, "\n".join(failures)
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    assert TYPED not in logged, "a log line holds what a person typed"
    assert "Traceback" not in logged


def test_bolts_unhandled_request_warning_never_carries_the_body(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Second line of defence: should a request nothing handles reach Bolt after all."""
    caplog.set_level(logging.DEBUG)
    quiet_logger("bolt").warning("Unhandled request (%s)", {"value": TYPED})
    assert "details withheld" in caplog.text and TYPED not in caplog.text


async def test_kinds_nothing_here_handles_are_answered_without_bolt() -> None:
    async with slack_harness() as h:
        for kind in ("event app_uninstalled", "view_submission", "block_suggestion", "shortcut"):
            how, doc = kinds()[kind]
            expected = 200 if kind.startswith("event") else 404
            assert await post(h, *encoded(how, doc)) == expected, kind


def test_a_body_orjson_refuses_is_read_as_json_reads_it() -> None:
    """orjson reads Slack's bodies; what it refuses and json takes still parses the same."""
    odd = '{"type": "block_actions", "n": 123456789012345678901234567890, "t": "\\ud800"}'
    assert parse(odd.encode(), JSON_TYPE) == json.loads(odd)
    form = urlencode({"payload": odd}).encode()
    assert parse(form, FORM) == json.loads(odd)
    assert parse(b'{"type": "x", "deep": ' + b"[" * 5000 + b"]" * 5000 + b"}", JSON_TYPE) is None

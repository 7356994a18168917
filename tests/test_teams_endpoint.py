"""`POST /api/messages`: authentication, bad input, tenants, and errors that stay kind."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any
from unittest import mock

import pytest
from aiohttp import web
from aiohttp.streams import StreamReader
from aiohttp.test_utils import make_mocked_request
from teams_fakes import (
    AUTH_ENV,
    DEV_ENV,
    LEADS_CHANNEL,
    PERSONAL_CHAT,
    REPORTER_KEY,
    SECRET,
    TENANT,
    TIKTOK_LINK,
    TeamsHarness,
    complete_report,
    harness,
    personal_message,
    texts,
)

from bot.errors import StorageError
from storage.memory import MemoryStore


@pytest.mark.parametrize("header", [None, "Bearer not-a-token", "Basic dXNlcjpwYXNz"])
async def test_with_an_app_id_an_activity_without_a_valid_token_gets_401_and_nothing_is_sent(
    header: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    async with harness(AUTH_ENV) as h:
        headers = {"Authorization": header} if header else {}
        activity = personal_message(h.service_url, TIKTOK_LINK)
        assert await h.send(activity, headers) == 401
        assert await h.deliver() == 0
        assert h.connector.calls == []
        assert await h.runtime.store.conversation(REPORTER_KEY) is None
    assert SECRET not in caplog.text
    assert TIKTOK_LINK not in caplog.text
    assert "not-a-token" not in caplog.text


async def test_health_says_whether_authentication_is_on() -> None:
    async with harness(AUTH_ENV) as h:
        health = await (await h.client.get("/healthz")).json()
        assert health["platforms"]["teams"]["authentication"] == "on"
    async with harness() as h:
        health = await (await h.client.get("/healthz")).json()
        assert health["platforms"]["teams"]["authentication"] == "OFF (development mode)"


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b"{not json", "application/json", 400),
        (b"[1, 2]", "application/json", 400),
        (b'"message"', "application/json", 400),
        (b'{"text": "no type"}', "application/json", 400),
        (b'{"type": "message", "from": "someone"}', "application/json", 400),
        (b'{"type": "message", "conversation": [1]}', "application/json", 400),
        (b'{"type": "message", "text": {"a": 1}}', "application/json", 400),
        (b'{"type": "message", "channelData": "x"}', "application/json", 400),
        (b"\xff\xfe", "application/json", 400),
        (b"type=message", "application/x-www-form-urlencoded", 415),
        (b'{"type": "message"}', "text/plain", 415),
    ],
)
async def test_bad_input_is_refused_without_a_500(
    body: bytes, content_type: str, status: int
) -> None:
    async with harness() as h:
        response = await h.client.post(
            "/api/messages", data=body, headers={"Content-Type": content_type}
        )
        assert response.status == status
        assert h.connector.calls == []


@pytest.mark.parametrize("missing", ["conversation", "from", "recipient", "serviceUrl"])
async def test_an_activity_missing_what_every_activity_has_is_refused(missing: str) -> None:
    async with harness() as h:
        activity = personal_message(h.service_url, "report")
        del activity[missing]
        assert await h.send(activity) == 400
        assert h.connector.calls == []


async def test_a_tenant_outside_the_allow_list_is_refused() -> None:
    other = "11111111-2222-3333-4444-555555555555"
    async with harness({**DEV_ENV, "REPORTBOT_TEAMS_TENANTS": other}) as h:
        assert await h.send(personal_message(h.service_url, "report")) == 403
        await h.deliver()
        assert h.connector.calls == []
    async with harness({**DEV_ENV, "REPORTBOT_TEAMS_TENANTS": f"{other}, {TENANT}"}) as h:
        assert await h.say("report") == 200
        assert len(h.chat_cards()) == 2


async def test_development_mode_answers_only_a_local_bot_connector() -> None:
    async with harness() as h:
        forged = personal_message("https://attacker.example/", "report")
        assert await h.send(forged) == 403
        assert await h.runtime.store.conversation(REPORTER_KEY) is None


async def test_without_settings_the_teams_endpoint_is_off() -> None:
    async with harness({}) as h:
        response = await h.client.post("/api/messages", json={"type": "message"})
        assert response.status in (404, 405)


class FailingStore(MemoryStore):
    async def commit(self, step: Any) -> None:
        raise StorageError("disk full")


async def test_a_storage_failure_gets_a_kind_answer_with_a_reference_code() -> None:
    async with harness(store=FailingStore()) as h:
        assert await h.send(personal_message(h.service_url, "report")) == 200
        [apology] = h.connector.posts
        words = texts(apology.card)
        assert "please send it again" in words and "ERR-" in words
        assert "Traceback" not in words and "disk full" not in words


async def test_an_unexpected_error_gets_a_reference_code_and_no_trace(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async with harness() as h:

        async def broken(*args: Any) -> Any:
            raise KeyError(TIKTOK_LINK)

        monkeypatch.setattr(h.runtime.engine, "_route", broken)
        assert await h.send(personal_message(h.service_url, TIKTOK_LINK)) == 200
        await h.deliver()
        [apology] = h.connector.posts_to(PERSONAL_CHAT)
        assert "ERR-" in texts(apology.card) and "KeyError" not in texts(apology.card)
    assert TIKTOK_LINK not in caplog.text  # the log has the frames, not the message


async def test_logs_hold_no_case_text(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with harness() as h:
        await h.install()
        reference = await complete_report(h)
        assert reference in texts(h.connector.posts_to(LEADS_CHANNEL)[-1].card)
    for secret in (TIKTOK_LINK, "Ms J Patel", "01632 960 123", "fake.head.teacher"):
        assert secret not in caplog.text


async def test_connector_clients_are_built_once_not_per_turn(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The SDK's own factory opens a session (a connection) per turn and per send; not here."""
    from microsoft_agents.hosting.core import RestChannelServiceClientFactory

    from adapters.teams import clients

    built: list[str] = []
    original = clients.KeptClient.__init__

    def counting(self: Any, endpoint: str, *args: Any, **kwargs: Any) -> None:
        built.append(endpoint)
        original(self, endpoint, *args, **kwargs)

    async def refused(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the SDK's per-turn client factory was used")

    monkeypatch.setattr(clients.KeptClient, "__init__", counting)
    monkeypatch.setattr(RestChannelServiceClientFactory, "create_connector_client", refused)
    async with harness() as h:
        await h.install()
        await complete_report(h)
        assert built == [h.service_url]  # one client, shared by inbound turns and sends
        assert len(h.connector.posts) > 15


# --- development mode: this machine only --------------------------------------------------------


def _request_from(peer: str, activity: dict[str, Any]) -> web.Request:
    """A request as aiohttp builds it for a connection from `peer` (no network involved)."""
    extra = {"peername": (peer, 50123), "sockname": ("127.0.0.1", 3978)}
    transport = mock.Mock()
    transport.get_extra_info.side_effect = lambda name, default=None: extra.get(name, default)
    payload = StreamReader(mock.Mock(_reading_paused=False), 2**16, loop=asyncio.get_running_loop())
    payload.feed_data(json.dumps(activity).encode())
    payload.feed_eof()
    headers = {"Content-Type": "application/json"}
    return make_mocked_request(
        "POST", "/api/messages", headers, transport=transport, payload=payload
    )


def _endpoint(h: TeamsHarness) -> Any:
    app = h.client.app
    assert app is not None
    [route] = [r for r in app.router.routes() if r.method == "POST"]
    return route.handler


@pytest.mark.parametrize(("peer", "status"), [("203.0.113.7", 403), ("10.0.0.5", 403)])
async def test_development_mode_refuses_requests_from_other_machines(
    peer: str, status: int
) -> None:
    """A local serviceUrl is not enough: anyone could write one into a forged activity."""
    async with harness() as h:
        activity = personal_message(h.service_url, "report")
        response = await _endpoint(h)(_request_from(peer, activity))
        assert response.status == status
        await h.deliver()
        assert h.connector.calls == []
        assert await h.runtime.store.conversation(REPORTER_KEY) is None


@pytest.mark.parametrize("peer", ["127.0.0.1", "::1", "::ffff:127.0.0.1"])
async def test_development_mode_answers_this_machine(peer: str) -> None:
    async with harness() as h:
        activity = personal_message(h.service_url, "report")
        response = await _endpoint(h)(_request_from(peer, activity))
        assert response.status == 200
        assert await h.runtime.store.conversation(REPORTER_KEY) is not None


def test_apologies_are_the_engine_s_own_words() -> None:
    from adapters.teams import services
    from bot import engine

    assert vars(services)["STORAGE_SORRY"] is engine.STORAGE_SORRY
    assert vars(services)["BUG_SORRY"] is engine.BUG_SORRY

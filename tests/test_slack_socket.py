"""Socket Mode: the same bot over a WebSocket, against a loopback stand-in of Slack's."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from slack_fakes import (
    LEADER,
    STAFF,
    FakeSlack,
    Harness,
    all_text,
    block_actions,
    buttons,
    command_form,
    dm_channel,
    message_event,
    report,
    slack_env,
    slack_harness,
)

LINK = "https://www.tiktok.com/@fake.teacher"


@asynccontextmanager
async def socket_bot() -> AsyncIterator[tuple[Harness, FakeSlack]]:
    """The bot in Socket Mode against a Slack stand-in, both stopped after."""
    fake = FakeSlack()
    api = await fake.start()
    try:
        async with slack_harness(fake=fake, env=_socket_env(api)) as h:
            yield h, fake
    finally:
        await fake.close()


def _socket_env(api: str) -> dict[str, str]:
    env = slack_env(api, SLACK_APP_TOKEN="xapp-test-token")
    del env["SLACK_SIGNING_SECRET"]  # not needed: the app token authenticates the socket
    return env


async def test_a_report_started_over_socket_mode_reaches_the_dm() -> None:
    async with socket_bot() as (h, fake):
        ack = await fake.envelope("slash_commands", command_form(STAFF, LINK))
        assert "sent you a message" in ack["payload"]["text"]
        await h.deliver()
        assert "Paste the TikTok link" in fake.dm(STAFF)[-1]["text"]
        question = fake.dm(STAFF)[-1]
        done = next(b for b in buttons(question) if b["value"] == "done")
        press = block_actions(STAFF, done, channel=dm_channel(STAFF), message_ts=question["ts"])
        assert (await fake.envelope("interactive", press))["envelope_id"]
        await h.deliver()
        assert "What kind of harm" in fake.dm(STAFF)[-1]["text"]
        ack = await fake.envelope("events_api", message_event(STAFF, "help"))
        assert ack["envelope_id"]
        await h.deliver()
        assert "Press a button" in "\n".join(m["text"] for m in fake.dm(STAFF))
        assert [c.token for c in fake.calls if c.method == "apps.connections.open"] == ["xapp-"]
        # No public URL is served without a signing secret: Socket Mode only.
        assert (await h.client.post("/slack/events", data=b"{}")).status in (404, 405)
        health = await (await h.client.get("/healthz")).json()
        nothing = {"count": 0, "cases": []}
        assert health == {
            "status": "ok",
            "platforms": {
                "slack": {
                    "mode": "socket",
                    "leadership_channel": "private",
                    "connected": True,
                    "undelivered": {
                        "leadership_posts": nothing,
                        "messages": nothing,
                        "leadership_posts_shortened": nothing,
                    },
                }
            },
        }


async def test_a_whole_report_and_a_leaders_press_over_socket_mode(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    async with socket_bot() as (h, fake):
        await report(h)
        assert any("0344 381 4772" in all_text(m) for m in fake.dm(STAFF))
        await h.press_case(LEADER, "sent")
        assert "Sent to POSH – Lee Leader" in fake.called("chat.update")[-1]["text"]
    for secret in ("fake.teacher", "Patel", "01632", "xapp-test", "xoxb-test"):
        assert secret not in caplog.text


ODD_ENVELOPES = [
    ("interactive", {"type": "view_submission", "view": {"id": "V1"}}),  # a view with no type
    ("interactive", {"type": "block_suggestion", "value": "qztyped words", "user": {"id": STAFF}}),
    ("interactive", {"type": "block_actions", "actions": "not a list"}),
    ("events_api", {"type": "event_callback", "event": "not an object"}),
    ("slash_commands", {"command": "/report-tiktok"}),  # no user, no channel
]


async def test_odd_envelopes_are_acknowledged_logged_by_kind_and_never_reach_bolt(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """As /slack/events checks a signed body's shape before Bolt, so does Socket Mode."""
    caplog.set_level(logging.DEBUG)
    async with socket_bot() as (h, fake):
        for kind, payload in ODD_ENVELOPES:
            ack = await fake.envelope(kind, payload)
            assert ack["envelope_id"] and not ack.get("payload")
        await report(h)  # and the bot carries on
        assert any("0344 381 4772" in all_text(m) for m in fake.dm(STAFF))
    assert "Traceback" not in caplog.text and "qztyped" not in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert caplog.text.count("ignored a malformed Slack Socket Mode") == 3
    assert caplog.text.count("envelope came; nothing here handles it") == 2

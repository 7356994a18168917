"""Nothing leaked, nothing forged: signatures, malformed bodies, escaping, logs, errors."""

from __future__ import annotations

import json
import logging
import time

import pytest
from slack_fakes import (
    LEADERS,
    REPORT_STEPS,
    SECRET,
    STAFF,
    TEAM,
    FakeSlack,
    Harness,
    block_actions,
    command_form,
    eventually,
    form_body,
    message_event,
    payload_body,
    signed_headers,
    slack_harness,
    walk,
)
from store_helpers import due_items

from bot.model import Platform

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


async def _nothing_stored(h: Harness) -> None:
    store = h.runtime.store
    assert await store.conversation(f"slack:{TEAM}:{STAFF}") is None
    assert await due_items(store, Platform.SLACK, h.clock.now()) == []
    assert await store.cases() == []
    assert [
        c.method for c in h.fake.calls if c.method not in ("auth.test", "conversations.info")
    ] == []


def _forged(kind: str, body: bytes) -> dict[str, str]:
    now = str(int(time.time()))
    return {
        "unsigned": {},
        "bad-signature": {"X-Slack-Request-Timestamp": now, "X-Slack-Signature": "v0=00"},
        "other-body": signed_headers(b"something else"),
        "other-secret": signed_headers(body, secret="not-the-secret"),
        "no-timestamp": {"X-Slack-Signature": signed_headers(body)["X-Slack-Signature"]},
    }[kind]


@pytest.mark.parametrize(
    "kind", ["unsigned", "bad-signature", "other-body", "other-secret", "no-timestamp"]
)
async def test_unsigned_or_forged_requests_get_401_and_store_nothing(kind: str) -> None:
    async with slack_harness() as h:
        body = form_body(command_form(STAFF, "https://www.tiktok.com/@x"))
        headers = {"Content-Type": FORM, **_forged(kind, body)}
        response = await h.client.post("/slack/events", data=body, headers=headers)
        assert response.status == 401
        await _nothing_stored(h)


async def test_stale_requests_get_401_and_store_nothing() -> None:
    async with slack_harness() as h:
        body = json.dumps(message_event(STAFF, "hello")).encode()
        stale = signed_headers(body, timestamp=int(time.time()) - 6 * 60)
        response = await h.client.post(
            "/slack/events", data=body, headers={"Content-Type": JSON, **stale}
        )
        assert response.status == 401
        await _nothing_stored(h)


async def test_signature_failures_are_logged_without_the_body(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    async with slack_harness() as h:
        body = form_body(command_form(STAFF, "https://www.tiktok.com/@secret.handle"))
        await h.client.post("/slack/events", data=body, headers={"Content-Type": FORM})
    assert "signature" in caplog.text and "secret.handle" not in caplog.text


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b"{not json", JSON, 400),
        (b"[1, 2, 3]", JSON, 400),
        (b'{"no_type": true}', JSON, 400),
        (b"\xff\xfe\x00", JSON, 400),
        (b"payload=%7Bnot-json", FORM, 400),
        (b"payload=%5B%5D", FORM, 400),
        (b"just=some&fields=here", FORM, 400),
        (b"%%%", FORM, 400),
        (b"hello", "text/plain", 415),
        (b'{"type": "event_callback", "event": "x"}', JSON, 400),
        (b'{"type": "block_actions", "actions": "x"}', JSON, 400),
        (b'{"type": "block_actions", "user": ["x"], "actions": []}', JSON, 400),
        (b'{"type": "something_new"}', JSON, 200),
    ],
)
async def test_malformed_bodies_get_4xx_never_500(
    body: bytes, content_type: str, status: int
) -> None:
    async with slack_harness() as h:
        headers = {"Content-Type": content_type, **signed_headers(body)}
        response = await h.client.post("/slack/events", data=body, headers=headers)
        assert response.status < 500
        if status != 200:
            assert response.status == status
        await _nothing_stored(h)


async def test_url_verification_echoes_the_challenge() -> None:
    async with slack_harness() as h:
        check = {"token": "x", "challenge": "3eZbrw1aBm2rZgRNFd", "type": "url_verification"}
        response = await h.event(check)
        assert response.status == 200 and (await response.json())["challenge"] == check["challenge"]


async def test_user_text_arrives_escaped_in_mrkdwn() -> None:
    typed = "&lt;!channel&gt; run by &lt;http://evil.example|tiktok.com&gt; &amp; friends"
    markup = "<!channel> see <http://evil.example|tiktok.com>"
    steps = (
        ("press", "none"),
        ("say", typed),
        *REPORT_STEPS[1:5],
        ("say", markup),
        *REPORT_STEPS[6:],
    )
    async with slack_harness() as h:
        await h.command(STAFF)
        await h.deliver()
        await walk(h, STAFF, steps)
        post = h.fake.posts(LEADERS)[0]
        mrkdwn_texts = [post["text"]] + [
            b["text"]["text"] for b in post["blocks"] if b.get("text", {}).get("type") == "mrkdwn"
        ]
        joined = "\n".join(mrkdwn_texts)
        assert (
            "&lt;!channel&gt; run by &lt;http://evil.example|tiktok.com&gt; &amp;amp; friends"
            not in joined
        )
        assert (
            "&lt;!channel&gt; run by &lt;http://evil.example|tiktok.com&gt; &amp; friends" in joined
        )
        assert "<!channel>" not in joined and "<http://evil" not in joined
        # Markup Slack made of what was typed comes out as harmless text, not a mention.
        assert "@channel see http://evil.example" in joined
        for message in [*h.fake.dm(STAFF), post]:
            assert "<!channel>" not in message["text"]


async def test_no_case_text_reaches_the_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with slack_harness() as h:
        h.fake.fail("chat.postMessage", 500)  # failures are logged too: without content
        await h.command(STAFF, "https://www.tiktok.com/@fake.teacher")
        await h.deliver()
        h.clock.advance(seconds=5)
        await h.deliver()
        await walk(h, STAFF)
        response = await h.client.get("/healthz")
        health = await response.text()
    assert len(h.fake.posts(LEADERS)) == 1
    logged = caplog.text + "\n".join(str(r.args) for r in caplog.records)
    for secret in (
        "fake.teacher",
        "Patel",
        "Deputy Headteacher",
        "01632",
        "Sam Staff",
        "sam.staff",
    ):
        assert secret not in logged
    for secret in (SECRET, "xoxb-", "C0LEADERS", "Patel"):
        assert secret not in health


async def test_a_bug_gives_a_reference_code_not_a_stack_trace(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async with slack_harness() as h:
        secret = "secret case text"

        async def broken(step: object) -> None:
            raise RuntimeError(secret)

        monkeypatch.setattr(h.runtime.store, "commit", broken)
        response = await h.command(STAFF, "https://www.tiktok.com/@fake.teacher")
        ack = await response.json()
        assert response.status == 200 and "ERR-" in ack["text"]
        assert "Traceback" not in ack["text"] and "RuntimeError" not in ack["text"]
    assert "secret case text" not in caplog.text


async def test_a_bug_after_a_press_sends_the_code_to_the_dm(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with slack_harness() as h:
        await h.command(STAFF, "https://www.tiktok.com/@fake.teacher")
        await h.deliver()

        async def broken(key: str) -> None:
            raise RuntimeError("boom")

        monkeypatch.setattr(h.runtime.store, "conversation", broken)
        await h.answer(STAFF, "done")
        await eventually(lambda: "ERR-" in h.fake.dm(STAFF)[-1]["text"])
        assert "RuntimeError" not in h.fake.dm(STAFF)[-1]["text"]


# --- another workspace's requests, signed (issue 15) ------------------------------------------


def _from(team: str, payload: dict[str, object]) -> dict[str, object]:
    """The payload as a request from workspace `team` would carry it, every id naming it."""
    text = json.dumps(payload).replace(TEAM, team)
    changed: dict[str, object] = json.loads(text)
    return changed


@pytest.mark.parametrize("kind", ["command", "message", "button"])
async def test_a_signed_request_from_another_workspace_is_refused_and_stores_nothing(
    kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    """One school's token: Slack signs every workspace's requests with the app's one secret,
    so the workspace inside them is what says whose data they may touch."""
    caplog.set_level(logging.INFO)
    async with slack_harness() as h:
        secret_words = "https://www.tiktok.com/@other.school.secret"
        if kind == "command":
            form = _from("T0OTHER", command_form(STAFF, secret_words))
            response = await h.post(form_body(form), FORM)
        elif kind == "message":
            event = _from("T0OTHER", message_event(STAFF, secret_words))
            response = await h.post(json.dumps(event).encode(), JSON)
        else:
            press = {"action_id": "case:sent:TT-2026-0001", "value": "case:sent:TT-2026-0001"}
            action = _from(
                "T0OTHER", block_actions(STAFF, press, channel=LEADERS, message_ts="1.2")
            )
            response = await h.post(payload_body(action), FORM)
        assert response.status == 403
        await h.deliver()
        await _nothing_stored(h)
        assert "slack:T0OTHER" in caplog.text and "other.school.secret" not in caplog.text
        # The school's own workspace is served as before.
        ok = await h.post(form_body(command_form(STAFF, "https://www.tiktok.com/@x")), FORM)
        assert ok.status == 200


async def test_until_the_token_s_workspace_is_known_requests_are_asked_to_come_again() -> None:
    fake = FakeSlack()
    fake.fail("auth.test", 500, 500)  # start-up's check, then the first request's
    async with slack_harness(fake=fake) as h:
        form = command_form(STAFF, "https://www.tiktok.com/@x")
        assert (await h.post(form_body(form), FORM)).status == 503
        await _nothing_stored(h)
        assert (await h.post(form_body(command_form(STAFF)), FORM)).status == 200

"""Nothing lost, nothing doubled: outages, rate limits, timeouts and restarts."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from pathlib import Path

import pytest
from slack_fakes import (
    LEADER,
    LEADERS,
    REPORT_STEPS,
    STAFF,
    START,
    TEAM,
    FakeSlack,
    Harness,
    eventually,
    report,
    slack_env,
    slack_harness,
    walk,
)
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse
from store_helpers import due_items

from adapters.slack.app import SlackAdapter
from adapters.slack.client import classify
from adapters.slack.directory import Directory
from adapters.slack.posts import SlackPosts
from adapters.slack.sender import SlackSender
from bot.clock import FakeClock
from bot.errors import DeliveryRefused, RetryLater
from bot.model import Audience, Notice, OutboxItem, Platform
from bot.ports import UnitOfWork
from storage.tinydb_store import open_store

LINK = "https://www.tiktok.com/@fake.teacher"


async def _pending(h: Harness) -> list[OutboxItem]:
    return await due_items(h.runtime.store, Platform.SLACK, h.clock.now() + timedelta(days=1))


async def test_slack_500_then_429_then_recovery_gives_exactly_one_leadership_post() -> None:
    async with slack_harness() as h:
        h.fake.fail("chat.postMessage", 500, (429, 7), channel=LEADERS)
        await report(h)
        assert h.fake.posts(LEADERS) == []
        h.clock.advance(seconds=2)  # past the first backoff (about a second)
        await h.deliver()
        assert h.fake.posts(LEADERS) == []
        [item] = await _pending(h)
        assert item.audience == Audience.LEADERSHIP and item.attempts == 2
        assert item.due_at == h.clock.now() + timedelta(seconds=7)  # Retry-After honoured
        h.clock.advance(seconds=6)
        assert await h.deliver() == 0
        h.clock.advance(seconds=1)
        assert await h.deliver() == 1
        h.clock.advance(minutes=10)
        await h.deliver()
        assert len(h.fake.posts(LEADERS)) == 1
        assert await _pending(h) == []


@pytest.mark.parametrize("fault", ["hang", "hang-after-post"])
async def test_a_timeout_never_doubles_the_leadership_post(fault: str) -> None:
    fake = FakeSlack()
    api = await fake.start()
    try:
        async with slack_harness(fake=fake, env=slack_env(api, SLACK_API_TIMEOUT="0.3")) as h:
            fake.fail("chat.postMessage", fault, channel=LEADERS)
            ref = await report(h)
            h.clock.advance(seconds=5)
            await h.deliver()
            assert len(fake.posts(LEADERS)) == 1
            assert len(fake.called("conversations.history")) == 1  # looked before posting again
            await h.press_case(LEADER, "assign")  # and the stored receipt finds that one post
            assert fake.called("chat.update")[-1]["ts"] == fake.posts(LEADERS)[0]["ts"]
            assert ref in fake.posts(LEADERS)[0]["text"]
    finally:
        await fake.close()


async def test_a_restart_mid_report_resumes_where_it_stopped(tmp_path: Path) -> None:
    fake, clock = FakeSlack(), FakeClock(START)
    api = await fake.start()
    try:
        store = await open_store(tmp_path)
        async with slack_harness(store=store, fake=fake, clock=clock, env=slack_env(api)) as h:
            await h.command(STAFF, LINK)
            await h.deliver()
            await walk(h, STAFF, REPORT_STEPS[:5])
        await store.close()
        clock.advance(minutes=20)
        store = await open_store(tmp_path)
        async with slack_harness(store=store, fake=fake, clock=clock, env=slack_env(api)) as h:
            await walk(h, STAFF, REPORT_STEPS[5:])
            [case] = await h.runtime.store.cases()
            assert case.answers["target_staff"] == "Ms J Patel, Head of Year 9"
            assert case.answers["harm"] == ["impersonation", "harassment"]
            assert len(fake.posts(LEADERS)) == 1
        await store.close()
    finally:
        await fake.close()


async def test_an_outage_across_a_restart_delays_the_post_but_never_loses_or_doubles_it(
    tmp_path: Path,
) -> None:
    fake, clock = FakeSlack(), FakeClock(START)
    api = await fake.start()
    try:
        store = await open_store(tmp_path)
        async with slack_harness(store=store, fake=fake, clock=clock, env=slack_env(api)) as h:
            fake.fail("chat.postMessage", *[500] * 3, channel=LEADERS)
            await report(h)
            for _ in range(2):
                clock.advance(seconds=30)
                await h.deliver()
            assert fake.posts(LEADERS) == []
        await store.close()
        clock.advance(minutes=5)
        store = await open_store(tmp_path)
        async with slack_harness(store=store, fake=fake, clock=clock, env=slack_env(api)) as h:
            await h.deliver()
            clock.advance(minutes=10)
            await h.deliver()
            assert len(fake.posts(LEADERS)) == 1
            assert await _pending(h) == []
        await store.close()
    finally:
        await fake.close()


async def test_the_background_courier_delivers_without_being_driven() -> None:
    async with slack_harness() as h:
        h.courier.start()
        await h.command(STAFF, LINK)
        await eventually(lambda: "answer:links:" in str(h.fake.dm(STAFF)))  # the question too
        await h.courier.stop()


async def test_a_missing_leadership_channel_keeps_the_post_until_it_is_fixed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake = FakeSlack()
    api = await fake.start()
    env = slack_env(api, SLACK_LEADERSHIP_CHANNEL="C0NOWHERE")
    try:
        with caplog.at_level(logging.ERROR):
            async with slack_harness(fake=fake, env=env) as h:
                assert "/invite @reportbot" in caplog.text  # said at start-up, in plain words
                health = await (await h.client.get("/healthz")).json()
                assert health["platforms"]["slack"]["leadership_channel"] == "not found"
                await report(h)
                [item] = await _pending(h)  # waiting for the school, not dropped
                assert item.due_at == h.clock.now() + timedelta(seconds=300)
                fake.private["C0NOWHERE"] = True  # the bot is invited
                h.clock.advance(minutes=5)
                await h.deliver()
                assert len(fake.posts("C0NOWHERE")) == 1
    finally:
        await fake.close()


@pytest.mark.parametrize(
    ("status", "body", "headers", "expected"),
    [
        (200, {"ok": False, "error": "channel_not_found"}, {}, "refused"),
        (200, {"ok": False, "error": "invalid_blocks"}, {}, "refused"),
        (429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "12"}, 12.0),
        (503, {}, {}, None),
        (200, {"ok": False, "error": "internal_error"}, {}, None),
        (200, {"ok": False, "error": "invalid_auth"}, {}, 300.0),
    ],
)
def test_slack_errors_are_sorted_into_retry_later_or_refused(
    status: int, body: dict[str, object], headers: dict[str, str], expected: object
) -> None:
    response = AsyncSlackResponse(
        client=None,
        http_verb="POST",
        api_url="chat.postMessage",
        req_args={},
        data=body,
        headers=headers,
        status_code=status,
    )
    error = classify("chat.postMessage", SlackApiError("failed", response))  # type: ignore[no-untyped-call]
    if expected == "refused":
        assert isinstance(error, DeliveryRefused) and not isinstance(error, RetryLater)
    else:
        assert isinstance(error, RetryLater) and error.retry_after == expected


async def test_the_sdk_client_does_no_retrying_of_its_own() -> None:
    async with slack_harness() as h:
        [adapter] = h.attached
        assert isinstance(adapter, SlackAdapter)
        assert adapter.client.retry_handlers == []
        assert adapter.bolt.client.retry_handlers == []


async def test_a_slow_membership_check_refuses_kindly_and_changes_nothing() -> None:
    fake = FakeSlack()
    api = await fake.start()
    try:
        async with slack_harness(fake=fake, env=slack_env(api, SLACK_API_TIMEOUT="0.3")) as h:
            ref = await report(h)
            fake.fail("conversations.members", "hang")
            [adapter] = h.attached
            assert isinstance(adapter, SlackAdapter)
            adapter.directory._members = None  # as if the cached answer had expired
            response = await h.press_case(LEADER, "sent")
            assert response.status == 200
            await eventually(lambda: bool(fake.called("chat.postEphemeral")))
            assert (
                "couldn't check just now whether you're in the leadership team"
                in fake.called("chat.postEphemeral")[0]["text"]
            )
            case = await h.runtime.store.case(ref)
            assert case is not None and case.status == "new"
    finally:
        await fake.close()


async def test_a_slow_store_still_gets_slack_its_acknowledgement_and_keeps_the_step(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with slack_harness() as h:
        [adapter] = h.attached
        assert isinstance(adapter, SlackAdapter)
        adapter.listeners.budget = 0.2  # stands in for Slack's 3 seconds
        commit = h.runtime.store.commit
        release = asyncio.Event()

        async def slow_commit(unit: UnitOfWork) -> bool:
            await release.wait()
            return await commit(unit)

        monkeypatch.setattr(h.runtime.store, "commit", slow_commit)
        response = await h.command(STAFF, LINK)
        assert response.status == 200 and "sent you a message" in (await response.json())["text"]
        release.set()  # the store catches up after the acknowledgement
        key = f"slack:{TEAM}:{STAFF}"
        async with asyncio.timeout(5):
            while await h.runtime.store.conversation(key) is None:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
        await h.deliver()
        assert "Paste the TikTok link" in h.fake.dm(STAFF)[-1]["text"]


async def test_a_turns_replies_past_fifty_blocks_go_in_order_and_a_retry_posts_none_again() -> None:
    fake = FakeSlack()
    api = await fake.start()
    try:
        client = AsyncWebClient(token="xoxb-test", base_url=api)
        sender = SlackSender(client, SlackPosts(client, Directory(client, LEADERS, 2), 2), 2)
        long = "\n".join(["a line " * 400] * 20)  # 20 sections of about 2,800 characters
        replies = [Notice(f"part {n}\n{long}") for n in range(4)]
        items = [
            OutboxItem(
                f"Ev1:{n}", Platform.SLACK, Audience.PERSON, TEAM, {"channel": "D0STAFF"}, {}, START
            )
            for n in range(4)
        ]
        assert sender.joined(replies) == [[0, 1], [2, 3]]  # 40 blocks a message at most
        await sender.send_together(items[:2], replies[:2])
        posted = fake.posts("D0STAFF")  # the stand-in checked it against Block Kit's limits
        [message] = posted
        assert len(message["blocks"]) == 40 and "part 0" in message["text"]
        assert message["metadata"]["event_payload"] == {
            "outbox_id": "Ev1:0",
            "outbox_ids": "Ev1:0 Ev1:1",
        }
        for i in items:
            i.attempts = 2  # the attempt timed out after Slack took the first message
        await sender.send_together(items[1:3], replies[1:3])  # joined otherwise this time
        assert len(fake.posts("D0STAFF")) == 2  # only part 2: part 1 had gone
        assert "part 2" in fake.posts("D0STAFF")[-1]["text"]
        assert "part 1" not in fake.posts("D0STAFF")[-1]["text"]
        await sender.send_together(items[2:], replies[2:])
        assert [m["metadata"]["event_payload"]["outbox_id"] for m in fake.posts("D0STAFF")] == [
            "Ev1:0",
            "Ev1:2",
            "Ev1:3",
        ]
    finally:
        await fake.close()

"""The whole Slack journey over HTTP, against the Web API stand-in on loopback."""

from __future__ import annotations

import json
import logging

import pytest
from slack_fakes import (
    LEADER,
    LEADERS,
    OUTSIDER,
    REPORT_STEPS,
    STAFF,
    STAFFROOM,
    TEAM,
    FakeSlack,
    all_text,
    block_actions,
    buttons,
    dm_channel,
    eventually,
    home_event,
    message_event,
    report,
    slack_harness,
    walk,
)

from bot.model import CaseStatus

LINK = "https://www.tiktok.com/@fake.teacher"


async def test_whole_report_from_command_to_leadership_post() -> None:
    async with slack_harness() as h:
        response = await h.command(STAFF, LINK)
        ack = await response.json()
        assert response.status == 200 and ack["response_type"] == "ephemeral"
        assert "sent you a message" in ack["text"] and "tiktok" not in ack["text"].lower()
        await h.deliver()
        first = [m["text"] for m in h.fake.dm(STAFF)]
        assert any("@fake.teacher" in t for t in first)  # the link pre-filled the first step
        await walk(h, STAFF)
        handoff = next(
            all_text(m) for m in reversed(h.fake.dm(STAFF)) if "ready to send" in all_text(m)
        )
        assert "<tel:+443443814772|0344 381 4772>" in handoff
        assert "<mailto:helpline@saferinternet.org.uk|helpline@saferinternet.org.uk>" in handoff
        assert "Email text, ready to send" in handoff and "Have ready for the call" in handoff
        case = (await h.runtime.store.cases())[0]
        assert case.reference in handoff and case.reporter.name == "Sam Staff"
        posts = h.fake.posts(LEADERS)
        assert len(posts) == 1
        values = [b["value"] for b in buttons(posts[0])]
        assert values == [
            f"case:{v}:{case.reference}" for v in ("assign", "sent", "removed", "close")
        ]
        assert "Ms J Patel" in all_text(posts[0]) and "0344 381 4772" in all_text(posts[0])
        assert h.fake.posts(STAFFROOM) == []  # nothing about the report where it was typed
        for call in h.fake.called("chat.postMessage"):
            assert call["unfurl_links"] is False and call["unfurl_media"] is False


async def test_each_status_button_updates_the_post_in_place() -> None:
    async with slack_harness() as h:
        ref = await report(h)
        post = h.fake.posts(LEADERS)[0]
        for verb, shown in (
            ("assign", "Contacting POSH: Lee Leader"),
            ("sent", "Sent to POSH – Lee Leader"),
            ("removed", "Removed – Lee Leader"),
        ):
            response = await h.press_case(LEADER, verb, message=post)
            assert response.status == 200
            updates = h.fake.called("chat.update")
            assert updates[-1]["channel"] == LEADERS and updates[-1]["ts"] == post["ts"]
            assert shown in all_text(post), verb
        # Closing is a decision: the button asks for the reason, privately, and changes nothing.
        await h.press_case(LEADER, "close", message=post)
        asked = h.fake.called("chat.postEphemeral")[-1]
        assert "needs a reason on record" in all_text(asked)
        assert len(h.fake.called("chat.update")) == 3
        await h.say(LEADER, f"close {ref} because TikTok removed it and POSH confirmed")
        assert "Closed – Lee Leader" in all_text(post)
        assert len(h.fake.called("chat.update")) == 4
        for call in h.fake.called("chat.update"):
            assert call["unfurl_links"] is False and call["unfurl_media"] is False
        assert len(h.fake.posts(LEADERS)) == 1
        case = await h.runtime.store.case(ref)
        assert case is not None and case.status == CaseStatus.CLOSED
        assert [e.action for e in case.history][-4:] == ["assigned", "sent", "removed", "close"]
        assert {e.who for e in case.history[-4:]} == {"Lee Leader"}
        assert [b["value"] for b in buttons(post)] == [f"case:reopen:{ref}"]


async def test_an_outsiders_press_is_refused_privately_and_changes_nothing() -> None:
    async with slack_harness() as h:
        ref = await report(h)
        before = await h.runtime.store.case(ref)
        await h.press_case(OUTSIDER, "sent")
        ephemeral = h.fake.called("chat.postEphemeral")
        assert len(ephemeral) == 1
        assert ephemeral[0]["user"] == OUTSIDER and ephemeral[0]["channel"] == LEADERS
        assert "Only members of the leadership channel" in ephemeral[0]["text"]
        assert h.fake.called("chat.update") == []
        assert await h.runtime.store.case(ref) == before


async def test_a_replayed_event_press_or_command_changes_nothing() -> None:
    async with slack_harness() as h:
        await h.command(STAFF, LINK, trigger="trigger.once")
        await h.command(STAFF, LINK, trigger="trigger.once")
        await h.deliver()
        [told] = h.fake.dm(STAFF)  # intro, "Got 1", the links question, in one message: once
        assert str(told["blocks"]).count("'answer:links:0'") == 1
        await h.answer(STAFF, "done")
        event = message_event(STAFF, "Hello?", event_id="Ev0REPLAY")
        for retry in ("", "1", "2"):
            headers = {"X-Slack-Retry-Num": retry, "X-Slack-Retry-Reason": "http_timeout"}
            await h.event(event, **(headers if retry else {}))
        await h.deliver()
        conversation = await h.runtime.store.conversation(f"slack:{TEAM}:{STAFF}")
        assert conversation is not None and conversation.step == "harm"
        complaints = [m for m in h.fake.dm(STAFF) if "didn't catch that" in m["text"]]
        assert len(complaints) == 1


async def test_a_replayed_leader_press_is_applied_once() -> None:
    async with slack_harness() as h:
        ref = await report(h)
        post = h.fake.posts(LEADERS)[0]
        action = next(b for b in buttons(post) if b["action_id"] == "case:sent")
        payload = block_actions(LEADER, action, channel=LEADERS, message_ts=post["ts"])
        await h.action(payload)
        await h.action(payload)
        await h.deliver()
        case = await h.runtime.store.case(ref)
        assert case is not None and [e.action for e in case.history].count("sent") == 1
        assert len(h.fake.called("chat.update")) == 1


async def test_a_press_on_an_earlier_question_asks_the_current_one_again() -> None:
    async with slack_harness() as h:
        await h.command(STAFF, LINK)
        await h.deliver()
        await h.answer(STAFF, "done")
        await h.answer(STAFF, "impersonation")
        danger = h.fake.dm(STAFF)[-1]
        await h.answer(STAFF, "no")  # danger: no
        # "Yes" on the danger question, pressed late, must not answer the next question.
        yes = next(b for b in buttons(danger) if b["value"] == "yes")
        channel = dm_channel(STAFF)
        await h.action(block_actions(STAFF, yes, channel=channel, message_ts=danger["ts"]))
        await h.deliver()
        conversation = await h.runtime.store.conversation(f"slack:{TEAM}:{STAFF}")
        assert conversation is not None and conversation.step == "sexual_images"
        assert "sexual_images" not in conversation.answers
        assert "under 18" in h.fake.dm(STAFF)[-1]["text"]


async def test_the_command_with_a_report_in_progress_offers_carry_on_or_start_again() -> None:
    async with slack_harness() as h:
        await h.command(STAFF, LINK)
        await h.deliver()
        await h.command(STAFF, "https://www.tiktok.com/@other")
        await h.deliver()
        offer = h.fake.dm(STAFF)[-1]
        assert [b["value"] for b in buttons(offer)] == ["resume", "restart"]
        await h.answer(STAFF, "resume")
        assert "Paste the TikTok link" in h.fake.dm(STAFF)[-1]["text"]


async def test_several_choices_are_checkboxes_with_continue() -> None:
    async with slack_harness() as h:
        await h.command(STAFF, LINK)
        await h.deliver()
        await h.answer(STAFF, "done")
        harm = h.fake.dm(STAFF)[-1]
        kinds = [b for b in harm["blocks"] if b.get("block_id", "").startswith("pick:harm")]
        assert kinds and kinds[0]["elements"][0]["type"] == "checkboxes"
        await h.answer(STAFF, "impersonation", "threats")
        conversation = await h.runtime.store.conversation(f"slack:{TEAM}:{STAFF}")
        assert conversation is not None
        assert conversation.answers["harm"] == ["impersonation", "threats"]


async def test_app_home_shows_own_reports_and_open_cases_to_leaders() -> None:
    async with slack_harness() as h:
        ref = await report(h)
        for user in (STAFF, LEADER):
            await h.event(home_event(user))
        await eventually(lambda: len(h.fake.called("views.publish")) == 2)
        views = {c["user_id"]: json.dumps(c["view"]) for c in h.fake.called("views.publish")}
        assert ref in views[STAFF] and "Open cases" not in views[STAFF]
        assert "Open cases" in views[LEADER] and ref in views[LEADER]


async def test_the_home_button_starts_a_report_in_the_dm() -> None:
    async with slack_harness() as h:
        action = {"action_id": "home:start", "value": "start", "type": "button"}
        payload = block_actions(STAFF, action, channel="", message_ts="")
        payload["container"] = {"type": "view", "view_id": "V0HOME"}
        payload["view"] = {"id": "V0HOME", "type": "home"}
        del payload["channel"]
        assert (await h.action(payload)).status == 200
        await h.deliver()
        assert "Paste the TikTok link" in h.fake.dm(STAFF)[-1]["text"]


async def test_a_public_leadership_channel_gets_only_the_alert(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake = FakeSlack()
    fake.private[LEADERS] = False
    with caplog.at_level(logging.WARNING):
        async with slack_harness(fake=fake) as h:
            assert "is not a private channel" in caplog.text
            ref = await report(h)
            posts = h.fake.posts(LEADERS)
            assert len(posts) == 1 and buttons(posts[0]) == []
            text = all_text(posts[0])
            assert ref in text and "not private" in text
            for secret in ("fake.teacher", "Patel", "Sam Staff", "01632"):
                assert secret not in text
            assert (await h.client.get("/healthz")).status == 200


async def test_the_contact_question_offers_the_reporters_slack_email() -> None:
    contact = next(n for n, s in enumerate(REPORT_STEPS) if s[1] == "01632 960 123")
    steps = (*REPORT_STEPS[:contact], ("press", "profile"), *REPORT_STEPS[contact + 1 :])
    async with slack_harness() as h:
        await h.command(STAFF, LINK)
        await h.deliver()
        await walk(h, STAFF, steps)
        [case] = await h.runtime.store.cases()
        assert case.answers["contact"] == {"phone": "", "email": "sam.staff@school.example"}
        assert case.reporter.email == "sam.staff@school.example"


async def test_my_reports_and_cases_are_listed_in_the_dm_for_who_may_see_them() -> None:
    async with slack_harness() as h:
        ref = await report(h)
        await h.say(STAFF, "my reports")
        assert ref in all_text(h.fake.dm(STAFF)[-1])
        await h.say(STAFF, "cases")
        assert "Only members of the leadership channel" in h.fake.dm(STAFF)[-1]["text"]
        await h.say(LEADER, "cases")
        listing = all_text(h.fake.dm(LEADER)[-1])
        assert "Open cases" in listing and ref in listing

"""A leadership post that Slack refuses is never silent (issue 14.1), end to end over HTTP.

The Slack stand-in enforces Block Kit's limits and answers `invalid_blocks` as Slack does; a
test can also make it refuse chosen posts for good. A refused card is replaced by the minimal
one (the reference and where to read it); if that is refused too, the reporter is told to tell
their DSL, and /healthz and the log say so, without any case content.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

import pytest
from slack_fakes import (
    LEADER,
    LEADERS,
    STAFF,
    Harness,
    JSONDict,
    all_text,
    slack_harness,
    walk,
)

from adapters.teams import cards, render
from bot.clock import FakeClock
from bot.facts import Facts
from bot.resolve import Resolver
from bot.views import CardForm, ResolvedCard
from storage.memory import MemoryStore

LINK = "https://www.tiktok.com/@fake.teacher"
STAFF_ANSWER = ("Ms J Patel & Mr K Shah, Head of Year 9 & 10 " * 40)[:1400]  # 80 "&"
OTHER_ANSWER = ("Governors & parents' association & PTA " * 40)[:1400]
STEPS = (
    ("press", "done"),
    ("press", "impersonation,harassment"),
    ("press", "no"),
    ("press", "no"),
    ("press", "staff,other"),
    ("say", STAFF_ANSWER),
    ("say", OTHER_ANSWER),
    ("press", "today"),
    ("press", "no"),
    ("press", "yes"),
    ("press", "skip"),
    ("press", "unknown"),
    ("press", "dsl"),
    ("press", "profile"),
    ("say", "Deputy Headteacher"),
    ("say", "01632 960 123"),
    ("press", "leaders"),
    ("press", "submit"),
)


async def _report(h: Harness) -> str:
    await h.command(STAFF, LINK)
    await h.deliver()
    await walk(h, STAFF, STEPS)
    [case] = await h.runtime.store.cases()
    return case.reference


def _to_leaders(params: JSONDict) -> bool:
    return params.get("channel") == LEADERS


async def _health(h: Harness) -> Any:
    return await (await h.client.get("/healthz")).json()


def _no_content_logged(caplog: pytest.LogCaptureFixture) -> None:
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    assert "Patel" not in logged and "Governors" not in logged


async def test_answers_that_grow_when_escaped_reach_leadership_as_the_full_card() -> None:
    """The issue's example: two 1,400-character answers holding 80 `&`."""
    assert STAFF_ANSWER.count("&") + OTHER_ANSWER.count("&") >= 80
    async with slack_harness() as h:
        ref = await _report(h)
        assert h.fake.invalid == []  # nothing Slack would refuse was sent
        [post] = h.fake.posts(LEADERS)
        assert ref in post["text"] and "Who is targeted" in all_text(post)
        assert "Ms J Patel &amp; Mr K Shah" in all_text(post)
        thanks = "\n".join(m["text"] for m in h.fake.dm(STAFF))
        assert "sending it to your leadership team now" in thanks
        assert "Leadership have been told" not in thanks


async def test_a_refused_card_is_replaced_by_the_minimal_card_and_so_are_its_updates(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    async with slack_harness() as h:
        h.fake.refuse("invalid_blocks", lambda p: _to_leaders(p) and "Patel" in all_text(p))
        ref = await _report(h)
        [post] = h.fake.posts(LEADERS)
        text = all_text(post)
        assert ref in post["text"] and f"show {ref}" in text
        assert f"reportbot cases show {ref}" in text and "Patel" not in text
        await h.say(LEADER, f"assign {ref}")  # the update is refused too: minimal again
        [updated] = h.fake.posts(LEADERS)
        assert h.fake.called("chat.update") and updated["ts"] == post["ts"]
        assert f"show {ref}" in all_text(updated) and "Patel" not in all_text(updated)
        health = await _health(h)
        assert health["status"] == "ok"  # leaders were told, in the minimal form
        undelivered = health["platforms"]["slack"]["undelivered"]
        assert undelivered["leadership_posts"]["count"] == 0
        assert undelivered["leadership_posts_shortened"] == {"count": 1, "cases": [ref]}
        assert f"leadership post for {ref} was refused" in caplog.text
        assert "sending a minimal card instead" in caplog.text
    _no_content_logged(caplog)


async def test_when_leadership_cannot_be_told_at_all_the_reporter_is_told_plainly(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    async with slack_harness() as h:
        h.fake.refuse("invalid_blocks", _to_leaders)
        ref = await _report(h)
        assert h.fake.posts(LEADERS) == []
        await h.deliver()
        told = h.fake.dm(STAFF)[-1]["text"]
        assert f"couldn't send report {ref} to the leadership team automatically" in told
        assert "DSL" in told and "headteacher" in told and f"quote {ref}" in told
        health = await _health(h)
        assert health["status"] == "degraded"
        assert health["platforms"]["slack"]["undelivered"] == {
            "leadership_posts": {"count": 1, "cases": [ref]},
            "messages": {"count": 0, "cases": []},
            "leadership_posts_shortened": {"count": 1, "cases": [ref]},  # tried, refused too
        }
        assert "Patel" not in str(health)
        assert "delivery refused for good" in caplog.text and ref in caplog.text
    _no_content_logged(caplog)


async def test_teams_renders_the_minimal_card_without_case_details() -> None:
    async with slack_harness() as h:  # a real case, filed through Slack
        ref = await _report(h)
        store = h.runtime.store
    resolved = await Resolver(store, Facts(), FakeClock(h.clock.now())).card(ref)
    assert isinstance(resolved, ResolvedCard)
    full = render.case_card(resolved)
    minimal = render.case_card(replace(resolved, form=CardForm.MINIMAL))
    assert "Patel" in str(full.card) and not cards.too_big(minimal.card)
    assert "Patel" not in str(minimal.card) and f"show {ref}" in str(minimal.card)
    assert isinstance(store, MemoryStore)

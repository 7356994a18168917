"""Slack mrkdwn escaping (adapters/slack/render.py `escape`, and every message built with it).

Slack reads `<…>` as a link or a mention (`<!channel>`, `<@U…>`, `<http://x|y>`) and `&…;` as
an entity. Properties: `escape` leaves no `<` or `>` and no bare `&` for any input, and Slack's
own decoding gives the text back; `link` cannot be re-targeted by its label; and in the messages
the bot really sends – notices, questions, the POSH handoff and the leadership case card, built
from a report whose typed answers are arbitrary – every mrkdwn text holds no markup but ours.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
from dataclasses import replace
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from slack_fakes import FakeSlack, all_text
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from test_engine import HAPPY, STAFF, START, Bot

from adapters.slack import render
from adapters.slack.translate import unslack
from bot.config import Settings
from bot.engine import COMMANDS
from bot.flow import MAX_TEXT
from bot.hours import status_text
from bot.leaders import is_case_command
from bot.model import CaseCard, CaseList, Choice, HandoffReply, Notice, Question
from bot.report import build_handoff
from bot.safety import risk_words
from bot.understand import clean
from bot.views import case_view

# The same examples on every run, as CI needs; FUZZ_EXPLORE=1 draws new ones.
FIXED = not os.environ.get("FUZZ_EXPLORE")

FACTS = Settings().facts
ESCAPED = re.compile(r"(?:[^&<>]|&amp;|&lt;|&gt;)*", re.DOTALL)
# Our own links: tel:/mailto:/https: targets, a fixed label; neither part holds < or >.
OUR_LINK = re.compile(r"<(?:tel|mailto|https):[^<>|\s]*\|[^<>]*>")
MARKUP = ["<!channel>", "<!here>", "<@U0LEADER>", "<#C0LEADERS>", "<http://evil.example|x>"]
hostile = (
    st.text()
    | st.sampled_from(MARKUP)
    | st.lists(st.sampled_from([*MARKUP, "&", "&amp;", "<", ">", "&lt;"])).map("".join)
)


def mrkdwn_texts(message: render.Message) -> list[str]:
    """The fallback text (Slack parses it as mrkdwn) and every mrkdwn object in the blocks."""
    found = [message.text]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn":
                found.append(str(node["text"]))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(message.blocks)
    return found


def assert_no_markup_but_ours(message: render.Message) -> None:
    for text in mrkdwn_texts(message):
        rest = OUR_LINK.sub("", text)
        assert ESCAPED.fullmatch(rest), text


@settings(derandomize=FIXED)
@given(hostile)
@example("&lt;!channel&gt;")
@example("<<>>&&;")
def test_escape_leaves_no_markup_and_slack_decodes_it_back(text: str) -> None:
    out = render.escape(text)
    assert "<" not in out and ">" not in out
    assert ESCAPED.fullmatch(out)
    assert unslack(out) == text  # what Slack shows is exactly what was typed


@settings(derandomize=FIXED)
@given(
    st.text().filter(lambda u: "|" not in u and not any(c.isspace() for c in u)),
    hostile,
)
def test_a_link_label_cannot_change_where_the_link_goes(url: str, label: str) -> None:
    out = render.link(url, label)
    assert out.startswith("<") and out.endswith(">")
    inner = out[1:-1]
    assert "<" not in inner and ">" not in inner
    target, _, shown = inner.partition("|")  # Slack splits at the first bar
    assert unslack(target) == url and unslack(shown) == label


@settings(derandomize=FIXED)
@given(hostile, hostile, st.sampled_from(["info", "warning", "danger", "success"]))
def test_notices_carry_no_markup(text: str, title: str, tone: Any) -> None:
    assert_no_markup_but_ours(render.notice(Notice(text, tone=tone, title=title)))


@settings(derandomize=FIXED)
@given(hostile, hostile, st.lists(st.tuples(hostile, hostile), max_size=12), st.booleans())
def test_questions_carry_no_markup(text: str, hint: str, choices: list[Any], multi: bool) -> None:
    question = Question(
        "contact", text, tuple(Choice(v or "x", label) for v, label in choices), multi, hint
    )
    assert_no_markup_but_ours(render.question(question))


def _answer(text: str) -> bool:
    """Typed text the engine takes as an answer: not a command such as "cancel", not empty once
    cleaned, and no risk words (those take the safety route, which the journeys cover)."""
    words = " ".join(clean(text).split())
    if not words or words.lower().rstrip(".!") in COMMANDS or is_case_command(text):
        return False
    return not risk_words(text)


typed = hostile.map(lambda t: t[:500]).filter(_answer)


@settings(
    derandomize=FIXED, max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(staff=typed, role=typed)
@example(staff="<!channel> Ms <@U0LEADER> & co", role="<http://evil.example|tiktok.com>")
def test_a_report_with_any_typed_answers_renders_a_card_and_handoff_without_markup(
    staff: str, role: str
) -> None:
    async def run() -> None:
        bot = Bot()
        answers = list(HAPPY)
        # the member of staff; the reporter's role
        answers[6], answers[HAPPY.index("Deputy Headteacher")] = staff, role
        replies = await bot.report(answers)
        handoff = next(r for r in replies if isinstance(r, HandoffReply)).handoff
        [case] = await bot.store.cases()
        assert case.answers["target_staff"] == " ".join(clean(staff).split())
        status = status_text(FACTS, START)
        assert_no_markup_but_ours(render.case_card(case_view(case, FACTS, START), status))
        assert_no_markup_but_ours(render.handoff(handoff, status))
        assert_no_markup_but_ours(render.handoff(build_handoff(case, FACTS, START), status))
        assert_no_markup_but_ours(render.case_alert(case_view(case, FACTS, START)))

    asyncio.run(run())


# --- every message of a report, at the longest the flow allows, against Slack's limits ---------

WORST = "&<>💥é"  # & < > grow to 4-5 characters when escaped; 💥 is two UTF-16 units
handles = st.text("abcdefghijklmnopqrstuvwxyz0123456789_", min_size=2, max_size=24)
longest = st.builds(
    lambda unit, n: (unit * MAX_TEXT)[:n],
    st.text(st.sampled_from(WORST) | st.characters(codec="utf-8"), min_size=1, max_size=8),
    st.integers(MAX_TEXT - 20, MAX_TEXT),
)
answer_text = (longest | typed).filter(_answer)


def _name(text: str) -> str:
    """A name the bot takes as one: some letters, and not a bare yes or no."""
    return f"Sam {text[:90]}"


def _email(text: str) -> str:
    """The longest contact the flow takes: an email address made of worst-case characters."""
    local = "&" * (MAX_TEXT // 2)  # "&" is allowed before the @, and grows most when escaped
    return f"{local}@{'a' * 60}.{'b' * (MAX_TEXT - len(local) - 66)}.uk"


def _rendered(reply: Any, case: Any, status: str) -> list[render.Message]:
    """What the Slack adapter sends for each reply (as `SlackSender.message_for` does)."""
    match reply:
        case Notice():
            return [render.notice(reply)]
        case Question():
            return [render.question(reply)]
        case HandoffReply(handoff=h):
            return [render.handoff(h, status)]
        case CaseCard():
            view = case_view(case, FACTS, START)
            return [render.case_card(view, status), render.case_minimal(view)]
        case CaseList():
            return [render.case_list(reply.title, list(reply.lines), reply.empty)]
    raise AssertionError(f"a reply the fuzz does not render: {type(reply).__name__}")


async def _post_all(messages: list[render.Message]) -> FakeSlack:
    fake = FakeSlack()
    client = AsyncWebClient(token="xoxb-test", base_url=await fake.start())
    try:
        for message in messages:
            with contextlib.suppress(SlackApiError):  # the stand-in records it in `invalid`
                await client.chat_postMessage(
                    channel="D0STAFF", text=message.text, blocks=message.blocks
                )
    finally:
        await fake.close()
    return fake


@settings(
    derandomize=FIXED, max_examples=25, deadline=None, suppress_health_check=list(HealthCheck)
)
@given(
    texts=st.lists(answer_text, min_size=8, max_size=8),
    links=st.lists(handles, min_size=1, max_size=200, unique=True),
    note=longest,
)
@example(texts=["&" * MAX_TEXT] * 8, links=["a" * 24] * 1, note="&" * MAX_TEXT)
@example(texts=["<" * MAX_TEXT] * 8, links=[f"{n:024d}" for n in range(200)], note=">" * 2000)
def test_every_message_of_the_longest_report_fits_slacks_limits(
    texts: list[str], links: list[str], note: str
) -> None:
    harm_other, staff, other, tiktok_said, shows, name, role, contact = texts
    pasted = " ".join(
        f"https://www.tiktok.com/@{h}/video/{7301234567890123456 + n}" for n, h in enumerate(links)
    )
    answers = [pasted, "done", "1, 7", harm_other, "no", "no", "1, 4", staff, other]
    answers += ["yesterday", "yes", "yesterday", tiktok_said, "1", shows, "4", "1"]
    answers += [_name(name), role, _email(contact), "2"]

    async def run() -> None:
        bot = Bot()
        replies: list[Any] = await bot.say(action="start")
        for a in answers:
            replies += await bot.say(a)
        replies += await bot.say("submit")
        [case] = await bot.store.cases()
        leader = replace(STAFF, user_id="U0LEADER", name="L & <Leader>")
        ref = case.reference
        replies += await bot.say(f"note {ref} {note}", person=leader, is_leader=True)
        replies += await bot.say(f"show {ref}", person=leader, is_leader=True)
        replies += await bot.say("cases", person=leader, is_leader=True)
        assert any(isinstance(r, CaseList) for r in replies)
        case = await bot.store.case(ref)
        status = status_text(FACTS, START)
        messages = [m for r in replies for m in _rendered(r, case, status)]
        fake = await _post_all(messages)
        assert fake.invalid == [], fake.invalid[0]
        assert fake.truncated == []
        # Nothing is cut off unseen: the card holds every answer whole, or says it is shortened.
        card = render.case_card(case_view(case, FACTS, START), status)
        shown = "".join(b["text"]["text"] for b in card.blocks if b["type"] == "section")
        shortened = "(Shortened to fit in Slack.)" in all_text(card.__dict__)
        for value in (harm_other, staff, other, role):
            assert render.escape(" ".join(clean(value).split())) in shown or shortened

    asyncio.run(run())

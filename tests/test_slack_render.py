"""Block Kit rendering: Slack's limits, escaping, and what each reply type shows."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from slack_fakes import FakeSlack
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import render
from bot.facts import Facts
from bot.model import Case, Choice, Notice, Person, Platform, Question
from bot.report import build_handoff
from bot.views import case_view

NOW = datetime(2026, 3, 3, 11, 0, tzinfo=UTC)
NASTY = "<!channel> & <@U123> <http://evil.example|tiktok.com>"


def _valid(message: render.Message) -> None:
    """Every block parses and passes slack_sdk's own checks of Slack's limits."""
    assert 0 < len(message.blocks) <= render.BLOCKS_MAX
    for block in message.blocks:
        parsed = Block.parse(block)
        assert parsed is not None
        parsed.validate_json()
    assert "<!" not in message.text and "<@" not in message.text and "<http" not in message.text


def _case(description: str = NASTY) -> Case:
    return Case(
        reference="TT-2026-0007",
        created_at=NOW,
        reporter=Person(Platform.SLACK, "T1", "U1", name="Sam <b> Staff"),
        conversation_id="c1",
        answers={
            "no_link": description,
            "harm": ["impersonation", "other"],
            "harm_other": description,
            "target": ["staff"],
            "target_staff": description,
            "first_seen": "2026-03-02",
            "in_app": "no",
            "poster": "unknown",
            "role": "DSL",
            "contact": "01632 960 123",
        },
    )


@pytest.mark.parametrize("tone", ["info", "warning", "danger", "success"])
def test_notices_are_plain_text_and_escaped_in_the_fallback(tone: str) -> None:
    message = render.notice(Notice(NASTY, tone=tone, title="A title"))  # type: ignore[arg-type]
    _valid(message)
    assert message.blocks[0]["type"] == "header"
    assert all(b["text"]["type"] == "plain_text" for b in message.blocks[1:])
    assert "&lt;!channel&gt; &amp; &lt;@U123&gt;" in message.text


def test_a_long_notice_is_split_into_sections_that_fit() -> None:
    text = "\n".join(f"line {n} " + "x" * 80 for n in range(200))
    message = render.notice(Notice(text))
    _valid(message)
    assert len(message.blocks) > 1


def test_a_question_with_choices_has_one_button_per_choice() -> None:
    q = Question("danger", "Is anyone in danger?", (Choice("yes", "Yes"), Choice("no", "No")))
    message = render.question(q)
    _valid(message)
    [actions] = [b for b in message.blocks if b["type"] == "actions"]
    assert [(e["action_id"], e["value"]) for e in actions["elements"]] == [
        ("answer:danger:0", "yes"),
        ("answer:danger:1", "no"),
    ]


def test_a_several_may_apply_question_has_checkboxes_and_continue() -> None:
    choices = tuple(Choice(f"v{n}", f"Choice {n} " + "long " * 30) for n in range(12))
    message = render.question(Question("harm", "What kind?", choices, multi=True))
    _valid(message)
    groups = [b for b in message.blocks if b.get("block_id", "").startswith("pick:harm:")]
    assert [len(g["elements"][0]["options"]) for g in groups] == [10, 2]
    assert message.blocks[-2]["elements"][0]["action_id"] == "continue:harm"


def test_the_contact_question_offers_the_slack_email() -> None:
    offered = (Choice("profile", "Use my email, a@b.example"),)
    message = render.question(Question("contact", "How can POSH reach you?", offered))
    _valid(message)
    assert any(e.get("value") == "profile" for b in message.blocks for e in b.get("elements", []))


def test_the_handoff_links_phone_and_email_and_carries_the_email_text() -> None:
    h = build_handoff(_case(), Facts(), NOW)
    message = render.handoff(h, "The helpline is open now.")
    _valid(message)
    blob = str(message.blocks)
    assert "<tel:+443443814772|0344 381 4772>" in blob
    assert "<mailto:helpline@saferinternet.org.uk|helpline@saferinternet.org.uk>" in blob
    assert "TT-2026-0007" in message.text


def test_a_handoff_too_long_for_one_link_still_fits() -> None:
    case = _case("word " * 290)
    h = build_handoff(case, Facts(), NOW)
    assert not render.mailto_fits(h)
    message = render.handoff(h, "")
    _valid(message)
    assert "Start an email to POSH" in str(message.blocks)


def test_the_case_card_escapes_every_answer_and_keeps_its_buttons() -> None:
    view = case_view(_case(), Facts(), NOW)
    message = render.case_card(view, "open")
    _valid(message)
    mrkdwn = [
        b["text"]["text"] for b in message.blocks if b.get("text", {}).get("type") == "mrkdwn"
    ]
    joined = "\n".join(mrkdwn)
    assert "<!channel>" not in joined and "<@U123>" not in joined and "<http://evil" not in joined
    assert "&lt;!channel&gt; &amp; &lt;@U123&gt; &lt;http://evil.example|tiktok.com&gt;" in joined
    assert all(
        b["text"].get("verbatim")
        for b in message.blocks
        if b.get("text", {}).get("type") == "mrkdwn"
    )
    actions = [b for b in message.blocks if b["type"] == "actions"]
    assert [e["action_id"] for e in actions[-1]["elements"]] == [
        "case:assign",
        "case:sent",
        "case:removed",
        "case:close",
    ]


def test_a_huge_case_card_is_cut_to_50_blocks_but_keeps_the_buttons() -> None:
    case = _case()
    case.answers["links"] = [
        {"url": f"https://www.tiktok.com/@a{n}", "handle": "", "label": ""} for n in range(3)
    ]
    view = case_view(case, Facts(), NOW)
    lines = tuple((f"Label {n}", "text") for n in range(80))
    big = view.__class__(**{**view.__dict__, "lines": lines})
    message = render.case_card(big, "")
    _valid(message)
    assert len(message.blocks) == render.BLOCKS_MAX
    assert any(b["type"] == "actions" for b in message.blocks[-3:])


def test_the_alert_holds_no_case_content() -> None:
    view = case_view(_case(), Facts(), NOW)
    message = render.case_alert(view)
    _valid(message)
    assert "evil" not in str(message) and "Sam" not in str(message)
    assert "TT-2026-0007" in message.text


def test_escape_handles_the_three_control_characters_only() -> None:
    assert render.escape("a & b < c > d *e* _f_") == "a &amp; b &lt; c &gt; d *e* _f_"


def _escaped_answer(length: int, ampersands: int) -> str:
    """Typed text of `length` characters holding `ampersands` `&`: each grows to `&amp;`."""
    words = ["Ms & Mr"] * ampersands
    text = " ".join(words)
    return (text + " " + "x" * length)[:length]


def test_answers_that_grow_when_escaped_still_fit_in_their_sections() -> None:
    """Issue 14.1: two answers of 1,400 characters holding 80 `&` made a 3,000+ section."""
    case = _case()
    case.answers["target"] = ["staff", "other"]
    case.answers["target_staff"] = _escaped_answer(1400, 40)
    case.answers["target_other"] = _escaped_answer(1400, 40)
    message = render.case_card(case_view(case, Facts(), NOW), "open")
    _valid(message)
    texts = [b["text"]["text"] for b in message.blocks if b.get("type") == "section"]
    assert max(len(t) for t in texts) <= 3000
    shown = _unescape("".join(t.removeprefix("*Who is targeted*\n") for t in texts))
    assert case.answers["target_staff"] in shown and case.answers["target_other"] in shown


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def test_a_cut_never_falls_inside_an_escape() -> None:
    for shift in range(6):
        text = render.escape("x" * (100 - shift) + "&<>" * 50)
        parts = render.chunks(text, 100)
        assert "".join(parts) == text
        for part in parts:
            assert len(part) <= 100
            assert re.fullmatch(r"(?:[^&]|&amp;|&lt;|&gt;)*", part), part  # whole escapes only


LONG = render.plain("x" * 76)


@pytest.mark.parametrize(
    ("block", "broken"),
    [
        ({"type": "section", "text": render.plain("x" * 3000)}, False),
        ({"type": "section", "text": render.mrkdwn("x" * 3001)}, True),
        ({"type": "section", "text": render.plain("")}, True),
        ({"type": "header", "text": render.plain("x" * 151)}, True),
        ({"type": "header", "text": render.mrkdwn("x")}, True),
        ({"type": "context", "elements": [render.plain("x" * 3001)]}, True),
        ({"type": "context", "elements": [render.plain("x")] * 11}, True),
        ({"type": "actions", "elements": [{**render.button("x", "a", "v"), "text": LONG}]}, True),
        ({"type": "actions", "elements": [render.button("x", "a", "v" * 2001)]}, True),
        ({"type": "actions", "elements": [render.button("x", "a" * 256, "v")]}, True),
        ({"type": "actions", "elements": [render.button("x", "a", "v")] * 26}, True),
        ({"type": "divider", "block_id": "b" * 256}, True),
    ],
)
async def test_the_slack_stand_in_refuses_what_slack_refuses(
    block: dict[str, object], broken: bool
) -> None:
    fake = FakeSlack()
    client = AsyncWebClient(token="xoxb-test", base_url=await fake.start())
    try:
        if broken:
            with pytest.raises(SlackApiError) as raised:
                await client.chat_postMessage(channel="D0STAFF", text="t", blocks=[block])
            assert raised.value.response["error"] == "invalid_blocks"
            assert raised.value.response["errors"]
        else:
            await client.chat_postMessage(channel="D0STAFF", text="t", blocks=[block])
    finally:
        await fake.close()


async def test_the_slack_stand_in_counts_blocks_and_cuts_long_texts_as_slack_does() -> None:
    fake = FakeSlack()
    client = AsyncWebClient(token="xoxb-test", base_url=await fake.start())
    try:
        divider = {"type": "divider"}
        await client.chat_postMessage(channel="D0STAFF", text="t", blocks=[divider] * 50)
        with pytest.raises(SlackApiError):
            await client.chat_postMessage(channel="D0STAFF", text="t", blocks=[divider] * 51)
        twice = [{"type": "divider", "block_id": "same"}] * 2
        with pytest.raises(SlackApiError):
            await client.chat_postMessage(channel="D0STAFF", text="t", blocks=twice)
        answer = await client.chat_postMessage(channel="D0STAFF", text="x" * 40_001)
        assert answer["response_metadata"]["warnings"] == ["message_truncated"]
        assert len(fake.dm("U0STAFF")[-1]["text"]) == 40_000
    finally:
        await fake.close()


def test_a_turns_messages_join_within_slacks_limits() -> None:
    def of(blocks: int, block_id: str = "") -> render.Message:
        made = [{"type": "divider"} for _ in range(blocks)]
        if block_id:
            made[0]["block_id"] = block_id
        return render.Message(f"{blocks}", made)

    assert render.joined([of(3), of(4), of(5)]) == [[0, 1, 2]]
    assert render.joined([of(30), of(20), of(1)]) == [[0, 1], [2]]  # 50 blocks, then more
    assert render.joined([of(2, "pick:a:0"), of(2, "pick:a:0")]) == [[0], [1]]  # one id each
    joined = render.join([of(1), of(2)])
    assert joined.text == "1\n\n2" and len(joined.blocks) == 3

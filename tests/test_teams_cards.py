"""Adaptive Cards from neutral replies: schema 1.5, plain text only, and the right buttons."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from adapters.teams import cards
from bot.model import Choice, Handoff, Notice, Question
from bot.views import CaseView


def _strings(node: Any, path: str = "") -> list[tuple[str, str]]:
    """Every string in a card with the path of keys leading to it."""
    if isinstance(node, dict):
        return [s for k, v in node.items() for s in _strings(v, f"{path}/{k}")]
    if isinstance(node, list):
        return [s for v in node for s in _strings(v, path)]
    return [(path, node)] if isinstance(node, str) else []


def _markdown_fields(card: dict[str, Any]) -> list[dict[str, Any]]:
    """Elements whose text Teams would read as Markdown."""
    found: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") in ("TextBlock", "FactSet"):
                found.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(card)
    return found


HANDOFF = Handoff(
    reference="TT-2026-0001",
    phone="0344 381 4772",
    phone_uri="tel:+443443814772",
    email="helpline@saferinternet.org.uk",
    mailto="mailto:helpline@saferinternet.org.uk?subject=TikTok%20report&body=Dear%20POSH",
    subject="TikTok report TT-2026-0001",
    body="Dear POSH team,\n\nTikTok links:\n  - https://www.tiktok.com/@x\n\nThank you",
    hours="Monday to Friday, 10:00 to 16:00 (UK time)",
    open_now=False,
    opens="tomorrow at 10:00",
    checklist=("The case reference, TT-2026-0001", "Your name and role"),
    safety=("Anyone in immediate danger: call 999.",),
)


@given(st.text(min_size=1, max_size=300), st.text(max_size=60))
def test_any_notice_text_lands_only_in_plain_text_runs(text: str, title: str) -> None:
    card = cards.notice_card(Notice(text, tone="warning", title=title))
    assert card["version"] == "1.5" and card["type"] == "AdaptiveCard"
    assert _markdown_fields(card) == []
    json.dumps(card)
    shown = [s for path, s in _strings(card["body"]) if path.endswith("/inlines/text")]
    for line in text.split("\n"):
        if line.strip():
            assert line in shown


def test_markdown_in_user_text_is_kept_as_typed_not_rendered() -> None:
    typed = "**bold** _it_ [link](https://evil.example) - item\n1. one"
    card = cards.notice_card(Notice(typed))
    runs = [s for path, s in _strings(card) if path.endswith("/inlines/text")]
    assert runs == ["**bold** _it_ [link](https://evil.example) - item", "1. one"]
    assert _markdown_fields(card) == []


def test_a_multi_choice_question_is_a_multi_select_choice_set_with_continue() -> None:
    q = Question("harm", "What kind of harm?", (Choice("a", "A"), Choice("b", "B")), multi=True)
    card = cards.question_card(q)
    [choice_set] = [b for b in card["body"] if b["type"] == "Input.ChoiceSet"]
    assert choice_set["isMultiSelect"] is True and choice_set["id"] == "choices"
    assert card["actions"] == [
        {
            "type": "Action.Submit",
            "title": "Continue",
            "data": {"reportbot": "answer", "step": "harm"},
        }
    ]


def test_a_short_single_choice_question_has_one_button_per_choice() -> None:
    q = Question("danger", "Is anyone in danger?", (Choice("yes", "Yes"), Choice("no", "No")))
    card = cards.question_card(q)
    assert [a["data"] for a in card["actions"]] == [
        {"reportbot": "answer", "step": "danger", "action": "yes"},
        {"reportbot": "answer", "step": "danger", "action": "no"},
    ]
    assert "1. Yes" in card["fallbackText"]


def test_many_or_long_choices_become_a_single_choice_set() -> None:
    choices = tuple(Choice(str(n), f"Choice number {n}") for n in range(9))
    card = cards.question_card(Question("change", "Which part?", choices, accepts_text=False))
    [choice_set] = [b for b in card["body"] if b["type"] == "Input.ChoiceSet"]
    assert choice_set["isMultiSelect"] is False
    assert len(card["actions"]) == 1


def test_the_handoff_offers_a_call_and_an_email_and_the_ready_text() -> None:
    card = cards.handoff_card(HANDOFF)
    urls = [(a["title"], a["url"]) for a in card["actions"]]
    assert urls == [
        ("Call POSH (0344 381 4772)", "tel:+443443814772"),
        ("Email POSH", HANDOFF.mailto),
    ]
    runs = [s for path, s in _strings(card) if path.endswith("/inlines/text")]
    assert "0344 381 4772" in runs and "helpline@saferinternet.org.uk" in runs
    assert "  - https://www.tiktok.com/@x" in runs
    assert any("Closed now – opens tomorrow at 10:00" in r for r in runs)


def test_a_huge_handoff_keeps_the_text_on_the_card_but_not_in_the_email_link() -> None:
    big = replace(
        HANDOFF, mailto="mailto:helpline@saferinternet.org.uk?subject=S&body=" + "y" * 30000
    )
    assert cards.too_big(cards.handoff_card(big))
    card = cards.handoff_card(big, full_email=False)
    assert not cards.too_big(card)
    assert card["actions"][1]["url"] == "mailto:helpline@saferinternet.org.uk?subject=S"
    runs = [s for path, s in _strings(card) if path.endswith("/inlines/text")]
    assert "Dear POSH team," in runs


def test_a_case_card_has_status_buttons_and_alert_only_hides_the_details() -> None:
    view = CaseView(
        reference="TT-2026-0001",
        title="TikTok report TT-2026-0001",
        status="new",
        status_line="New – Megan Bowen, Tue 10 Mar 2026, 11:00",
        lines=(("TikTok links", "https://www.tiktok.com/@x"),),
        handoff=HANDOFF,
        actions=(Choice("case:sent:TT-2026-0001", "Sent to POSH"),),
        alert="New TikTok report TT-2026-0001. Details are kept out of this channel.",
    )
    card = cards.case_card(view)
    assert card["actions"] == [
        {
            "type": "Action.Submit",
            "title": "Sent to POSH",
            "data": {"reportbot": "case", "action": "case:sent:TT-2026-0001"},
        }
    ]
    assert "https://www.tiktok.com/@x" in json.dumps(card)
    alert = cards.case_card(view, alert_only=True)
    assert "https://www.tiktok.com/@x" not in json.dumps(alert)
    assert _markdown_fields(card) == [] and _markdown_fields(alert) == []


def test_cards_are_the_adaptive_card_1_5_shape() -> None:
    for card in (cards.notice_card(Notice("x")), cards.handoff_card(HANDOFF)):
        assert card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
        assert card["version"] == "1.5" and card["fallbackText"]

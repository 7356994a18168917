"""Resolved replies to Teams messages: one branch per reply type, and a loud default."""

from __future__ import annotations

import json
from dataclasses import dataclass

from adapters.teams import cards
from bot.model import JSON, CaseList, Notice, Question
from bot.views import (
    CardForm,
    Resolved,
    ResolvedCard,
    ResolvedHandoff,
    ResolvedLink,
    minimal_view,
)

NO_ADDRESS = (
    "I can't offer files in Teams yet: whoever runs the bot needs to set REPORTBOT_PUBLIC_URL "
    "(see the README). Nothing was lost; ask again once it is set."
)


ATTACHMENT_BYTES = 100  # each card's wrapper in the activity (contentType and the like)


@dataclass(frozen=True)
class Message:
    card: JSON
    summary: str
    """The notification preview. For leadership posts it never holds case details."""
    more: tuple[JSON, ...] = ()
    """Cards shown below `card` in the same message (a turn's other replies)."""


def joined(messages: list[Message]) -> list[list[int]]:
    """Which of a turn's messages go in one activity (indices, in order): as many cards as
    fit in the size Teams takes for one message (counted in bytes, as Teams counts)."""
    runs: list[list[int]] = []
    size = 0
    for n, m in enumerate(messages):
        mine = len(json.dumps(m.card, ensure_ascii=False).encode()) + ATTACHMENT_BYTES
        if not runs or size + mine > cards.MAX_CARD_CHARS:
            runs.append([])
            size = 0
        runs[-1].append(n)
        size += mine
    return runs


def join(messages: list[Message]) -> Message:
    """One activity of several cards, stacked; the notification shows the first."""
    first, *rest = messages
    return Message(first.card, first.summary, tuple(m.card for m in rest))


def message(reply: Resolved) -> Message:
    match reply:
        case Notice(text=text, title=title):
            return Message(cards.notice_card(reply), title or text.split("\n")[0])
        case Question(text=text):
            return Message(cards.question_card(reply), text)
        case ResolvedHandoff(handoff=h):
            card = cards.handoff_card(h)
            if cards.too_big(card):  # the email text stays on the card, just not in the link
                card = cards.handoff_card(h, full_email=False)
            return Message(card, f"Case {h.reference}: how to hand it to POSH")
        case ResolvedCard():
            return case_card(reply)
        case CaseList(title=title, lines=lines, empty=empty):
            return Message(cards.case_list_card(title, lines, empty), title)
    raise TypeError(f"Teams cannot show {type(reply).__name__}")


def case_card(resolved: ResolvedCard) -> Message:
    view = resolved.view
    match resolved.form:
        case CardForm.MINIMAL:
            card = cards.case_card(minimal_view(view), alert_only=True)
        case CardForm.ALERT:
            card = cards.case_card(view, alert_only=True)
        case _:
            card = cards.case_card(view)
            if cards.too_big(card):
                card = cards.case_card(view, full_email=False)
    word = "Updated" if resolved.update else "New"
    return Message(card, f"{word}: {view.title}")


def download(link: ResolvedLink, base_url: str) -> Message:
    """A leader's file as a single-use link on the bot's own address (`/files/TOKEN`)."""
    if not base_url:
        return Message(cards.notice_card(Notice(NO_ADDRESS, tone="warning")), link.title)
    body = cards.heading(link.title) + cards.plain(link.comment)
    action = cards.open_url("Download", f"{base_url}/files/{link.token}")
    return Message(cards.card(body, [action], fallback=link.comment), link.title)


def scrubbed(text: str) -> Message:
    """What a deleted case's card becomes: one line, no details, no buttons."""
    return Message(cards.card(cards.plain(text), fallback=text), text)

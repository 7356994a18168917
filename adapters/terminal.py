"""The terminal's way out: outbox items printed, leadership posts in a marked panel.

What leadership would receive is shown in a panel, so a whole report can be tried in a shell
with no Slack or Teams account (`reportbot chat`, in `adapters.chat`). Replies arrive resolved
(`bot.views.Resolved`): nothing here reads the store, the clock or the facts.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import TextIO

from bot.model import JSON, Audience, CaseList, Notice, OutboxItem, Question
from bot.ports import each_alone, one_at_a_time
from bot.views import CardForm, Resolved, ResolvedCard, ResolvedHandoff, minimal_text

WIDTH = 78
TONE_MARK = {"info": "", "warning": "(!) ", "danger": "(!!) ", "success": "(ok) "}
LEADERSHIP = "LEADERSHIP CHANNEL (what leaders receive)"


class TerminalSender:
    """Delivers outbox items by printing them; also the terminal's `LeadershipPosts`, whose
    "posts" are panels printed one after another (an update prints the card again)."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    async def send(self, item: OutboxItem, reply: Resolved) -> None:
        text = render(reply)
        self._print(_panel(LEADERSHIP, text) if item.audience == Audience.LEADERSHIP else text)

    def joined(self, replies: Sequence[Resolved]) -> list[list[int]]:
        return each_alone(replies)  # printed one after another, as they are

    async def send_together(self, items: Sequence[OutboxItem], replies: Sequence[Resolved]) -> None:
        await one_at_a_time(self, items, replies)  # printed one after another, as they are

    # -- bot.ports.LeadershipPosts ---------------------------------------------------------------

    async def private(self) -> bool:
        return True  # the operator holds the data folder itself

    async def post(self, item: OutboxItem, card: ResolvedCard) -> JSON:
        self._print(_panel(LEADERSHIP, render(card)))
        return {"printed": item.id}

    async def update(self, post: JSON, card: ResolvedCard) -> bool:
        self._print(_panel(LEADERSHIP, render(card)))
        return True

    async def find_earlier(self, item: OutboxItem) -> JSON | None:
        return None  # what was printed cannot be read back

    async def scrub(self, post: JSON, text: str) -> None:
        self._print(_panel(LEADERSHIP, text))

    def _print(self, text: str) -> None:
        self.out.write(text + "\n\n")
        self.out.flush()


def render(reply: Resolved) -> str:
    match reply:
        case Notice(text=text, tone=tone, title=title):
            head = f"{TONE_MARK[tone]}{title}\n" if title else TONE_MARK[tone]
            return head + _wrap(text)
        case Question():
            return _question(reply)
        case ResolvedHandoff(text=text):
            return _panel("HANDOFF TO POSH", text)
        case ResolvedCard():
            return _card(reply)
        case CaseList(title=title, lines=lines, empty=empty):
            return "\n".join([title + ":", *(f"  {line}" for line in lines)]) if lines else empty
    raise TypeError(f"the terminal cannot show {type(reply).__name__}")


def _card(card: ResolvedCard) -> str:
    view = card.view
    match card.form:
        case CardForm.ALERT:
            return view.alert
        case CardForm.MINIMAL:
            return minimal_text(view.reference)
    head = f"{'Updated' if card.update else 'New'}: {view.title} · {view.status_line}"
    body = [head, ""] + [f"{k}: {v}" for k, v in view.lines]
    if not card.update and card.handoff_text:
        body += ["", card.handoff_text]
    verbs = ", ".join(a.label for a in view.actions)
    body += ["", f"Leaders can: {verbs} (reportbot cases --help)"]
    return "\n".join(body)


def _question(q: Question) -> str:
    lines = [f"[{q.progress}]"] if q.progress else []
    lines.append(_wrap(q.text))
    if q.hint:
        lines.append(_wrap(q.hint))
    for n, choice in enumerate(q.choices, start=1):
        lines.append(f"  {n}. {choice.label}")
    if q.multi:
        lines.append("Type one or more numbers, e.g. 1,3.")
    elif q.choices and q.accepts_text:
        lines.append("Type a number, or your answer.")
    elif q.choices:
        lines.append("Type a number.")
    return "\n".join(lines)


def _wrap(text: str) -> str:
    return "\n".join(textwrap.fill(p, WIDTH) if p else "" for p in text.split("\n"))


def _panel(title: str, text: str) -> str:
    rule = "=" * WIDTH
    return f"{rule}\n {title}\n{rule}\n{text}\n{rule}"

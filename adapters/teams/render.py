"""Neutral replies to Teams messages: one branch per reply type, and a loud default."""

from __future__ import annotations

from dataclasses import dataclass

from adapters.teams import cards
from bot.facts import Facts
from bot.model import (
    JSON,
    CaseCard,
    CaseList,
    CaseStatus,
    HandoffReply,
    Notice,
    Question,
    Reply,
)
from bot.ports import Clock, Store
from bot.views import case_line, case_view, minimal_view

DELETED = "Case {reference} was deleted under the school's retention schedule."


@dataclass(frozen=True)
class Message:
    card: JSON
    summary: str
    """The notification preview. For leadership posts it never holds case details."""
    gone: bool = False
    """A case card for a deleted (or no longer held) case: it may replace the case's post,
    never be posted anew."""


class Renderer:
    def __init__(self, store: Store, facts: Facts, clock: Clock) -> None:
        self.store = store
        self.facts = facts
        self.clock = clock

    async def message(self, reply: Reply) -> Message:
        match reply:
            case Notice(text=text, title=title):
                return Message(cards.notice_card(reply), title or text.split("\n")[0])
            case Question(text=text):
                return Message(cards.question_card(reply), text)
            case HandoffReply(handoff=h):
                card = cards.handoff_card(h)
                if cards.too_big(card):  # the email text stays on the card, just not in the link
                    card = cards.handoff_card(h, full_email=False)
                return Message(card, f"Case {h.reference}: how to hand it to POSH")
            case CaseCard():
                return await self._case(reply)
            case CaseList(title=title, references=refs, empty=empty):
                return await self._list(title, refs, empty)
        raise TypeError(f"Teams cannot show {type(reply).__name__}")

    async def _case(self, reply: CaseCard) -> Message:
        case = await self.store.case(reply.reference)
        if case is None:
            gone = Notice(f"Case {reply.reference} is no longer held.")
            return Message(cards.notice_card(gone), gone.text, gone=True)
        if case.status == CaseStatus.DELETED:  # the tombstone: no details, no buttons
            text = DELETED.format(reference=reply.reference)
            return Message(cards.card(cards.plain(text), fallback=text), text, gone=True)
        view = case_view(case, self.facts, self.clock.now())
        card = cards.case_card(
            minimal_view(view) if reply.minimal else view, alert_only=reply.minimal
        )
        if cards.too_big(card):
            card = cards.case_card(view, full_email=False)
        word = "Updated" if reply.update else "New"
        return Message(card, f"{word}: {view.title}")

    async def _list(self, title: str, refs: tuple[str, ...], empty: str) -> Message:
        lines = []
        for ref in refs:
            case = await self.store.case(ref)
            if case is not None:
                lines.append(case_line(case, self.facts))
        return Message(cards.case_list_card(title, lines, empty), title)

"""Replies made complete for their senders: the one place the way out reads the store.

An outbox item names what it shows (a case card names its case); the courier resolves it here
as it is delivered, so a card shows the case as it is then, and the helpline's hours as they
are then. What comes out (`bot.views.Resolved`) is all a sender needs.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.facts import Facts
from bot.files import link_of, make_file
from bot.hours import status_text
from bot.model import (
    CaseCard,
    CaseList,
    CaseStatus,
    FileReply,
    Handoff,
    HandoffReply,
    Notice,
    Person,
    Question,
    Reply,
)
from bot.ports import Clock, Store
from bot.report import handoff_text
from bot.views import Resolved, ResolvedCard, ResolvedHandoff, case_line, case_view

DELETED = "Case {reference} was deleted under the school's retention schedule."
NOT_HELD = "Case {reference} is no longer held."


@dataclass(frozen=True)
class Gone:
    """A case that is deleted (a tombstone) or not held at all: its posts say only `text`."""

    reference: str
    text: str


class Resolver:
    def __init__(self, store: Store, facts: Facts, clock: Clock) -> None:
        self.store = store
        self.facts = facts
        self.clock = clock

    async def reply(self, reply: Reply, place: Person | None = None) -> Resolved:
        """A reply for a person's chat (or a notice for the leadership channel). `place` is
        whose school it is for (its platform and workspace): a leader's file holds only that
        school's records."""
        match reply:
            case FileReply(link=link) if link:
                return link_of(reply)
            case FileReply() if place is not None:
                return await make_file(self.store, self.facts, self.clock.now(), reply, place)
            case HandoffReply(handoff=h):
                return self.handoff(h)
            case CaseCard(reference=reference):  # a leader's `show REF`, in their own chat
                card = await self.card(reference)
                return Notice(card.text) if isinstance(card, Gone) else card
            case CaseList(lines=(), references=references) if references:
                return await self._with_lines(reply)
            case Notice() | Question() | CaseList():
                return reply
        raise TypeError(f"no way to resolve a {type(reply).__name__}")

    async def card(self, reference: str) -> ResolvedCard | Gone:
        """The full card of the case as it is now; the leadership algorithm picks its form."""
        case = await self.store.case(reference)
        if case is None:
            return Gone(reference, NOT_HELD.format(reference=reference))
        if case.status == CaseStatus.DELETED:
            return Gone(reference, DELETED.format(reference=reference))
        now = self.clock.now()
        view = case_view(case, self.facts, now)
        text = handoff_text(view.handoff, self.facts, now) if view.handoff else ""
        return ResolvedCard(view, status_text(self.facts, now), text)

    def handoff(self, handoff: Handoff) -> ResolvedHandoff:
        now = self.clock.now()
        status = status_text(self.facts, now)
        return ResolvedHandoff(handoff, status, handoff_text(handoff, self.facts, now))

    async def _with_lines(self, listing: CaseList) -> CaseList:
        """A list queued before lists carried their lines (older outbox items)."""
        lines = []
        for reference in listing.references:
            case = await self.store.case(reference)
            if case is not None:
                lines.append(case_line(case, self.facts))
        return CaseList(listing.title, listing.references, listing.empty, tuple(lines))


def complete(reply: Reply) -> Resolved:
    """A reply that needs nothing looked up, as the engine returns what it could not store
    (an apology), to be sent at once."""
    match reply:
        case Notice() | Question():
            return reply
        case CaseList(lines=lines) if lines or not reply.references:
            return reply
    raise TypeError(f"a {type(reply).__name__} must go through the outbox to be resolved")

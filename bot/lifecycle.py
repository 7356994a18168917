"""How a case moves from a new report to its end, and who may move it.

    (reporting) ─> new ─> reported_in_app ─> sent_to_posh ─> with_tiktok ─> removed
         └──────────┴──────────┴───────────────┴─────────────────┴──────> refused / closed

"reporting" is an urgent report still being made: the case opens early so leaders can act.

Every move records who, when, the old and new state and the reason (KCSIE asks for decisions,
reasons, actions and outcome in writing). The history is only ever appended to.

These are the rules chat (`bot.leaders`) and the command line (`bot.casework`) both apply;
each front end only words how to ask again:
- who may change a case: a leader of the case's own workspace (chat asks the platform), the
  terminal operator (who holds the data folder), and the reporter, who may record that they
  have sent it to POSH when they said they would (`in_scope`, `reporter_may`);
- which moves need a reason (`Move.needs_reason`: a refusal, a closure, a reopening);
- how long a note or a reason may be (`MAX_NOTE`), and that a deleted case takes nothing more.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from bot.errors import InvalidMove, ReasonNeeded
from bot.model import OPEN_STATUSES, Case, CaseStatus, HistoryEntry, Person, Platform, PoshOwner
from bot.understand import clean

if TYPE_CHECKING:  # annotations only: bot.ports imports the views, which import this module
    from bot.ports import Store

S = CaseStatus

MAX_NOTE = 1500
"""Characters in a note or a decision's reason, in chat and on the command line alike: room
for what POSH or TikTok said, and still one screen in a case's history."""


@dataclass(frozen=True)
class CaseAction:
    """A leader's status button as every front end carries it, `case:VERB:REF`: parsed once,
    where a turn comes in, and written only by `value`."""

    verb: str
    reference: str

    @property
    def value(self) -> str:
        return f"case:{self.verb}:{self.reference}"

    @classmethod
    def parse(cls, value: str | None) -> CaseAction | None:
        kind, _, rest = (value or "").partition(":")
        verb, _, reference = rest.partition(":")
        if kind != "case" or not verb or not reference.strip():
            return None
        return cls(verb, reference.strip().upper())


@dataclass(frozen=True)
class Move:
    verb: str
    label: str
    to: CaseStatus | None
    sources: frozenset[CaseStatus]
    needs_reason: bool = False


MOVES: dict[str, Move] = {
    m.verb: m
    for m in (
        Move("assign", "I'll contact POSH", None, OPEN_STATUSES),
        Move("in_app", "Reported in the app", S.REPORTED_IN_APP, frozenset({S.NEW})),
        Move(
            "sent",
            "Sent to POSH",
            S.SENT_TO_POSH,
            frozenset({S.REPORTING, S.NEW, S.REPORTED_IN_APP}),
        ),
        Move("with_tiktok", "With TikTok via POSH", S.WITH_TIKTOK, frozenset({S.SENT_TO_POSH})),
        Move("removed", "Content removed", S.REMOVED, OPEN_STATUSES),
        Move(
            "refused",
            "TikTok refused",
            S.REFUSED,
            frozenset({S.SENT_TO_POSH, S.WITH_TIKTOK}),
            needs_reason=True,
        ),
        Move("close", "Close", S.CLOSED, OPEN_STATUSES | {S.REMOVED, S.REFUSED}, needs_reason=True),
        Move(
            "reopen",
            "Reopen",
            S.NEW,
            frozenset({S.REMOVED, S.REFUSED, S.CLOSED}),
            needs_reason=True,
        ),
    )
}

# The buttons on a leadership post, in order.
CHANNEL_VERBS = ("assign", "sent", "removed", "close")

STATUS_LABELS = {
    S.REPORTING: "Urgent – report still being made",
    S.NEW: "New",
    S.REPORTED_IN_APP: "Reported in the TikTok app",
    S.SENT_TO_POSH: "Sent to POSH",
    S.WITH_TIKTOK: "With TikTok via POSH",
    S.REMOVED: "Removed",
    S.REFUSED: "Refused by TikTok",
    S.CLOSED: "Closed",
    S.DELETED: "Deleted",
}


def available(case: Case) -> list[Move]:
    """The channel buttons that make sense for the case now."""
    verbs = (*CHANNEL_VERBS, "reopen")
    return [MOVES[v] for v in verbs if case.status in MOVES[v].sources]


def apply(case: Case, verb: str, who: str, at: datetime, reason: str = "") -> HistoryEntry:
    """Apply a move to the case in place and return the history entry it wrote.

    Raises `InvalidMove` (kindly worded) for a move the rules refuse, and its kind
    `ReasonNeeded` for a decision without a reason, which the front end asks for.
    """
    move = MOVES.get(verb)
    if move is None:
        raise InvalidMove(f"I don't know how to “{verb}” a case.")
    _still_held(case)
    reason = decided(reason)
    if move.needs_reason and not reason:
        raise ReasonNeeded(f"“{move.label}” is a decision, so it needs a reason on record.")
    if case.status not in move.sources:
        now = STATUS_LABELS[case.status]  # as the card and the case list show it
        raise InvalidMove(f"{case.reference} is now “{now}”, so “{move.label}” doesn't apply.")
    if move.to is None:
        if case.assignee == who:
            raise InvalidMove(f"You are already contacting POSH for {case.reference}.")
        return _assign(case, who, who, at, reason)
    entry = HistoryEntry(at, who, verb, str(case.status), str(move.to), reason)
    case.status = move.to
    case.status_times[str(move.to)] = at
    case.record(entry)
    return entry


def hand_over(case: Case, to: str, who: str, at: datetime, reason: str = "") -> HistoryEntry:
    """Record that `to` is contacting POSH, as decided by `who` (the record names both)."""
    to = clean(to).strip()
    if not to or to == who:
        return apply(case, "assign", who, at, reason)
    _still_held(case)
    reason = decided(reason)
    if case.status not in MOVES["assign"].sources:
        now = STATUS_LABELS[case.status]
        raise InvalidMove(f"{case.reference} is now “{now}”, so it can't be assigned.")
    if case.assignee == to:
        raise InvalidMove(f"{to} is already contacting POSH for {case.reference}.")
    return _assign(case, to, who, at, reason)


def _assign(case: Case, to: str, who: str, at: datetime, reason: str) -> HistoryEntry:
    entry = HistoryEntry(at, who, "assigned", case.assignee, to, reason)
    case.assignee = to
    case.posh_owner = PoshOwner.LEADERS  # the reporter need not contact POSH any more
    case.record(entry)
    return entry


def note(case: Case, who: str, at: datetime, text: str) -> HistoryEntry:
    """Add a note to the history; raises `InvalidMove` for a deleted case or a long note."""
    _still_held(case)
    entry = HistoryEntry(at, who, "note", note=written(text, "note"))
    case.record(entry)
    return entry


def written(text: str, what: str) -> str:
    """A note or reason as it goes on record: control characters out, trimmed, and no longer
    than `MAX_NOTE` – refused with a kind message, never cut short without a word."""
    text = clean(text).strip()
    if len(text) > MAX_NOTE:
        rest = "a second note" if what == "note" else "a note"
        raise InvalidMove(
            f"That {what} is {len(text):,} characters: a {what} may be up to {MAX_NOTE:,} "
            f"characters, so please add the rest as {rest}."
        )
    return text


_BECAUSE = re.compile(r"^(?:because|cos|coz|bc)\b[\s:,.\u2013\u2014-]*", re.IGNORECASE)


def decided(reason: str) -> str:
    """A decision's reason as it goes on record: "close REF because it was sorted" keeps
    "it was sorted" (the word that introduced it is how it was said, not the reason)."""
    return _BECAUSE.sub("", written(reason, "reason"), count=1)


def _still_held(case: Case) -> None:
    if case.status == S.DELETED:
        raise InvalidMove(f"{case.reference} was deleted; nothing can be added to it.")


# --- who may change a case -----------------------------------------------------------------------


def in_scope(case: Case, person: Person) -> bool:
    """A leader sees and changes the cases of their own workspace (Slack team, Teams tenant).

    The terminal operator holds the data folder itself, so sees every case in it.
    """
    if person.platform == Platform.TERMINAL:
        return True
    reporter = case.reporter
    return reporter.platform == person.platform and reporter.workspace == person.workspace


async def pages_in_scope(store: Store, person: Person) -> AsyncIterator[list[Case]]:
    """The cases `person` may see, a page at a time (`Store.case_pages`): for readers of
    every case, who keep only what they make of each page."""
    async for page in store.case_pages():
        yield [c for c in page if in_scope(c, person)]


def reporter_may(case: Case, person: Person, verb: str) -> bool:
    """A reporter who said they would contact POSH records that they have."""
    return (
        verb == "sent" and case.reporter.key == person.key and case.posh_owner == PoshOwner.REPORTER
    )

"""How a case moves from a new report to its end, and who may move it.

    (reporting) ─> new ─> reported_in_app ─> sent_to_posh ─> with_tiktok ─> removed
         └──────────┴──────────┴───────────────┴─────────────────┴──────> refused / closed

"reporting" is an urgent report still being made: the case opens early so leaders can act.

Every move records who, when, the old and new state and the reason (KCSIE asks for decisions,
reasons, actions and outcome in writing). The history is only ever appended to.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.model import OPEN_STATUSES, Case, CaseStatus, HistoryEntry

S = CaseStatus


class InvalidMove(Exception):
    """A move that the case's state does not allow; the message says why, kindly."""


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
    """Apply a move to the case in place and return the history entry it wrote."""
    move = MOVES.get(verb)
    if move is None:
        raise InvalidMove(f"I don't know how to “{verb}” a case.")
    if case.status not in move.sources:
        now = STATUS_LABELS[case.status].lower()
        raise InvalidMove(f"{case.reference} is {now}, so “{move.label}” doesn't apply.")
    if move.to is None:
        if case.assignee == who:
            raise InvalidMove(f"You are already contacting POSH for {case.reference}.")
        entry = HistoryEntry(at, who, "assigned", case.assignee, who, reason)
        case.assignee = who
    else:
        entry = HistoryEntry(at, who, verb, str(case.status), str(move.to), reason)
        case.status = move.to
        case.status_times[str(move.to)] = at
    case.record(entry)
    return entry


def note(case: Case, who: str, at: datetime, text: str) -> HistoryEntry:
    entry = HistoryEntry(at, who, "note", note=text)
    case.record(entry)
    return entry

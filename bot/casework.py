"""The terminal operator's changes to a case: `reportbot cases move | assign | note`.

Pure: a case in, changed in place, and the history entry it wrote out. The commands in
`adapters/casework.py` load and save; every change goes through `bot.lifecycle`, so the
history stays append-only (who, when, old → new, why).
"""

from __future__ import annotations

from datetime import datetime

from bot import lifecycle
from bot.errors import CaseworkError
from bot.model import Case, CaseStatus, HistoryEntry, OutboxItem, Platform
from bot.outbox import card_update_item
from bot.understand import clean

# Moves a terminal operator makes with `cases move` (assigning has its own command).
OPERATOR_VERBS = ("in_app", "sent", "with_tiktok", "removed", "refused", "close", "reopen")
# A refusal, a closure or a reopening is a decision: KCSIE asks for its reason in writing.
REASON_NEEDED = frozenset({"refused", "close", "reopen"}) | {
    v for v, m in lifecycle.MOVES.items() if m.needs_reason
}
MAX_NOTE = 1500


def _not_deleted(case: Case) -> None:
    if case.status == CaseStatus.DELETED:
        raise CaseworkError(f"{case.reference} was deleted; nothing can be added to it.")


def move(case: Case, verb: str, who: str, at: datetime, reason: str = "") -> HistoryEntry:
    """Move a case for the terminal operator; raises `InvalidMove` or `CaseworkError`."""
    reason = clean(reason).strip()
    if verb == "assign":
        raise CaseworkError(f"To take a case on, use: reportbot cases assign {case.reference}")
    if verb not in lifecycle.MOVES:
        known = ", ".join(OPERATOR_VERBS)
        raise lifecycle.InvalidMove(f"I don't know how to “{verb}” a case. Try one of: {known}.")
    _not_deleted(case)
    if verb in REASON_NEEDED and not reason:
        label = lifecycle.MOVES[verb].label.lower()
        raise CaseworkError(
            f"“{label}” is a decision, so it needs a reason on record: "
            f'add --reason "…" (for example what TikTok or POSH said).'
        )
    return lifecycle.apply(case, verb, who, at, reason)


def assign(case: Case, to: str, who: str, at: datetime, reason: str = "") -> HistoryEntry:
    """Record who is contacting POSH for the case.

    Taking it on yourself is `lifecycle.apply(..., "assign")`. Handing it to someone else is
    written here in the same shape, because `apply` records the assignee as the actor too, and
    the record must name who made the decision.
    """
    _not_deleted(case)
    to, reason = clean(to).strip() or who, clean(reason)
    if to == who:
        return lifecycle.apply(case, "assign", who, at, reason.strip())
    rule = lifecycle.MOVES["assign"]
    if case.status not in rule.sources:
        now = lifecycle.STATUS_LABELS[case.status].lower()
        raise lifecycle.InvalidMove(f"{case.reference} is {now}, so it can't be assigned.")
    if case.assignee == to:
        raise lifecycle.InvalidMove(f"{to} is already contacting POSH for {case.reference}.")
    entry = HistoryEntry(at, who, "assigned", case.assignee, to, reason.strip())
    case.assignee = to
    case.record(entry)
    return entry


def add_note(case: Case, who: str, at: datetime, text: str) -> HistoryEntry:
    _not_deleted(case)
    text = clean(text).strip()
    if not text:
        raise CaseworkError("The note is empty: write what happened, in quotes.")
    if len(text) > MAX_NOTE:
        raise CaseworkError(f"Please keep a note under {MAX_NOTE} characters.")
    return lifecycle.note(case, who, at, text)


def card_update(case: Case, now: datetime) -> OutboxItem | None:
    """Queue the leadership post's update, as the engine does for a button press.

    Same id scheme as the engine (keyed by history length), so a change is posted once. None
    for terminal cases: no channel holds their card, and a later `chat` would print it.
    """
    if case.reporter.platform == Platform.TERMINAL:
        return None
    return card_update_item(case, now)

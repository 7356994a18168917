"""The terminal operator's changes to a case: `reportbot cases move | assign | note`.

Pure: a case in, changed in place, and the history entry it wrote out. The rules are
`bot.lifecycle`'s, the same ones chat applies; this module only words, for the command line,
how to ask again. The commands in `adapters/casework.py` load and save.
"""

from __future__ import annotations

from datetime import datetime

from bot import leader_words, lifecycle
from bot.case_words import read_words
from bot.errors import CaseworkError, InvalidMove, ReasonNeeded
from bot.facts import Facts
from bot.model import Case, HistoryEntry, OutboxItem, Platform
from bot.outbox import card_update_item
from bot.understand import clean

# Moves a terminal operator makes with `cases move` (assigning has its own command).
OPERATOR_VERBS = ("in_app", "sent", "with_tiktok", "removed", "refused", "close", "reopen")


def move(case: Case, verb: str, who: str, at: datetime, reason: str = "") -> HistoryEntry:
    """Move a case for the terminal operator; raises `InvalidMove` or `CaseworkError`. The
    verb is read as chat reads it: "Removed", "in-app", "closed", "with tiktok", "clsoe"."""
    verb = leader_words.verb_of(verb, typos=True) or verb.strip().lower()  # "in-app", "closed"
    if verb == "assign":
        raise CaseworkError(f"To take a case on, use: reportbot cases assign {case.reference}")
    if verb not in lifecycle.MOVES:
        known = ", ".join(OPERATOR_VERBS)
        raise InvalidMove(f"I don't know how to “{verb}” a case. Try one of: {known}.")
    try:
        return lifecycle.apply(case, verb, who, at, reason)
    except ReasonNeeded as e:
        raise ReasonNeeded(
            f'{e} Add --reason "…" (for example what TikTok or POSH said).'
        ) from None


def assign(case: Case, to: str, who: str, at: datetime, reason: str = "") -> HistoryEntry:
    """Record who is contacting POSH for the case: `to`, or the operator themselves."""
    return lifecycle.hand_over(case, to, who, at, reason)


def assigned(case: Case, entry: HistoryEntry) -> str:
    """What the operator is told once `assign` has recorded who is contacting POSH."""
    if entry.new == entry.who:
        return f"{case.reference}: you ({entry.who}) are now contacting POSH."
    return f"{case.reference}: {entry.new} is now contacting POSH (recorded by {entry.who})."


def add_note(case: Case, who: str, at: datetime, text: str) -> HistoryEntry:
    if not clean(text).strip():
        raise CaseworkError("The note is empty: write what happened, in quotes.")
    return lifecycle.note(case, who, at, text)


def safety_said(
    case: Case, text: str, who: str, at: datetime, facts: Facts, what: str = "note"
) -> list[str]:
    """What the operator's note or reason says of a child's sexual images, read as chat reads
    it (`bot.case_words`: the case flagged in place); the notices as the terminal prints them."""
    notices = read_words(case, clean(text).strip(), who, at, facts, what)
    return [f"(!!) {n.title}\n{n.text}" if n.title else f"(!) {n.text}" for n in notices]


def card_update(case: Case, now: datetime) -> OutboxItem | None:
    """Queue the leadership post's update, as the engine does for a button press.

    Same id scheme as the engine (keyed by history length), so a change is posted once. None
    for terminal cases: no channel holds their card, and a later `chat` would print it.
    """
    if case.reporter.platform == Platform.TERMINAL:
        return None
    return card_update_item(case, now)

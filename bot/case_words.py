"""What a leader writes on a case – a note, or a decision's reason – read as a reporter's
words are read (`bot.safety`): chat (`bot.leaders`) and the command line (`bot.casework`)
both call `read_words` once the words are on record.

A note that describes sexual images of a child ("she says there is now a nude photo of a
year 8 boy on the account") flags the case as a reporter's answer would: it is kept as a
child-protection record, its POSH handoff asks for the web address only and never for
screenshots, its card says URGENT while it is open, and the writer gets the safety notice.
On a case already flagged, words about saving or sending copies get the no-copies notice.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from bot import safety
from bot.facts import Facts
from bot.model import Case, Flag, HistoryEntry, Notice
from bot.retention import category_for, longer

FLAGGED = (
    "{ref} is now flagged for it: it is kept as a child-protection record, its POSH handoff "
    "asks for the web address only (never screenshots), and leaders' card shows it as URGENT."
)
DANGER = "{ref} is now flagged: someone may be in danger. Its card shows it as URGENT."
FLAGGED_ENDED = (
    "{ref} is now flagged for it: it is kept as a child-protection record, and its POSH "
    "handoff asks for the web address only (never screenshots)."
)


def read_words(
    case: Case, text: str, who: str, at: datetime, facts: Facts, what: str = "note"
) -> list[Notice]:
    """Flag the case in place if `text` (a note, or a `what` = "reason") says someone may be
    in danger or describes a child's sexual images; returns the notices the writer is shown
    (none for other words)."""
    if not text:
        return []
    return [*_danger(case, text, who, at, facts, what), *_images(case, text, who, at, facts, what)]


def _danger(case: Case, text: str, who: str, at: datetime, facts: Facts, what: str) -> list[Notice]:
    """ "she says she wants to kill herself over this": the 999 line, and the case flagged."""
    if not safety.risk_words(text) or Flag.DANGER in case.flags:
        return []
    case.flags = case.flags | {Flag.DANGER}
    case.record(HistoryEntry(at, who, "flagged", new=str(Flag.DANGER), note=f"{SAID_IN} {what}"))
    return [safety.risk_notice(facts, asking=False), Notice(DANGER.format(ref=case.reference))]


def _images(case: Case, text: str, who: str, at: datetime, facts: Facts, what: str) -> list[Notice]:
    if Flag.SEXUAL_IMAGES in case.flags:
        return [safety.no_copies_notice()] if safety.mentions_copies(text) else []
    if not safety.describes_child_images(text, case.flags):
        return []
    flag_child_images(case, HistoryEntry(at, who, "flagged", note=f"{SAID_IN} {what}"))
    done = (FLAGGED if case.is_open else FLAGGED_ENDED).format(ref=case.reference)
    return [safety.sexual_images_notice(facts, written=True), Notice(done, tone="warning")]


SAID_IN = "said in a"  # a leader's note or reason flagged it: not the reporter's own words


def flag_child_images(case: Case, entry: HistoryEntry) -> None:
    """The case flagged for a child's sexual images, wherever it was said: kept as a
    child-protection record, and `entry` (with the flag) on its history."""
    case.flags = case.flags | {Flag.SEXUAL_IMAGES}
    case.retention_category = longer(case.retention_category, category_for(case))
    case.record(replace(entry, new=str(Flag.SEXUAL_IMAGES)))

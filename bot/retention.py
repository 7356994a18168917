"""How long a case is kept, when it is due for review, and what is left after deletion.

Schools' retention schedules differ, so the schedule is configuration: `Settings.retention`
maps a category to years, and a case's review date is its closure (or, while it is open, its
creation) plus its category's years. The category follows the kind of case, after the IRMS
Information Management Toolkit for Schools (2019):

    child_protection   sexual images of a child, or pupils targeted: kept as a child
                       protection record ("date of birth of the child + 25 years"; the bot
                       holds no date of birth, so 25 years from closure, which is never less)
    staff_allegation   sexualised content, threats or hate about a member of staff, which can
                       amount to an allegation: "until the person's normal retirement age, or
                       10 years from the date of the allegation, whichever is longer"
    online_abuse       the rest (impersonation, harassment, personal information): an incident
                       involving adults, 6 years (the civil limitation period)

A school sets its own years in `[retention]` of reportbot.toml. Deletion is never a timer: a
person reviews the case and deletes it with a reason, and a content-free tombstone records it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from contextlib import suppress
from dataclasses import dataclass
from datetime import date, datetime

from bot import lifecycle, localtime
from bot.errors import CaseworkError, ConfigError
from bot.facts import DEFAULT_FACTS, Facts
from bot.model import Case, CaseStatus, Flag, HistoryEntry, Person

DEFAULT_CATEGORY = "staff_allegation"  # cases filed before categories followed the kind
SCHEDULE = {"child_protection": 25, "staff_allegation": 10, "online_abuse": 6}
_ALLEGATION_HARMS = frozenset({"sexualised", "threats", "hateful"})


def category_for(case: Case) -> str:
    """The retention category a case's kind calls for (see the module's table)."""
    if Flag.SEXUAL_IMAGES in case.flags or Flag.PUPILS_TARGETED in case.flags:
        return "child_protection"
    harm = set(case.answers.get("harm") or [])
    targets = set(case.answers.get("target") or [])
    if harm & _ALLEGATION_HARMS and "staff" in targets:
        return "staff_allegation"
    return "online_abuse"


def longer(*categories: str) -> str:
    """The category kept longest: a case that grows (a flag, a second report) never shortens
    its keeping. A school's own category, not in the default table, is kept as it was set."""
    known = [c for c in categories if c]
    return max(known, key=lambda c: SCHEDULE.get(c, max(SCHEDULE.values()) + 1), default="")


_ENDS = frozenset({CaseStatus.REMOVED, CaseStatus.REFUSED, CaseStatus.CLOSED})


@dataclass(frozen=True)
class Review:
    """A case's place in the retention schedule."""

    reference: str
    status: CaseStatus
    category: str
    years: int | None
    """None when the settings have no period for the case's category."""
    counted_from: str
    """'closure' or 'creation': which date the period runs from."""
    starts: date
    review_on: date

    def describe(self) -> str:
        if self.years is None:
            return (
                f"category “{self.category}” has no period in the settings ([retention]), "
                "so it is due for review now"
            )
        years = f"{self.years} year{'s' if self.years != 1 else ''}"
        return (
            f"{self.category}: {years} from {self.counted_from} on "
            f"{localtime.day_text(self.starts)} – review on {localtime.day_text(self.review_on)}"
        )


def check_schedule(schedule: Mapping[str, object]) -> dict[str, int]:
    """The schedule as category → whole years, or a `ConfigError` naming the bad entry."""
    checked = {}
    for category, years in schedule.items():
        if isinstance(years, bool) or not isinstance(years, int) or years < 1:
            raise ConfigError(f"[retention] {category} must be a whole number of years, 1 or more")
        checked[category] = years
    return checked


def ended_at(case: Case) -> datetime | None:
    """When an ended case last ended (removed, refused or closed); None while it is open.

    The latest end, not the first: a reopened and re-closed case is kept from its last closure.
    """
    if case.is_open or case.status == CaseStatus.DELETED:
        return None
    ends = [
        h.at
        for h in case.history
        if (m := lifecycle.MOVES.get(h.action)) is not None and m.to in _ENDS
    ]
    ends += [at for s, at in case.status_times.items() if s in _ENDS]
    return max(ends, default=None)


def _plus_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February: review on the 28th rather than late
        return day.replace(year=day.year + years, day=28)


def review_of(case: Case, schedule: Mapping[str, int], facts: Facts = DEFAULT_FACTS) -> Review:
    """Where the case stands in the schedule; a review date stored on the case wins."""
    category = case.retention_category or DEFAULT_CATEGORY
    ended = ended_at(case)
    start = localtime.day(ended or case.created_at, facts)
    years = schedule.get(category)
    review_on = start if years is None else _plus_years(start, years)
    if case.review_on:
        # An unreadable stored date falls back to the schedule.
        with suppress(ValueError):
            review_on = date.fromisoformat(case.review_on)
    counted = "closure" if ended else "creation"
    return Review(case.reference, case.status, category, years, counted, start, review_on)


def review_due(
    cases: Iterable[Case],
    schedule: Mapping[str, int],
    today: date,
    facts: Facts = DEFAULT_FACTS,
) -> list[Review]:
    """Cases whose review date has come (deleted ones are done), earliest first."""
    due = [review_of(c, schedule, facts) for c in cases if c.status != CaseStatus.DELETED]
    return sorted((r for r in due if r.review_on <= today), key=review_order)


def review_order(review: Review) -> tuple[date, str]:
    """Earliest review first; the same day, by reference."""
    return (review.review_on, review.reference)


def check_deletion(case: Case, reason: str, *, confirm: bool, force: bool) -> None:
    """Refuse a deletion that is not a deliberate, explained act."""
    ref = case.reference
    if case.status == CaseStatus.DELETED:
        raise CaseworkError(f"{ref} has already been deleted.")
    if not lifecycle.written(reason, "reason"):
        raise CaseworkError(f'Say why {ref} is being deleted: add --reason "…".')
    if case.is_open and not force:
        now = lifecycle.STATUS_LABELS[case.status]
        raise CaseworkError(
            f"{ref} is still open (“{now}”). Close it first, or add --force if it must go now."
        )
    if not confirm:
        raise CaseworkError(
            f"Deleting {ref} removes its details for good. When the review has agreed it, run "
            "the same command again with --confirm."
        )


def tombstone(case: Case, who: str, at: datetime, reason: str) -> Case:
    """What is left of a deleted case: its reference, the day it was reported, and who deleted
    it, when and why. No answers, handles, names or history; the reporter is only a platform.
    """
    entry = HistoryEntry(at, who, "deleted", str(case.status), str(CaseStatus.DELETED), reason)
    return Case(
        reference=case.reference,
        created_at=case.created_at,
        reporter=Person(case.reporter.platform, "", ""),
        conversation_id="",
        answers={},
        status=CaseStatus.DELETED,
        status_times={str(CaseStatus.DELETED): at},
        history=[entry],
        retention_category=case.retention_category,
    )

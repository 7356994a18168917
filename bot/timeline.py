"""A case's timeline: when it reached each stage, how long the steps took, and its history
worded for people.

Pure: a case in, times and rows out. The figures across cases are `bot.stats`; the CSV and
the printable report (`bot.export_csv`, `bot.case_report`) show what this module works out.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot import lifecycle, localtime
from bot.facts import DEFAULT_FACTS, Facts
from bot.model import Case, CaseStatus, HistoryEntry
from bot.steps import Step

S = CaseStatus

# The stages a case passes through, in order, as export columns and timeline rows.
STAGES: tuple[tuple[str, str], ...] = (
    ("created", "Reported to the school"),
    (S.REPORTED_IN_APP, "Reported in the TikTok app"),
    (S.SENT_TO_POSH, "Sent to POSH"),
    (S.WITH_TIKTOK, "With TikTok via POSH"),
    (S.REMOVED, "Removed"),
    (S.REFUSED, "Refused by TikTok"),
    (S.CLOSED, "Closed"),
    (S.DELETED, "Deleted"),
)

ACTION_LABELS = {
    "reported": "Reported",
    "assigned": "Contacting POSH",
    "note": "Note",
    "linked_report": "Another report of the same account",
    "deleted": "Deleted",
    "urgent": "Urgent alert to leaders",
    "flagged": "Flagged",
    "report_cancelled": "Report cancelled before it was finished",
    "report_expired": "Report left unfinished",
    "report_restarted": "Report abandoned for a new one",
    "reporter_images": "The reporter wrote of a child's sexual images",
    "reporter_hand_back": "The reporter asked leaders to contact POSH",
    "reporter_update": "News from the reporter",
    "reporter_danger": "The reporter wrote that someone may be in danger",
} | {verb: move.label for verb, move in lifecycle.MOVES.items() if verb != "assign"}


def duration_text(span: timedelta) -> str:
    """'3 days 4 h', '2 h 5 min', '40 min'; under a minute is 'under 1 min'."""
    minutes = int(span.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} day{'s' if days != 1 else ''}" + (f" {hours} h" if hours else "")
    if hours:
        return f"{hours} h" + (f" {mins} min" if mins else "")
    return f"{mins} min" if mins else "under 1 min"


def _stage_of(entry: HistoryEntry) -> str:
    """The stage a history entry moved the case to, or '' for notes and assignments."""
    if entry.action == "reported":
        return "created"
    if entry.action == "deleted":
        return str(S.DELETED)
    move = lifecycle.MOVES.get(entry.action)
    return str(move.to) if move and move.to else ""


def milestones(case: Case) -> dict[str, datetime]:
    """When the case first reached each stage.

    First, not latest: a reopened case keeps the evidence of when TikTok was first told and
    first acted (its history holds the rest). The engine back-dates "reported in the app" to
    the day staff gave, so that stage takes the earlier of the two records.
    """
    times: dict[str, datetime] = {"created": case.created_at}
    for entry in case.history:
        stage = _stage_of(entry)
        if stage and stage not in times:
            times[stage] = entry.at
    for stage, at in case.status_times.items():
        if stage == S.NEW:
            continue  # "new" is rewritten by a reopen; created_at is the report
        if stage not in times or (stage == S.REPORTED_IN_APP and at < times[stage]):
            times[stage] = at
    return times


def in_app_day(case: Case, times: dict[str, datetime]) -> date | None:
    """The day staff said they reported it in the app, when only the day is known.

    The engine back-dates that stage to midnight of the day given; showing "00:00" (or
    "01:00" in summer) would claim a precision the record does not have.
    """
    at = times.get(S.REPORTED_IN_APP)
    if at is None or case.status_times.get(S.REPORTED_IN_APP) != at:
        return None
    if any(h.at == at and _stage_of(h) == S.REPORTED_IN_APP for h in case.history):
        return None  # recorded as it happened, so the time is real
    with suppress(ValueError):
        return date.fromisoformat(str(case.answers.get(Step.IN_APP_WHEN, "")))
    return at.date()


IN_APP_DAY_UNKNOWN = "reported in the app; staff did not know the day"  # its move's note


def in_app_day_unknown(case: Case) -> bool:
    """Staff said it was reported in the app but not when (`bot.filing`): no record gives it
    a day."""
    first = next((h for h in case.history if h.action == "in_app"), None)
    return first is not None and first.note == IN_APP_DAY_UNKNOWN


def report_started(times: dict[str, datetime]) -> datetime:
    """The first report: to the school, or in the app if staff reported it there first."""
    in_app = times.get(S.REPORTED_IN_APP)
    return min(times["created"], in_app) if in_app else times["created"]


def _span(start: datetime | None, end: datetime | None) -> timedelta | None:
    """A duration, or None when either end is missing or they are out of order."""
    if start is None or end is None or end < start:
        return None
    return end - start


def to_posh(times: dict[str, datetime]) -> timedelta | None:
    return _span(report_started(times), times.get(S.SENT_TO_POSH))


def posh_to_removal(times: dict[str, datetime]) -> timedelta | None:
    return _span(times.get(S.SENT_TO_POSH), times.get(S.REMOVED))


def report_to_removal(times: dict[str, datetime]) -> timedelta | None:
    return _span(report_started(times), times.get(S.REMOVED))


def timeline(case: Case, facts: Facts = DEFAULT_FACTS) -> list[tuple[str, str]]:
    """(stage, when) for each stage reached, then the durations leaders are asked for."""
    times = milestones(case)
    day = in_app_day(case, times)
    unknown = in_app_day_unknown(case)
    rows = [
        (label, _when_reached(stage, times, day, unknown, facts))
        for stage, label in STAGES
        if stage in times
    ]
    reopened = [h.at for h in case.history if h.action == "reopen"]
    if reopened:  # the stages are each first reached; a reopen is said, with its time
        rows.append(("Reopened", localtime.local(reopened[-1], facts)))
    for label, span in (
        ("Report to POSH", to_posh(times)),
        ("POSH to removal", posh_to_removal(times)),
        ("Report to removal", report_to_removal(times)),
    ):
        if span is not None:
            rows.append((label, duration_text(span)))
    return rows


def _when_reached(
    stage: str, times: dict[str, datetime], day: date | None, unknown: bool, facts: Facts
) -> str:
    if stage == S.REPORTED_IN_APP and unknown:
        by = localtime.moment(times[stage], facts).date()
        return f"day not known (by {localtime.day_text(by, weekday=True)})"
    if stage == S.REPORTED_IN_APP and day:
        return f"{localtime.day_text(day, weekday=True)} (the day staff gave)"
    return localtime.local(times[stage], facts)


# --- the history, worded for people ------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One history entry, worded for people."""

    at: datetime
    who: str
    action: str
    change: str
    note: str


def _state(value: str) -> str:
    """A stored status as its label; anything else (an assignee's name) as it is."""
    try:
        return lifecycle.STATUS_LABELS[CaseStatus(value)]
    except ValueError:
        return value


# What an urgent alert or a flag was raised for, in words (stored as the flags' codes).
FLAG_WORDS = {
    "danger": "someone may be in immediate danger",
    "sexual_images": "possible sexual images of someone under 18",
    "pupils_targeted": "pupils targeted",
}
_FLAGGING = frozenset({"urgent", "flagged"})


def _flagged(h: HistoryEntry) -> str:
    """ "Urgent alert to leaders: possible sexual images of someone under 18", not its codes."""
    codes = [c.strip() for c in h.new.split(",") if c.strip()]
    words = " and ".join(FLAG_WORDS.get(c, c) for c in codes)
    return ACTION_LABELS[h.action] + (f": {words}" if words else "")


def history_rows(case: Case) -> list[Row]:
    rows = []
    for h in case.history:
        if h.action in _FLAGGING:
            rows.append(Row(h.at, h.who, _flagged(h), "", h.note))
            continue
        if h.action == "linked_report":
            change = f"→ {h.new}"
        elif h.old or h.new:
            change = f"{_state(h.old) or '–'} → {_state(h.new) or '–'}"
        else:
            change = ""
        rows.append(Row(h.at, h.who, ACTION_LABELS.get(h.action, h.action), change, h.note))
    return rows

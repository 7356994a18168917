"""Every case as one CSV row, for a spreadsheet: `reportbot export`.

Times are the school's ('YYYY-MM-DD HH:MM', so they sort); a deleted case keeps only its
reference, status and dates. Handles and names come from outside the school, so a cell a
spreadsheet would run as a formula is defused.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable

from bot import flow, lifecycle, localtime
from bot.facts import DEFAULT_FACTS, Facts
from bot.model import Case, CaseStatus
from bot.steps import Step
from bot.timeline import STAGES, in_app_day, in_app_day_unknown, milestones

CSV_COLUMNS = (
    "reference",
    "status",
    *(str(stage) for stage, _ in STAGES),
    "kinds_of_harm",
    "handles",
    "assignee",
    "extra_reports",
    "duplicate_of",
    "flags",
)

# A cell starting with one of these is run as a formula by spreadsheets (CSV injection);
# handles and names come from outside the school, so such cells get a leading apostrophe.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value


def harm_kinds(case: Case) -> list[str]:
    chosen = case.answers.get(Step.HARM) or []
    return [flow.label(flow.HARM_KINDS, k) for k in (chosen if isinstance(chosen, list) else [])]


def csv_row(case: Case, facts: Facts = DEFAULT_FACTS) -> dict[str, str]:
    times = milestones(case)
    row = {str(stage): localtime.stamp(times.get(stage), facts) for stage, _ in STAGES}
    day = in_app_day(case, times)
    if day:
        row[CaseStatus.REPORTED_IN_APP] = day.isoformat()  # a day, not a moment
    if in_app_day_unknown(case):
        row[CaseStatus.REPORTED_IN_APP] = "day not known"
    row |= {"reference": case.reference, "status": lifecycle.STATUS_LABELS[case.status]}
    if case.status != CaseStatus.DELETED:
        row |= {
            "kinds_of_harm": "; ".join(harm_kinds(case)),
            # Bare handles: a cell starting "@" is a formula to some spreadsheets.
            "handles": "; ".join(case.handles),
            "assignee": case.assignee,
            "extra_reports": str(case.extra_reports),
            "duplicate_of": case.duplicate_of,
            "flags": "; ".join(sorted(str(f) for f in case.flags)),
        }
    return {k: _cell(v) for k, v in row.items()}


def export_csv(cases: Iterable[Case], facts: Facts = DEFAULT_FACTS) -> str:
    """Every case, one row each, in the school's time; a deleted case keeps only its
    reference, status and dates."""
    return csv_header() + csv_rows(cases, facts)


def csv_header() -> str:
    return _written(lambda writer: writer.writeheader())


def csv_rows(cases: Iterable[Case], facts: Facts = DEFAULT_FACTS) -> str:
    """The rows alone, so a file can be written a page of cases at a time."""
    return _written(lambda writer: writer.writerows(csv_row(case, facts) for case in cases))


def _written(write: Callable[[csv.DictWriter[str]], object]) -> str:
    buffer = io.StringIO()
    write(csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, restval=""))
    return buffer.getvalue()

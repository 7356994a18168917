"""The figures leaders take to governors and unions: reports by month and by kind of harm,
how long POSH and TikTok took, refusals, and accounts reported more than once.

Pure: cases in, a `Stats` out, and `format_stats` turns it into a plain-text table. Deleted
cases (tombstones) hold no content, so they are counted but not measured.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from bot import flow, localtime
from bot.facts import DEFAULT_FACTS, Facts
from bot.flow import Step
from bot.model import Case, CaseStatus
from bot.timeline import (
    duration_text,
    milestones,
    posh_to_removal,
    report_to_removal,
    to_posh,
)

Progress = Callable[[int, int], None]
"""Told (cases done, cases in all) as the work goes, so a long run shows it is alive."""

PROGRESS_EVERY = 250
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class Durations:
    """How long a step took across the cases that have both ends of it."""

    count: int = 0
    median: timedelta | None = None
    longest: timedelta | None = None
    longest_case: str = ""


@dataclass(frozen=True)
class Stats:
    reports: int
    deleted: int
    open: int
    linked: int
    by_month: tuple[tuple[str, int], ...]
    """('2026-11', reports) in date order, by the month reported (UK time)."""
    by_kind: tuple[tuple[str, int], ...]
    to_posh: Durations
    posh_to_removal: Durations
    report_to_removal: Durations
    removed: int
    """Cases whose content was removed and that are not open again."""
    refused: int
    reopened: int
    """Cases open again after an outcome (removed or refused): the content came back, say."""
    no_violation_in_app: int
    repeat_accounts: tuple[tuple[str, int], ...]
    """(@handle, cases that name it) for accounts named in more than one case."""


def _durations(spans: list[tuple[timedelta, str]]) -> Durations:
    if not spans:
        return Durations()
    seconds = statistics.median(s.total_seconds() for s, _ in spans)
    longest, ref = max(spans, key=lambda x: (x[0], x[1]))
    return Durations(len(spans), timedelta(seconds=seconds), longest, ref)


def _kinds(counts: Counter[str]) -> tuple[tuple[str, int], ...]:
    # Most reported first; ties in the order the report asks about them.
    order = {c.value: n for n, c in enumerate(flow.HARM_KINDS)}
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], order.get(kv[0], 99), kv[0]))
    return tuple((flow.label(flow.HARM_KINDS, k), n) for k, n in ranked)


def _is_account(handle: str) -> bool:
    # A link without an @handle (a short link, say) names no account to compare.
    return not handle.startswith("http")


def compute_stats(
    cases: Sequence[Case], progress: Progress | None = None, facts: Facts = DEFAULT_FACTS
) -> Stats:
    """The figures for `reportbot stats`; `progress` is told how far it has got."""
    tally = Tally(facts)
    for n, case in enumerate(cases, start=1):
        if progress and n % PROGRESS_EVERY == 0:
            progress(n, len(cases))
        tally.add(case)
    if progress:
        progress(len(cases), len(cases))
    return tally.stats()


class Tally:
    """The figures, counted a case at a time: a caller reading a page of cases at a time
    (`Store.case_pages`) keeps none of them once counted."""

    def __init__(self, facts: Facts = DEFAULT_FACTS) -> None:
        self.facts = facts
        self.months: Counter[str] = Counter()
        self.kinds: Counter[str] = Counter()
        self.accounts: Counter[str] = Counter()
        self.spans: dict[str, list[tuple[timedelta, str]]] = {
            "posh": [],
            "removal": [],
            "total": [],
        }
        self.cases = self.deleted = self.opened = self.linked = 0
        self.removed = self.refused = self.reopened = self.no_violation = 0

    def add(self, case: Case) -> None:
        self.cases += 1
        if case.status == CaseStatus.DELETED:
            self.deleted += 1
            return
        self.months[f"{localtime.moment(case.created_at, self.facts):%Y-%m}"] += 1
        chosen = case.answers.get(Step.HARM) or []
        self.kinds.update(dict.fromkeys(chosen if isinstance(chosen, list) else [], 1))
        self.accounts.update({h.casefold() for h in case.handles if _is_account(h)})
        self.opened += case.is_open
        self.linked += bool(case.duplicate_of)
        self.no_violation += case.answers.get(Step.IN_APP_REPLY) == "no_violation"
        times = milestones(case)
        outcome = CaseStatus.REMOVED in times or CaseStatus.REFUSED in times
        self.reopened += outcome and case.is_open  # counted here, not as its first outcome
        self.removed += CaseStatus.REMOVED in times and not case.is_open
        self.refused += CaseStatus.REFUSED in times and not case.is_open
        for key, span in (
            ("posh", to_posh(times)),
            ("removal", posh_to_removal(times)),
            ("total", report_to_removal(times)),
        ):
            if span is not None:
                self.spans[key].append((span, case.reference))

    def stats(self) -> Stats:
        repeats = sorted(
            ((f"@{h}", k) for h, k in self.accounts.items() if k > 1), key=lambda x: (-x[1], x[0])
        )
        return Stats(
            reports=self.cases - self.deleted,
            deleted=self.deleted,
            open=self.opened,
            linked=self.linked,
            by_month=tuple(sorted(self.months.items())),
            by_kind=_kinds(self.kinds),
            to_posh=_durations(self.spans["posh"]),
            posh_to_removal=_durations(self.spans["removal"]),
            report_to_removal=_durations(self.spans["total"]),
            removed=self.removed,
            refused=self.refused,
            reopened=self.reopened,
            no_violation_in_app=self.no_violation,
            repeat_accounts=tuple(repeats),
        )


# --- the printed table -------------------------------------------------------------------------


def _month(key: str) -> str:
    year, month = key.split("-")
    return f"{MONTHS[int(month) - 1]} {year}"


def _table(title: str, rows: Sequence[tuple[str, str]], empty: str) -> list[str]:
    if not rows:
        return [title, f"  {empty}", ""]
    width = max(len(k) for k, _ in rows)
    return [title, *(f"  {k.ljust(width)}  {v.rjust(6)}" for k, v in rows), ""]


def _duration_rows(stats: Stats) -> list[str]:
    rows = [
        ("Report to POSH", stats.to_posh, "first report (school or app) to sent to POSH"),
        ("POSH to removal", stats.posh_to_removal, "sent to POSH to content removed"),
        ("Report to removal", stats.report_to_removal, "first report to content removed"),
    ]
    out = ["How long it took", "  " + "".ljust(18) + "cases   median          longest"]
    for label, d, meaning in rows:
        if d.count and d.median is not None and d.longest is not None:
            med, top = duration_text(d.median), f"{duration_text(d.longest)} ({d.longest_case})"
            out.append(f"  {label.ljust(18)}{str(d.count).rjust(5)}   {med.ljust(15)} {top}")
        else:
            out.append(f"  {label.ljust(18)}{'0'.rjust(5)}   –")
        out.append(f"  {'':18}        {meaning}")
    return [*out, ""]


def format_stats(stats: Stats) -> str:
    """The figures as a plain-text table for the terminal."""
    head = f"TikTok reports: {stats.reports} ({stats.open} open"
    head += f", {stats.linked} further reports of an account already reported)"
    out = [head]
    if stats.deleted:
        out.append(f"{stats.deleted} deleted case(s) hold no details and are not counted below.")
    out.append("")
    months = [(_month(k), str(n)) for k, n in stats.by_month]
    out += _table("Reports by month (UK time)", months, "None yet.")
    out += _table(
        "Kinds of harm (a report can name several)",
        [(k, str(n)) for k, n in stats.by_kind],
        "None yet.",
    )
    out += _duration_rows(stats)
    outcomes = [
        ("Content removed", str(stats.removed)),
        ("Refused by TikTok (via POSH)", str(stats.refused)),
        ("Open again after an outcome (reopened)", str(stats.reopened)),
        ("“No violation” from the in-app report", str(stats.no_violation_in_app)),
    ]
    out += _table("Outcomes (cases)", outcomes, "None yet.")
    repeats = [(h, f"{n} cases") for h, n in stats.repeat_accounts]
    out += _table("Accounts reported more than once", repeats, "None.")
    return "\n".join(out).rstrip() + "\n"

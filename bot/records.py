"""Leaders' records of a case: its timeline, the operator's changes, the CSV export and the
printable per-case report. (Subject access is `bot.subject_access`.)

Pure: cases in, strings and small dataclasses out. The `reportbot` commands in
`adapters/casework.py` load and save; every change to a case goes through `bot.lifecycle`, so
the history stays append-only (who, when, old → new, why). Statistics live in `bot.stats`,
retention and deletion in `bot.retention`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from html import escape
from zoneinfo import ZoneInfo

from bot import flow, lifecycle
from bot.errors import ReportBotError
from bot.facts import Facts
from bot.flow import Step
from bot.hours import hours_text
from bot.model import (
    Case,
    CaseStatus,
    HistoryEntry,
    OutboxItem,
    Platform,
)
from bot.outbox import card_update_item
from bot.report import build_handoff, contact_line
from bot.understand import clean
from bot.views import case_view

UK = ZoneInfo("Europe/London")
S = CaseStatus

# Moves a terminal operator makes with `cases move` (assigning has its own command).
OPERATOR_VERBS = ("in_app", "sent", "with_tiktok", "removed", "refused", "close", "reopen")
# A refusal, a closure or a reopening is a decision: KCSIE asks for its reason in writing.
REASON_NEEDED = frozenset({"refused", "close", "reopen"}) | {
    v for v, m in lifecycle.MOVES.items() if m.needs_reason
}
MAX_NOTE = 1500

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
} | {verb: move.label for verb, move in lifecycle.MOVES.items() if verb != "assign"}


class CaseworkError(ReportBotError):
    """An operator's request the records cannot carry out; the message says what to do."""


# --- times -------------------------------------------------------------------------------------


def uk(when: datetime) -> str:
    """A moment in UK time, as people read it: 'Wed 25 Nov 2026, 11:00'."""
    return f"{when.astimezone(UK):%a %d %b %Y, %H:%M}"


def uk_stamp(when: datetime | None) -> str:
    """A moment in UK time that spreadsheets sort and read: '2026-11-25 11:00'."""
    return f"{when.astimezone(UK):%Y-%m-%d %H:%M}" if when else ""


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


# --- the operator's changes --------------------------------------------------------------------


def _not_deleted(case: Case) -> None:
    if case.status == S.DELETED:
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


# --- reading a case ----------------------------------------------------------------------------


def _state(value: str) -> str:
    """A stored status as its label; anything else (an assignee's name) as it is."""
    try:
        return lifecycle.STATUS_LABELS[CaseStatus(value)]
    except ValueError:
        return value


@dataclass(frozen=True)
class Row:
    """One history entry, worded for people."""

    at: datetime
    who: str
    action: str
    change: str
    note: str


def history_rows(case: Case) -> list[Row]:
    rows = []
    for h in case.history:
        if h.action == "linked_report":
            change = f"→ {h.new}"
        elif h.old or h.new:
            change = f"{_state(h.old) or '–'} → {_state(h.new) or '–'}"
        else:
            change = ""
        rows.append(Row(h.at, h.who, ACTION_LABELS.get(h.action, h.action), change, h.note))
    return rows


def timeline(case: Case) -> list[tuple[str, str]]:
    """(stage, when) for each stage reached, then the durations leaders are asked for."""
    times = milestones(case)
    day = in_app_day(case, times)
    rows = [
        (label, f"{day:%a %d %b %Y} (the day staff gave)")
        if stage == S.REPORTED_IN_APP and day
        else (label, uk(times[stage]))
        for stage, label in STAGES
        if stage in times
    ]
    for label, span in (
        ("Report to POSH", to_posh(times)),
        ("POSH to removal", posh_to_removal(times)),
        ("Report to removal", report_to_removal(times)),
    ):
        if span is not None:
            rows.append((label, duration_text(span)))
    return rows


def case_text(case: Case, facts: Facts, now: datetime, retention: str = "") -> str:
    """`reportbot cases show`: the case, its timeline and its whole history, as plain text."""
    out = [f"TikTok report {case.reference}"]
    if case.status == S.DELETED:
        out.append(_DELETED_TEXT)
    else:
        view = case_view(case, facts, now)
        out += [f"Status: {view.status_line}", ""]
        out += [f"{k}: {_indent(v)}" for k, v in view.lines]
        if case.handles:
            out.append(f"Accounts: {', '.join(_handle(h) for h in case.handles)}")
        if case.duplicate_of:
            out.append(f"Same account as: {case.duplicate_of}")
    out += ["", "Timeline (UK time):"]
    out += [f"  {k}: {v}" for k, v in timeline(case)]
    if retention and case.status != S.DELETED:
        out += ["", f"Retention: {retention}"]
    out += ["", "History (UK time):"]
    for r in history_rows(case):
        line = f"  {uk(r.at)}  {r.who}: {r.action}" + (f" ({r.change})" if r.change else "")
        out.append(line + (f" – “{_indent(r.note, 4)}”" if r.note else ""))
    if case.is_open:
        verbs = ", ".join(m.verb for m in lifecycle.MOVES.values() if case.status in m.sources)
        out += ["", f"Next: reportbot cases move {case.reference} VERB (one of: {verbs})"]
    return "\n".join(out)


_DELETED_TEXT = (
    "Deleted. Only its reference, the date it was reported and the record of its deletion are kept."
)


def _indent(text: str, spaces: int = 2) -> str:
    return text.replace("\n", "\n" + " " * spaces)


def _handle(h: str) -> str:
    return h if h.startswith("http") else f"@{h}"


def harm_kinds(case: Case) -> list[str]:
    chosen = case.answers.get(Step.HARM) or []
    return [flow.label(flow.HARM_KINDS, k) for k in (chosen if isinstance(chosen, list) else [])]


# --- the CSV export ----------------------------------------------------------------------------

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


def csv_row(case: Case) -> dict[str, str]:
    times = milestones(case)
    row = {str(stage): uk_stamp(times.get(stage)) for stage, _ in STAGES}
    day = in_app_day(case, times)
    if day:
        row[S.REPORTED_IN_APP] = day.isoformat()  # a day, not a moment
    row |= {"reference": case.reference, "status": lifecycle.STATUS_LABELS[case.status]}
    if case.status != S.DELETED:
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


def export_csv(cases: Iterable[Case]) -> str:
    """Every case, one row each, times in UK time ('YYYY-MM-DD HH:MM'); a deleted case keeps
    only its reference, status and dates."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, restval="")
    writer.writeheader()
    for case in cases:
        writer.writerow(csv_row(case))
    return buffer.getvalue()


# --- the printable case report (HTML) ----------------------------------------------------------

_CSS = """
body { font: 11pt/1.45 Arial, Helvetica, sans-serif; color: #111;
  max-width: 60em; margin: 2em auto; }
h1 { font-size: 18pt; margin: 0 0 .2em; } h2 { font-size: 13pt; margin: 1.4em 0 .4em; }
.mark { border: 2px solid #111; padding: .3em .6em; font-weight: bold; display: inline-block; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #888; padding: .3em .5em; text-align: left; vertical-align: top;
  white-space: pre-wrap; overflow-wrap: anywhere; }
th { background: #eee; } table.kv th { width: 30%; }
pre { white-space: pre-wrap; border: 1px solid #888; padding: .6em; font-size: 10pt; }
.small { color: #444; font-size: 9pt; }
@page { size: A4; margin: 18mm 15mm; }
@media print { body { margin: 0; max-width: none; } tr, pre { break-inside: avoid; }
  h2 { break-after: avoid; } thead { display: table-header-group; } }
"""

# Defence in depth: the page runs nothing and loads nothing, even if a value escaped escaping.
_CSP = "default-src 'none'; style-src 'unsafe-inline'"


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _kv_table(rows: Iterable[tuple[str, str]]) -> str:
    body = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows)
    return f'<table class="kv">{body}</table>'


def _history_table(case: Case) -> str:
    head = "".join(f"<th>{h}</th>" for h in ("When (UK time)", "Who", "Action", "Change", "Reason"))
    rows = "".join(
        f"<tr><td>{_e(uk(r.at))}</td><td>{_e(r.who)}</td><td>{_e(r.action)}</td>"
        f"<td>{_e(r.change)}</td><td>{_e(r.note)}</td></tr>"
        for r in history_rows(case)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def _html_sections(case: Case, facts: Facts, now: datetime) -> list[str]:
    if case.status == S.DELETED:
        return [f"<p>{_e(_DELETED_TEXT)}</p>"]
    view = case_view(case, facts, now)
    h = build_handoff(case, facts, now)
    details = [("Status", view.status_line), ("Reported by", contact_line(case))]
    details += [(k, v) for k, v in view.lines if k not in ("Reported by", "Reported")]
    if case.handles:
        details.append(("Accounts", "\n".join(_handle(x) for x in case.handles)))
    if case.duplicate_of:
        details.append(("Same account as", case.duplicate_of))
    posh = [
        ("Helpline", facts.posh_name),
        ("Phone", h.phone),
        ("Email", h.email),
        ("Hours", hours_text(facts)),
        ("Email subject", h.subject),
        ("Have ready", "\n".join(f"• {c}" for c in h.checklist)),
    ]
    if h.safety:
        posh.append(("Safety first", "\n".join(h.safety)))
    return [
        "<h2>Summary</h2>",
        _kv_table(details),
        "<h2>Handoff to POSH</h2>",
        _kv_table(posh),
        "<p>The report as written for POSH:</p>",
        f"<pre>{_e(h.body)}</pre>",
    ]


def case_html(case: Case, facts: Facts, now: datetime) -> str:
    """A self-contained, printable report of one case for governors, a union or the police.

    Every value is HTML-escaped: names, handles and notes come from outside the school.
    """
    title = f"TikTok report {case.reference} – {facts.school_name}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en-GB"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
        '<meta name="referrer" content="no-referrer">',
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>",
        '<p class="mark">CONFIDENTIAL – safeguarding record. '
        "Share only with those who need it.</p>",
        f"<h1>{_e(title)}</h1>",
        f'<p class="small">Printed {_e(uk(now))} (UK time) from the school\'s report records.</p>',
        *_html_sections(case, facts, now),
        "<h2>Timeline (UK time)</h2>",
        _kv_table(timeline(case)),
        "<h2>History</h2>",
        _history_table(case),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"

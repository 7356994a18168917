"""Read-only views of cases that every front end renders in its own way."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from zoneinfo import ZoneInfo

from bot import lifecycle
from bot.facts import Facts
from bot.model import Case, CaseStatus, Choice, Handoff
from bot.report import build_handoff, contact_line, summary_lines


@dataclass(frozen=True)
class CaseView:
    reference: str
    title: str
    status: str
    status_line: str
    lines: tuple[tuple[str, str], ...]
    handoff: Handoff
    actions: tuple[Choice, ...]
    alert: str
    """A content-free line, for a channel that must not see case details."""


def local(when: datetime, facts: Facts) -> str:
    return f"{when.astimezone(ZoneInfo(facts.posh_timezone)):%a %d %b %Y, %H:%M}"


def case_view(case: Case, facts: Facts, now: datetime) -> CaseView:
    today = now.astimezone(ZoneInfo(facts.posh_timezone)).date()
    status = lifecycle.STATUS_LABELS[case.status]
    # The last decision, not the last touch: a view or a note does not change the status.
    moves = [h for h in case.history if h.action not in ("viewed", "note", "linked_report")]
    last = moves[-1] if moves else None
    line = f"{status}" + (f" – {last.who}, {local(last.at, facts)}" if last else "")
    if case.assignee and case.is_open:
        line += f". Contacting POSH: {case.assignee}"
    if case.extra_reports:
        line += f". +{case.extra_reports} more report{'s' if case.extra_reports > 1 else ''}"
    lines = [
        ("Reported by", contact_line(case)),
        ("Reported", local(case.created_at, facts)),
        *summary_lines(case.answers, case.flags, today),
    ]
    actions = tuple(
        Choice(f"case:{m.verb}:{case.reference}", m.label) for m in lifecycle.available(case)
    )
    return CaseView(
        reference=case.reference,
        title=f"TikTok report {case.reference}",
        status=str(case.status),
        status_line=line,
        lines=tuple(lines),
        handoff=build_handoff(case, facts, now),
        actions=actions,
        alert=(
            f"New TikTok report {case.reference}. Details are kept out of this channel "
            "because it is not private: ask the bot for “cases” in a direct message."
        ),
    )


def minimal_text(reference: str) -> str:
    """The fallback a leadership post can always show: no details, only where to read them."""
    return (
        f"TikTok report {reference}: its details could not be shown here. To read it, send "
        f"“show {reference}” to the bot in a direct message, or run “reportbot cases show "
        f"{reference}” on the computer that runs the bot."
    )


def minimal_view(view: CaseView) -> CaseView:
    """The view with its content-free line saying where to read the case."""
    return replace(view, alert=minimal_text(view.reference))


def case_line(case: Case, facts: Facts) -> str:
    """One line per case for lists: reference, status, first account, date."""
    first = case.handles[0] if case.handles else "no link"
    label = f"@{first}" if case.handles and not first.startswith("http") else first
    status = lifecycle.STATUS_LABELS[case.status]
    if case.status == CaseStatus.DELETED:
        return f"{case.reference} – deleted"
    extra = f", +{case.extra_reports}" if case.extra_reports else ""
    return f"{case.reference} – {status}{extra} – {label} – {local(case.created_at, facts)}"

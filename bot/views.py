"""Read-only views of cases that every front end renders in its own way.

The `Resolved` replies at the end are what a sender receives: the courier (bot.delivery) looks
up everything a reply refers to before any platform code runs, so a sender needs no store,
no clock and no facts.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from bot import lifecycle
from bot.case_words import SAID_IN
from bot.facts import Facts
from bot.localtime import local
from bot.model import (
    WITH_POSH,
    Case,
    CaseList,
    CaseStatus,
    Choice,
    Flag,
    Handoff,
    HistoryEntry,
    Notice,
    PoshOwner,
    Question,
)
from bot.report import (
    build_handoff,
    contact_line,
    contact_text,
    reporter_name,
    summary_lines,
    web_addresses,
)
from bot.steps import Step
from bot.timeline import milestones
from bot.understand import trim


@dataclass(frozen=True)
class CaseView:
    reference: str
    title: str
    status: str
    status_line: str
    lines: tuple[tuple[str, str], ...]
    handoff: Handoff | None
    """None for an urgent report still being made: the post stays content-minimal."""
    actions: tuple[Choice, ...]
    alert: str
    """A content-free line, for a channel that must not see case details."""
    reporter_id: str = ""
    """The reporter's platform user id, for a front end that can mention them."""
    urgent: bool = False


def case_view(case: Case, facts: Facts, now: datetime) -> CaseView:
    if case.status == CaseStatus.REPORTING:
        return _urgent_view(case, facts)
    lines = [
        ("Reported by", contact_line(case)),
        ("Reported", local(case.created_at, facts)),
        *summary_lines(case.answers, case.flags, facts, leaders=True),
    ]
    latest = _latest_addition(case, facts)
    if latest:
        lines.append(("Latest report of this account", latest))
    urgent = case.is_open and bool(case.flags & URGENT_TEXT.keys())
    return CaseView(
        reference=case.reference,
        title=("URGENT – " if urgent else "") + f"TikTok report {case.reference}",
        status=str(case.status),
        status_line=_status_line(case, facts),
        lines=tuple(lines),
        handoff=build_handoff(case, facts, now),
        actions=_actions(case),
        alert=(
            f"New TikTok report {case.reference}. Details are kept out of this channel "
            "because it is not private: ask the bot for “cases” in a direct message."
        ),
        reporter_id=case.reporter.user_id,
    )


_ENDED_HOW = {
    "report_cancelled": "cancelled it",
    "report_restarted": "started a new report instead",
}


def _urgent_view(case: Case, facts: Facts) -> CaseView:
    """Content-minimal: who, what was flagged, what to do now. The report itself follows."""
    flags = " ".join(URGENT_TEXT[f] for f in sorted(case.flags) if f in URGENT_TEXT)
    name = _reporter(case)
    ended = _ended(case)
    if ended is None:
        todo = f"Contact {name} now. Their full report will follow here when they finish it."
    else:
        how = _ENDED_HOW.get(ended.action, "did not finish it")
        todo = f"{_reporter(case, start=True)} {how} ({local(ended.at, facts)}). Contact them now."
    links = web_addresses(case.answers.get(Step.LINKS) or [])
    contact = contact_text(case.answers.get(Step.CONTACT))
    said = [  # the reporter's words that raised it, not a leader's note
        h.note
        for h in case.history
        if h.action in ("urgent", "flagged") and h.note and not h.note.startswith(SAID_IN)
    ]
    lines = (
        ("Flagged", flags),
        ("Reporting", f"{_reporter(case, start=True)}, {local(case.created_at, facts)}"),
        *((("Their contact details", contact),) if contact else ()),
        # What raised it, in their words: what the threat is, which account holds the images.
        *((("What they said", "\n".join(f"“{n}”" for n in said)),) if said else ()),
        # Leaders act on the link (the IWF takes it), so it is here as soon as it is given.
        ("TikTok links", "\n".join(links) if links else "not given yet"),
        ("What to do", todo),
    )
    flagged = flags[:1].lower() + flags[1:].rstrip(".")  # "someone may be …. It may include …"
    being = "An unfinished report" if ended else "A report being made"
    by = "" if ended and not _reporter_known(case) else _by(case)
    return CaseView(
        reference=case.reference,
        title=f"URGENT – TikTok report {case.reference}",
        status=str(case.status),
        status_line=f"{being} {by}flags {flagged}",
        lines=lines,
        handoff=None,
        actions=_actions(case),
        alert=(
            f"URGENT: TikTok report {case.reference} flags a safety concern. Details are kept "
            "out of this channel because it is not private: ask the bot for “cases” in a "
            "direct message, and contact the reporter now."
        ),
        reporter_id=case.reporter.user_id,
        urgent=True,
    )


def _ended(case: Case) -> HistoryEntry | None:
    """How an urgent report being made ended unfinished (cancelled, left, replaced), if it did."""
    return next((h for h in reversed(case.history) if h.action.startswith("report_")), None)


def _reporter(case: Case, *, start: bool = False) -> str:
    """The reporter's name; before they have given one (the terminal has none), who they are."""
    known = str(case.answers.get("name") or case.reporter.name)
    return known or ("The" if start else "the") + " person making this report"


def _reporter_known(case: Case) -> bool:
    return bool(case.answers.get("name") or case.reporter.name)


def _by(case: Case) -> str:
    known = case.answers.get("name") or case.reporter.name
    return f"by {known} " if known else "now "


URGENT_TEXT = {
    Flag.DANGER: "Someone may be in immediate danger.",
    Flag.SEXUAL_IMAGES: "It may include sexual images of someone under 18.",
}


NOTE_SHOWN = 200  # characters of a decision's note on the card; the case holds all of it


def _status_line(case: Case, facts: Facts) -> str:
    status = lifecycle.STATUS_LABELS[case.status]
    # The last decision, not the last touch: a view or a note does not change the status.
    moves = [h for h in case.history if h.action in lifecycle.MOVES or h.action == "reported"]
    last = moves[-1] if moves else None
    line = f"{status}" + (f" – {last.who}, {local(last.at, facts)}" if last else "")
    if last and last.note and last.action in lifecycle.MOVES:  # "rang them, they said 48 hours"
        kept = trim(last.note, NOTE_SHOWN)
        line += f": “{kept.text}{'…' if kept.dropped else ''}”"
    if case.is_open:
        line += f". Contacting POSH: {posh_contact(case)}"
    if case.extra_reports:
        line += f". +{case.extra_reports} more report{'s' if case.extra_reports > 1 else ''}"
    return line


def posh_contact(case: Case) -> str:
    """Who contacts POSH, as both sides see it."""
    if case.assignee:
        return case.assignee
    if case.posh_owner == PoshOwner.REPORTER:
        return f"the reporter, {reporter_name(case)}"
    return "the leadership team – nobody has taken it on yet"


def _latest_addition(case: Case, facts: Facts) -> str:
    linked = [h for h in case.history if h.action == "linked_report"]
    if not linked:
        return ""
    last = linked[-1]
    added = f"{last.new}, {local(last.at, facts)}. {last.note}".strip()
    sent = milestones(case).get(CaseStatus.SENT_TO_POSH)
    if case.status in WITH_POSH and sent is not None and last.at >= sent:
        added += (
            f" It came after the case went to POSH: pass on what is new, quoting {case.reference}."
        )
    return added


def _actions(case: Case) -> tuple[Choice, ...]:
    return tuple(
        Choice(lifecycle.CaseAction(m.verb, case.reference).value, m.label)
        for m in lifecycle.available(case)
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


URGENT_WORDS = {Flag.DANGER: "danger", Flag.SEXUAL_IMAGES: "child images"}
"""Why a case is urgent, in a word or two, where a list line leads with URGENT."""


def _urgent_mark(case: Case) -> str:
    why = [URGENT_WORDS[f] for f in sorted(case.flags) if f in URGENT_WORDS]
    return f"URGENT ({', '.join(why)}) – " if why and case.is_open else ""


def case_line(case: Case, facts: Facts) -> str:
    """One line per case for lists: reference, status, first account, date; an open urgent
    case leads with URGENT and why, so it is not missed in a long list."""
    # An account names a case better than a short link does (handles sort links first).
    accounts = [h for h in case.handles if not h.startswith("http")]
    label = f"@{accounts[0]}" if accounts else case.handles[0] if case.handles else "no link"
    status = lifecycle.STATUS_LABELS[case.status]
    if case.status == CaseStatus.REPORTING and _ended(case):  # cancelled, left or replaced
        status = "Urgent – report not finished"
    if case.status == CaseStatus.DELETED:
        return f"{case.reference} – deleted"
    extra = f", +{case.extra_reports}" if case.extra_reports else ""
    when = local(case.created_at, facts)
    return f"{_urgent_mark(case)}{case.reference} – {status}{extra} – {label} – {when}"


# --- replies as senders receive them ------------------------------------------------------------


class CardForm(StrEnum):
    """How much of a case a card shows (bot.leadership decides, once for every platform)."""

    FULL = "full"
    MINIMAL = "minimal"  # the reference and where to read it: a refused full card's fallback
    ALERT = "alert"  # content-free: the leadership channel is not private


@dataclass(frozen=True)
class ResolvedHandoff:
    handoff: Handoff
    status: str
    """Whether the helpline is open now (bot.hours.status_text, at delivery)."""
    text: str
    """The whole handoff as plain text (bot.report.handoff_text)."""


@dataclass(frozen=True)
class ResolvedCard:
    """A case card with the case as it is when delivered."""

    view: CaseView
    status: str
    """Whether the helpline is open now, for the card's handoff part."""
    handoff_text: str = ""
    """The view's handoff as plain text ("" without one)."""
    form: CardForm = CardForm.FULL
    update: bool = False
    """It replaces a post made before (a front end may say "Updated")."""


@dataclass(frozen=True)
class ResolvedFile:
    """A leader's file, made from the store just now: its bytes are what the command line
    would write."""

    filename: str
    title: str
    content: bytes
    comment: str
    """The message that goes with it (what it is; keep it private)."""


@dataclass(frozen=True)
class ResolvedLink:
    """A leader's file as a single-use link on the bot's own address (bot.files)."""

    title: str
    token: str
    comment: str


Resolved = (
    Notice | Question | ResolvedHandoff | ResolvedCard | CaseList | ResolvedFile | ResolvedLink
)
"""Every reply a sender may be given: complete, nothing left to look up."""

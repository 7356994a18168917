"""One case as people read it: plain text for `reportbot cases show`, and a printable HTML
page for governors, a union or the police (`reportbot export --case`).

Pure: a case in, a string out. Every value in the page is HTML-escaped: names, handles and
notes come from outside the school.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from html import escape

from bot import lifecycle, localtime
from bot.facts import Facts
from bot.hours import hours_text
from bot.model import Case, CaseStatus
from bot.report import build_handoff, contact_line, handoff_text
from bot.timeline import history_rows, timeline
from bot.views import case_view

DELETED_TEXT = (
    "Deleted. Only its reference, the date it was reported and the record of its deletion are kept."
)


# --- as text -----------------------------------------------------------------------------------


def case_text(case: Case, facts: Facts, now: datetime, retention: str = "") -> str:
    """`reportbot cases show`: the case, its timeline and its whole history, as plain text."""
    out = [f"TikTok report {case.reference}"]
    if case.status == CaseStatus.DELETED:
        out.append(DELETED_TEXT)
    else:
        view = case_view(case, facts, now)
        out += [f"Status: {view.status_line}", ""]
        out += [f"{k}: {_indent(v)}" for k, v in view.lines]
        if case.handles:
            out.append(f"Accounts: {', '.join(_handle(h) for h in case.handles)}")
        if case.duplicate_of:
            out.append(f"Same account as: {case.duplicate_of}")
    out += ["", "Timeline (UK time):"]
    out += [f"  {k}: {v}" for k, v in timeline(case, facts)]
    if retention and case.status != CaseStatus.DELETED:
        out += ["", f"Retention: {retention}"]
    out += ["", "History (UK time):"]
    for r in history_rows(case):
        when = localtime.local(r.at, facts)
        line = f"  {when}  {r.who}: {r.action}" + (f" ({r.change})" if r.change else "")
        out.append(line + (f" – “{_indent(r.note, 4)}”" if r.note else ""))
    # Not with POSH yet: how to get it there (not while the urgent report is still being made)
    if case.status in lifecycle.MOVES["sent"].sources - {CaseStatus.REPORTING}:
        out += ["", handoff_text(build_handoff(case, facts, now), facts, now)]
    if case.is_open:
        # `cases move` takes the moves of status; taking a case on is `cases assign`'s.
        moves = [m for m in lifecycle.MOVES.values() if case.status in m.sources]
        verbs = ", ".join(m.verb for m in moves if m.to is not None)
        ref, assign = case.reference, any(m.to is None for m in moves)
        out += ["", f"Next: reportbot cases move {ref} VERB (one of: {verbs})"]
        out[-1] += f", or reportbot cases assign {ref} [--to NAME]" if assign else ""
    return "\n".join(out)


def _indent(text: str, spaces: int = 2) -> str:
    return text.replace("\n", "\n" + " " * spaces)


def _handle(h: str) -> str:
    return h if h.startswith("http") else f"@{h}"


# --- as a printable page (HTML) ----------------------------------------------------------------

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


def _history_table(case: Case, facts: Facts) -> str:
    head = "".join(f"<th>{h}</th>" for h in ("When (UK time)", "Who", "Action", "Change", "Reason"))
    rows = "".join(
        f"<tr><td>{_e(localtime.local(r.at, facts))}</td><td>{_e(r.who)}</td>"
        f"<td>{_e(r.action)}</td><td>{_e(r.change)}</td><td>{_e(r.note)}</td></tr>"
        for r in history_rows(case)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def _html_sections(case: Case, facts: Facts, now: datetime) -> list[str]:
    if case.status == CaseStatus.DELETED:
        return [f"<p>{_e(DELETED_TEXT)}</p>"]
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
    """A self-contained, printable report of one case for governors, a union or the police."""
    named = f" – {facts.school_name}" if facts.school_name else ""
    title = f"TikTok report {case.reference}{named}"
    printed = localtime.local(now, facts)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en-GB"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
        '<meta name="referrer" content="no-referrer">',
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>",
        '<p class="mark">CONFIDENTIAL – safeguarding record. '
        "Share only with those who need it.</p>",
        f"<h1>{_e(title)}</h1>",
        f'<p class="small">Printed {_e(printed)} (UK time) from the school\'s report records.</p>',
        *_html_sections(case, facts, now),
        "<h2>Timeline (UK time)</h2>",
        _kv_table(timeline(case, facts)),
        "<h2>History</h2>",
        _history_table(case, facts),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"

"""What a case says: the summary leaders read, the email POSH gets, and the handoff around it.

The handoff is one neutral object; its plain-text `body` is both the email and what the
terminal prints, so every front end hands POSH the same words.
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from datetime import date, datetime
from urllib.parse import quote
from zoneinfo import ZoneInfo

from bot import flow
from bot.facts import Facts, phone_uri
from bot.flow import Step
from bot.hours import hours_text, opening, status_text, when
from bot.model import JSON, Case, Flag, Handoff

FLAG_TEXT = {
    Flag.DANGER: "Staff said someone may be in immediate danger; they were told to call 999.",
    Flag.SEXUAL_IMAGES: (
        "Staff said it may include sexual images of someone under 18. They were told not to "
        "view, copy or keep them and to tell the DSL at once; please treat the web address "
        "only as evidence."
    ),
    Flag.PUPILS_TARGETED: "Pupils are targeted: staff were told to tell the DSL today.",
}


def active_answers(answers: JSON, flags: AbstractSet[Flag]) -> JSON:
    """Only the answers to steps that still apply (a changed answer can retire a follow-up)."""
    return {
        s.step: answers[s.step] for s in flow.FLOW if s.step in answers and s.when(answers, flags)
    }


def summary_lines(answers: JSON, flags: frozenset[Flag], today: date) -> list[tuple[str, str]]:
    a = active_answers(answers, flags)
    lines: list[tuple[str, str]] = []
    links = a.get(Step.LINKS) or []
    if links:
        lines.append(("TikTok links", "\n".join(str(x["url"] or x["label"]) for x in links)))
    if Step.NO_LINK in a:
        lines.append(("No link (deleted). The account", str(a[Step.NO_LINK])))
    harm = flow.label(flow.HARM_KINDS, a.get(Step.HARM, []))
    if Step.HARM_OTHER in a:
        harm += f" ({a[Step.HARM_OTHER]})"
    lines.append(("Kind of harm", harm))
    target = flow.label(flow.TARGETS, a.get(Step.TARGET, []))
    for step in (Step.TARGET_STAFF, Step.TARGET_OTHER):
        if step in a:
            target += f" – {a[step]}"
    lines.append(("Who is targeted", target))
    lines.append(("First seen", flow.day_text(a.get(Step.FIRST_SEEN, ""), today)))
    lines.append(("Reported in the TikTok app", _in_app(a, today)))
    if Step.EVIDENCE in a:
        lines.append(("Screenshots held", flow.label(flow.EVIDENCE_CHOICES, a[Step.EVIDENCE])))
    lines.append(("Who is behind it", flow.label(flow.POSTERS, a.get(Step.POSTER, ""))))
    if flags:
        lines.append(("Safeguarding", " ".join(FLAG_TEXT[f] for f in sorted(flags))))
    return lines


def lines_text(lines: list[tuple[str, str]]) -> str:
    """'Label: value' lines; a value of several lines becomes an indented list."""
    out: list[str] = []
    for label, value in lines:
        parts = value.split("\n")
        out += (
            [f"{label}:", *(f"  - {p}" for p in parts)] if len(parts) > 1 else [f"{label}: {value}"]
        )
    return "\n".join(out)


def _in_app(a: JSON, today: date) -> str:
    if a.get(Step.IN_APP) != "yes":
        return "Not yet"
    reply = a.get(Step.IN_APP_REPLY, "")
    said = flow.label(flow.TIKTOK_REPLIES, reply) if reply else "no reply recorded"
    return f"Yes, {flow.day_text(a.get(Step.IN_APP_WHEN, ''), today)}. TikTok's answer: {said}"


def contact_line(case: Case) -> str:
    a = case.answers
    name = case.reporter.name or "A member of staff"
    return f"{name}, {a.get(Step.ROLE, 'staff')} – {a.get(Step.CONTACT, '')}"


def report_text(case: Case, facts: Facts, today: date) -> str:
    """The email body for POSH: the whole report in plain text."""
    who = flow.label(flow.TARGETS, case.answers.get(Step.TARGET, [])).lower() or "our staff"
    out = [
        "Dear POSH team,",
        "",
        f"{facts.school_name} would like your help with TikTok content that targets "
        f"{who}. Our reference is {case.reference}.",
        "",
    ]
    out.append(lines_text(summary_lines(case.answers, case.flags, today)))
    out += ["", f"Contact: {contact_line(case)}", "", "Thank you,", facts.school_name]
    return "\n".join(out)


def checklist(case: Case) -> tuple[str, ...]:
    items = [
        f"The case reference, {case.reference}",
        "The TikTok links or @handles, and when it was first seen",
        "Whether and when it was reported in the TikTok app, and TikTok's answer",
    ]
    if Flag.SEXUAL_IMAGES in case.flags:
        items.append("The web address only – never send, show or describe the images")
    else:
        items.append("Screenshots showing the web address and date (send only if POSH asks)")
    items.append("Your name, role and a phone number POSH can call back")
    return tuple(items)


def safety_routes(case: Case, facts: Facts) -> tuple[str, ...]:
    routes = []
    if Flag.DANGER in case.flags:
        routes.append(f"Anyone in immediate danger: call {facts.emergency}.")
    if Flag.SEXUAL_IMAGES in case.flags:
        routes.append(
            "Sexual images of an under-18: tell the DSL now; police; report the web address "
            f"to the IWF ({facts.iwf_report_url}). Grooming or abuse: CEOP ({facts.ceop_url})."
        )
    if Flag.PUPILS_TARGETED in case.flags:
        routes.append("Pupils targeted: the DSL leads under the school's safeguarding policy.")
    return tuple(routes)


def build_handoff(case: Case, facts: Facts, now: datetime) -> Handoff:
    today = now.astimezone(ZoneInfo(facts.posh_timezone)).date()
    body = report_text(case, facts, today)
    harm = flow.label(flow.HARM_KINDS, case.answers.get(Step.HARM, [])).split(";")[0]
    subject = f"TikTok report {case.reference} – {facts.school_name}: {harm}"
    mailto = f"mailto:{facts.posh_email}?subject={quote(subject)}&body={quote(body)}"
    o = opening(facts, now)
    local_now = now.astimezone(ZoneInfo(facts.posh_timezone))
    return Handoff(
        reference=case.reference,
        phone=facts.posh_phone,
        phone_uri=phone_uri(facts.posh_phone),
        email=facts.posh_email,
        mailto=mailto,
        subject=subject,
        body=body,
        hours=hours_text(facts),
        open_now=o.open_now,
        opens="" if o.open_now else when(o.next_open, local_now),
        checklist=checklist(case),
        safety=safety_routes(case, facts),
    )


def handoff_text(h: Handoff, facts: Facts, now: datetime) -> str:
    """The handoff as plain text, for the terminal and for any front end's fallback."""
    lines = [
        f"Case {h.reference}: hand it to the {facts.posh_name}",
        f"  Phone: {h.phone} ({h.phone_uri})",
        f"  Email: {h.email}",
        f"  Hours: {h.hours}. {status_text(facts, now)}",
        "",
    ]
    if h.safety:
        lines += ["Safety first:"] + [f"  ! {s}" for s in h.safety] + [""]
    lines += ["Have ready for the call:"] + [f"  - {c}" for c in h.checklist] + [""]
    lines += [f"Email subject: {h.subject}", "Email text, ready to send:", "", h.body]
    return "\n".join(lines)

"""What a case says: the summary people check, the email POSH gets, and the handoff around it.

The handoff is one neutral object; its plain-text `body` is both the email and what the
terminal prints, so every front end hands POSH the same words. Everything here is a record:
dates are absolute ("Tue 24 Nov 2026"), never "today", and every link is a full web address.
"""

from __future__ import annotations

import re
from collections.abc import Set as AbstractSet
from datetime import datetime
from urllib.parse import quote

from bot import flow, localtime, safety
from bot.dates import describe_when, when_from_iso
from bot.facts import Facts, phone_uri
from bot.hours import hours_text, opening, status_text, when
from bot.links import profile_url
from bot.model import JSON, Case, Flag, Handoff, PoshOwner
from bot.steps import Step

FLAG_TEXT = {
    Flag.DANGER: "Staff said someone may be in immediate danger; they were told to call 999.",
    # Only what the bot knows: what staff said (a reporter's answers, or a leader's note on
    # the case, bot.case_words), and what it told them to do.
    Flag.SEXUAL_IMAGES: (
        "From what staff told us, it may include sexual images of someone under 18. We "
        "have not included any images, or any description of them, in this report; please "
        "treat the web address only as evidence. Staff were told not to view, copy or "
        "share them, to tell the DSL now, and that the web address is for the IWF."
    ),
    Flag.PUPILS_TARGETED: "Pupils are targeted: staff were told to tell the DSL today.",
}
OWNER_TEXT = {
    PoshOwner.LEADERS: "The leadership team",
    PoshOwner.REPORTER: "The person reporting it",
}


def active_answers(answers: JSON, flags: AbstractSet[Flag]) -> JSON:
    """Only the answers to steps that still apply (a changed answer can retire a follow-up)."""
    return {
        s.step: answers[s.step]
        for s in flow.QUESTIONS
        if s.step in answers and s.when(answers, flags)
    }


def web_addresses(links: list[JSON]) -> list[str]:
    """Each link as a full https:// address: a bare @handle becomes its profile's address."""
    return [
        str(x.get("url") or profile_url(str(x.get("handle") or x.get("label", "")))) for x in links
    ]


LEFT_OUT = "left out on purpose: it may describe sexual images of a child"
LEFT_OUT_DESCRIPTION = (
    "Left out on purpose: on a report that may include sexual images of a child, the "
    "school does not describe them (they are for the police and the IWF)."
)


def _own_words(a: JSON, step: str, flags: AbstractSet[Flag], leaders: bool) -> str:
    """A typed answer as shown: on a report flagged for a child's sexual images, words that
    describe such content are left out of everything but the leaders' own card."""
    text = str(a.get(step, ""))
    if Flag.SEXUAL_IMAGES in flags and not leaders and safety.child_sexual_content(text):
        return f"[{LEFT_OUT}]"
    return text


def summary_lines(
    answers: JSON,
    flags: frozenset[Flag],
    facts: Facts,
    *,
    for_reporter: bool = False,
    leaders: bool = False,
) -> list[tuple[str, str]]:
    """The report as lines. `leaders`: the leaders' own card, which keeps the reporter's
    description of what it shows on a report flagged for a child's sexual images (the
    email to POSH, and everything else, leaves it out: the reporter was told so)."""
    a = active_answers(answers, flags)
    child_images = Flag.SEXUAL_IMAGES in flags
    lines: list[tuple[str, str]] = []
    links = a.get(Step.LINKS) or []
    if links:
        lines.append(("TikTok links", "\n".join(web_addresses(links))))
    if Step.NO_LINK in a:
        no_link = _own_words(a, Step.NO_LINK, flags, leaders)
        lines.append(("No link (deleted). The account", no_link))
    if a.get(Step.DESCRIPTION) and child_images and leaders:
        lines.append(("What it shows (not sent to POSH)", str(a[Step.DESCRIPTION])))
    elif a.get(Step.DESCRIPTION) and child_images:
        lines.append(("What it shows", LEFT_OUT_DESCRIPTION))
    elif a.get(Step.DESCRIPTION):
        lines.append(("What it shows", str(a[Step.DESCRIPTION])))
    harm = flow.label(flow.HARM_KINDS, a.get(Step.HARM, []))
    if Step.HARM_OTHER in a:
        harm += f" ({_own_words(a, Step.HARM_OTHER, flags, leaders)})"
    lines.append(("Kind of harm", harm))
    lines.append(("Who is targeted", _targets(a, flags, leaders)))
    lines.append(("First seen", _first_seen(a)))
    lines.append(("Reported in the TikTok app", _in_app(a, flags, leaders)))
    if Step.EVIDENCE in a and Flag.SEXUAL_IMAGES not in flags:
        lines.append(("Screenshots held", flow.label(flow.EVIDENCE_CHOICES, a[Step.EVIDENCE])))
    lines.append(("Who is behind it", flow.label(flow.POSTERS, a.get(Step.POSTER, ""))))
    if Step.TOLD in a:
        lines.append(("Who has been told", flow.label(flow.TOLD_CHOICES, a[Step.TOLD])))
    if flags:
        lines.append(("Safeguarding", " ".join(FLAG_TEXT[f] for f in sorted(flags))))
    if for_reporter:
        lines.append(("Your name and role", _with_role(str(a.get(Step.NAME, "")), a)))
        lines.append(("Your contact details", contact_text(a.get(Step.CONTACT))))
        owner = PoshOwner(str(a.get(Step.WHO_CALLS) or PoshOwner.LEADERS))
        lines.append(("Who contacts POSH", OWNER_TEXT[owner]))
    return lines


# Whom each typed answer names: "A member of staff – Mrs Okafor; Someone else – a parent".
_NAMED_BY = {"staff": Step.TARGET_STAFF, "other": Step.TARGET_OTHER}


def _targets(a: JSON, flags: AbstractSet[Flag], leaders: bool) -> str:
    chosen = a.get(Step.TARGET) or []
    parts = []
    for value in chosen if isinstance(chosen, list) else [chosen]:
        part, named = flow.label(flow.TARGETS, value), _NAMED_BY.get(str(value))
        if named in a:
            part += f" – {_own_words(a, named, flags, leaders)}"
        parts.append(part)
    return "; ".join(parts)


def _first_seen(a: JSON) -> str:
    value = a.get(Step.FIRST_SEEN, "")
    text = describe_when(value)
    return text + " (roughly)" if when_from_iso(value).is_known and "/" in str(value) else text


def lines_text(lines: list[tuple[str, str]]) -> str:
    """'Label: value' lines; a value of several lines becomes an indented list."""
    out: list[str] = []
    for label, value in lines:
        parts = value.split("\n")
        out += (
            [f"{label}:", *(f"  - {p}" for p in parts)] if len(parts) > 1 else [f"{label}: {value}"]
        )
    return "\n".join(out)


def _in_app(a: JSON, flags: AbstractSet[Flag], leaders: bool) -> str:
    said = a.get(Step.IN_APP)
    if said == "unsure":
        return "Not known"
    if said != "yes":
        return "Not yet"
    reply = a.get(Step.IN_APP_REPLY, "")
    answer = flow.label(flow.TIKTOK_REPLIES, reply) if reply else "no reply recorded"
    if reply and answer == reply:  # TikTok's answer in the reporter's own words
        answer = _own_words(a, Step.IN_APP_REPLY, flags, leaders)
    return f"Yes, {describe_when(a.get(Step.IN_APP_WHEN, ''))}. TikTok's answer: {answer}"


def contact_text(value: object) -> str:
    """A contact answer as one line: "01632 960123 · j.smith@school.example"."""
    if isinstance(value, dict):
        return " · ".join(str(value[k]) for k in ("phone", "email") if value.get(k))
    return str(value or "")


def reporter_name(case: Case) -> str:
    """The name the reporter gave (or their chat profile's) – never a computer's user name."""
    return str(case.answers.get(Step.NAME) or case.reporter.name or "A member of staff")


def contact_line(case: Case) -> str:
    a = case.answers
    return f"{_with_role(reporter_name(case), a)} – {contact_text(a.get(Step.CONTACT))}"


def _with_role(name: str, a: JSON) -> str:
    """The name and role, the role once when typed with the name ("Sam Patel, deputy head")."""
    role = str(a.get(Step.ROLE) or "staff")
    said = re.search(rf"\b{re.escape(role)}\b", name, re.IGNORECASE)
    return name if said else f"{name}, {role}"


def asked_for(case: Case) -> str:
    """What the school asks POSH to do."""
    harm = case.answers.get(Step.HARM) or []
    text = "Please ask TikTok to remove it."
    if "impersonation" in harm:
        who = (
            "a member of our staff"
            if "staff" in (case.answers.get(Step.TARGET) or [])
            else ("our school")
        )
        text = (
            f"Please ask TikTok to remove the account: it pretends to be {who}, which breaks "
            "TikTok's rules on impersonation, and to remove what it has posted."
        )
    if case.answers.get(Step.IN_APP_REPLY) == "removed":  # gone once, and reported again
        text = (
            "TikTok removed what we reported after our report in the app. We are reporting it "
            "to you too: please ask TikTok to check the account, remove anything of it still "
            "up, and make sure it does not come back."
        )
    return text


# The school's name is not set (reportbot.toml's [school] name, or `settings name …` in chat):
# the email says so where a sender cannot miss it, rather than send POSH an administrator's note.
SCHOOL_PLACEHOLDER = "[your school's name]"
FILL_IN_SCHOOL = (
    f"[Before sending: write your school's name where it says {SCHOOL_PLACEHOLDER}, "
    "and delete this line.]"
)


def report_text(case: Case, facts: Facts) -> str:
    """The email body for POSH: the whole report in plain text."""
    who = flow.label(flow.TARGETS, case.answers.get(Step.TARGET, [])).lower() or "our staff"
    school = facts.school_name or SCHOOL_PLACEHOLDER
    out = [
        *([] if facts.school_name else [FILL_IN_SCHOOL, ""]),
        "Dear POSH team,",
        "",
        f"I am writing from {school} about TikTok content that targets {who}. "
        f"Our reference is {case.reference}.",
        "",
        asked_for(case),
        "",
        lines_text(summary_lines(case.answers, case.flags, facts)),
        "",
        f"Reported to us by: {contact_line(case)}",
        "",
        "Thank you,",
        *_signed(case),
        school,
    ]
    return "\n".join(out)


def _signed(case: Case) -> list[str]:
    """The reporter signs the email they send; a leader sending it signs it themselves."""
    if case.posh_owner != PoshOwner.REPORTER:
        return []
    return [_with_role(reporter_name(case), case.answers)]


def checklist(case: Case, facts: Facts) -> tuple[str, ...]:
    items = [
        f"The case reference, {case.reference}",
        "The web addresses of the account, videos or comments, and when it was first seen",
        "Whether and when it was reported in the TikTok app, and TikTok's answer",
    ]
    if Flag.SEXUAL_IMAGES in case.flags:
        items.append("The web address only – never send, show or describe the images")
    else:
        items.append(
            "Screenshots showing the web address and date (send only if POSH asks). "
            + safety.screenshot_caveat(facts)
        )
    items.append("Who has been told so far (DSL, headteacher, police)")
    items.append("The name, role and a phone number POSH can call back")
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
    body = report_text(case, facts)
    harm = flow.label(flow.HARM_KINDS, case.answers.get(Step.HARM, [])).split(";")[0]
    school = facts.school_name or SCHOOL_PLACEHOLDER
    subject = f"TikTok report {case.reference} – {school}: {harm}"
    mailto = f"mailto:{facts.posh_email}?subject={quote(subject)}&body={quote(body)}"
    o = opening(facts, now)
    local_now = localtime.moment(now, facts)
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
        checklist=checklist(case, facts),
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

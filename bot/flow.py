"""The guided report: every question, choice, hint and safety message, in the order asked.

This module is content first, so a school can read and adjust it. `FLOW` lists the steps in
order; a step with `when` is asked only if its condition holds (a follow-up). Each step's
`accept` turns an answer into a stored value or raises `Problem` with a kind hint, and may
return notices to show straight away (the safety routes).

    LINKS ─ no link? ─> NO_LINK ─┐
      └──────────────────────────┴> HARM ─ other? ─> HARM_OTHER ─> DANGER ─> SEXUAL_IMAGES
    ─> TARGET ─ staff? ─> TARGET_STAFF ─ other? ─> TARGET_OTHER ─> FIRST_SEEN ─> IN_APP
    ─ yes? ─> IN_APP_WHEN ─> IN_APP_REPLY ─> EVIDENCE (not when sexual images) ─> POSTER
    ─> ROLE ─> CONTACT ─> SUMMARY ─ submit ─> END
"""

from __future__ import annotations

import re
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from bot.dates import DateError, describe_day, parse_day
from bot.facts import Facts
from bot.links import parse_links
from bot.model import JSON, Choice, Conversation, Flag, Notice

MAX_TEXT = 1500


class Step(StrEnum):
    LINKS = "links"
    NO_LINK = "no_link"
    HARM = "harm"
    HARM_OTHER = "harm_other"
    DANGER = "danger"
    SEXUAL_IMAGES = "sexual_images"
    TARGET = "target"
    TARGET_STAFF = "target_staff"
    TARGET_OTHER = "target_other"
    FIRST_SEEN = "first_seen"
    IN_APP = "in_app"
    IN_APP_WHEN = "in_app_when"
    IN_APP_REPLY = "in_app_reply"
    EVIDENCE = "evidence"
    POSTER = "poster"
    ROLE = "role"
    CONTACT = "contact"
    SUMMARY = "summary"
    CHANGE = "change"
    RESUME = "resume"


class Problem(Exception):
    """An answer we cannot use; the message is the kind hint shown before asking again."""


@dataclass(frozen=True)
class Answer:
    text: str
    values: tuple[str, ...]
    today: date
    conversation: Conversation


@dataclass
class Accepted:
    value: object
    notices: list[Notice] = field(default_factory=list)
    stay: bool = False  # ask the same step again (links arrive in several messages)


Acceptor = Callable[[Answer, Facts], Accepted]


@dataclass(frozen=True)
class StepSpec:
    step: Step
    section: str
    text: str
    choices: tuple[Choice, ...] = ()
    multi: bool = False
    hint: str = ""
    accepts_text: bool = True
    when: Callable[[JSON, AbstractSet[Flag]], bool] = lambda a, f: True
    accept: Acceptor | None = None


def yes_no(*extra: Choice) -> tuple[Choice, ...]:
    return (Choice("yes", "Yes"), Choice("no", "No"), *extra)


HARM_KINDS = (
    Choice("impersonation", "Fake account / impersonating staff or the school"),
    Choice("harassment", "Harassment or bullying"),
    Choice("hateful", "Hateful or discriminatory"),
    Choice("threats", "Threats of violence"),
    Choice("sexualised", "Sexualised content"),
    Choice("personal_info", "Personal information shared"),
    Choice("other", "Something else"),
)
TARGETS = (
    Choice("staff", "A member of staff"),
    Choice("school", "The school itself"),
    Choice("pupils", "Pupils"),
    Choice("other", "Someone else"),
)
POSTERS = (
    Choice("pupils", "Pupils of this school"),
    Choice("suspected", "We suspect pupils of this school"),
    Choice("not_pupils", "No, not our pupils"),
    Choice("unknown", "We don't know"),
)
TIKTOK_REPLIES = (
    Choice("none", "No reply yet"),
    Choice("no_violation", "“No violation” – they left it up"),
    Choice("removed", "They removed it"),
)
EVIDENCE_CHOICES = (
    Choice("yes", "Yes, with the link and date showing"),
    Choice("not_yet", "Not yet"),
    Choice("cannot", "No – it has gone"),
)
NO_LINK = Choice("none", "No link – it has been deleted")
DONE = Choice("done", "That's all")
CLEAR = Choice("clear", "Start the links again")
DATE_CHOICES = (Choice("today", "Today"), Choice("yesterday", "Yesterday"))


# --- matching answers to choices ------------------------------------------------------------


def match_choices(answer: Answer, choices: tuple[Choice, ...], multi: bool) -> list[str]:
    """Values chosen by button, by number ("2", "1, 3") or by the start of a label."""
    if answer.values:
        picked = [v for v in answer.values if any(c.value == v for c in choices)]
    else:
        picked = [_match_one(t, choices) for t in _tokens(answer.text, multi)]
    picked = list(dict.fromkeys(p for p in picked if p))
    if not picked:
        names = "; ".join(f"{n}. {c.label}" for n, c in enumerate(choices, start=1))
        some = "one or more of" if multi else "one of"
        raise Problem(f"Sorry, I didn't catch that. Please choose {some}: {names}.")
    if not multi and len(picked) > 1:
        raise Problem("Please choose just one option.")
    return picked


def _tokens(text: str, multi: bool) -> list[str]:
    text = text.strip()
    if multi and re.fullmatch(r"[\d\s,;and]+", text):
        return [t for t in re.split(r"[\s,;]+|and", text) if t]
    return [text]


def _match_one(token: str, choices: tuple[Choice, ...]) -> str:
    t = token.strip().strip(".").lower()
    if not t:
        return ""
    if t.isdigit() and 1 <= int(t) <= len(choices):
        return choices[int(t) - 1].value
    exact = [c.value for c in choices if t in (c.value, c.label.lower())]
    if exact:
        return exact[0]
    # A label's start counts only if it names one choice: "no" must not pick "Not yet".
    starts = [c.value for c in choices if len(t) >= 3 and c.label.lower().startswith(t)]
    if len(starts) == 1:
        return starts[0]
    inside = [c.value for c in choices if len(t) >= 4 and t in c.label.lower()]
    if len(inside) == 1:
        return inside[0]
    aliases = {"y": "yes", "yeah": "yes", "yep": "yes", "n": "no", "nope": "no"}
    alias = aliases.get(t, "")
    return alias if any(c.value == alias for c in choices) else ""


def free_text(answer: Answer, what: str) -> str:
    text = " ".join(answer.text.split())
    if not text:
        raise Problem(f"Please type {what}.")
    if len(text) > MAX_TEXT:
        raise Problem(f"That's a little long – please keep it under {MAX_TEXT} characters.")
    return text


# --- acceptors: one per step that needs more than a choice ----------------------------------


def accept_links(answer: Answer, facts: Facts) -> Accepted:
    held: list[JSON] = list(answer.conversation.answers.get(Step.LINKS) or [])
    choices = (DONE, CLEAR) if held else (NO_LINK,)
    word = (answer.values[0] if answer.values else answer.text).strip().lower()
    word = _match_one(word, choices) or word  # "1" or a label means that button
    if word == "clear":
        return Accepted([], [Notice("Cleared. Paste the links again.")], stay=True)
    if word in ("none", "no link") or (word == "no" and not held):
        return Accepted([])
    if word in ("done", "that's all", "thats all", "finished", "no"):
        if not held:
            raise Problem("I don't have a link yet – paste one, or choose “No link”.")
        return Accepted(held)
    links, errors = parse_links(answer.text)
    if not links:
        raise Problem(str(errors[0]) if errors else "Please paste a TikTok link or @handle.")
    new = [{"url": x.url, "handle": x.handle or "", "label": x.label} for x in links]
    merged = held + [x for x in new if x not in held]
    got = ", ".join(str(x["label"]) for x in merged)
    notices = [Notice(f"Got {len(merged)}: {got}. Paste another, or choose “That's all”.")]
    notices += [Notice(f"I skipped one: {e}", tone="warning") for e in errors]
    return Accepted(merged, notices, stay=True)


def choices_for(spec: StepSpec, conversation: Conversation) -> tuple[Choice, ...]:
    """A step's buttons; the links step offers "That's all" once it holds a link."""
    if spec.step == Step.LINKS and conversation.answers.get(Step.LINKS):
        return (DONE, CLEAR)
    return spec.choices


def accept_harm(answer: Answer, facts: Facts) -> Accepted:
    return Accepted(match_choices(answer, HARM_KINDS, multi=True))


def accept_danger(answer: Answer, facts: Facts) -> Accepted:
    value = match_choices(answer, yes_no(), multi=False)[0]
    if value == "yes":
        answer.conversation.flags.add(Flag.DANGER)
        return Accepted(value, [danger_notice(facts)])
    answer.conversation.flags.discard(Flag.DANGER)
    return Accepted(value)


def accept_sexual_images(answer: Answer, facts: Facts) -> Accepted:
    value = match_choices(answer, yes_no(Choice("unsure", "Not sure")), multi=False)[0]
    if value in ("yes", "unsure"):
        answer.conversation.flags.add(Flag.SEXUAL_IMAGES)
        return Accepted(value, [sexual_images_notice(facts)])
    answer.conversation.flags.discard(Flag.SEXUAL_IMAGES)
    return Accepted(value)


def accept_target(answer: Answer, facts: Facts) -> Accepted:
    values = match_choices(answer, TARGETS, multi=True)
    if "pupils" in values:
        answer.conversation.flags.add(Flag.PUPILS_TARGETED)
        return Accepted(values, [pupils_notice()])
    answer.conversation.flags.discard(Flag.PUPILS_TARGETED)
    return Accepted(values)


def accept_day(answer: Answer, facts: Facts) -> Accepted:
    text = answer.values[0] if answer.values else answer.text
    try:
        return Accepted(parse_day(text, answer.today).isoformat())
    except DateError as e:
        raise Problem(str(e)) from None


def accept_in_app(answer: Answer, facts: Facts) -> Accepted:
    value = match_choices(answer, yes_no(), multi=False)[0]
    if value == "yes":
        return Accepted(value)
    if Flag.SEXUAL_IMAGES in answer.conversation.flags:
        tip = "Don't open it again to report it: the DSL and the IWF route cover it."
    else:
        tip = "If you can do it safely, report it now – POSH asks that this is tried first. "
        tip += facts.tiktok_report_howto
    return Accepted(value, [Notice(tip, title="Reporting in the TikTok app")])


def accept_in_app_reply(answer: Answer, facts: Facts) -> Accepted:
    if answer.values:
        return Accepted(match_choices(answer, TIKTOK_REPLIES, multi=False)[0])
    try:
        return Accepted(match_choices(answer, TIKTOK_REPLIES, multi=False)[0])
    except Problem:
        return Accepted(free_text(answer, "what TikTok said"))


def accept_evidence(answer: Answer, facts: Facts) -> Accepted:
    value = match_choices(answer, EVIDENCE_CHOICES, multi=False)[0]
    if value != "not_yet":
        return Accepted(value)
    tip = (
        "When you can, take screenshots that show the @handle, the web address and the date "
        "(on a computer include the address bar). Keep them somewhere secure for your DSL; "
        "don't post them in this chat."
    )
    return Accepted(value, [Notice(tip, title="Screenshots")])


def accept_contact(answer: Answer, facts: Facts) -> Accepted:
    person = answer.conversation.person
    if answer.values == ("profile",) and person.email:
        return Accepted(person.email)
    text = free_text(answer, "a phone number or email address")
    if re.fullmatch(r"[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+", text):
        return Accepted(text)
    if len(re.sub(r"\D", "", text)) >= 10 and re.fullmatch(r"[+\d\s()-]+", text):
        return Accepted(text)
    raise Problem("Please give a phone number (e.g. 01632 960 123) or an email address.")


def _text(what: str) -> Acceptor:
    return lambda answer, facts: Accepted(free_text(answer, what))


def _choice(choices: tuple[Choice, ...]) -> Acceptor:
    return lambda answer, facts: Accepted(match_choices(answer, choices, multi=False)[0])


# --- safety messages --------------------------------------------------------------------------


def danger_notice(facts: Facts) -> Notice:
    return Notice(
        f"Call {facts.emergency} now if anyone is in immediate danger, then tell your "
        "Designated Safeguarding Lead (DSL). I've saved your place – carry on when it is safe.",
        tone="danger",
        title=f"Immediate danger: call {facts.emergency}",
    )


def sexual_images_notice(facts: Facts) -> Notice:
    return Notice(
        "Stop: do not view it again, and do not copy, screenshot, download, forward or save it "
        "– not even as evidence. Tell your Designated Safeguarding Lead (DSL) now; they will "
        "involve the police (101, or 999 if a child is at risk now). Report the web address "
        f"only to the Internet Watch Foundation ({facts.iwf_report_url}), who get such images "
        f"removed. If a child is being groomed or abused, report to CEOP ({facts.ceop_url}). "
        "I've flagged this case, and I won't ask you for screenshots.",
        tone="danger",
        title="Sexual images of someone under 18",
    )


def pupils_notice() -> Notice:
    return Notice(
        "Because pupils are targeted, tell your Designated Safeguarding Lead (DSL) today: "
        "it is a safeguarding matter. Carry on with this report for the account itself.",
        tone="warning",
        title="Pupils targeted: tell the DSL",
    )


# --- the flow ---------------------------------------------------------------------------------


def _has(step: Step, value: str) -> Callable[[JSON, AbstractSet[Flag]], bool]:
    return lambda a, f: value in (a.get(step) or ())


FLOW: tuple[StepSpec, ...] = (
    StepSpec(
        Step.LINKS,
        "links",
        "Paste the TikTok link(s) or @handle(s) – the profile, video or comment. "
        "One or several; in one message or more.",
        choices=(NO_LINK,),
        hint="e.g. https://www.tiktok.com/@fake.account or @fake.account",
        accept=accept_links,
    ),
    StepSpec(
        Step.NO_LINK,
        "links",
        "No problem. Describe the account instead: its name, what it showed, and anything "
        "that would help TikTok find it.",
        when=lambda a, f: a.get(Step.LINKS) == [],
        accept=_text("a short description of the account"),
    ),
    StepSpec(
        Step.HARM,
        "harm",
        "What kind of harm is it? Choose all that apply.",
        choices=HARM_KINDS,
        multi=True,
        accept=accept_harm,
    ),
    StepSpec(
        Step.HARM_OTHER,
        "harm",
        "Briefly, what else is it?",
        when=_has(Step.HARM, "other"),
        accept=_text("a few words about the harm"),
    ),
    StepSpec(
        Step.DANGER,
        "safety",
        "Is anyone in immediate danger – for example a specific threat to hurt someone, or "
        "someone at risk of harming themselves?",
        choices=yes_no(),
        accept=accept_danger,
    ),
    StepSpec(
        Step.SEXUAL_IMAGES,
        "safety",
        "Does it include sexual or nude images or video of anyone who is, or may be, under 18?",
        choices=yes_no(Choice("unsure", "Not sure")),
        accept=accept_sexual_images,
    ),
    StepSpec(
        Step.TARGET,
        "target",
        "Who is targeted? Choose all that apply.",
        choices=TARGETS,
        multi=True,
        accept=accept_target,
    ),
    StepSpec(
        Step.TARGET_STAFF,
        "target",
        "Which member of staff? Their name and role, e.g. “Ms J Patel, Head of Year 9”.",
        when=_has(Step.TARGET, "staff"),
        accept=_text("the staff member's name and role"),
    ),
    StepSpec(
        Step.TARGET_OTHER,
        "target",
        "Who else is targeted? (Please don't name pupils.)",
        when=_has(Step.TARGET, "other"),
        accept=_text("who is targeted"),
    ),
    StepSpec(
        Step.FIRST_SEEN,
        "first_seen",
        "When was it first seen? Today, yesterday, or a date such as 21/11/2026 or “3 days ago”.",
        choices=DATE_CHOICES,
        accept=accept_day,
    ),
    StepSpec(
        Step.IN_APP,
        "in_app",
        "Has it been reported with TikTok's own Report button?",
        choices=yes_no(),
        accept=accept_in_app,
    ),
    StepSpec(
        Step.IN_APP_WHEN,
        "in_app",
        "When was it reported in the app?",
        choices=DATE_CHOICES,
        when=lambda a, f: a.get(Step.IN_APP) == "yes",
        accept=accept_day,
    ),
    StepSpec(
        Step.IN_APP_REPLY,
        "in_app",
        "What did TikTok say? Choose one, or type their answer.",
        choices=TIKTOK_REPLIES,
        when=lambda a, f: a.get(Step.IN_APP) == "yes",
        accept=accept_in_app_reply,
    ),
    StepSpec(
        Step.EVIDENCE,
        "evidence",
        "Do you have screenshots of it that show the @handle, the web address and the date?",
        choices=EVIDENCE_CHOICES,
        when=lambda a, f: Flag.SEXUAL_IMAGES not in f,
        accept=accept_evidence,
    ),
    StepSpec(
        Step.POSTER,
        "poster",
        "Do you know who is behind it? Please don't type any pupil's name – the DSL deals "
        "with that.",
        choices=POSTERS,
        accepts_text=False,
        accept=_choice(POSTERS),
    ),
    StepSpec(
        Step.ROLE,
        "contact",
        "POSH will want to know who is reporting. What is your role at the school?",
        hint="e.g. Deputy Headteacher, DSL, Head of Year 9",
        accept=_text("your role"),
    ),
    StepSpec(
        Step.CONTACT,
        "contact",
        "How can POSH reach you? Type a phone number or email address.",
        accept=accept_contact,
    ),
)

SPECS = {s.step: s for s in FLOW}
SECTIONS = (
    Choice("links", "Links"),
    Choice("harm", "Kind of harm"),
    Choice("safety", "Safety questions"),
    Choice("target", "Who is targeted"),
    Choice("first_seen", "When first seen"),
    Choice("in_app", "Reported in the app"),
    Choice("evidence", "Evidence"),
    Choice("poster", "Who is behind it"),
    Choice("contact", "Your contact details"),
)
SUMMARY_CHOICES = (
    Choice("submit", "Submit report"),
    Choice("change", "Change an answer"),
    Choice("cancel", "Cancel"),
)


def label(choices: tuple[Choice, ...], value: object) -> str:
    values = value if isinstance(value, list) else [value]
    names = {c.value: c.label for c in choices}
    return "; ".join(names.get(str(v), str(v)) for v in values)


def day_text(value: object, today: date) -> str:
    try:
        return describe_day(date.fromisoformat(str(value)), today)
    except ValueError:
        return str(value)

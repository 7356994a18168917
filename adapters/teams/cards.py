"""Adaptive Cards (schema 1.5, as Teams renders them) for each neutral reply, with text fallbacks.

Teams renders a Markdown subset in TextBlock and FactSet text, so a pasted "**x**", "[a](b)" or
"- " would take effect. Every string here – the school's, the engine's and above all the
reporter's – therefore goes into a RichTextBlock TextRun, which takes no Markdown at all; one
block per line, because renderers do not agree on newlines inside a run. Nothing is escaped,
so handles and links stay exactly as typed and can be copied.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from bot.model import JSON, Handoff, Notice, Question, Tone
from bot.views import CaseView

VERSION = "1.5"
SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
CHOICES_INPUT = "choices"  # must match translate.CHOICES_INPUT
MAX_BUTTONS = 5  # Teams shows at most six actions; one is kept free
MAX_BUTTON_LABEL = 30  # longer labels are cut off on phones: use a choice set instead
MAX_CARD_CHARS = 24_000  # Teams refuses messages over about 28 KB
TONE_COLOR = {"info": "Default", "warning": "Warning", "danger": "Attention", "success": "Good"}


# --- building blocks ----------------------------------------------------------------------------


def plain(text: str, *, spacing: str = "Default", **style: Any) -> list[JSON]:
    """Plain text, one RichTextBlock per line; blank lines become spacing."""
    blocks: list[JSON] = []
    gap = spacing
    for line in text.split("\n"):
        if not line.strip():
            gap = "Medium"
            continue
        run: JSON = {"type": "TextRun", "text": line, **style}
        blocks.append({"type": "RichTextBlock", "inlines": [run], "spacing": gap})
        gap = "None"
    return blocks


def heading(text: str, tone: Tone = "info") -> list[JSON]:
    return plain(text, weight="Bolder", size="Medium", color=TONE_COLOR[tone])


def labelled(label: str, value: str) -> list[JSON]:
    return plain(label, weight="Bolder", spacing="Small") + plain(value, spacing="None")


def bullets(items: Iterable[str], **style: Any) -> list[JSON]:
    return [b for item in items for b in plain(f"• {item}", spacing="None", **style)]


def submit(title: str, data: JSON) -> JSON:
    return {"type": "Action.Submit", "title": title, "data": data}


def open_url(title: str, url: str) -> JSON:
    return {"type": "Action.OpenUrl", "title": title, "url": url}


def card(
    body: Sequence[JSON], actions: Sequence[JSON] = (), *, fallback: str, wide: bool = False
) -> JSON:
    content: JSON = {
        "$schema": SCHEMA,
        "type": "AdaptiveCard",
        "version": VERSION,
        "body": list(body),
        "fallbackText": fallback,
    }
    if actions:
        content["actions"] = list(actions)
    if wide:
        content["msteams"] = {"width": "Full"}
    return content


def too_big(content: JSON) -> bool:
    return len(json.dumps(content, ensure_ascii=False)) > MAX_CARD_CHARS


# --- one card per reply type --------------------------------------------------------------------


def notice_card(notice: Notice) -> JSON:
    body = heading(notice.title, notice.tone) if notice.title else []
    color = TONE_COLOR[notice.tone] if not notice.title else "Default"
    body += plain(notice.text, color=color)
    fallback = f"{notice.title}\n{notice.text}" if notice.title else notice.text
    return card(body, fallback=fallback)


def question_card(q: Question) -> JSON:
    body: list[JSON] = []
    if q.progress:
        body += plain(q.progress, isSubtle=True, size="Small")
    body += plain(q.text, weight="Bolder")
    if q.hint:
        body += plain(q.hint, isSubtle=True)
    actions: list[JSON] = []
    if q.choices and _as_buttons(q):
        actions = [
            submit(c.label, {"reportbot": "answer", "step": q.step, "action": c.value})
            for c in q.choices
        ]
    elif q.choices:
        body.append(_choice_set(q))
        actions = [submit("Continue", {"reportbot": "answer", "step": q.step})]
    if q.choices and q.accepts_text:
        body += plain("Or type your answer.", isSubtle=True, size="Small")
    return card(body, actions, fallback=_question_text(q))


def _as_buttons(q: Question) -> bool:
    short = all(len(c.label) <= MAX_BUTTON_LABEL for c in q.choices)
    return not q.multi and len(q.choices) <= MAX_BUTTONS and short


def _choice_set(q: Question) -> JSON:
    return {
        "type": "Input.ChoiceSet",
        "id": CHOICES_INPUT,
        "style": "expanded",
        "isMultiSelect": q.multi,
        "label": "Choose all that apply" if q.multi else "Choose one",
        "choices": [{"title": c.label, "value": c.value} for c in q.choices],
    }


def _question_text(q: Question) -> str:
    lines = [q.text, *(f"{n}. {c.label}" for n, c in enumerate(q.choices, start=1))]
    return "\n".join(lines)


def handoff_card(h: Handoff, *, full_email: bool = True) -> JSON:
    """The reporter's next step: call or email POSH, with everything they will ask for."""
    body = heading(f"Next: hand {h.reference} to POSH", "success")
    if h.safety:
        body += bullets(h.safety, color="Attention", weight="Bolder")
    body += labelled("Phone", h.phone) + labelled("Email", h.email)
    body += labelled("Hours", f"{h.hours}. {_open_text(h)}")
    body += plain("Have ready for the call:", weight="Bolder", spacing="Medium")
    body += bullets(h.checklist)
    body += labelled("Email subject", h.subject)
    body += plain("Email text, ready to send:", weight="Bolder", spacing="Medium")
    body += plain(h.body, spacing="Small")
    return card(body, _posh_actions(h, full_email), fallback=_handoff_text(h), wide=True)


def _open_text(h: Handoff) -> str:
    return "Open now." if h.open_now else f"Closed now – opens {h.opens}."


def _posh_actions(h: Handoff, full_email: bool) -> list[JSON]:
    mailto = h.mailto if full_email else h.mailto.split("&body=")[0]
    return [open_url(f"Call POSH ({h.phone})", h.phone_uri), open_url("Email POSH", mailto)]


def _handoff_text(h: Handoff) -> str:
    return f"Case {h.reference}: call POSH on {h.phone} or email {h.email}. {h.hours}."


def case_card(view: CaseView, *, alert_only: bool = False, full_email: bool = True) -> JSON:
    """The leadership post for a case, rendered from the case as it is now."""
    body = heading(view.title) + plain(view.status_line, color="Accent", weight="Bolder")
    if alert_only:
        body += plain(view.alert, spacing="Medium")
    else:
        for label, value in view.lines:
            body += labelled(label, value)
        if view.handoff is not None:
            body += _case_handoff(view.handoff, full_email)
    actions = [submit(a.label, {"reportbot": "case", "action": a.value}) for a in view.actions]
    fallback = f"{view.title}: {view.status_line}"
    return card(body, actions, fallback=fallback, wide=True)


def _case_handoff(h: Handoff, full_email: bool) -> list[JSON]:
    body = plain("Hand it to POSH", weight="Bolder", spacing="Large")
    if h.safety:
        body += bullets(h.safety, color="Attention", weight="Bolder")
    body += plain(f"{h.phone} · {h.email} · {h.hours}. {_open_text(h)}", spacing="None")
    body.append({"type": "ActionSet", "actions": _posh_actions(h, full_email)})
    return body


def case_list_card(title: str, lines: Sequence[str], empty: str) -> JSON:
    body = heading(title) + (bullets(lines) if lines else plain(empty))
    fallback = "\n".join([title, *lines]) if lines else empty
    return card(body, fallback=fallback)

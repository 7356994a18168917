"""Neutral replies and case views → Block Kit, with a plain fallback text for notifications.

One render function per reply type. User text goes into `plain_text` objects wherever Slack
allows (they are never parsed for mentions or links); where mrkdwn is needed (bold labels,
tel:/mailto: links) every piece of user text passes through `escape`, and mrkdwn objects are
`verbatim`, so nothing is turned into a link or a mention that we did not write ourselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from urllib.parse import quote

from bot.errors import DeliveryRefused
from bot.lifecycle import CaseAction
from bot.model import JSON, CaseList, Handoff, Notice, Question
from bot.views import CardForm, CaseView, Resolved, ResolvedCard, ResolvedHandoff, minimal_text

SECTION_MAX = 2900  # Slack allows 3000 characters in a text object; a little to spare
HEADER_MAX = 150
LABEL_MAX = 75
CHECKBOXES_MAX = 10
BUTTONS_MAX = 25
BLOCKS_MAX = 50
TEXT_MAX = 4000  # a message's fallback text: Slack advises under 4,000 characters
TONE_MARK = MappingProxyType({"info": "", "warning": "⚠️ ", "danger": "🚨 ", "success": "✅ "})


@dataclass(frozen=True)
class Message:
    """What a chat.postMessage / chat.update / views.publish call carries."""

    text: str
    blocks: list[JSON] = field(default_factory=list)


def message(reply: Resolved) -> Message:
    """The Block Kit message for a resolved reply: one branch per type, a loud default."""
    match reply:
        case Notice():
            return notice(reply)
        case Question():
            return question(reply)
        case ResolvedHandoff(handoff=h, status=status):
            return handoff(h, status)
        case ResolvedCard():
            return card(reply)
        case CaseList(title=title, lines=lines, empty=empty):
            return case_list(title, list(lines), empty)
    raise DeliveryRefused(f"Slack cannot show {type(reply).__name__}")


def card(resolved: ResolvedCard) -> Message:
    """A case card in the form bot.leadership chose."""
    match resolved.form:
        case CardForm.ALERT:
            return case_alert(resolved.view)
        case CardForm.MINIMAL:
            return case_minimal(resolved.view)
    return case_card(resolved.view, resolved.status)


# --- text objects ---------------------------------------------------------------------------


def escape(text: str) -> str:
    """Slack's three control characters, so user text cannot form a mention or a link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def plain(text: str) -> JSON:
    return {"type": "plain_text", "text": text, "emoji": True}


def mrkdwn(text: str) -> JSON:
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def link(url: str, label: str) -> str:
    return f"<{escape(url)}|{escape(label)}>"


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- blocks -----------------------------------------------------------------------------------


def header(text: str) -> JSON:
    return {"type": "header", "text": plain(clip(text, HEADER_MAX))}


def context(text: str) -> JSON:
    return {"type": "context", "elements": [plain(clip(text, SECTION_MAX))]}


def sections(text: str) -> list[JSON]:
    """Plain text in as many sections as it needs, split at line ends where possible."""
    return [{"type": "section", "text": plain(chunk)} for chunk in chunks(text)]


def chunks(text: str, size: int = SECTION_MAX) -> list[str]:
    """Pieces of at most `size` characters, cut at a line end where possible and never inside
    an escape such as `&amp;`: cut escaped text as it will be sent, not before escaping."""
    out: list[str] = []
    rest = text.strip() or " "
    while len(rest) > size:
        cut = rest.rfind("\n", 0, size)
        cut = cut if cut > size // 2 else _clear_of_entity(rest, size)
        out.append(rest[:cut])
        rest = rest[cut:].lstrip("\n")
    return [*out, rest]


def _clear_of_entity(text: str, cut: int) -> int:
    """`cut`, moved back to the start of an entity it would split (the longest is `&amp;`)."""
    start = text.rfind("&", max(0, cut - len("&amp;") + 1), cut)
    return start if start > 0 and ";" not in text[start:cut] else cut


def labelled(label: str, value: str) -> list[JSON]:
    """A bold label over its value, in mrkdwn sections. Escaping first and cutting after means
    no section passes Slack's limit, however much `&`, `<` and `>` grew the text."""
    title = f"*{escape(clip(label, LABEL_MAX))}*\n"
    parts = chunks(escape(value), SECTION_MAX - len(title))
    return [
        {"type": "section", "text": mrkdwn((title if n == 0 else "") + part)}
        for n, part in enumerate(parts)
    ]


def button(label: str, action_id: str, value: str, style: str = "") -> JSON:
    element: JSON = {
        "type": "button",
        "text": plain(clip(label, LABEL_MAX)),
        "action_id": action_id,
        "value": value,
    }
    if style:
        element["style"] = style
    return element


def fit(blocks: list[JSON], tail: int = 0) -> list[JSON]:
    """At most Slack's 50 blocks, keeping the last `tail` (the buttons) whatever happens."""
    if len(blocks) <= BLOCKS_MAX:
        return blocks
    head, end = blocks[: len(blocks) - tail], blocks[len(blocks) - tail :]
    keep = BLOCKS_MAX - tail - 1
    return [*head[:keep], context("(Shortened to fit in Slack.)"), *end]


def joined(messages: list[Message]) -> list[list[int]]:
    """Which of a turn's messages go in one chat.postMessage (indices, in order): as many as
    Slack's 50 blocks allow, never two with the same block_id (Slack refuses the message)."""
    runs: list[list[int]] = []
    blocks, ids = 0, set[str]()
    for n, m in enumerate(messages):
        mine = {str(b["block_id"]) for b in m.blocks if "block_id" in b}
        if not runs or blocks + len(m.blocks) > BLOCKS_MAX or mine & ids:
            runs.append([])
            blocks, ids = 0, set()
        runs[-1].append(n)
        blocks, ids = blocks + len(m.blocks), ids | mine
    return runs


def join(messages: list[Message]) -> Message:
    """One message of several: their blocks in order; the notification shows the first."""
    text = chunks("\n\n".join(m.text for m in messages), TEXT_MAX)[0]  # never inside an &amp;
    return Message(text, [b for m in messages for b in m.blocks])


# --- replies ----------------------------------------------------------------------------------


def notice(n: Notice) -> Message:
    mark = TONE_MARK[n.tone]
    blocks = [header(mark + n.title)] if n.title else []
    body = n.text if n.title else mark + n.text
    blocks += sections(body)
    fallback = f"{n.title}: {n.text}" if n.title else n.text
    return Message(escape(clip(mark + fallback, SECTION_MAX)), fit(blocks))


def question(q: Question) -> Message:
    blocks = [context(q.progress)] if q.progress else []
    blocks += sections(q.text)
    if q.hint:
        blocks.append(context(q.hint))
    if q.choices and q.multi:
        blocks += _checkboxes(q)
    elif q.choices:
        blocks += _buttons(q)
    if q.accepts_text:
        blocks.append(
            context("Or type your answer below." if q.choices else "Type your answer below.")
        )
    return Message(escape(clip(q.text, SECTION_MAX)), fit(blocks))


def _buttons(q: Question) -> list[JSON]:
    elements = [
        button(c.label, f"answer:{q.step}:{n}", c.value, "primary" if c.value == "submit" else "")
        for n, c in enumerate(q.choices)
    ]
    return [
        {"type": "actions", "elements": elements[i : i + BUTTONS_MAX]}
        for i in range(0, len(elements), BUTTONS_MAX)
    ]


def _checkboxes(q: Question) -> list[JSON]:
    """Checkboxes (ten to a group) and one Continue button that reads what is ticked."""
    options = [{"text": plain(clip(c.label, LABEL_MAX)), "value": c.value} for c in q.choices]
    groups = [options[i : i + CHECKBOXES_MAX] for i in range(0, len(options), CHECKBOXES_MAX)]
    blocks: list[JSON] = [
        {
            "type": "actions",
            "block_id": f"pick:{q.step}:{n}",
            "elements": [{"type": "checkboxes", "action_id": f"pick:{q.step}", "options": group}],
        }
        for n, group in enumerate(groups)
    ]
    go = button("Continue", f"continue:{q.step}", "continue", style="primary")
    return [*blocks, {"type": "actions", "elements": [go]}]


# --- the handoff and the leadership post --------------------------------------------------------


def handoff(h: Handoff, status: str) -> Message:
    blocks = [header(f"Next step: hand case {h.reference} to POSH"), *handoff_blocks(h, status)]
    blocks += _email_text(h)
    blocks.append(context(f"Case reference: {h.reference}. Quote it whenever you talk about it."))
    text = f"Case {h.reference}: call POSH on {h.phone} or email {h.email}."
    return Message(escape(text), fit(blocks))


def handoff_blocks(h: Handoff, status: str) -> list[JSON]:
    contacts = "\n".join(
        [
            f"*Phone:* {link(h.phone_uri, h.phone)}",
            f"*Email:* {link('mailto:' + h.email, h.email)}",
            f"*Hours:* {escape(h.hours)}. {escape(status)}",
        ]
    )
    blocks: list[JSON] = [{"type": "section", "text": mrkdwn(contacts)}]
    if h.safety:
        blocks += sections("🚨 Safety first:\n" + "\n".join(f"• {s}" for s in h.safety))
    blocks += sections("Have ready for the call:\n" + "\n".join(f"• {c}" for c in h.checklist))
    blocks.append({"type": "section", "text": mrkdwn(_email_link(h))})
    return blocks


def mailto_fits(h: Handoff) -> bool:
    return len(escape(h.mailto)) + 100 <= SECTION_MAX


def _email_link(h: Handoff) -> str:
    """The whole email in one tap when the link fits in Slack; otherwise the subject only."""
    if mailto_fits(h):
        return link(h.mailto, "Open the email to POSH, ready to send")
    short = f"mailto:{h.email}?subject={quote(h.subject)}"
    return f"{link(short, 'Start an email to POSH')} and paste the email text below into it."


def _email_text(h: Handoff) -> list[JSON]:
    return [
        *sections(f"Email subject: {h.subject}"),
        *sections("Email text, ready to send:\n\n" + h.body),
    ]


def case_card(view: CaseView, status: str) -> Message:
    blocks: list[JSON] = [header(view.title), context(view.status_line)]
    for label, value in view.lines:
        blocks += labelled(label, value)
    if view.urgent and view.reporter_id:
        blocks.append(
            {"type": "section", "text": mrkdwn(f"Reporter: <@{escape(view.reporter_id)}>")}
        )
    if view.handoff is not None:
        blocks += [{"type": "divider"}, *handoff_blocks(view.handoff, status)]
        if not mailto_fits(view.handoff):
            blocks += _email_text(view.handoff)
    tail = _case_actions(view)
    blocks += tail
    text = f"{view.title} – {view.status_line}"
    return Message(escape(clip(text, SECTION_MAX)), fit(blocks, tail=len(tail)))


def _case_actions(view: CaseView) -> list[JSON]:
    if not view.actions:
        return [context("This case is finished; nothing more to do here.")]
    elements = []
    for choice in view.actions:
        action = CaseAction.parse(choice.value)
        verb = action.verb if action else ""
        style = "primary" if verb == "assign" else ""
        element = button(choice.label, f"case:{verb}", choice.value, style)
        if verb == "close":
            element["confirm"] = _confirm(view.reference)
        elements.append(element)
    note = (
        "Only members of this channel can use these buttons. Each press goes in the case history."
    )
    return [{"type": "actions", "block_id": "case_actions", "elements": elements}, context(note)]


def _confirm(reference: str) -> JSON:
    return {
        "title": plain("Close this case?"),
        "text": plain(f"Close {reference}? You can reopen it later."),
        "confirm": plain("Close it"),
        "deny": plain("Not yet"),
    }


def case_minimal(view: CaseView) -> Message:
    """When Slack refused the full card: the case's reference and where to read it."""
    text = minimal_text(view.reference)
    return Message(escape(text), [header(view.title), {"type": "section", "text": plain(text)}])


def case_alert(view: CaseView) -> Message:
    """For a channel that is not private: no case content at all."""
    return Message(escape(view.alert), [{"type": "section", "text": plain(view.alert)}])


def case_list(title: str, lines: list[str], empty: str) -> Message:
    body = "\n".join(f"• {line}" for line in lines) if lines else empty
    blocks = [header(title), *sections(body)]
    return Message(escape(clip(f"{title}: {body}", SECTION_MAX)), fit(blocks))

"""What the bot holds about a named person: a subject access request (UK GDPR Art. 15).

Searched: every case (reporters, answers, assignees, the history), every report still being
made, and every message not yet delivered. A name is matched the way people write names:
case and titles ignored ("Mrs Jones" finds "mrs sarah jones"), every word of the query in the
text, an initial matching a name ("S Jones" finds "Sarah Jones"), small typos forgiven. An
email address is matched as written, in any case.

For each case found, the whole record is given, not just the field that matched: the person
has a right to all of it that is about them, and someone must still remove what is about
others (pupils, other staff) before it is sent (Art. 15(4)).

Pure: cases, conversations and outbox items in, a `Findings` out.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from bot import lifecycle
from bot.codec import reply_from_dict
from bot.errors import QueryError
from bot.model import JSON, Case, CaseStatus, Conversation, Notice, OutboxItem, Question
from bot.understand import similar, words_of

TITLES = frozenset(
    {"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "dame", "rev", "master", "lady", "lord"}
)
MIN_QUERY = 2


@dataclass(frozen=True)
class NameQuery:
    text: str
    words: tuple[str, ...]
    email: str = ""

    def found_in(self, value: str) -> bool:
        if not value:
            return False
        if self.email:
            return self.email in value.casefold()
        return _all_words(self.words, words_of(value))


def name_query(text: str) -> NameQuery:
    """The query as words to find, titles left out; an email address stays whole."""
    stripped = text.strip()
    if "@" in stripped and len(stripped) >= MIN_QUERY + 1:
        return NameQuery(stripped, (), stripped.casefold())
    words = tuple(w for w in words_of(stripped) if w not in TITLES)
    if not words or sum(len(w) for w in words) < MIN_QUERY:
        raise QueryError(f"Please give at least {MIN_QUERY} letters of a name or an email.")
    return NameQuery(stripped, words)


def _all_words(wanted: tuple[str, ...], have: list[str]) -> bool:
    """Every wanted word matches a word of the text (an initial, or within a small typo)."""
    return all(any(_word_matches(w, h, len(wanted)) for h in have) for w in wanted)


def _word_matches(wanted: str, have: str, query_words: int) -> bool:
    if wanted == have or (len(wanted) >= 3 and have.startswith(wanted) and query_words > 1):
        return True
    # "S Jones" finds "Sarah Jones" and "Sarah Jones" finds "S Jones": initials, but only in a
    # query of two or more words, so a lone letter never finds everyone.
    if query_words > 1 and (len(wanted) == 1 or len(have) == 1):
        return wanted[0] == have[0]
    return len(wanted) >= 5 and similar(wanted, have)


# --- what was found --------------------------------------------------------------------------


@dataclass(frozen=True)
class Mention:
    """One place that holds something about the person: which field, and what it says."""

    field: str
    value: str
    at: datetime | None = None


@dataclass(frozen=True)
class Holding:
    """A case, a report being made, or an undelivered message that mentions the person."""

    kind: str  # "case", "draft" or "message"
    key: str  # the case reference, the draft's start, the message's id
    at: datetime
    status: str
    mentions: tuple[Mention, ...]
    record: tuple[tuple[str, str], ...] = ()
    """The whole record, as (label, value) lines."""


@dataclass
class Findings:
    query: str
    cases: list[Holding] = field(default_factory=list)
    drafts: list[Holding] = field(default_factory=list)
    messages: list[Holding] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.cases) + len(self.drafts) + len(self.messages)


def search(
    query: NameQuery,
    cases: Iterable[Case],
    drafts: Iterable[Conversation],
    undelivered: Iterable[OutboxItem],
) -> Findings:
    found = Findings(query.text)
    for case in cases:
        mentions = _case_mentions(case, query)
        if mentions:
            record = tuple(_case_record(case))
            holding = Holding("case", case.reference, case.created_at, str(case.status), mentions)
            found.cases.append(_with_record(holding, record))
    for conv in drafts:
        if conv.step == "end":  # a filed report's pointer: its case is searched above
            continue
        mentions = _draft_mentions(conv, query)
        if mentions:
            record = tuple(_walk(conv.answers, "answer"))
            holding = Holding("draft", conv.id, conv.started_at, "in progress", mentions)
            found.drafts.append(_with_record(holding, record))
    for item in undelivered:
        text = _item_text(item)
        if query.found_in(text):
            status = f"not delivered: {item.failed}" if item.failed else "waiting to be delivered"
            mention = Mention(f"message to {item.audience} on {item.platform}", text)
            found.messages.append(Holding("message", item.id, item.created_at, status, (mention,)))
    return found


def _with_record(holding: Holding, record: tuple[tuple[str, str], ...]) -> Holding:
    return Holding(holding.kind, holding.key, holding.at, holding.status, holding.mentions, record)


def _walk(value: object, path: str) -> Iterator[tuple[str, str]]:
    """Every text inside an answer (links are lists of dicts), with where it sits."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _walk(v, f"{path}.{k}")
    elif isinstance(value, list):
        for n, v in enumerate(value, start=1):
            yield from _walk(v, f"{path}[{n}]")
    elif value is not None and value != "":
        yield path, str(value)


def _case_mentions(case: Case, q: NameQuery) -> tuple[Mention, ...]:
    r = case.reporter
    found = [
        Mention(f"reporter {label}", value)
        for label, value in (("name", r.name), ("email", r.email), ("user id", r.user_id))
        if q.found_in(value)
    ]
    found += [
        Mention(path.replace("answer.", "answer: ", 1), text)
        for path, text in _walk(case.answers, "answer")
        if q.found_in(text)
    ]
    if q.found_in(case.assignee):
        found.append(Mention("contacting POSH", case.assignee))
    for h in case.history:
        for label, value in (("by", h.who), ("from", h.old), ("to", h.new), ("note", h.note)):
            if q.found_in(value):
                found.append(Mention(f"history: {h.action} {label}", value, h.at))
    return tuple(found)


def _case_record(case: Case) -> Iterator[tuple[str, str]]:
    yield "status", lifecycle.STATUS_LABELS[case.status]
    yield "reported", case.created_at.isoformat()
    yield "reporter", f"{case.reporter.name} ({case.reporter.platform} {case.reporter.user_id})"
    if case.reporter.email:
        yield "reporter email", case.reporter.email
    yield from _walk(case.answers, "answer")
    if case.assignee:
        yield "contacting POSH", case.assignee
    for h in case.history:
        change = f" {h.old} → {h.new}" if h.old or h.new else ""
        yield f"history {h.at.isoformat()}", f"{h.who}: {h.action}{change} {h.note}".strip()


def _draft_mentions(conv: Conversation, q: NameQuery) -> tuple[Mention, ...]:
    p = conv.person
    found = [
        Mention(f"reporter {label}", value)
        for label, value in (("name", p.name), ("email", p.email), ("user id", p.user_id))
        if q.found_in(value)
    ]
    found += [
        Mention(path.replace("answer.", "answer: ", 1), text)
        for path, text in _walk(conv.answers, "answer")
        if q.found_in(text)
    ]
    return tuple(found)


def _item_text(item: OutboxItem) -> str:
    """What a queued message would show, as text (its stored form, for other kinds)."""
    try:
        reply = reply_from_dict(item.reply)
    except (KeyError, TypeError, ValueError):
        return json.dumps(item.reply, ensure_ascii=False)
    if isinstance(reply, Notice | Question):
        return f"{getattr(reply, 'title', '')} {reply.text}".strip()
    return json.dumps(item.reply, ensure_ascii=False)


# --- the answer, as text and as JSON ------------------------------------------------------------

CHECK = (
    "Before sending: check with your data protection officer for information about other "
    "people (pupils, other staff) and for safeguarding reasons to withhold (UK GDPR Art. "
    "15(4), and the exemptions in the Data Protection Act 2018)."
)
_KINDS = (
    ("cases", "Cases"),
    ("drafts", "Reports still being made"),
    ("messages", "Messages not yet delivered"),
)


def sar_text(found: Findings, when: str) -> str:
    out = [f"What this bot holds about “{found.query}” (searched {when}, UK time)", ""]
    if not found.count:
        return "\n".join([*out, "Nothing: no case, report in progress or message mentions it."])
    for attr, title in _KINDS:
        held: list[Holding] = getattr(found, attr)
        if not held:
            continue
        out.append(f"{title} ({len(held)}):")
        for h in held:
            out.append(f"  {h.key} – {_status(h)} – {h.at:%d %b %Y %H:%M} (UTC)")
            out += [f"    matched {m.field}: {_indent(m.value)}" for m in h.mentions]
            if h.record:
                out.append("    the whole record:")
                out += [f"      {k}: {_indent(v)}" for k, v in h.record]
        out.append("")
    out.append(CHECK)
    return "\n".join(out)


def _status(h: Holding) -> str:
    if h.kind != "case":
        return h.status
    return lifecycle.STATUS_LABELS.get(CaseStatus(h.status), h.status)


def _indent(text: str) -> str:
    return text.replace("\n", "\n        ")


def sar_json(found: Findings, now: datetime) -> str:
    def holding(h: Holding) -> JSON:
        return {
            "key": h.key,
            "at": h.at.isoformat(),
            "status": h.status,
            "matched": [
                {"field": m.field, "value": m.value, "at": m.at.isoformat() if m.at else None}
                for m in h.mentions
            ],
            "record": [{"field": k, "value": v} for k, v in h.record],
        }

    doc: JSON = {"query": found.query, "searched_at": now.isoformat(), "note": CHECK}
    for attr, _ in _KINDS:
        doc[attr] = [holding(h) for h in getattr(found, attr)]
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"

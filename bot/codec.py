"""Plain-JSON forms of the domain types, shared by every store so they agree byte for byte.

Datetimes are stored as ISO 8601 with their UTC offset; enums as their string values, so a
stored file reads well to a person opening it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.model import (
    JSON,
    Audience,
    Case,
    CaseCard,
    CaseList,
    CaseStatus,
    Choice,
    Conversation,
    FileKind,
    FileReply,
    Flag,
    Handoff,
    HandoffReply,
    HistoryEntry,
    Notice,
    OutboxItem,
    Person,
    Platform,
    PoshOwner,
    Question,
    Reply,
)


def _ts(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _dt(value: Any) -> datetime:
    return datetime.fromisoformat(str(value))


def person_to_dict(p: Person) -> JSON:
    return {
        "platform": str(p.platform),
        "workspace": p.workspace,
        "user_id": p.user_id,
        "name": p.name,
        "email": p.email,
    }


def person_from_dict(d: JSON) -> Person:
    return Person(
        platform=Platform(d["platform"]),
        workspace=d["workspace"],
        user_id=d["user_id"],
        name=d.get("name", ""),
        email=d.get("email", ""),
    )


def case_to_dict(c: Case) -> JSON:
    return {
        "reference": c.reference,
        "created_at": _ts(c.created_at),
        "reporter": person_to_dict(c.reporter),
        "conversation_id": c.conversation_id,
        "answers": c.answers,
        "flags": sorted(str(f) for f in c.flags),
        "status": str(c.status),
        "status_times": {k: _ts(v) for k, v in c.status_times.items()},
        "assignee": c.assignee,
        "history": [
            {"at": _ts(h.at), "who": h.who, "action": h.action, "old": h.old, "new": h.new}
            | ({"note": h.note} if h.note else {})
            for h in c.history
        ],
        "handles": list(c.handles),
        "duplicate_of": c.duplicate_of,
        "extra_reports": c.extra_reports,
        "retention_category": c.retention_category,
        "review_on": c.review_on,
        "reporter_address": dict(c.reporter_address),
        "posh_owner": str(c.posh_owner),
        "reminded": list(c.reminded),
        "remind_at": _ts(c.remind_at),
        "version": c.version,
    }


def case_from_dict(d: JSON) -> Case:
    return Case(
        reference=d["reference"],
        created_at=_dt(d["created_at"]),
        reporter=person_from_dict(d["reporter"]),
        conversation_id=d.get("conversation_id", ""),
        answers=d.get("answers", {}),
        flags=frozenset(Flag(f) for f in d.get("flags", [])),
        status=CaseStatus(d.get("status", "new")),
        status_times={k: _dt(v) for k, v in d.get("status_times", {}).items()},
        assignee=d.get("assignee", ""),
        history=[
            HistoryEntry(
                at=_dt(h["at"]),
                who=h["who"],
                action=h["action"],
                old=h.get("old", ""),
                new=h.get("new", ""),
                note=h.get("note", ""),
            )
            for h in d.get("history", [])
        ],
        handles=tuple(d.get("handles", ())),
        duplicate_of=d.get("duplicate_of", ""),
        extra_reports=int(d.get("extra_reports", 0)),
        retention_category=d.get("retention_category", ""),
        review_on=d.get("review_on", ""),
        reporter_address=dict(d.get("reporter_address", {})),
        posh_owner=PoshOwner(d.get("posh_owner", "leaders")),
        reminded=tuple(d.get("reminded", ())),
        remind_at=_dt(d["remind_at"]) if d.get("remind_at") else None,
        version=int(d.get("version", 0)),
    )


def conversation_to_dict(c: Conversation) -> JSON:
    return {
        "id": c.id,
        "person": person_to_dict(c.person),
        "step": c.step,
        "started_at": _ts(c.started_at),
        "updated_at": _ts(c.updated_at),
        "answers": c.answers,
        "trail": list(c.trail),
        "flags": sorted(str(f) for f in c.flags),
        "address": dict(c.address),
        "editing": c.editing,
        "detour": list(c.detour),
        "early": list(c.early),
        "risk_checked": c.risk_checked,
        "supported": c.supported,
        "case_reference": c.case_reference,
        "version": c.version,
    }


def conversation_from_dict(d: JSON) -> Conversation:
    # Before version 0.2 a question asked outside the flow was kept in "asked".
    step, detour = d["step"], [str(x) for x in d.get("detour", [])]
    if d.get("asked"):
        step, detour = str(d["asked"]), [*detour, step]
    return Conversation(
        id=d["id"],
        person=person_from_dict(d["person"]),
        step=step,
        started_at=_dt(d["started_at"]),
        updated_at=_dt(d["updated_at"]),
        answers=d.get("answers", {}),
        trail=list(d.get("trail", [])),
        flags={Flag(f) for f in d.get("flags", [])},
        address=dict(d.get("address", {})),
        editing=bool(d.get("editing", False)),
        detour=detour,
        early=[str(x) for x in d.get("early", [])],
        risk_checked=bool(d.get("risk_checked", False)),
        supported=bool(d.get("supported", False)),
        case_reference=str(d.get("case_reference", "")),
        version=int(d.get("version", 0)),
    )


def outbox_to_dict(o: OutboxItem) -> JSON:
    return {
        "id": o.id,
        "platform": str(o.platform),
        "audience": str(o.audience),
        "workspace": o.workspace,
        "address": dict(o.address),
        "reply": o.reply,
        "created_at": _ts(o.created_at),
        "seq": o.seq,
        "attempts": o.attempts,
        "due_at": _ts(o.due_at),
        "case_reference": o.case_reference,
        "failed": o.failed,
        "failed_at": _ts(o.failed_at),
        "conversation_id": o.conversation_id,
        "reply_to": dict(o.reply_to),
        "claimed_by": o.claimed_by,
        "claimed_until": _ts(o.claimed_until),
    }


def outbox_from_dict(d: JSON) -> OutboxItem:
    return OutboxItem(
        id=d["id"],
        platform=Platform(d["platform"]),
        audience=Audience(d["audience"]),
        workspace=d.get("workspace", ""),
        address=dict(d.get("address", {})),
        reply=d["reply"],
        created_at=_dt(d["created_at"]),
        seq=int(d.get("seq", 0)),
        attempts=int(d.get("attempts", 0)),
        due_at=_dt(d["due_at"]) if d.get("due_at") else None,
        case_reference=d.get("case_reference", ""),
        failed=d.get("failed", ""),
        failed_at=_dt(d["failed_at"]) if d.get("failed_at") else None,
        conversation_id=d.get("conversation_id", ""),
        reply_to=dict(d.get("reply_to") or {}),
        claimed_by=d.get("claimed_by", ""),
        claimed_until=_dt(d["claimed_until"]) if d.get("claimed_until") else None,
    )


# --- replies --------------------------------------------------------------------------------


def reply_to_dict(r: Reply) -> JSON:
    match r:
        case Notice(text=text, tone=tone, title=title, about=about):
            return {"type": "notice", "text": text, "tone": tone, "title": title} | (
                {"about": about} if about else {}
            )
        case Question():
            return {
                "type": "question",
                "step": r.step,
                "text": r.text,
                "choices": [{"value": c.value, "label": c.label} for c in r.choices],
                "multi": r.multi,
                "hint": r.hint,
                "accepts_text": r.accepts_text,
                "progress": r.progress,
            }
        case HandoffReply(handoff=h):
            return {"type": "handoff", "handoff": _handoff_to_dict(h)}
        case CaseCard(reference=ref, update=update, minimal=minimal, late_post=late):
            return (
                {"type": "case_card", "reference": ref, "update": update}
                | ({"minimal": True} if minimal else {})
                | ({"late_post": late} if late is not None else {})
            )
        case CaseList(title=title, references=refs, empty=empty, lines=lines):
            return {
                "type": "case_list",
                "title": title,
                "references": list(refs),
                "empty": empty,
                "lines": list(lines),
            }
        case FileReply(kind=kind, subject=subject, link=link):
            return {"type": "file", "kind": str(kind), "subject": subject} | (
                {"link": link} if link else {}
            )
    raise TypeError(f"no codec for reply type {type(r).__name__}")


def reply_from_dict(d: JSON) -> Reply:
    kind = d.get("type")
    if kind == "notice":
        return Notice(
            text=d["text"],
            tone=d.get("tone", "info"),
            title=d.get("title", ""),
            about=d.get("about", ""),
        )
    if kind == "question":
        return Question(
            step=d["step"],
            text=d["text"],
            choices=tuple(Choice(c["value"], c["label"]) for c in d.get("choices", [])),
            multi=bool(d.get("multi", False)),
            hint=d.get("hint", ""),
            accepts_text=bool(d.get("accepts_text", True)),
            progress=d.get("progress", ""),
        )
    if kind == "handoff":
        return HandoffReply(_handoff_from_dict(d["handoff"]))
    if kind == "case_card":
        return CaseCard(
            d["reference"], bool(d.get("update")), bool(d.get("minimal")), d.get("late_post")
        )
    if kind == "case_list":
        return CaseList(
            d["title"],
            tuple(d.get("references", ())),
            d.get("empty", ""),
            tuple(d.get("lines", ())),
        )
    if kind == "file":
        return FileReply(FileKind(d["kind"]), d.get("subject", ""), d.get("link", ""))
    raise ValueError(f"unknown reply type {kind!r}")


def _handoff_to_dict(h: Handoff) -> JSON:
    return {
        "reference": h.reference,
        "phone": h.phone,
        "phone_uri": h.phone_uri,
        "email": h.email,
        "mailto": h.mailto,
        "subject": h.subject,
        "body": h.body,
        "hours": h.hours,
        "open_now": h.open_now,
        "opens": h.opens,
        "checklist": list(h.checklist),
        "safety": list(h.safety),
    }


def _handoff_from_dict(d: JSON) -> Handoff:
    return Handoff(
        reference=d["reference"],
        phone=d["phone"],
        phone_uri=d["phone_uri"],
        email=d["email"],
        mailto=d["mailto"],
        subject=d["subject"],
        body=d["body"],
        hours=d["hours"],
        open_now=bool(d["open_now"]),
        opens=d.get("opens", ""),
        checklist=tuple(d.get("checklist", ())),
        safety=tuple(d.get("safety", ())),
    )

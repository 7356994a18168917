"""Domain values as table rows, and back: the JSONB document (`bot.codec`'s form, as every
store keeps it) plus the columns the store looks rows up by."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot import codec
from bot.model import JSON, Case, Conversation, OutboxItem
from bot.outbox import lane_of

Row = dict[str, Any]


def case_row(school: str, case: Case) -> Row:
    """The case as it is to be stored: at the version after the one it was read at."""
    doc = codec.case_to_dict(case)
    doc["version"] = case.version + 1
    return {
        "school": school,
        "reference": case.reference,
        "version": case.version + 1,
        "is_open": case.is_open,
        "created_at": case.created_at,
        "reporter": case.reporter.key,
        "conversation_id": case.conversation_id,
        "handles": list(case.handles),
        "remind_at": case.remind_at,
        "doc": doc,
    }


def conversation_row(school: str, person_key: str, conversation: Conversation) -> Row:
    return {
        "school": school,
        "person_key": person_key,
        "conversation_id": conversation.id,
        "case_reference": conversation.case_reference,
        "doc": {**codec.conversation_to_dict(conversation), "version": conversation.version + 1},
    }


def item_row(school: str, item: OutboxItem) -> Row:
    """Everything but `seq`, which the table assigns."""
    doc = codec.outbox_to_dict(item)
    return {
        "school": school,
        "id": item.id,
        "platform": str(item.platform),
        "lane": lane_of(doc),
        "created_at": item.created_at,
        "due_at": item.due_at,
        "claimed_until": item.claimed_until,
        "failed": bool(item.failed),
        "failed_at": item.failed_at,
        "case_reference": item.case_reference,
        "conversation_id": item.conversation_id,
        "doc": doc,
    }


def meta_row(school: str, key: str, value: JSON) -> Row:
    return {"school": school, "key": key, "about": about(key), "value": value}


def about(key: str) -> str:
    """What a meta key is about: its last part (`post:slack:TT-2026-0007` -> the case)."""
    return key.rsplit(":", 1)[-1]


def item_of(seq: int, doc: Mapping[str, Any]) -> OutboxItem:
    # The table assigns seq as it inserts the row, so the document never holds it.
    return codec.outbox_from_dict({**doc, "seq": seq})

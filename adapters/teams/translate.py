"""Teams activity in, neutral values out: who is talking, where, and what they said or pressed.

Card buttons post back the `data` of their Action.Submit merged with the card's inputs (as
strings; a multi-select ChoiceSet gives its values comma-joined). Every card this adapter sends
marks its data with `"reportbot"`, so a press is told apart from anything else in `value`:

    {"reportbot": "answer", "step": "harm", "action": "yes"}          a single-choice button
    {"reportbot": "answer", "step": "harm", "choices": "a,b"}          a choice set + Continue
    {"reportbot": "case", "action": "case:sent:TT-2026-0001"}          a leader's status button
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from microsoft_agents.activity import Activity

from bot.model import Person, Platform

CHOICES_INPUT = "choices"
_MENTION = re.compile(r"<at\b[^>]*>.*?</at>", re.IGNORECASE | re.DOTALL)


class Place(StrEnum):
    PERSONAL = "personal"
    CHANNEL = "channel"
    GROUP = "groupChat"


@dataclass(frozen=True)
class Said:
    """What one message carried, platform-free."""

    text: str = ""
    action: str | None = None
    values: tuple[str, ...] = ()
    step: str | None = None  # the question a card answer belongs to
    is_case_action: bool = False
    has_files: bool = False


@dataclass(frozen=True)
class TeamChannel:
    team_id: str
    channel_id: str
    team_name: str = ""
    group_id: str = ""  # the team's Microsoft 365 group; only install events carry it


def place_of(activity: Activity) -> Place:
    kind = getattr(activity.conversation, "conversation_type", None) or ""
    if kind == "channel":
        return Place.CHANNEL
    if kind == "groupChat" or getattr(activity.conversation, "is_group", False):
        return Place.GROUP
    return Place.PERSONAL


def channel_data(activity: Activity) -> dict[str, Any]:
    data = activity.channel_data
    return data if isinstance(data, dict) else {}


def tenant_of(activity: Activity) -> str:
    tenant = channel_data(activity).get("tenant")
    tenant_id = tenant.get("id") if isinstance(tenant, dict) else None
    tenant_id = tenant_id or getattr(activity.conversation, "tenant_id", None) or ""
    return str(tenant_id).lower()


def person_of(activity: Activity) -> Person:
    sender = activity.from_property
    return Person(
        Platform.TEAMS,
        tenant_of(activity),
        str(getattr(sender, "id", "") or ""),
        name=str(getattr(sender, "name", "") or ""),
    )


def team_of(activity: Activity) -> TeamChannel | None:
    """The team and channel of a channel activity; None outside a team."""
    data = channel_data(activity)
    team = data.get("team")
    if not isinstance(team, dict) or not team.get("id"):
        return None
    selected = (data.get("settings") or {}).get("selectedChannel") or {}
    channel = data.get("channel") or {}
    conversation_id = str(getattr(activity.conversation, "id", "") or "")
    channel_id = selected.get("id") or channel.get("id") or conversation_id.split(";")[0]
    group_id = str(team.get("aadGroupId") or "").lower()
    return TeamChannel(str(team["id"]), str(channel_id), str(team.get("name") or ""), group_id)


def delivery_id(activity: Activity) -> str | None:
    """Stable across redeliveries; message ids are only unique within a conversation."""
    if not activity.id:
        return None
    conversation_id = getattr(activity.conversation, "id", "") or ""
    digest = hashlib.sha256(f"{conversation_id}\n{activity.id}".encode()).hexdigest()[:32]
    return f"teams:{digest}"


def short_key(value: str) -> str:
    """A short stable key for ids built from long Teams conversation ids."""
    return hashlib.sha256(value.encode()).hexdigest()[:24]


def read_message(activity: Activity) -> Said:
    value = activity.value if isinstance(activity.value, dict) else {}
    if value.get("reportbot") == "case":
        action = value.get("action")
        return Said(action=str(action) if action else None, is_case_action=True)
    if value.get("reportbot") == "answer":
        return _answer(value)
    text = _MENTION.sub(" ", activity.text or "")
    return Said(text=" ".join(text.split()), has_files=_has_files(activity))


def _answer(value: dict[str, Any]) -> Said:
    step = str(value["step"]) if value.get("step") else None
    if value.get("action"):
        return Said(action=str(value["action"]), step=step)
    raw = value.get(CHOICES_INPUT)
    chosen = str(raw) if isinstance(raw, str | int) else ""
    values = tuple(v.strip() for v in chosen.split(",") if v.strip())
    return Said(values=values, step=step)


def _has_files(activity: Activity) -> bool:
    """Pictures or files, not Teams' HTML copy of the typed text or a card."""
    for attachment in activity.attachments or []:
        kind = str(getattr(attachment, "content_type", "") or "")
        if kind != "text/html" and not kind.startswith("application/vnd.microsoft.card"):
            return True
    return False

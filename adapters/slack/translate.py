"""Slack payloads → neutral `Turn`s. Pure functions: no network, no store.

Each function takes the payload as Slack sends it (a slash command, a `message.im` event, a
`block_actions` press) and returns what the engine needs, or None for payloads the bot does not
act on (its own messages, a checkbox being ticked). A payload without the fields Slack always
sends raises `Malformed`; its content is never put in the exception message.

Delivery ids make Slack's retries and replays recognisable: the event id for events, the
trigger id for slash commands, and message ts + action ts + user for a button press.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from bot.errors import PlatformError
from bot.lifecycle import CaseAction
from bot.model import Person, Platform, Turn

START = "start"
_MARKUP = re.compile(r"<([^<>]*)>")


class Malformed(PlatformError):
    """The payload lacks a field that Slack always sends."""


@dataclass(frozen=True)
class Inbound:
    """A translated payload: the turn, plus what the adapter must check before the engine.

    `step` is the question a button belonged to, so a press on an old question is not taken
    as the answer to the current one. `leader_action` asks for the membership check.
    """

    turn: Turn
    step: str = ""
    leader_action: bool = False
    name_hint: str = ""


# --- text -----------------------------------------------------------------------------------


def unslack(text: str) -> str:
    """Slack's message markup back to what the person typed.

    A link becomes its address (never its label, which could disguise it); mentions become
    plain @names that mention no one; Slack's three entities are decoded last.
    """
    return _entities(_EMOJI_CODE.sub(_emoji, _MARKUP.sub(_plain_markup, text)))


# Slack sends an emoji as its short code (":+1:", ":two:", ":shrug::skin-tone-3:"): those an
# answer may be are given back as the characters typed, which the engine reads.
_DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_EMOJI_CODES = (
    {"+1": "👍", "thumbsup": "👍", "-1": "👎", "thumbsdown": "👎"}
    | {code: "🤷" for code in ("shrug", "person_shrugging", "man-shrugging", "woman-shrugging")}
    | {word: f"{n}\ufe0f\u20e3" for n, word in enumerate(_DIGITS)}
)
_EMOJI_CODE = re.compile(r":([a-z0-9_+-]+):(?::skin-tone-[2-6]:)?")


def _emoji(match: re.Match[str]) -> str:
    return _EMOJI_CODES.get(match.group(1), match.group(0))


def _plain_markup(match: re.Match[str]) -> str:
    target, _, label = match.group(1).partition("|")
    if target.startswith(("@", "#")):
        return target[0] + (label.lstrip("@#") or target[1:])
    if target.startswith("!"):
        return "@" + (label.lstrip("@") or target[1:].split("^")[0])
    if target.startswith("mailto:"):
        return target.removeprefix("mailto:")
    return target


def _entities(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


# --- payloads ---------------------------------------------------------------------------------


def from_command(body: dict[str, Any]) -> Inbound:
    user = _text(body, "user_id")
    channel = _optional(body, "channel_id")
    turn = Turn(
        person=_person(_workspace(body), user),
        text=unslack(_optional(body, "text")).strip(),
        action=START,
        delivery_id=f"slack:command:{_text(body, 'trigger_id')}",
        address=dm_address(user),
        place=channel if channel.startswith(("C", "G")) else "",  # typed in a channel
    )
    return Inbound(turn, name_hint=_optional(body, "user_name"))


def from_message(body: dict[str, Any]) -> Inbound | None:
    event = _dict(body, "event")
    if event.get("channel_type") != "im" or event.get("bot_id"):
        return None
    if event.get("subtype") not in (None, "file_share"):
        return None  # edits, deletions, joins: not something the person said to the bot
    user = _text(event, "user")
    turn = Turn(
        person=_person(_workspace(body), user),
        text=unslack(_optional(event, "text")).strip(),
        delivery_id=f"slack:event:{_text(body, 'event_id')}",
        address={"channel": _text(event, "channel"), "user": user},
        has_files=bool(event.get("files")) or event.get("subtype") == "file_share",
    )
    return Inbound(turn)


def from_action(body: dict[str, Any]) -> Inbound | None:
    actions = body.get("actions")
    if not isinstance(actions, list) or not actions or not isinstance(actions[0], dict):
        raise Malformed("block_actions without actions")
    action: dict[str, Any] = actions[0]
    kind, _, rest = _text(action, "action_id").partition(":")
    user = _text(_dict(body, "user"), "id")
    base = Turn(
        person=_person(_workspace(body), user),
        delivery_id=_press_id(body, action, user),
        address=dm_address(user, _channel(body)),
    )
    if kind == "case":
        return _case_press(base, _text(action, "value"), _channel(body))
    if kind == "answer":
        value = _text(action, "value")
        return Inbound(_with(base, action=value), step=rest.split(":")[0])
    if kind == "continue":
        return Inbound(_with(base, values=ticked(body, rest)), step=rest)
    if kind == "home" and rest == START:
        return Inbound(_with(base, action=START, address=dm_address(user)))
    return None  # a checkbox being ticked, a link button: nothing for the engine


def home_person(body: dict[str, Any]) -> Person | None:
    """The person opening the bot's Home tab, or None for the Messages tab."""
    event = _dict(body, "event")
    if event.get("tab") != "home":
        return None
    return _person(_workspace(body), _text(event, "user"))


def ticked(body: dict[str, Any], step: str) -> tuple[str, ...]:
    """The values ticked in a question's checkbox groups, read from the message's state."""
    state = body.get("state")
    values = state.get("values") if isinstance(state, dict) else None
    if not isinstance(values, dict):
        return ()
    picked: list[str] = []
    for block_id, elements in values.items():
        if not str(block_id).startswith(f"pick:{step}:") or not isinstance(elements, dict):
            continue
        for element in elements.values():
            options = element.get("selected_options") if isinstance(element, dict) else None
            picked += [str(o["value"]) for o in options or [] if isinstance(o, dict)]
    return tuple(dict.fromkeys(picked))


def dm_address(user: str, channel: str = "") -> dict[str, str]:
    """Where a reply to this person goes: their DM with the bot (a user id opens it)."""
    dm = channel if channel.startswith("D") else user
    return {"channel": dm, "user": user}


def ephemeral_address(channel: str, user: str) -> dict[str, str]:
    """A reply only this person sees, in the channel where they pressed a button."""
    return {"channel": channel, "user": user, "ephemeral": "yes"}


# --- helpers ----------------------------------------------------------------------------------


def _case_press(base: Turn, value: str, channel: str) -> Inbound:
    if CaseAction.parse(value) is None or not channel:
        raise Malformed("case button without a case")
    address = ephemeral_address(channel, base.person.user_id)
    return Inbound(_with(base, action=value, address=address), leader_action=True)


def _with(turn: Turn, **changes: Any) -> Turn:
    return replace(turn, **changes)


def _press_id(body: dict[str, Any], action: dict[str, Any], user: str) -> str:
    where = (
        _nested(body, "container", "message_ts")
        or _nested(body, "container", "view_id")
        or _nested(body, "view", "id")
    )
    return f"slack:action:{where}:{_optional(action, 'action_ts')}:{user}"


def _nested(body: dict[str, Any], outer: str, key: str) -> str:
    inner = body.get(outer)
    return _optional(inner, key) if isinstance(inner, dict) else ""


def _channel(body: dict[str, Any]) -> str:
    return _nested(body, "container", "channel_id") or _nested(body, "channel", "id")


def _workspace(body: dict[str, Any]) -> str:
    return (
        _org_wide(body)
        or _nested(body, "team", "id")
        or _optional(body, "team_id")
        or _optional(body, "enterprise_id")
        or _nested(body, "user", "team_id")
    )


def _org_wide(body: dict[str, Any]) -> str:
    """An org-wide install (Enterprise Grid) is one school across the org's workspaces, so its
    people are named by the org's id, whichever workspace they write from (a user's id is the
    same in every workspace of an org); "" for any other request."""
    authorizations = body.get("authorizations")
    first = authorizations[0] if isinstance(authorizations, list) and authorizations else None
    flag = body.get("is_enterprise_install")
    if flag is None and isinstance(first, dict):
        flag = first.get("is_enterprise_install")
    if flag not in (True, "true"):
        return ""
    return _nested(body, "enterprise", "id") or _optional(body, "enterprise_id")


def _person(workspace: str, user: str) -> Person:
    return Person(Platform.SLACK, workspace, user)


def _dict(body: dict[str, Any], key: str) -> dict[str, Any]:
    value = body.get(key)
    if not isinstance(value, dict):
        raise Malformed(f"payload without {key}")
    return value


def _text(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise Malformed(f"payload without {key}")
    return value


def _optional(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    return value if isinstance(value, str) else ""

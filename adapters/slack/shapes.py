"""What Slack sends to the request URL, checked before Bolt sees any of it.

Bolt trusts the shape of a signed body: a `view_submission` whose `view` has no `type`, or an
`action_id` that is a number, raises inside Bolt and becomes a 500 with a traceback. And for a
request no listener handles, Bolt logs a warning that quotes parts of the body – for a
`block_suggestion`, what the person typed. So only the kinds this bot listens to reach Bolt
(slash commands, the `message` and `app_home_opened` events, block actions, and Slack's own URL
and SSL checks), and only when every field Bolt or `translate` reads has the type Slack gives
it. Each shape below lists those fields; anything else in a body is left alone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

NONE = type(None)
Spec = Any  # a type, a tuple of types, an `Obj` or a `ListOf`


@dataclass(frozen=True)
class Obj:
    """A JSON object whose listed fields, where present, have the given shapes."""

    required: Mapping[str, Spec] = field(default_factory=dict)
    optional: Mapping[str, Spec] = field(default_factory=dict)


@dataclass(frozen=True)
class ListOf:
    item: Spec
    least: int = 0


def fits(value: Any, spec: Spec) -> bool:
    if isinstance(spec, tuple):  # any one of them
        return any(fits(value, one) for one in spec)
    if isinstance(spec, ListOf):
        return (
            isinstance(value, list)
            and len(value) >= spec.least
            and all(fits(v, spec.item) for v in value)
        )
    if isinstance(spec, Obj):
        if not isinstance(value, dict):
            return False
        if any(key not in value for key in spec.required):
            return False
        fields = {**spec.optional, **spec.required}
        return all(fits(value[key], fields[key]) for key in fields.keys() & value.keys())
    if spec is int and isinstance(value, bool):
        return False
    return isinstance(value, spec)


TEXT = (str, NONE)
WORKSPACE = {  # where a request comes from: Bolt reads these of every kind
    "token": str,
    "api_app_id": str,
    "team_id": TEXT,
    "enterprise_id": TEXT,
    "is_enterprise_install": (bool, str),
    "enterprise": (Obj(required={"id": str}), NONE),
}
AUTHORIZATION = Obj(
    optional={
        "team_id": TEXT,
        "enterprise_id": TEXT,
        "user_id": str,
        "is_bot": bool,
        "is_enterprise_install": bool,
    }
)
EVENT = Obj(
    required={"type": str},
    optional={
        "subtype": str,
        "user": str,
        "channel": str,
        "channel_type": str,
        "text": TEXT,
        "ts": str,
        "event_ts": str,
        "thread_ts": str,
        "tab": str,
        "bot_id": str,
        "files": ListOf(dict),
        "view": dict,
        "tokens": Obj(optional={"oauth": ListOf(str), "bot": ListOf(str)}),  # tokens_revoked
    },
)
EVENT_CALLBACK = Obj(
    required={"type": str, "event": EVENT},
    optional={
        **WORKSPACE,
        "event_id": str,
        "event_time": int,
        "authorizations": ListOf(AUTHORIZATION),
        "context_team_id": TEXT,
        "context_enterprise_id": TEXT,
    },
)
ACTION = Obj(
    required={"action_id": str},
    optional={
        "block_id": str,
        "type": str,
        "value": str,
        "action_ts": str,
        "selected_options": ListOf(Obj(optional={"value": str})),
        "text": dict,
    },
)
BLOCK_ACTIONS = Obj(
    required={"type": str, "user": Obj(required={"id": str}), "actions": ListOf(ACTION, 1)},
    optional={
        **WORKSPACE,
        "team": (Obj(required={"id": str}, optional={"enterprise_id": TEXT}), NONE),
        "container": Obj(
            optional={"type": str, "message_ts": str, "channel_id": str, "view_id": str}
        ),
        "channel": Obj(required={"id": str}),
        "message": Obj(optional={"ts": str, "type": str, "thread_ts": str}),
        "state": Obj(optional={"values": dict}),
        "view": Obj(required={"id": str, "type": str}, optional={"team_id": TEXT}),
        "trigger_id": str,
        "response_url": str,
    },
)
URL_VERIFICATION = Obj(required={"type": str, "challenge": str}, optional={"token": str})
COMMAND = Obj(required={"command": str, "user_id": str}, optional=WORKSPACE)

JSON_SHAPES = {
    "event_callback": EVENT_CALLBACK,
    "block_actions": BLOCK_ACTIONS,
    "url_verification": URL_VERIFICATION,
}
EVENTS_HANDLED = frozenset({"message", "app_home_opened", "app_uninstalled", "tokens_revoked"})
_NAME = re.compile(r"^[a-z][a-z0-9_.]{0,49}$")


class Verdict(Enum):
    """What to do with a parsed, signed body."""

    BOLT = "bolt"  # a kind the bot handles, in a shape Bolt can read
    IGNORE = "ignore"  # an event nobody here listens to: acknowledge it, so Slack does not retry
    UNHANDLED = "unhandled"  # an interaction nothing here offers (a modal, a shortcut…)
    MALFORMED = "malformed"


def judge(body: Mapping[str, Any]) -> Verdict:
    if "command" in body or body.get("ssl_check") == "1":  # forms: every value is text
        return Verdict.BOLT if "ssl_check" in body or fits(body, COMMAND) else Verdict.MALFORMED
    kind = body.get("type")
    if not isinstance(kind, str):
        return Verdict.MALFORMED
    shape = JSON_SHAPES.get(kind)
    if shape is None:
        return Verdict.UNHANDLED
    if not fits(body, shape):
        return Verdict.MALFORMED
    if kind == "event_callback" and body["event"]["type"] not in EVENTS_HANDLED:
        return Verdict.IGNORE
    return Verdict.BOLT


def kind_name(body: Mapping[str, Any]) -> str:
    """The request's kind for the log: Slack's own name for it, never a value anyone typed."""
    kind = body.get("type")
    event = body.get("event")
    if kind == "event_callback" and isinstance(event, dict):
        kind = event.get("type")
    return kind if isinstance(kind, str) and _NAME.match(kind) else "unrecognised"

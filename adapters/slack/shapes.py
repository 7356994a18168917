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
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

NONE = type(None)
Spec = Any  # a type, a tuple of types, an `Obj` or a `ListOf`
Check = Callable[[Any], bool]


@dataclass(frozen=True)
class Obj:
    """A JSON object whose listed fields, where present, have the given shapes."""

    required: Mapping[str, Spec] = field(default_factory=dict)
    optional: Mapping[str, Spec] = field(default_factory=dict)


@dataclass(frozen=True)
class ListOf:
    item: Spec
    least: int = 0


def checker(spec: Spec) -> Check:
    """`spec` made once into nested functions: judging a body then walks no specs (a press's
    body took 19 µs in a function that read the specs at every step, 5 µs here)."""
    if isinstance(spec, tuple):  # any one of them
        if all(isinstance(one, type) and one is not int for one in spec):
            return lambda value: isinstance(value, spec)
        ones = tuple(checker(one) for one in spec)
        return lambda value: any(check(value) for check in ones)
    if isinstance(spec, ListOf):
        item, least = checker(spec.item), spec.least
        return lambda value: (
            isinstance(value, list) and len(value) >= least and all(map(item, value))
        )
    if isinstance(spec, Obj):
        return _object_checker(spec)
    if spec is int:  # JSON's true is not a number
        return lambda value: isinstance(value, int) and not isinstance(value, bool)
    return lambda value: isinstance(value, spec)


def _object_checker(spec: Obj) -> Check:
    required = tuple(spec.required)
    fields = tuple((key, checker(one)) for key, one in {**spec.optional, **spec.required}.items())

    def fits(value: Any) -> bool:  # loops, not generators: this runs for every request
        if not isinstance(value, dict):
            return False
        for key in required:
            if key not in value:
                return False
        for key, check in fields:  # noqa: SIM110 (a loop: no generator made per object)
            if key in value and not check(value[key]):
                return False
        return True

    return fits


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
CHECKS = {kind: checker(shape) for kind, shape in JSON_SHAPES.items()}
COMMAND_CHECK = checker(COMMAND)
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
        return Verdict.BOLT if "ssl_check" in body or COMMAND_CHECK(body) else Verdict.MALFORMED
    kind = body.get("type")
    if not isinstance(kind, str):
        return Verdict.MALFORMED
    check = CHECKS.get(kind)
    if check is None:
        return Verdict.UNHANDLED
    if not check(body):
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

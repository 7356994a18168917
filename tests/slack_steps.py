"""A person's step in a report as the request Slack would send for it, with the delivery id the
bot de-duplicates it by (adapters/slack/translate.py builds the same id from the same fields).

Used where requests are sent over HTTP to real server processes: scripts/two_instances.py and
benchmarks/instances.py. A press is built from the message that offers it, as Slack builds it
from the message the person pressed in.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from tests.slack_fakes import (
    TEAM,
    FakeSlack,
    _choose,
    block_actions,
    command_form,
    dm_channel,
    eventually,
    form_body,
    message_event,
    payload_body,
    signed_headers,
)

FORM, JSON_TYPE = "application/x-www-form-urlencoded", "application/json"
JSONDict = dict[str, Any]


@dataclass(frozen=True)
class StepRequest:
    """One request, sent unchanged (but freshly signed each time) until Slack gets a 200."""

    user: str
    step: int
    body: bytes
    content_type: str
    delivery_id: str
    is_event: bool  # only events are retried by Slack itself

    def headers(self, retry: int = 0) -> dict[str, str]:
        """Signed now, as Slack signs every attempt; a retried event says so, as Slack's do."""
        headers = {"Content-Type": self.content_type, **signed_headers(self.body)}
        if retry and self.is_event:
            headers |= {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
        return headers


def step_request(
    user: str,
    step: int,
    how: str,
    what: str,
    question: JSONDict | None = None,
    *,
    team: str = TEAM,
) -> StepRequest:
    """`how` is "command" (`what`: the link), "say" (`what`: the text) or "press" (`what`: the
    value or comma-separated values to choose in `question`, the message offering them); from
    a person in the workspace `team`."""
    if how == "command":
        trigger = f"trigger.{user}.{time.monotonic_ns()}"
        form = form_body(command_form(user, what, trigger=trigger, team=team))
        return StepRequest(user, step, form, FORM, f"slack:command:{trigger}", False)
    if how == "say":
        event_id = f"Ev{user}.{step}.{time.monotonic_ns()}"
        event = message_event(user, what, event_id=event_id, team=team)
        body = json.dumps(event).encode()
        return StepRequest(user, step, body, JSON_TYPE, f"slack:event:{event['event_id']}", True)
    if question is None:
        raise ValueError(f"{user} has no question to press {what!r} in")
    action, state = _choose(question, tuple(what.split(",")))
    if action is None:
        raise ValueError(f"the question offers {user} no {what!r}")
    action_ts = f"{time.time():.6f}"
    payload = block_actions(
        user, action, channel=dm_channel(user), message_ts=question["ts"], state=state,
        action_ts=action_ts, team=team,
    )  # fmt: skip
    delivery = f"slack:action:{question['ts']}:{action_ts}:{user}"
    return StepRequest(user, step, payload_body(payload), FORM, delivery, False)


def offering(messages: list[JSONDict], what: str) -> JSONDict | None:
    """The newest of `messages` that offers `what` to press, if any."""
    values = tuple(what.split(","))
    return next((m for m in reversed(messages) if _choose(m, values)[0]), None)


async def awaited_reply(
    fake: FakeSlack, user: str, before: int, wanted: tuple[str, str], limit: float
) -> JSONDict:
    """The message that lets the person take `wanted`: for a press, the newest one since
    `before` offering those values; for typing or the end, any new message. TimeoutError if
    none comes within `limit` seconds."""
    how, what = wanted

    def found() -> JSONDict | None:
        new = fake.dm(user)[before:]
        if how != "press":
            return new[-1] if new else None
        return offering(new, what)

    await eventually(lambda: found() is not None, limit)
    message = found()
    assert message is not None
    return message

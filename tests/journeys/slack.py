"""Slack: signed requests to the real server app, replies read off the Web API stand-in.

Start is the slash command, typing is a DM event, a choice is a press on the latest question's
button (or its checkboxes ticked, then Continue), a picture is a `file_share` DM event. What
the person saw is every DM post or update and every ephemeral reply to them since the step
began, plus the command's own answer; leadership is every post and update in its channel.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from slack_fakes import (
    LEADER,
    LEADERS,
    STAFF,
    Harness,
    JSONDict,
    block_actions,
    dm_channel,
    message_event,
    slack_harness,
)

from bot.facts import Facts
from journeys.table import Journey
from journeys.transcript import Asked, Ending, Mismatch

SAYS = ("chat.postMessage", "chat.update", "chat.postEphemeral")
EMAIL_MARK = "Email text, ready to send:"
FILES = "https://files.slack.com/files-pri/T0SCHOOL-F0PICTURE"
TYPE_HINTS = ("Type your answer below.", "Or type your answer below.")


class SlackChat:
    def __init__(self, h: Harness, user: str) -> None:
        self.h = h
        self.user = user
        self.dm = dm_channel(user)
        self._mark = 0  # calls to the stand-in before this step
        self._dm_mark = 0
        self._shown: list[JSONDict] = []  # the DM messages the last step brought

    async def start(self, text: str) -> str:
        response = await self.h.command(self.user, text)
        answer = await _answer(response)
        await self.h.deliver()
        return "\n".join(filter(None, [str(answer.get("text", "")), self._since()]))

    async def type(self, text: str) -> str:
        return await self._event(message_event(self.user, text))

    async def picture(self, text: str) -> str:
        event = message_event(self.user, text)
        event["event"].update(subtype="file_share", upload=False, files=[_image()])
        return await self._event(event)

    async def choose(self, asked: Asked, picks: list[int]) -> tuple[str, str]:
        message: JSONDict = asked.handle
        if asked.multi:
            action, state = _tick(message, picks)
            did = f"ticked {[asked.labels[k] for k in picks]} and pressed Continue"
        else:
            action, state = _answer_buttons(message)[picks[0]], None
            did = f"pressed {asked.labels[picks[0]]!r}"
        payload = block_actions(
            self.user, action, channel=self.dm, message_ts=message["ts"], state=state
        )
        await _answer(await self.h.action(payload))
        await self.h.deliver()
        return did, self._since()

    def asked(self) -> Asked | None:
        for message in reversed(self._shown):
            boxes = _checkboxes(message)
            labels = [o["text"]["text"] for o in boxes] or [
                b["text"]["text"] for b in _answer_buttons(message)
            ]
            if labels or any(t in TYPE_HINTS for t in _strings(_blocks(message))):
                text = _unescape(str(message.get("text", "")))  # the question's own words
                return Asked(text, tuple(labels), bool(boxes), message)
        return None

    async def finish(self) -> Ending:
        calls = [c.params for c in self.h.fake.calls if c.method in SAYS[:2]]
        leadership = "\n".join(slack_text(p) for p in calls if p.get("channel") == LEADERS)
        cases = await self.h.runtime.store.cases()
        today = self.h.clock.now().astimezone(ZoneInfo(Facts().posh_timezone)).date()
        return Ending(leadership, self._handoff(), cases, (today,))

    # -- helpers --------------------------------------------------------------------------------

    async def _event(self, event: JSONDict) -> str:
        await _answer(await self.h.event(event))
        await self.h.deliver()
        return self._since()

    def _since(self) -> str:
        """What reached this person since the last step: DM posts and updates, ephemerals."""
        calls, self._mark = self.h.fake.calls[self._mark :], len(self.h.fake.calls)
        dm = self.h.fake.dm(self.user)
        self._shown, self._dm_mark = dm[self._dm_mark :], len(dm)
        files = [  # a leader's file: the message that comes with it in the DM
            str(c.params.get("initial_comment", ""))
            for c in calls
            if c.method == "files.completeUploadExternal" and c.params.get("channel_id") == self.dm
        ]
        return "\n".join(
            [
                *(
                    slack_text(c.params)
                    for c in calls
                    if c.method in SAYS
                    and (
                        c.params.get("channel") in (self.user, self.dm)
                        or (c.method == "chat.postEphemeral" and c.params.get("user") == self.user)
                    )
                ),
                *files,
            ]
        )

    def _handoff(self) -> str | None:
        for message in reversed(self.h.fake.dm(self.user)):
            texts = [
                (b.get("text") or {}).get("text", "")
                for b in _blocks(message)
                if b.get("type") == "section"
            ]
            at = next((k for k, t in enumerate(texts) if t.startswith(EMAIL_MARK)), None)
            if at is not None:
                return "\n".join([texts[at].removeprefix(EMAIL_MARK), *texts[at + 1 :]]).strip()
        return None


async def _answer(response: Any) -> JSONDict:
    """Slack's view of the request: anything but 200 is the bot's failure."""
    body = await response.text()
    if response.status != 200:
        raise Mismatch(f"the app answered Slack with HTTP {response.status}: {body[:300]}")
    answer = json.loads(body) if body.startswith("{") else {}
    return answer if isinstance(answer, dict) else {}


def _blocks(message: JSONDict) -> list[JSONDict]:
    blocks = message.get("blocks") or []
    return json.loads(blocks) if isinstance(blocks, str) else list(blocks)


def _elements(message: JSONDict) -> Iterator[tuple[JSONDict, JSONDict]]:
    for block in _blocks(message):
        if block.get("type") == "actions":
            for element in block["elements"]:
                yield block, element


def _answer_buttons(message: JSONDict) -> list[JSONDict]:
    return [
        e
        for _, e in _elements(message)
        if e.get("type") == "button" and str(e.get("action_id", "")).startswith("answer:")
    ]


def _checkboxes(message: JSONDict) -> list[JSONDict]:
    return [o for _, e in _elements(message) if e.get("type") == "checkboxes" for o in e["options"]]


def _tick(message: JSONDict, picks: list[int]) -> tuple[JSONDict, JSONDict]:
    """The Continue button, and the message state with the picked boxes ticked in each group."""
    wanted = {id(o) for k, o in enumerate(_checkboxes(message)) if k in picks}
    state: JSONDict = {}
    step = ""
    for block, element in _elements(message):
        if element.get("type") != "checkboxes":
            continue
        step = str(element["action_id"]).split(":")[1]
        ticked = [o for o in element["options"] if id(o) in wanted]
        state[block["block_id"]] = {
            element["action_id"]: {"type": "checkboxes", "selected_options": ticked}
        }
    go = [e for _, e in _elements(message) if e.get("action_id") == f"continue:{step}"]
    if not go:
        raise Mismatch("the question has checkboxes but no Continue button")
    return go[0], state


def _image() -> JSONDict:
    """A file as a `file_share` event carries it (api.slack.com/types/file)."""
    return {
        "id": "F0PICTURE",
        "name": "IMG_0042.png",
        "title": "IMG_0042.png",
        "mimetype": "image/png",
        "filetype": "png",
        "pretty_type": "PNG",
        "size": 48213,
        "url_private": f"{FILES}/img_0042.png",
        "url_private_download": f"{FILES}/download/img_0042.png",
    }


def slack_text(message: JSONDict) -> str:
    """The words of a message as shown: every text in its blocks (the fallback text, used in
    notifications, only when there are none).

    (Not `all_text`: its JSON escapes newlines and quotes, which substrings then miss.)
    """
    blocks = _blocks(message)
    parts = list(_strings(blocks)) if blocks else [str(message.get("text", ""))]
    return "\n".join(_unescape(p) for p in parts if p)


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "text" and isinstance(value, str):
                yield value
            else:
                yield from _strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


@asynccontextmanager
async def slack(journey: Journey, tmp: Path) -> AsyncIterator[SlackChat]:
    """A leader is LEADER, whom the stand-in lists in the leadership channel; others STAFF."""
    async with slack_harness() as h:
        yield SlackChat(h, LEADER if journey.leader else STAFF)

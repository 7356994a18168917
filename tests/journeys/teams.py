"""Teams: activities to the real server app, replies read off the Bot Connector stand-in.

The leadership team has the bot installed, so case cards are posted; a leader is in its
roster. Start is a first personal message, typing is a message, a choice is a press on the
latest question card's button (or a pick in its choice set, then Continue), a picture is a
message with an image attachment. What the person saw is every card posted to or updated in
their personal chat since the step began; leadership is every post and update in its channel.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from html import escape
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from teams_fakes import (
    DEV_ENV,
    LEADER,
    LEADS_CHANNEL,
    PERSONAL_CHAT,
    REPORTER,
    TEAM,
    Call,
    TeamsHarness,
    harness,
    personal_message,
)

from bot.facts import Facts
from journeys.table import Journey
from journeys.transcript import Asked, Ending, Mismatch

Card = dict[str, Any]
EMAIL_MARK = "Email text, ready to send:"
PROGRESS = re.compile(r"Part \d+ of \d+")
# A picture pasted into a personal chat, as Teams sends it (learn.microsoft.com, "Send and
# receive inline images"): the image itself, then the HTML of the message around it.
HOSTED = "https://smba.trafficmanager.net/emea/v3/attachments/0-weu-d1-42"
IMAGE = {"contentType": "image/png", "contentUrl": f"{HOSTED}/views/original"}


class TeamsChat:
    def __init__(self, h: TeamsHarness, user: dict[str, str]) -> None:
        self.h = h
        self.user = user
        self.chat = PERSONAL_CHAT if user is REPORTER else f"a:chat-{user['id']}"
        self._mark = 0  # calls to the stand-in before this step
        self._shown: list[Card] = []  # the cards the last step brought

    async def start(self, text: str) -> str:
        return await self.type(text or "report")

    async def type(self, text: str) -> str:
        return await self._send(personal_message(self.h.service_url, text, user=self.user))

    async def picture(self, text: str) -> str:
        activity = personal_message(self.h.service_url, text, user=self.user)
        html = f'<p>{escape(text)}</p><p><img src="{HOSTED}/views/imgo" alt="image"></p>'
        activity["attachments"] = [dict(IMAGE), {"contentType": "text/html", "content": html}]
        return await self._send(activity)

    async def choose(self, asked: Asked, picks: list[int]) -> tuple[str, str]:
        card: Card = asked.handle
        choice_set = _choice_set(card)
        names = [asked.labels[k] for k in picks]
        if choice_set is None:
            data = dict(_answer_buttons(card)[picks[0]]["data"])
            did = f"pressed {names[0]!r}"
        else:
            [go] = [a for a in card.get("actions", []) if a["title"] == "Continue"]
            values = [choice_set["choices"][k]["value"] for k in picks]
            data = {**go["data"], "choices": ",".join(values)}
            did = f"chose {names} and pressed Continue"
        activity = personal_message(self.h.service_url, value=data, user=self.user)
        return did, await self._send(activity)

    def asked(self) -> Asked | None:
        for card in reversed(self._shown):
            lines = _lines(card)
            choice_set = _choice_set(card)
            if choice_set is not None:
                labels = tuple(c["title"] for c in choice_set["choices"])
                multi = bool(choice_set.get("isMultiSelect"))
                return Asked(_question(lines), labels, multi, card)
            buttons = _answer_buttons(card)
            if buttons or (lines and PROGRESS.fullmatch(lines[0])):  # a question to type to
                return Asked(_question(lines), tuple(b["title"] for b in buttons), False, card)
        return None

    async def finish(self) -> Ending:
        leadership = "\n".join(map(card_text, _cards(self.h.connector.calls, LEADS_CHANNEL)))
        cases = await self.h.runtime.store.cases()
        today = self.h.clock.now().astimezone(ZoneInfo(Facts().posh_timezone)).date()
        return Ending(leadership, self._handoff(), cases, (today,))

    async def _send(self, activity: dict[str, Any]) -> str:
        status = await self.h.send(activity)
        if status != 200:
            raise Mismatch(f"the app answered the activity with HTTP {status}")
        await self.h.deliver()
        calls, self._mark = self.h.connector.calls[self._mark :], len(self.h.connector.calls)
        self._shown = _cards(calls, self.chat)
        return "\n".join(card_text(card) for card in self._shown)

    def _handoff(self) -> str | None:
        shown = [card for c in self.h.connector.posts_to(self.chat) for card in c.cards]
        for card in reversed(shown):
            lines = _lines(card)
            if EMAIL_MARK in lines:
                return "\n".join(lines[lines.index(EMAIL_MARK) + 1 :])
        return None


def _cards(calls: list[Call], conversation: str) -> list[Card]:
    """The cards posted to, or updated in, one conversation."""
    return [
        card
        for c in calls
        if c.method in ("POST", "PUT") and c.body is not None and c.conversation == conversation
        for card in c.cards
    ]


def card_text(card: Card) -> str:
    """Every string a person reads on the card, in order: `texts(card)` with the choice
    set's labels, which it leaves out, before the buttons."""
    words: list[str] = []
    for block in card.get("body", []):
        words += [run["text"] for run in block.get("inlines", [])]
        words += [block["text"]] if "text" in block else []
        words += [c["title"] for c in block.get("choices", [])]
    for action in card.get("actions", []):
        words.append(action.get("title", ""))
    for block in card.get("body", []):
        words += [a.get("title", "") for a in block.get("actions", [])]  # an ActionSet
    return "\n".join(w for w in words if w)


def _lines(card: Card) -> list[str]:
    """The card's body text, one line per text block (buttons left out)."""
    return [run["text"] for block in card.get("body", []) for run in block.get("inlines", [])]


def _question(lines: list[str]) -> str:
    return "\n".join(line for line in lines if not PROGRESS.fullmatch(line))


def _choice_set(card: Card) -> Card | None:
    found = [b for b in card.get("body", []) if b.get("type") == "Input.ChoiceSet"]
    return found[0] if found else None


def _answer_buttons(card: Card) -> list[Card]:
    return [
        a
        for a in card.get("actions", [])
        if a.get("type") == "Action.Submit"
        and (a.get("data") or {}).get("reportbot") == "answer"
        and "action" in a["data"]
    ]


@asynccontextmanager
async def teams(journey: Journey, tmp: Path) -> AsyncIterator[TeamsChat]:
    """The leadership team installed the bot; a leader (Adele) is in its roster. The bot has a
    public address, so leaders' files come as links."""
    async with harness({**DEV_ENV, "REPORTBOT_PUBLIC_URL": "https://reportbot.example"}) as h:
        if journey.leader:
            h.connector.members.add((TEAM["id"], LEADER["id"]))
        await h.install()
        yield TeamsChat(h, LEADER if journey.leader else REPORTER)

"""Bolt listeners: translate the payload, ask Slack who the person is, hand the turn to the engine.

Bolt runs with `process_before_response=True`, so the engine has committed the step (and the
replies it owes, in the outbox) before Slack gets its acknowledgement. Everything a listener
does is held to a budget inside Slack's 3 seconds: if the store is unusually slow, the turn is
acknowledged anyway and finishes in the background (it is already on its way to the store).
Listeners never raise: a bug gives the person a reference code, and the log a traceback
without any case text.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import replace
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.response import BoltResponse

from adapters.slack import translate
from adapters.slack.gate import SCHOOL
from adapters.slack.home import home_view
from adapters.slack.school import SlackSchool
from adapters.slack.translate import Inbound, Malformed
from bot.engine import BUG_SORRY
from bot.errors import error_reference, log_bug
from bot.model import Notice, Person, Reply, Turn

log = logging.getLogger(__name__)

ACK_BUDGET = 2.5  # seconds: Slack gives up at 3
LOOKUP_BUDGET = 0.8
MEMBERS_MAX_AGE = 60.0
SENT = "I've sent you a message in our direct messages – we carry on there, privately."

SchoolOf = Callable[[str], Awaitable[SlackSchool]]  # by the school's id, as the gate found it


class Deadline:
    def __init__(self, seconds: float) -> None:
        self._end = asyncio.get_running_loop().time() + seconds

    def left(self, cap: float = float("inf")) -> float:
        return max(0.05, min(cap, self._end - asyncio.get_running_loop().time()))


class Listeners:
    def __init__(self, school_of: SchoolOf, *, budget: float = ACK_BUDGET) -> None:
        self.school_of = school_of
        self.budget = budget
        self._tasks: set[asyncio.Task[None]] = set()

    def register(self, app: AsyncApp) -> None:
        # Bolt tries its listeners in this order, each with a matcher of its own (about 15 µs
        # each), and no request matches two of them: the commonest first, button presses
        # (most of a report's steps), then typed messages.
        app.action(re.compile(r".*"))(self.on_action)
        app.event("message")(self.on_message)
        app.command(re.compile(r"^/"))(self.on_command)
        app.event("app_home_opened")(self.on_home)
        app.error(self.on_error)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # -- listeners --------------------------------------------------------------------------------

    async def on_command(
        self, ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext
    ) -> BoltResponse:
        deadline = Deadline(self.budget)
        try:
            school = await self.school_of(context.get(SCHOOL, ""))
            inbound = translate.from_command(body)
            turn = await self._lookup(school, inbound, deadline)
            replies = await self._run(school, turn, deadline)
        except Malformed:
            log.warning("ignored a slash command without the usual fields")
            return await ack()
        except Exception as e:
            return await ack(text=self._bug(e), response_type="ephemeral")
        text = "\n".join(r.text for r in replies if isinstance(r, Notice)) or SENT
        return await ack(text=text, response_type="ephemeral")

    async def on_message(self, body: dict[str, Any], context: AsyncBoltContext) -> None:
        try:
            inbound = translate.from_message(body)
        except Malformed:
            log.warning("ignored a message event without the usual fields")
            return
        if inbound is not None:
            school = await self.school_of(context.get(SCHOOL, ""))
            await self._guarded(school, inbound, self._say(school, inbound, Deadline(self.budget)))

    async def on_action(
        self, ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext
    ) -> BoltResponse:
        deadline = Deadline(self.budget)
        try:
            inbound = translate.from_action(body)
        except Malformed:
            log.warning("ignored a button press without the usual fields")
            return await ack()
        if inbound is not None:
            school = await self.school_of(context.get(SCHOOL, ""))
            await self._guarded(school, inbound, self._press(school, inbound, deadline))
        return await ack()

    async def on_home(self, body: dict[str, Any], context: AsyncBoltContext) -> None:
        try:
            person = translate.home_person(body)
        except Malformed:
            log.warning("ignored an app_home_opened event without the usual fields")
            return
        if person is not None:
            school = await self.school_of(context.get(SCHOOL, ""))
            self._spawn(self._publish_home(school, person))

    async def on_error(self, error: Exception) -> BoltResponse:
        self._bug(error)
        return BoltResponse(status=500, body="")

    # -- steps ------------------------------------------------------------------------------------

    async def _guarded(
        self, school: SlackSchool, inbound: Inbound, work: Coroutine[Any, Any, None]
    ) -> None:
        """Run one step; a bug gets the person a reference code, never silence."""
        try:
            await work
        except Exception as e:
            sorry = Notice(self._bug(e), tone="danger")
            await self._reply_later(school, inbound.turn, [sorry])

    async def _say(self, school: SlackSchool, inbound: Inbound, deadline: Deadline) -> None:
        turn = await self._lookup(school, inbound, deadline)
        await self._reply_later(school, turn, await self._run(school, turn, deadline))

    async def _press(self, school: SlackSchool, inbound: Inbound, deadline: Deadline) -> None:
        # With the question the button belonged to: the engine re-asks if it is stale.
        turn = await self._lookup(school, inbound, deadline, step=inbound.step)
        await self._reply_later(school, turn, await self._run(school, turn, deadline))

    async def _lookup(
        self, school: SlackSchool, inbound: Inbound, deadline: Deadline, step: str = ""
    ) -> Turn:
        """The turn with the person's name and email added, within the budget (and `step`, in
        the same replace). Whether they lead is the engine's question, asked of
        `LeadershipChannel` only when it matters."""
        turn = inbound.turn
        budget = deadline.left(LOOKUP_BUDGET)
        profile = await school.directory.profile(turn.person.user_id, budget)
        person = replace(turn.person, name=profile.name or inbound.name_hint, email=profile.email)
        return replace(turn, person=person, step=step or turn.step)

    async def _run(self, school: SlackSchool, turn: Turn, deadline: Deadline) -> list[Reply]:
        task = asyncio.create_task(school.handle(turn))
        try:
            return await asyncio.wait_for(asyncio.shield(task), deadline.left())
        except TimeoutError:
            log.warning("the store was slow; acknowledged Slack before the step finished")
            self._spawn(self._finish(school, task, turn))
            return []

    async def _finish(
        self, school: SlackSchool, task: asyncio.Task[list[Reply]], turn: Turn
    ) -> None:
        await self._reply_later(school, turn, await task)

    async def _reply_later(self, school: SlackSchool, turn: Turn, replies: list[Reply]) -> None:
        if replies:
            self._spawn(school.sender.best_effort(turn.address, replies))

    async def _publish_home(self, school: SlackSchool, person: Person) -> None:
        user = person.user_id
        try:
            leader = await school.directory.is_member(user, LOOKUP_BUDGET * 2, MEMBERS_MAX_AGE)
            view = home_view(await school.home(person, bool(leader)))
            await school.sender.client.views_publish(user_id=user, view=view)
        except Exception as e:  # a Home tab that does not refresh is not worth more than a log line
            log.warning("could not publish the Home tab (%s)", type(e).__name__)

    # -- helpers ----------------------------------------------------------------------------------

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _bug(self, error: BaseException) -> str:
        code = error_reference()
        log_bug(log, code, error)
        return BUG_SORRY.format(code=code)

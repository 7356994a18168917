"""The leadership channel in Teams: `bot.ports.LeadershipPosts`, driven by `bot.leadership`.

A post's id is `{activity_id, reference}`: the card's activity and the conversation it is in.
The Bot Connector cannot be asked whether it already has a post, so this side remembers the
cards it made (by outbox id) for a retry to find: one whose delivered mark could not be saved,
or whose attempt timed out. A timed-out post keeps listening (up to LATE_LIMIT): if Teams'
answer arrives before the retry, the retry finds that card and posts nothing new; if after, the
card is handed to the courier (`on_late`), which keeps it with the case's other posts and
brings it up to date. Only a restart in between can make a card appear twice, never zero times.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from adapters.teams import render
from adapters.teams.failures import http_status
from adapters.teams.proactive import Proactive, for_the_outbox
from bot.errors import DeliveryRefused, error_reference, log_bug
from bot.model import JSON, OutboxItem
from bot.views import ResolvedCard

log = logging.getLogger(__name__)

LATE_LIMIT = 120.0  # how long a timed-out card post keeps listening for Teams' answer
MADE_KEPT = 1000  # cards remembered for a retry, newest kept

OnLate = Callable[[OutboxItem, JSON], Awaitable[None]]


class TeamsPosts:
    def __init__(self, proactive: Proactive, on_late: OnLate) -> None:
        self.proactive = proactive
        self.on_late = on_late  # the courier's: a card found late joins the case's posts
        self._late: set[asyncio.Task[None]] = set()
        self._made: dict[str, JSON] = {}  # outbox id -> the card it posted

    async def private(self) -> bool:
        return True  # only the leadership team's members see its channel

    async def post(self, item: OutboxItem, card: ResolvedCard) -> JSON:
        async with for_the_outbox(leadership=True):
            target = await self.proactive.leadership(item)
            call = self.proactive.post(target, render.case_card(card), limit=LATE_LIMIT)
            attempt = asyncio.get_running_loop().create_task(call)
            try:
                activity_id = await asyncio.wait_for(
                    asyncio.shield(attempt), self.proactive.timeout
                )
            except TimeoutError:
                self._listen_late(attempt, item, target)
                raise
        if not activity_id:
            log.warning(
                "Teams took the card for %s without giving its id: the bot cannot change or "
                "remove that card, so changes come as new cards, and if the case is deleted "
                "that card must be deleted in Teams by hand",
                item.case_reference or item.id,
            )
        return self._made_by(item, _post_id(activity_id, target))

    async def update(self, post: JSON, card: ResolvedCard) -> bool:
        return await self._replace(post, render.case_card(card))

    async def find_earlier(self, item: OutboxItem) -> JSON | None:
        made = self._made.get(item.id)
        if made is None:
            log.warning(
                "posting the card for %s again after a failed attempt; if that attempt timed "
                "out after Teams took the card, the card appears twice (both are kept up to "
                "date once Teams' answer arrives)",
                item.case_reference or item.id,
            )
        return made

    async def scrub(self, post: JSON, text: str) -> None:
        if not await self._replace(post, render.scrubbed(text)) and not post.get("activity_id"):
            # Never silent: a card Teams gave no id for cannot be found to overwrite.
            raise DeliveryRefused("Teams gave this case card no id: delete it in Teams")

    async def settle(self) -> None:
        """Wait for the card posts still listening for a late answer (tests, shutdown)."""
        while self._late:
            await asyncio.gather(*self._late, return_exceptions=True)

    async def close(self) -> None:
        for task in self._late:
            task.cancel()
        await asyncio.gather(*self._late, return_exceptions=True)

    async def _replace(self, post: JSON, message: render.Message) -> bool:
        """False when Teams no longer has the card (deleted in Teams: 404) or never said its
        id: the courier then posts it anew."""
        if not post.get("activity_id"):
            return False
        async with for_the_outbox(leadership=True):
            try:
                await self.proactive.replace(post["reference"], str(post["activity_id"]), message)
            except Exception as e:
                if http_status(e) != 404:
                    raise
                return False
        return True

    def _listen_late(self, attempt: asyncio.Task[str], item: OutboxItem, target: JSON) -> None:
        async def late() -> None:
            try:
                activity_id = await asyncio.wait_for(attempt, LATE_LIMIT)
            except Exception as e:  # no answer at all: that card's id cannot be known
                log.warning("a timed-out card post got no late answer (%s)", type(e).__name__)
                return
            post = self._made_by(item, _post_id(activity_id, target))
            try:
                await self.on_late(item, post)
            except Exception as e:  # e.g. the store is down: the retry may still find it
                log_bug(log, error_reference(), e)

        task = asyncio.get_running_loop().create_task(late())
        self._late.add(task)
        task.add_done_callback(self._late.discard)

    def _made_by(self, item: OutboxItem, post: JSON) -> JSON:
        self._made[item.id] = post
        while len(self._made) > MADE_KEPT:
            self._made.pop(next(iter(self._made)))
        return post


def _post_id(activity_id: str, target: JSON) -> JSON:
    return {"activity_id": activity_id, "reference": target}

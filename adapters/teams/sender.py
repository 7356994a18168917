"""The courier's Teams sender: a person's replies, and notices for the leadership channel.

Case cards for the leadership channel go through `adapters.teams.posts` instead. Replies
arrive resolved (`bot.views.Resolved`); the address of each is a stored conversation reference
(`adapters.teams.proactive`).
"""

from __future__ import annotations

from collections.abc import Sequence

from adapters.teams import render
from adapters.teams.proactive import Proactive, for_the_outbox
from bot.model import Audience, OutboxItem
from bot.views import Resolved, ResolvedLink


class TeamsSender:
    def __init__(self, proactive: Proactive, public_url: str = "") -> None:
        self.proactive = proactive
        self.public_url = public_url

    async def send(self, item: OutboxItem, reply: Resolved) -> None:
        leadership = item.audience == Audience.LEADERSHIP
        async with for_the_outbox(leadership=leadership):
            target = await (
                self.proactive.leadership(item) if leadership else self.proactive.chat(item)
            )
            await self.proactive.post(target, self._message(reply))

    async def send_together(self, items: Sequence[OutboxItem], replies: Sequence[Resolved]) -> None:
        """A turn's replies to one person as one message of stacked cards (more, only past
        the size Teams takes)."""
        async with for_the_outbox(leadership=False):
            target = await self.proactive.chat(items[0])
            messages = [self._message(r) for r in replies]
            for run in render.joined(messages):
                await self.proactive.post(target, render.join([messages[n] for n in run]))

    def _message(self, reply: Resolved) -> render.Message:
        if isinstance(reply, ResolvedLink):  # a leader's file: a link on the bot's address
            return render.download(reply, self.public_url)
        return render.message(reply)

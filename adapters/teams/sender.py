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

    def joined(self, replies: Sequence[Resolved]) -> list[list[int]]:
        """A turn's replies as one message of stacked cards (more, only past the size Teams
        takes for one message)."""
        return render.joined([self._message(r) for r in replies])

    async def send_together(self, items: Sequence[OutboxItem], replies: Sequence[Resolved]) -> None:
        """One message of several cards. (A chat cannot be searched for an earlier post: a
        timeout that hid a success may show the message twice, never not at all.)"""
        async with for_the_outbox(leadership=False):
            target = await self.proactive.chat(items[0])
            await self.proactive.post(target, render.join([self._message(r) for r in replies]))

    def _message(self, reply: Resolved) -> render.Message:
        if isinstance(reply, ResolvedLink):  # a leader's file: a link on the bot's address
            return render.download(reply, self.public_url)
        return render.message(reply)

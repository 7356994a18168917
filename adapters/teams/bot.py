"""The ActivityHandler: sends each Teams activity to the reporter's or the leaders' side."""

from __future__ import annotations

from microsoft_agents.hosting.core import ActivityHandler

from adapters.teams import leaders, personal
from adapters.teams.services import Context, Services
from adapters.teams.translate import Place, place_of, team_of


class TeamsBot(ActivityHandler):
    def __init__(self, services: Services) -> None:
        super().__init__()
        self.services = services

    async def on_turn(self, turn_context: Context) -> None:
        try:
            await super().on_turn(turn_context)
        except Exception as e:  # the person gets a code, never a stack trace
            await self.services.apologise(turn_context, e)

    async def on_message_activity(self, turn_context: Context) -> None:
        place = place_of(turn_context.activity)
        if place is Place.PERSONAL:
            await personal.message(self.services, turn_context)
        else:  # channels; a group chat gets the same pointer to a personal chat
            await leaders.channel_message(self.services, turn_context)

    async def on_conversation_update_activity(self, turn_context: Context) -> None:
        activity = turn_context.activity
        bot_id = activity.recipient.id if activity.recipient else None
        if any(m.id == bot_id for m in activity.members_added or []):
            await self._added(turn_context)
        elif any(m.id == bot_id for m in activity.members_removed or []):
            await leaders.removed(self.services, turn_context)

    async def on_installation_update_add(self, turn_context: Context) -> None:
        await self._added(turn_context)

    async def on_installation_update_remove(self, turn_context: Context) -> None:
        await leaders.removed(self.services, turn_context)

    async def _added(self, turn_context: Context) -> None:
        if team_of(turn_context.activity) is not None:
            await leaders.installed(self.services, turn_context)
        elif place_of(turn_context.activity) is Place.PERSONAL:
            await personal.welcome(self.services, turn_context)

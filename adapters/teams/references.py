"""Where the bot can write: Teams conversation references, kept small – no names, no activity
ids – and content-free.

A reference is what a proactive message needs (service URL, conversation, bot). Each reply
carries its chat's reference in its address (`address`), so the engine stores it in the same
atomic write as the step and the replies: no write of its own before a new person's first
answer. What is kept in the store's meta:

    teams:conversation:<conversation id>   read only: where earlier versions kept a chat's
                                           reference (for replies queued before the upgrade)
    teams:leadership:<tenant id>           the channel that receives new cases, and its team;
                                           after a removal, only the team (no reference): it
                                           may take the cases back, no other team by chance
    teams:team:<team key>                  how many times the bot was removed from a team, and
                                           the team's group id (only install events carry it)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

from microsoft_agents.activity import Activity, ConversationReference

from adapters.teams.config import TeamRef
from adapters.teams.translate import TeamChannel, short_key, tenant_of
from bot.model import JSON
from bot.ports import Store, UnitOfWork


def conversation_key(conversation_id: str) -> str:
    return f"teams:conversation:{conversation_id}"


def leadership_key(tenant: str) -> str:
    return f"teams:leadership:{tenant}"


def team_key(team_id: str) -> str:
    return f"teams:team:{short_key(team_id)}"


def reference_doc(activity: Activity, conversation_id: str | None = None) -> JSON:
    """A proactive-message reference to the activity's conversation (or another one in it)."""
    conversation, bot = activity.conversation, activity.recipient
    doc: JSON = {
        "channelId": str(activity.channel_id or "msteams"),
        "serviceUrl": activity.service_url,
        "conversation": {
            "id": conversation_id or conversation.id,
            "conversationType": conversation.conversation_type,
            "tenantId": tenant_of(activity),
        },
        "bot": {"id": bot.id if bot else "", "name": (bot.name if bot else "") or ""},
    }
    if activity.from_property is not None and activity.from_property.id:
        doc["user"] = {"id": activity.from_property.id}
    return doc


def to_reference(doc: JSON) -> ConversationReference:
    return ConversationReference.model_validate(doc)


def address(activity: Activity, conversation_id: str | None = None) -> dict[str, str]:
    """Where a reply to this activity goes: its conversation (or another one in it)."""
    return address_of(reference_doc(activity, conversation_id))


def address_of(reference: JSON) -> dict[str, str]:
    compact = json.dumps(reference, sort_keys=True, separators=(",", ":"))
    return {"conversation": str(reference["conversation"]["id"]), "reference": compact}


@dataclass(frozen=True)
class Leadership:
    """The channel that receives new cases; its team's members may act on them."""

    reference: JSON
    team_id: str
    channel_id: str
    team_name: str = ""
    group_id: str = ""

    @property
    def service_url(self) -> str:
        return str(self.reference["serviceUrl"])

    def to_doc(self) -> JSON:
        return {
            "reference": self.reference,
            "team_id": self.team_id,
            "channel_id": self.channel_id,
            "team_name": self.team_name,
            "group_id": self.group_id,
        }


def leadership_from(activity: Activity, place: TeamChannel) -> Leadership:
    # The channel's own id (no ";messageid="): posts there start new threads.
    reference = reference_doc(activity, place.channel_id)
    reference["conversation"]["conversationType"] = "channel"
    reference.pop("user", None)
    return Leadership(reference, place.team_id, place.channel_id, place.team_name, place.group_id)


class Places:
    """Where the bot can write, as the store keeps it (the meta keys above): the one object
    through which the Teams side reads and changes them."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def reference_in(self, where: dict[str, str]) -> JSON | None:
        """The reference an outbox item's address carries (or, for older items, the stored one)."""
        if where.get("reference"):
            doc: JSON = json.loads(where["reference"])
            return doc
        return await self._store.get_meta(conversation_key(where.get("conversation", "")))

    async def leadership(self, tenant: str, only: TeamRef | None = None) -> Leadership | None:
        """The channel receiving new cases; with `only`, None unless it is in that team."""
        doc = await self._store.get_meta(leadership_key(tenant))
        if not doc or not doc.get("reference"):
            return None
        chosen = Leadership(
            doc["reference"],
            doc["team_id"],
            doc["channel_id"],
            doc.get("team_name", ""),
            doc.get("group_id", ""),
        )
        if only is not None and not only.matches(chosen.team_id, chosen.group_id):
            return None  # chosen before the school named its leadership team
        return chosen

    async def set_leadership(self, tenant: str, chosen: Leadership) -> None:
        await self._put(leadership_key(tenant), chosen.to_doc())

    async def lose_leadership(self, tenant: str, lost: Leadership) -> None:
        """No channel receives cases now; the team is kept, so that only it may take them back."""
        await self._put(
            leadership_key(tenant), {"team_id": lost.team_id, "group_id": lost.group_id}
        )

    async def previous_team(self, tenant: str) -> str | None:
        """The team that holds or last held the cases: None if no team ever did in this tenant."""
        doc = await self._store.get_meta(leadership_key(tenant))
        if doc is None:
            return None
        return str(doc.get("team_id") or "")  # "" (an old removal record): no team by chance

    async def team_generation(self, team_id: str) -> int:
        return int((await self._team_doc(team_id)).get("generation", 0))

    async def bump_team_generation(self, team_id: str) -> None:
        doc = await self._team_doc(team_id)
        await self._put(team_key(team_id), {**doc, "generation": int(doc.get("generation", 0)) + 1})

    async def with_group(self, place: TeamChannel) -> TeamChannel:
        """The place with its team's group id: from the activity, else as an install recorded it."""
        doc = await self._team_doc(place.team_id)
        if place.group_id:
            if doc.get("group_id") != place.group_id:
                await self._put(team_key(place.team_id), {**doc, "group_id": place.group_id})
            return place
        return replace(place, group_id=str(doc.get("group_id") or ""))

    async def _team_doc(self, team_id: str) -> JSON:
        return dict(await self._store.get_meta(team_key(team_id)) or {})

    async def _put(self, key: str, doc: JSON) -> None:
        await self._store.commit(UnitOfWork(meta={key: doc}))

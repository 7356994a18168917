"""The leaders' side: the channel that receives cases, and who may act on them.

The bot posts new cases to the channel it was installed into (the first team it joins in a
tenant); a member of that team moves it by mentioning the bot elsewhere with "use this channel".
Only members of that team may press a case's buttons or list open cases. Membership is asked
of the Bot Connector for the leadership team itself – not for the conversation the press came
from, which is what botbuilder's `TeamsInfo.get_team_member` checks whatever team id it is given.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from enum import StrEnum

from botbuilder.core import TurnContext

from adapters.teams import references
from adapters.teams.failures import classify, http_status
from adapters.teams.notify import tell
from adapters.teams.references import Leadership
from adapters.teams.services import Services
from adapters.teams.translate import (
    delivery_id,
    person_of,
    read_message,
    short_key,
    team_of,
    tenant_of,
)
from bot.model import Audience, Notice, Platform, Turn

log = logging.getLogger(__name__)

USE_THIS_CHANNEL = "use this channel"
INSTALLED = (
    "Hello! I'm the TikTok reporting bot. When a member of staff reports a fake or abusive "
    "TikTok account to me in a personal chat, I'll post the case here, with buttons to track it "
    "until it is removed. Only members of this team can update cases. To use another channel, "
    "mention me there with “use this channel”."
)
ALREADY_ELSEWHERE = (
    "Hello! New TikTok reports already go to a channel chosen earlier, in another team. A member "
    "of that team can move them here by mentioning me in this channel with “use this channel”."
)
MOVED_HERE = (
    "Done – new TikTok reports will be posted in this channel from now on. Cards already posted "
    "elsewhere stay where they are, and their buttons still work."
)
MOVED_AWAY = "From now on, new TikTok reports go to another channel (moved by {who})."
ALREADY_HERE = "New TikTok reports already come to this channel."
NOT_YOURS_TO_MOVE = (
    "Only members of the team that receives the reports can move them, so nothing changed."
)
CANNOT_CHECK = (
    "Sorry – I couldn't check your team membership just now, so nothing changed. Please try "
    "again in a minute."
)
CHANNEL_HINT = (
    "Hello! To report a TikTok account, message me in a personal chat (find me under Chat or "
    "Apps) – reports are private there. To send new reports to this channel, mention me here "
    "with “use this channel”."
)


class Membership(StrEnum):
    MEMBER = "member"
    OUTSIDER = "outsider"
    UNKNOWN = "unknown"  # the check failed; decide nothing
    TEAM_GONE = "team_gone"  # the bot is no longer in the leadership team


async def membership(services: Services, chosen: Leadership, user_id: str) -> Membership:
    try:
        client = await services.auth.connector(chosen.service_url, services.config.app_id)
        await client.conversations.get_conversation_member(chosen.team_id, user_id)
        return Membership.MEMBER
    except Exception as e:
        status = http_status(e)
        if status == 403:  # BotNotInConversationRoster: removed without us hearing of it
            log.warning("the bot is no longer in the leadership team")
            return Membership.TEAM_GONE
        if status is not None and 400 <= status < 500 and status not in (401, 408, 429):
            return Membership.OUTSIDER  # Teams answers 404 for someone not in the team
        if classify(e, leadership=False) is None:
            raise
        log.warning("team membership check failed (%s)", status or type(e).__name__)
        return Membership.UNKNOWN


async def may_lead(services: Services, tenant: str, user_id: str, action: str) -> Membership:
    """May this person act on cases (or, with no action, list them)?"""
    chosen = await references.leadership(services.runtime.store, tenant)
    if chosen is None:
        return Membership.OUTSIDER
    reference = action.split(":", 2)[2] if action.count(":") >= 2 else ""
    case = await services.runtime.store.case(reference) if reference else None
    if case is not None and case.reporter.workspace not in ("", tenant):
        return Membership.OUTSIDER  # another school's case, whatever team they are in
    return await membership(services, chosen, user_id)


# --- messages in a channel ------------------------------------------------------------------


async def channel_message(services: Services, context: TurnContext) -> None:
    activity = context.activity
    said = read_message(activity)
    tenant = tenant_of(activity)
    thread = await references.remember(services.runtime.store, activity)
    key = delivery_id(activity) or f"teams:{uuid.uuid4().hex}"
    if said.is_case_action and said.action:
        await _press(services, context, said.action, thread, key)
    elif USE_THIS_CHANNEL in said.text.lower():
        async with services.leadership_lock:
            await _use_this_channel(services, context, thread, key)
    else:
        await tell(services.runtime, f"{key}:hint", tenant, thread, Notice(CHANNEL_HINT))


async def _press(
    services: Services, context: TurnContext, action: str, thread: str, key: str
) -> None:
    activity = context.activity
    person = person_of(activity)
    verdict = await may_lead(services, person.workspace, person.user_id, action)
    if verdict is Membership.UNKNOWN:
        notice = Notice(CANNOT_CHECK, tone="warning")
        await tell(services.runtime, f"{key}:unchecked", person.workspace, thread, notice)
        return
    turn = Turn(
        person,
        action=action,
        delivery_id=delivery_id(activity),
        address={"conversation": thread},
        is_leader=verdict is Membership.MEMBER,
    )
    await services.handle(context, turn)


async def _use_this_channel(
    services: Services, context: TurnContext, thread: str, key: str
) -> None:
    activity = context.activity
    place, tenant, store = team_of(activity), tenant_of(activity), services.runtime.store
    if place is None:
        await tell(services.runtime, f"{key}:hint", tenant, thread, Notice(CHANNEL_HINT))
        return
    current = await references.leadership(store, tenant)
    if current is not None and current.team_id != place.team_id:
        verdict = await membership(services, current, person_of(activity).user_id)
        # A team the bot has left can receive nothing, so anyone in the tenant may move on.
        if verdict not in (Membership.MEMBER, Membership.TEAM_GONE):
            text = CANNOT_CHECK if verdict is Membership.UNKNOWN else NOT_YOURS_TO_MOVE
            await tell(services.runtime, f"{key}:refused", tenant, thread, Notice(text))
            return
    chosen = references.leadership_from(activity, place)
    if current is not None and current.channel_id == chosen.channel_id:
        await tell(services.runtime, f"{key}:same", tenant, thread, Notice(ALREADY_HERE))
        return
    await _choose(services, tenant, chosen)
    await tell(services.runtime, f"{key}:moved", tenant, thread, Notice(MOVED_HERE, "success"))
    if current is not None:
        who = person_of(activity).name or "a team member"
        away = Notice(MOVED_AWAY.format(who=who))
        await tell(services.runtime, f"{key}:away", tenant, current.channel_id, away)


async def _choose(services: Services, tenant: str, chosen: Leadership) -> None:
    store = services.runtime.store
    await store.put_meta(references.conversation_key(chosen.channel_id), chosen.reference)
    await references.set_leadership(store, tenant, chosen)
    await _release_waiting_cards(services)


async def _release_waiting_cards(services: Services) -> None:
    """Case cards that waited for a channel go now, not at their next scheduled look."""
    store, now = services.runtime.store, services.runtime.clock.now()
    for item in await store.due(Platform.TEAMS, now + timedelta(days=3650), limit=500):
        if item.audience == Audience.LEADERSHIP and item.due_at and item.due_at > now:
            item.due_at = now
            await store.reschedule(item)
    services.runtime.wake(Platform.TEAMS)


# --- the bot joins or leaves a team -----------------------------------------------------------


async def installed(services: Services, context: TurnContext) -> None:
    async with services.leadership_lock:
        await _installed(services, context)


async def _installed(services: Services, context: TurnContext) -> None:
    activity = context.activity
    place, tenant, store = team_of(activity), tenant_of(activity), services.runtime.store
    if place is None:
        return
    generation = await references.team_generation(store, place.team_id)
    item_id = f"teams:installed:{short_key(place.team_id)}:{generation}"
    current = await references.leadership(store, tenant)
    chosen = references.leadership_from(activity, place)
    if current is None:
        await _choose(services, tenant, chosen)
        log.warning("Teams: new cases will be posted to the channel the bot was added to")
        await tell(services.runtime, item_id, tenant, chosen.channel_id, Notice(INSTALLED))
    elif current.team_id != place.team_id:
        await store.put_meta(references.conversation_key(chosen.channel_id), chosen.reference)
        notice = Notice(ALREADY_ELSEWHERE)
        await tell(services.runtime, item_id, tenant, chosen.channel_id, notice)


async def removed(services: Services, context: TurnContext) -> None:
    async with services.leadership_lock:
        await _removed(services, context)


async def _removed(services: Services, context: TurnContext) -> None:
    activity = context.activity
    place, tenant, store = team_of(activity), tenant_of(activity), services.runtime.store
    if place is None:
        return
    await references.bump_team_generation(store, place.team_id)
    current = await references.leadership(store, tenant)
    if current is not None and current.team_id == place.team_id:
        await references.set_leadership(store, tenant, None)
        log.error(
            "Teams: the bot was removed from the leadership team; new case cards wait until "
            "it is added to a team again"
        )

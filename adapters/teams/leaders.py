"""The leaders' side: the channel that receives cases, and who may act on them.

The leadership team is chosen deliberately. With REPORTBOT_TEAMS_LEADERSHIP_TEAM set, only that
team can receive cases: the bot takes its channel when added to it, and greets any other team
without taking over. Unset, the first team the bot is ever added to in a tenant receives them –
once: after the bot is removed from that team, only that team may take them back, so a team
that happens to add the bot next never receives safeguarding records by chance.

A member of the leadership team moves cases by mentioning the bot in another channel with "use
this channel". Only members of that team may press a case's buttons, type case commands or list
open cases. Membership is asked of the Bot Connector for the leadership team itself – not for
the conversation the press came from, which is what botbuilder's `TeamsInfo.get_team_member`
checked whatever team id it was given: the connector's REST member look-up, on the team.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from enum import StrEnum

from microsoft_agents.activity import Activity

from adapters.teams import references
from adapters.teams.failures import classify, http_status
from adapters.teams.references import Leadership, address_of
from adapters.teams.services import Context, Services
from adapters.teams.translate import (
    TeamChannel,
    delivery_id,
    person_of,
    read_message,
    short_key,
    team_of,
    tenant_of,
)
from bot.model import Notice, Person, Turn
from bot.records import IN_PRIVATE, is_records_command

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
NOT_THE_CHOSEN_TEAM = (
    "Hello! I'm the TikTok reporting bot. Staff report TikTok accounts to me in a personal chat "
    "(find me under Chat or Apps). New reports go only to the leadership team named in my "
    "settings, so they will not be posted in this team."
)
NOT_THE_CHOSEN_TEAM_MOVE = (
    "New TikTok reports go only to the leadership team named in my settings, so I can't post "
    "them in this team. Nothing changed."
)
NO_TEAM_CHOSEN = (
    "Hello! I'm the TikTok reporting bot. Staff report TikTok accounts to me in a personal chat "
    "(find me under Chat or Apps). New reports go to the school's leadership team, not to this "
    "one. To receive them, add me back to the leadership team, or ask whoever runs me to name "
    "it in the setting REPORTBOT_TEAMS_LEADERSHIP_TEAM."
)
NO_TEAM_TO_ASK = (
    "I'm no longer in the team that received TikTok reports, so I can't check that you may move "
    "them, and nothing changed. Add me back to that team, or ask whoever runs me to name the "
    "leadership team in the setting REPORTBOT_TEAMS_LEADERSHIP_TEAM."
)


class Membership(StrEnum):
    MEMBER = "member"
    OUTSIDER = "outsider"
    UNKNOWN = "unknown"  # the check failed; decide nothing
    TEAM_GONE = "team_gone"  # the bot is no longer in the leadership team


async def membership(services: Services, chosen: Leadership, user_id: str) -> Membership:
    try:
        client = await services.clients.for_service(chosen.service_url)
        lookup = client.conversations.get_conversation_member(chosen.team_id, user_id)
        await asyncio.wait_for(lookup, services.config.timeout)
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


async def current(services: Services, tenant: str) -> Leadership | None:
    """The leadership channel, if it is in the team the school named (or none is named)."""
    return await services.places.leadership(tenant, services.config.leadership_team)


async def may_lead(services: Services, tenant: str, user_id: str) -> Membership:
    """Is this person in the team that receives the cases? (Whether a case is their school's
    is the engine's question, `bot.leaders.in_scope`, asked before this one.)"""
    chosen = await current(services, tenant)
    if chosen is None:
        return Membership.OUTSIDER
    return await membership(services, chosen, user_id)


# --- messages in a channel ------------------------------------------------------------------


async def channel_message(services: Services, context: Context) -> None:
    activity = context.activity
    said = read_message(activity)
    tenant = tenant_of(activity)
    thread = references.address(activity)
    key = delivery_id(activity) or f"teams:{uuid.uuid4().hex}"
    if said.is_case_action and said.action:
        await _press(services, context, said.action, thread, key)
    elif USE_THIS_CHANNEL in said.text.lower():
        async with services.leadership_lock:
            await _use_this_channel(services, context, thread, key)
    elif is_records_command(said.text):  # a file would be seen by the whole channel
        await services.tell(f"{key}:private", tenant, thread, Notice(IN_PRIVATE))
    else:
        await services.tell(f"{key}:hint", tenant, thread, Notice(CHANNEL_HINT))


async def _press(
    services: Services, context: Context, action: str, thread: dict[str, str], key: str
) -> None:
    activity = context.activity
    turn = Turn(
        person_of(activity), action=action, delivery_id=delivery_id(activity), address=thread
    )
    await services.handle(context, turn)  # the engine asks `LeadershipTeam` whether they lead


class LeadershipTeam:
    """`bot.ports.Membership` for Teams: a leader is a member of the leadership team, as the
    team's roster says (looked up through the Bot Connector, `may_lead`)."""

    def __init__(self, services: Services) -> None:
        self.services = services

    async def is_leader(self, person: Person, case_reference: str = "") -> bool | None:
        verdict = await may_lead(self.services, person.workspace, person.user_id)
        return None if verdict is Membership.UNKNOWN else verdict is Membership.MEMBER


async def _use_this_channel(
    services: Services, context: Context, thread: dict[str, str], key: str
) -> None:
    activity = context.activity
    tenant, person = tenant_of(activity), person_of(activity)
    place = await _place(services, activity)
    if place is None:
        await services.tell(f"{key}:hint", tenant, thread, Notice(CHANNEL_HINT))
        return
    chosen = references.leadership_from(activity, place)
    held = await current(services, tenant)
    refusal = await _move_refusal(services, tenant, place, chosen, held, person.user_id)
    if refusal:
        await services.tell(f"{key}:refused", tenant, thread, Notice(refusal))
        return
    if held is not None and held.channel_id == chosen.channel_id:
        await services.tell(f"{key}:same", tenant, thread, Notice(ALREADY_HERE))
        return
    await _choose(services, tenant, chosen)
    await services.tell(f"{key}:moved", tenant, thread, Notice(MOVED_HERE, "success"))
    if held is not None:
        away = Notice(MOVED_AWAY.format(who=person.name or "a team member"))
        await services.tell(f"{key}:away", tenant, address_of(held.reference), away)


async def _move_refusal(
    services: Services,
    tenant: str,
    place: TeamChannel,
    chosen: Leadership,
    held: Leadership | None,
    user_id: str,
) -> str:
    """Why this person may not send cases to this channel; "" if they may.

    Only a member of the team holding the cases may move them (even within it: a shared
    channel can hold people from outside). While no team holds them, only a team that may take
    them over can, asked of its own members.
    """
    team = services.config.leadership_team
    if team is not None and not team.matches(place.team_id, place.group_id):
        return NOT_THE_CHOSEN_TEAM_MOVE
    judge = held or (chosen if await _may_take_over(services, tenant, place) else None)
    if judge is None:
        return NO_TEAM_TO_ASK
    verdict = await membership(services, judge, user_id)
    return {
        Membership.MEMBER: "",
        Membership.OUTSIDER: NOT_YOURS_TO_MOVE,
        Membership.UNKNOWN: CANNOT_CHECK,
        Membership.TEAM_GONE: NO_TEAM_TO_ASK,  # removed unheard: nobody can vouch for a move
    }[verdict]


async def _may_take_over(services: Services, tenant: str, place: TeamChannel) -> bool:
    """May this team receive cases while no team does? Never a team that added the bot by
    chance: only the named team, or (none named) the first team ever or the last one that had
    them."""
    team = services.config.leadership_team
    if team is not None:
        return team.matches(place.team_id, place.group_id)
    previous = await services.places.previous_team(tenant)
    return previous is None or previous == place.team_id


async def _place(services: Services, activity: Activity) -> TeamChannel | None:
    place = team_of(activity)
    return await services.places.with_group(place) if place else None


async def _choose(services: Services, tenant: str, chosen: Leadership) -> None:
    await services.places.set_leadership(tenant, chosen)
    await services.courier.hurry_leadership()  # cards that waited for a channel go now


# --- the bot joins or leaves a team -----------------------------------------------------------


async def installed(services: Services, context: Context) -> None:
    async with services.leadership_lock:
        await _installed(services, context)


async def _installed(services: Services, context: Context) -> None:
    activity = context.activity
    tenant = tenant_of(activity)
    place = await _place(services, activity)
    if place is None:
        return
    generation = await services.places.team_generation(place.team_id)
    item_id = f"teams:installed:{short_key(place.team_id)}:{generation}"
    held = await current(services, tenant)
    chosen = references.leadership_from(activity, place)
    if held is not None and held.team_id == place.team_id:
        return  # back in the leadership team's other channel, or Teams said it twice
    if held is None and await _may_take_over(services, tenant, place):
        await _choose(services, tenant, chosen)
        log.warning("Teams: new cases will be posted to the channel the bot was added to")
        await services.tell(item_id, tenant, address_of(chosen.reference), Notice(INSTALLED))
        return
    greeting = _greeting(services, held)
    await services.tell(item_id, tenant, address_of(chosen.reference), greeting)
    if held is None:
        log.error(
            "Teams: the bot was added to a team that may not receive cases, and no team "
            "receives them now; add it to the leadership team (named by "
            "REPORTBOT_TEAMS_LEADERSHIP_TEAM, else the team that last had them)"
        )


def _greeting(services: Services, held: Leadership | None) -> Notice:
    """What a team that will not receive cases is told when the bot joins it."""
    if services.config.leadership_team is not None:
        return Notice(NOT_THE_CHOSEN_TEAM)
    return Notice(ALREADY_ELSEWHERE if held is not None else NO_TEAM_CHOSEN)


async def removed(services: Services, context: Context) -> None:
    async with services.leadership_lock:
        await _removed(services, context)


async def _removed(services: Services, context: Context) -> None:
    activity = context.activity
    place, tenant = team_of(activity), tenant_of(activity)
    if place is None:
        return
    await services.places.bump_team_generation(place.team_id)
    held = await services.places.leadership(tenant)
    if held is not None and held.team_id == place.team_id:
        await services.places.lose_leadership(tenant, held)
        log.error(
            "Teams: the bot was removed from the leadership team; new case cards wait until "
            "it is added back to that team (or to the team in REPORTBOT_TEAMS_LEADERSHIP_TEAM)"
        )

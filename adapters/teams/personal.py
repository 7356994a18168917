"""The reporter's side: a personal chat in which any message starts or continues the report.

Every reply carries the reference to this chat in its address, stored by the engine with the
step, so every reply – now or after a restart – can go through the outbox. Everything is decided
by the engine, pictures and files included; this module only asks the roster whether the person
leads, when the engine says the turn needs it (`bot.engine.needs_membership`). A press on a card
from an earlier question carries its step, and the engine re-asks rather than take it as an
answer.
"""

from __future__ import annotations

import uuid

from adapters.teams import leaders, references
from adapters.teams.leaders import Membership
from adapters.teams.notify import tell
from adapters.teams.services import Context, Services
from adapters.teams.translate import Said, delivery_id, person_of, read_message, short_key
from bot.engine import needs_membership
from bot.leaders import COMMAND
from bot.model import Notice, Turn

WELCOME = (
    "Hello! I help staff report TikTok accounts and videos that target staff or the school – "
    "fake accounts, impersonation, abuse – and hand them to the Professional Online Safety "
    "Helpline (POSH). Type report to start, help for help, or my reports to see yours."
)


async def message(services: Services, context: Context) -> None:
    activity = context.activity
    person = person_of(activity)
    said = read_message(activity)
    chat = references.address(activity)
    key = delivery_id(activity) or f"teams:{uuid.uuid4().hex}"
    is_leader = False
    if needs_membership(said.text, said.action):
        reference = _case_reference(said)
        verdict = await leaders.may_lead(services, person.workspace, person.user_id, reference)
        if verdict is Membership.UNKNOWN:
            unchecked = Notice(leaders.CANNOT_CHECK, tone="warning")
            await tell(services.runtime, f"{key}:unchecked", person.workspace, chat, unchecked)
            return
        is_leader = verdict is Membership.MEMBER
    turn = Turn(
        person,
        text=said.text,
        action=said.action,
        values=said.values,
        delivery_id=delivery_id(activity),
        address=chat,
        is_leader=is_leader,
        step=said.step or "",
        has_files=said.has_files,
    )
    await services.handle(context, turn)


def _case_reference(said: Said) -> str:
    """The case a button or typed command is about ("" for "cases")."""
    if said.action and said.action.startswith("case:"):
        parts = said.action.split(":", 2)
        return parts[2] if len(parts) == 3 else ""
    match = COMMAND.match(said.text)
    return match.group(2).upper() if match else ""


async def welcome(services: Services, context: Context) -> None:
    activity = context.activity
    chat = references.address(activity)
    person = person_of(activity)
    item_id = f"teams:welcome:{short_key(chat['conversation'])}"
    await tell(services.runtime, item_id, person.workspace, chat, Notice(WELCOME))

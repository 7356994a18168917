"""The reporter's side: a personal chat in which any message starts or continues the report.

Every reply carries the reference to this chat in its address, stored by the engine with the
step, so every reply – now or after a restart – can go through the outbox. Everything is decided
by the engine, pictures and files included, and whether the person leads (the engine asks
`leaders.LeadershipTeam` when a leader's request comes). A press on a card from an earlier
question carries its step, and the engine re-asks rather than take it as an answer.
"""

from __future__ import annotations

from adapters.teams import references
from adapters.teams.services import Context, Services
from adapters.teams.translate import delivery_id, person_of, read_message, short_key
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
    turn = Turn(
        person,
        text=said.text,
        action=said.action,
        values=said.values,
        delivery_id=delivery_id(activity),
        address=chat,
        step=said.step or "",
        has_files=said.has_files,
    )
    await services.handle(context, turn)


async def welcome(services: Services, context: Context) -> None:
    activity = context.activity
    chat = references.address(activity)
    person = person_of(activity)
    item_id = f"teams:welcome:{short_key(chat['conversation'])}"
    await services.tell(item_id, person.workspace, chat, Notice(WELCOME))

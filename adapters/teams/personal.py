"""The reporter's side: a personal chat in which any message starts or continues the report.

The reference to reply in this chat is stored before the engine runs, so every reply – now or
after a restart – can go through the outbox. A few messages are answered here without the
engine: a picture or file, never wanted in this chat. A press on a card from an earlier
question carries its step, and the engine re-asks rather than take it as an answer.
"""

from __future__ import annotations

import uuid

from botbuilder.core import TurnContext

from adapters.teams import leaders, references
from adapters.teams.leaders import Membership
from adapters.teams.notify import tell
from adapters.teams.services import Services
from adapters.teams.translate import Said, delivery_id, person_of, read_message, short_key
from bot.engine import COMMANDS
from bot.leaders import COMMAND, is_case_command
from bot.model import Notice, Turn

WELCOME = (
    "Hello! I help staff report TikTok accounts and videos that target staff or the school – "
    "fake accounts, impersonation, abuse – and hand them to the Professional Online Safety "
    "Helpline (POSH). Type report to start, help for help, or my reports to see yours."
)
NO_FILES = (
    "Thank you – but please don't send pictures or files here: I can't keep them, and "
    "screenshots are safer kept for your Designated Safeguarding Lead. Please type your answer "
    "instead."
)
STEPLESS = {"resume"}  # questions the engine asks outside the flow's steps


async def message(services: Services, context: TurnContext) -> None:
    activity = context.activity
    person = person_of(activity)
    said = read_message(activity)
    chat = await references.remember(services.runtime.store, activity)
    key = delivery_id(activity) or f"teams:{uuid.uuid4().hex}"
    notice = await _answered_here(services, person.key, said)
    if notice is not None:
        await tell(services.runtime, f"{key}:note", person.workspace, chat, notice)
        return
    is_leader = False
    if _needs_leadership(said):
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
        address={"conversation": chat},
        is_leader=is_leader,
        step="" if said.step is None or said.step in STEPLESS else said.step,
    )
    await services.handle(context, turn)


async def _answered_here(services: Services, person_key: str, said: Said) -> Notice | None:
    if said.has_files and not said.text:
        return Notice(NO_FILES, tone="warning")
    return None


def _needs_leadership(said: Said) -> bool:
    """Only leaders' requests need the (network) membership check: a case button, a typed
    case command ("sent TT-…", "show TT-…"), or "cases"."""
    if said.action and said.action.startswith("case:"):
        return True
    if is_case_command(said.text):
        return True
    return COMMANDS.get(said.text.strip().lower().rstrip(".!"), "") == "cases"


def _case_reference(said: Said) -> str:
    """The case a button or typed command is about ("" for "cases")."""
    if said.action and said.action.startswith("case:"):
        parts = said.action.split(":", 2)
        return parts[2] if len(parts) == 3 else ""
    match = COMMAND.match(said.text)
    return match.group(2).upper() if match else ""


async def welcome(services: Services, context: TurnContext) -> None:
    activity = context.activity
    chat = await references.remember(services.runtime.store, activity)
    person = person_of(activity)
    item_id = f"teams:welcome:{short_key(chat)}"
    await tell(services.runtime, item_id, person.workspace, chat, Notice(WELCOME))

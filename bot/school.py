"""A school's own settings, set in chat: its leadership channel, its name, its union contact.

In a deployment for many schools nobody edits environment variables for a school: whoever
installed the bot (or a workspace admin) types `/report-tiktok setup` in the school's private
leadership channel, and `/report-tiktok settings name …` / `settings union …` for the rest.
They are kept in the school's own store (meta `school:settings`) and laid over the
deployment's facts (`facts_for`). Who may change them and what is valid is decided here; the
platform only answers questions about its people and places (`bot.ports.Workplace`).

    setup                    (in a private channel) make it the leadership channel
    settings                 show the school's settings
    settings name TEXT       the school's name, for the email to POSH
    settings union TEXT      who staff should contact at their union
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Protocol

from bot.facts import Facts
from bot.model import JSON, Notice, Person, Turn
from bot.work import Work

SETTINGS_KEY = "school:settings"
NAME_MAX = 120
UNION_MAX = 300
_COMMAND = re.compile(r"^\s*(setup|settings)\b\s*(.*)$", re.IGNORECASE | re.DOTALL)
_SETTING = re.compile(r"^(name|union)\b[\s:=-]*(.*)$", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class SchoolSettings:
    leadership: str = ""
    """The platform's id of the leadership channel ("" until someone runs setup)."""
    name: str = ""
    union_contact: str = ""
    installer: str = ""
    """The user id of whoever installed the bot: they may run setup before anyone leads."""

    def to_json(self) -> JSON:
        return {
            "leadership": self.leadership,
            "name": self.name,
            "union_contact": self.union_contact,
            "installer": self.installer,
        }

    @classmethod
    def from_json(cls, doc: JSON | None) -> SchoolSettings:
        if not isinstance(doc, dict):
            return cls()
        return cls(**{k: str(doc.get(k) or "") for k in cls().to_json()})


def facts_for(base: Facts, school: SchoolSettings) -> Facts:
    """The deployment's facts with what this school set for itself."""
    facts = replace(base, school_name=school.name) if school.name else base
    return replace(facts, union_contact=school.union_contact) if school.union_contact else facts


@dataclass(frozen=True)
class Place:
    """What the platform says of the channel a command was typed in."""

    private: bool
    bot_member: bool


UNSEEN = Place(private=False, bot_member=False)
"""A place the bot cannot see (Slack: a private channel it has not been invited to)."""


class Workplace(Protocol):
    """The platform's answers about a school's own people and places (Slack: users.info,
    conversations.info). None means it could not say just now (slow, or down); a place the
    bot cannot see is `UNSEEN`."""

    async def is_admin(self, person: Person) -> bool | None: ...

    async def place(self, place: str) -> Place | None: ...


def is_school_command(text: str) -> bool:
    return bool(_COMMAND.match(text))


INSTALLED = (
    "Thanks for installing reportbot. Two steps finish setting it up:\n"
    "1. Create a private channel for your leadership team (or use the one you have), invite "
    "me there (type /invite @reportbot in it), then type /report-tiktok setup in that "
    "channel. New reports go there, and only its members can move a case on.\n"
    "2. Set your school's name for the email to POSH: /report-tiktok settings name Example "
    "Academy (and /report-tiktok settings union … for who staff contact at their union).\n"
    "Staff then report with /report-tiktok, from anywhere in Slack."
)
NOT_ALLOWED = (
    "Only the person who installed reportbot or a workspace admin can choose the leadership "
    "channel, so nothing was changed. Ask one of them to type /report-tiktok setup there."
)
NOT_ALLOWED_SETTINGS = (
    "Only the leadership team, the person who installed reportbot or a workspace admin can "
    "change the school's settings, so nothing was changed."
)
UNCHECKED = (
    "Sorry – I couldn't check that just now, so nothing was changed. Please try again in a minute."
)
IN_A_CHANNEL = (
    "Type /report-tiktok setup in the private channel your leadership team uses (invite me "
    "there first: /invite @reportbot). That channel then gets every new report."
)
CANNOT_SEE = (
    "I can't see this channel yet. Invite me first – type /invite @reportbot here – then type "
    "/report-tiktok setup again."
)
PUBLIC = (
    "This channel is public, and reports name staff and pupils, so they only go to a private "
    "channel. Create a private channel for your leadership team, invite me (/invite "
    "@reportbot), and type /report-tiktok setup there."
)
DONE = (
    "Done: this channel is now the leadership channel. New reports will be posted there, and "
    "its members can move cases on. {next}"
)
NEXT_NAME = "Next, set your school's name: /report-tiktok settings name Example Academy"
SETTINGS_HELP = (
    "To change a setting, type /report-tiktok settings name Example Academy, or "
    "/report-tiktok settings union NAHT regional office, 0300 30 30 111."
)
NOT_HERE = "{what} is chosen by your bot's administrator here, not in chat, so nothing was changed."


class SchoolDesk:
    """`setup` and `settings`. Each returns a `Work`; the engine writes it with the turn.

    `workplace` is None where a school's settings are the administrator's (a deployment for
    one school, set up in its environment and reportbot.toml).
    """

    def __init__(self, workplace: Workplace | None, leads: LeadsCheck) -> None:
        self.workplace = workplace
        self.leads = leads

    async def command(self, turn: Turn, current: SchoolSettings) -> Work:
        match = _COMMAND.match(turn.text)
        assert match, "call is_school_command first"
        verb, rest = match.group(1).lower(), match.group(2).strip()
        if self.workplace is None:
            what = "The leadership channel" if verb == "setup" else "The school's settings"
            return _say(NOT_HERE.format(what=what))
        if verb == "setup":
            return await self._setup(turn, current, self.workplace)
        return await self._settings(turn, current, rest, self.workplace)

    async def _setup(self, turn: Turn, current: SchoolSettings, workplace: Workplace) -> Work:
        if not turn.place:
            return _say(IN_A_CHANNEL)
        allowed = await self._may_set_up(turn.person, current, workplace)
        if allowed is not True:
            return _say(UNCHECKED if allowed is None else NOT_ALLOWED)
        place = await workplace.place(turn.place)
        if place is None:  # not "invite me": the person would do it, and it would not help
            return _say(UNCHECKED)
        if not place.bot_member:
            return _say(CANNOT_SEE)
        if not place.private:
            return _say(PUBLIC)
        changed = replace(current, leadership=turn.place)
        work = _say(DONE.format(next="" if current.name else NEXT_NAME).strip(), "success")
        work.meta[SETTINGS_KEY] = changed.to_json()
        return work

    async def _settings(
        self, turn: Turn, current: SchoolSettings, rest: str, workplace: Workplace
    ) -> Work:
        if not rest:
            return _say(_shown(current))
        setting = _SETTING.match(rest)
        if setting is None:
            return _say(SETTINGS_HELP)
        allowed = await self._may_set_up(turn.person, current, workplace)
        if allowed is not True:
            allowed = await self.leads(turn.person)
        if allowed is not True:
            return _say(UNCHECKED if allowed is None else NOT_ALLOWED_SETTINGS)
        which, value = setting.group(1).lower(), " ".join(setting.group(2).split())
        most = NAME_MAX if which == "name" else UNION_MAX
        if not value or len(value) > most:
            return _say(f"Please give the {_LABEL[which]} in 1 to {most} characters.")
        field = "name" if which == "name" else "union_contact"
        changed = replace(current, **{field: value})
        work = _say(f"Saved. {_shown(changed)}", "success")
        work.meta[SETTINGS_KEY] = changed.to_json()
        return work

    async def _may_set_up(
        self, person: Person, current: SchoolSettings, workplace: Workplace
    ) -> bool | None:
        if current.installer and person.user_id == current.installer:
            return True
        return await workplace.is_admin(person)


class LeadsCheck(Protocol):
    async def __call__(self, person: Person) -> bool | None: ...


_LABEL = {"name": "school's name", "union": "union contact"}


def _shown(settings: SchoolSettings) -> str:
    channel = "chosen" if settings.leadership else "not chosen yet (/report-tiktok setup)"
    return (
        f"School name: {settings.name or 'not set'}. Union contact: "
        f"{settings.union_contact or 'not set'}. Leadership channel: {channel}."
    )


def installed(person: Person, current: SchoolSettings) -> tuple[SchoolSettings, Notice]:
    """The installer is remembered (they may run setup) and told how to finish."""
    return replace(current, installer=person.user_id), Notice(INSTALLED, title="Welcome")


def _say(text: str, tone: str = "info") -> Work:
    return Work(replies=[Notice(text, tone="success" if tone == "success" else "info")])

"""The shapes of the guided report: its states, what an answer is, and what a step decides.

`bot.flow` fills these in with the questions themselves. A step's acceptor is a pure function
of the answer: it returns an `Accepted` that says what to store and where to go next, and the
engine applies it. Nothing here changes a conversation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

from bot.errors import Problem as Problem  # its home is bot.errors; bot.engine imports it here
from bot.facts import Facts
from bot.model import JSON, Choice, Flag, Notice, Person


class Step(StrEnum):
    """Every state a conversation can be in. The value is what is stored."""

    LINKS = "links"
    LINK_CHECK = "link_check"
    NO_LINK = "no_link"
    HARM = "harm"
    HARM_OTHER = "harm_other"
    DANGER = "danger"
    SEXUAL_IMAGES = "sexual_images"
    TARGET = "target"
    SEXUAL_IMAGES_AGAIN = "sexual_images_again"
    TARGET_STAFF = "target_staff"
    TARGET_OTHER = "target_other"
    FIRST_SEEN = "first_seen"
    FIRST_SEEN_ROUGHLY = "first_seen_roughly"
    IN_APP = "in_app"
    IN_APP_WHEN = "in_app_when"
    IN_APP_REPLY = "in_app_reply"
    EVIDENCE = "evidence"
    DESCRIPTION = "description"
    POSTER = "poster"
    TOLD = "told"
    NAME = "name"
    ROLE = "role"
    CONTACT = "contact"
    WHO_CALLS = "who_calls"
    # States outside the questions: they have specs in the same table.
    SUMMARY = "summary"
    CHANGE = "change"
    CANCEL = "cancel"
    RESTART = "restart"  # "start again" part-way: asked first, as a cancel is
    RESUME = "resume"
    END = "end"


# Not a step: the first message, kept in a conversation's answers when it told the whole
# story at once (bot.engine), for the case's history (bot.filing).
FIRST_WORDS = "first_words"
# Not a step either: the words that brought the danger question, for the alert it may raise.
RISK_SAID = "risk_said"


class Then(StrEnum):
    """Where the conversation goes after an answer."""

    NEXT = "next"  # the next question that applies (or back from a detour)
    STAY = "stay"  # ask the same question again (links arrive in several messages)
    GOTO = "goto"  # a named state: `Accepted.goto`
    EDIT = "edit"  # change one section, then back to the summary: `Accepted.goto` is its first step
    RETURN = "return"  # back to the question asked before a detour (carry on, don't cancel)
    SUBMIT = "submit"  # file the report
    SENT = "sent"  # after the report: the reporter has contacted POSH, as they said they would
    CANCEL = "cancel"  # end it, nothing filed
    RESTART = "restart"  # a fresh report


@dataclass(frozen=True)
class Context:
    """What a step may read to word its question or judge an answer (never change)."""

    answers: Mapping[str, Any]
    flags: AbstractSet[Flag]
    person: Person
    facts: Facts
    today: date
    who_calls: str = "leaders"
    """The school's default for who contacts POSH: "leaders" or "reporter"."""
    urgent_case: str = ""
    """The case opened early because of a safety answer (leaders already alerted)."""


@dataclass(frozen=True)
class Answer:
    """One answer: what was typed, the button values pressed, and its context."""

    text: str
    values: tuple[str, ...]
    ctx: Context

    @property
    def answers(self) -> Mapping[str, Any]:
        return self.ctx.answers

    @property
    def flags(self) -> AbstractSet[Flag]:
        return self.ctx.flags

    @property
    def person(self) -> Person:
        return self.ctx.person

    @property
    def facts(self) -> Facts:
        return self.ctx.facts

    @property
    def today(self) -> date:
        return self.ctx.today


@dataclass(frozen=True)
class Accepted:
    """What a step decided: the value to store under the step, and what follows."""

    value: object
    notices: tuple[Notice, ...] = ()
    then: Then = Then.NEXT
    goto: Step | None = None
    raise_flags: frozenset[Flag] = frozenset()
    clear_flags: frozenset[Flag] = frozenset()
    also: Mapping[str, object] = field(default_factory=dict)
    """Other answers this one settles (a confirmed handle joins the links)."""
    ahead: tuple[Step, ...] = ()
    """Later questions `also` answered, so not asked ("Mr Okafor, head of science")."""


Acceptor = Callable[[Answer], Accepted]
Condition = Callable[[JSON, AbstractSet[Flag]], bool]
Text = str | Callable[[Context], str]
Choices = tuple[Choice, ...] | Callable[[Context], tuple[Choice, ...]]


def always(answers: JSON, flags: AbstractSet[Flag]) -> bool:
    return True


def never(answers: JSON, flags: AbstractSet[Flag]) -> bool:
    """For states reached only by name (`Then.GOTO`), never by moving on."""
    return False


@dataclass(frozen=True)
class StepSpec:
    step: Step
    section: str
    text: Text
    accept: Acceptor
    choices: Choices = ()
    multi: bool = False
    hint: str = ""
    accepts_text: bool = True
    when: Condition = always
    question: bool = True
    """False for the states around the questions (summary, change, cancel, resume, end)."""
    follow_up: bool = False
    """Asked only because of an earlier answer; not counted in "N short questions"."""

    def text_for(self, ctx: Context) -> str:
        return self.text(ctx) if callable(self.text) else self.text

    def choices_for(self, ctx: Context) -> tuple[Choice, ...]:
        return self.choices(ctx) if callable(self.choices) else self.choices

"""A person's home page (Slack's Home tab): their own reports and, for a leader, the open cases
of their school and its settings – as lines, newest first, ready for any front end to lay out."""

from __future__ import annotations

from dataclasses import dataclass

from bot.facts import Facts
from bot.lifecycle import in_scope
from bot.model import Case, CaseStatus, Person
from bot.ports import Store
from bot.views import case_line

LIST_MAX = 30


@dataclass(frozen=True)
class Listing:
    lines: tuple[str, ...]
    older: int = 0
    """How many more there are than `lines` shows."""


@dataclass(frozen=True)
class Home:
    mine: Listing
    open_cases: Listing | None
    """None unless the person leads."""
    school: tuple[str, ...] = ()
    """For a leader: the school's settings, and how to change them where that is done in chat."""


SET_IN_CHAT = (
    "Change them with /report-tiktok settings name … or /report-tiktok settings union … "
    "(leaders, the person who installed reportbot, or a workspace admin)."
)


class HomePage:
    def __init__(self, store: Store, facts: Facts, *, settings_in_chat: bool = False) -> None:
        self.store = store
        self.facts = facts
        self.settings_in_chat = settings_in_chat

    async def __call__(self, person: Person, is_leader: bool) -> Home:
        mine = await self.store.cases(reporter=person.key)
        open_cases: Listing | None = None
        school: tuple[str, ...] = ()
        if is_leader:
            held = await self.store.cases(open_only=True)
            open_cases = self._listing([c for c in held if in_scope(c, person)])
            school = self._school()
        listing = self._listing([c for c in mine if c.status != CaseStatus.DELETED])
        return Home(listing, open_cases, school)

    def _school(self) -> tuple[str, ...]:
        facts = self.facts
        lines = (f"School: {facts.school}", f"Union contact: {facts.union_contact}")
        return (*lines, SET_IN_CHAT) if self.settings_in_chat else lines

    def _listing(self, cases: list[Case]) -> Listing:
        newest = sorted(cases, key=lambda c: c.created_at, reverse=True)[:LIST_MAX]
        lines = tuple(case_line(c, self.facts) for c in newest)
        return Listing(lines, len(cases) - len(newest))

"""What one part of a turn decided: the replies it owes and what it writes.

The engine, the leaders' desk and filing each return a `Work`; the engine gathers them into the
turn's one `bot.ports.UnitOfWork`, so nothing is written until the whole turn is.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.model import JSON, Case, OutboxItem, Reply


@dataclass
class Work:
    replies: list[Reply] = field(default_factory=list)
    """For the person whose turn it is, in their chat."""
    outbox: list[OutboxItem] = field(default_factory=list)
    """Anything else owed: the leadership post, a message to a case's reporter."""
    cases: dict[str, Case] = field(default_factory=dict)
    """Cases to write, by reference, as read (their versions say so) and then changed."""
    meta: dict[str, JSON | None] = field(default_factory=dict)
    deleted: list[Case] = field(default_factory=list)
    """Tombstones of cases a leader deleted (bot.records): each replaces its case, and every
    stored copy of what it said goes, before the rest is written."""

    def write(self, *cases: Case) -> None:
        for case in cases:
            self.cases[case.reference] = case

    def add(self, other: Work) -> Work:
        """This work with `other`'s after it."""
        self.replies += other.replies
        self.outbox += other.outbox
        self.cases.update(other.cases)
        self.meta.update(other.meta)
        self.deleted += other.deleted
        return self

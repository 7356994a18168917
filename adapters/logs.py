"""Every log line names the school it is about, never what the school's people wrote.

A deployment for many schools serves them all from one process, so a line such as "could
not deliver a message" is of no use to whoever hosts it without the school's id. The id is
held in a context variable: set by the Slack gate for a request (and so for the work it
spawns), and by `adapters.compose.Schools` while it starts a school's courier and reminders
(asyncio tasks copy the context they are created in, so each school's background work carries
its own id for as long as it runs). `SchoolTag` adds it to every record the server's handler
writes: "… adapters.slack.directory [slack:T0123]: …". A deployment for one school has no id.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

school_var: ContextVar[str] = ContextVar("school", default="")
FORMAT = "%(asctime)s %(levelname)s %(name)s%(school)s: %(message)s"


@contextmanager
def in_school(school: str) -> Iterator[None]:
    """Work (and tasks created) inside is logged as the school's."""
    token = school_var.set(school)
    try:
        yield
    finally:
        school_var.reset(token)


def enter_school(school: str) -> None:
    """The rest of this task (a request being handled) is the school's."""
    school_var.set(school)


class SchoolTag(logging.Filter):
    """Adds `school` (" [slack:T…]", or "" outside any school) to each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        school = school_var.get()
        record.school = f" [{school}]" if school else ""
        return True


def configure(level: int) -> None:
    """The process's logging: to stderr, each line tagged with its school."""
    logging.basicConfig(level=level, format=FORMAT)
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, SchoolTag) for f in handler.filters):
            handler.addFilter(SchoolTag())

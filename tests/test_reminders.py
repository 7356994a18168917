"""Reminder timing with a fake clock: POSH's working day, weekends, nights, no repeats."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from store_helpers import due_items, save

from bot.clock import FakeClock
from bot.codec import reply_from_dict
from bot.facts import Facts
from bot.lifecycle import apply
from bot.model import Audience, Case, Notice, Person, Platform
from bot.reminders import Reminders, schedule, working_deadline
from storage.memory import MemoryStore

FACTS = Facts(union_contact="the NAHT regional office")
REPORTER = Person(Platform.SLACK, "T1", "U1", name="Ann")


def utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)  # November: UK time is UTC


@pytest.mark.parametrize(
    ("created", "deadline"),
    [
        (utc(25, 11), utc(26, 11)),  # Wed 11:00 → Thu 11:00
        (utc(25, 7), utc(25, 16)),  # before opening: the whole of Wednesday's session
        (utc(25, 18), utc(26, 16)),  # after closing: Thursday's session
        (utc(27, 15), utc(30, 15)),  # Fri 15:00: one hour Friday, five on Monday
        (utc(28, 12), utc(30, 16)),  # Saturday → Monday's session
    ],
)
def test_one_working_day_of_posh_hours(created: datetime, deadline: datetime) -> None:
    assert working_deadline(FACTS, created, 6) == deadline


async def _save(store: MemoryStore, case: Case) -> None:
    schedule(case, FACTS)  # as every writer of a case does
    await save(store, case)


async def _setup(created: datetime) -> tuple[MemoryStore, FakeClock, Reminders, Case]:
    store, clock = MemoryStore(), FakeClock(created)
    case = Case("TT-2026-0001", created, REPORTER, "c1", {"harm": ["impersonation"]})
    await _save(store, case)
    return store, clock, Reminders(store, FACTS, clock), case


async def _notices(store: MemoryStore, now: datetime) -> list[Notice]:
    items = await due_items(store, Platform.SLACK, now)
    assert all(i.audience == Audience.LEADERSHIP for i in items)
    return [r for i in items if isinstance(r := reply_from_dict(i.reply), Notice)]


async def test_unsent_case_nudged_once_after_a_working_day_never_at_night_or_weekend() -> None:
    store, clock, reminders, _ = await _setup(utc(27, 15))  # Friday 15:00
    for moment in (utc(27, 17), utc(28, 12), utc(29, 12), utc(30, 14, 59)):
        clock.set(moment)
        assert await reminders.check() == 0
    clock.set(utc(30, 19))  # Monday evening: past the deadline, but night
    assert await reminders.check() == 0
    clock.set(datetime(2026, 12, 1, 8, 30, tzinfo=UTC))  # Tuesday 08:30
    assert await reminders.check() == 1
    [notice] = await _notices(store, clock.now())
    assert "not been sent to POSH" in notice.text
    assert "opens today at 10:00" in notice.text
    assert await reminders.check() == 0
    again = Reminders(store, FACTS, clock)  # a restart
    assert await again.check() == 0


async def test_sent_but_not_removed_nudges_at_48_hours_and_7_days_with_the_union() -> None:
    store, clock, reminders, case = await _setup(utc(23, 11))
    apply(case, "sent", "Head", utc(23, 12))
    await _save(store, case)
    clock.set(utc(25, 11, 59))
    assert await reminders.check() == 0
    clock.set(utc(25, 12))
    assert await reminders.check() == 1
    clock.set(utc(27, 12))
    assert await reminders.check() == 0
    clock.set(datetime(2026, 11, 30, 12, tzinfo=UTC))
    assert await reminders.check() == 1
    texts = [n.text for n in await _notices(store, clock.now())]
    assert len(texts) == 2 and all("NAHT regional office" in t for t in texts)
    assert "48 hours" in texts[0] and "7 days" in texts[1]


async def test_removed_cases_are_not_nudged() -> None:
    store, clock, reminders, case = await _setup(utc(23, 11))
    apply(case, "removed", "Head", utc(23, 12))
    await _save(store, case)
    clock.set(utc(30, 12))
    assert await reminders.check() == 0


@pytest.mark.parametrize(
    ("created", "remind_at"),
    [
        (utc(25, 11), utc(26, 11)),  # a working day later, in the daytime
        (utc(27, 15), utc(30, 15)),  # Friday: Monday
        (utc(26, 17), utc(27, 16)),  # the deadline falls at 16:00 Friday
        (utc(30, 17), datetime(2026, 12, 1, 16, tzinfo=UTC)),
    ],
)
def test_a_case_knows_when_its_next_reminder_is_due(created: datetime, remind_at: datetime) -> None:
    case = Case("TT-2026-0001", created, REPORTER, "c1", {})
    schedule(case, FACTS)
    assert case.remind_at == remind_at
    case.reminded = ("not_sent",)
    schedule(case, FACTS)
    assert case.remind_at is None  # nothing more until it is sent to POSH


def test_a_reminder_due_at_night_waits_for_the_morning() -> None:
    case = Case("TT-2026-0001", utc(23, 11), REPORTER, "c1", {}, reminded=("not_sent",))
    apply(case, "sent", "Head", utc(23, 20))  # sent at 20:00: 48 hours later is night
    schedule(case, FACTS)
    assert case.remind_at == utc(26, 8)  # Thursday 08:00

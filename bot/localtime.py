"""The school's clock: every moment is stored in UTC and read in UK local time.

The zone is the helpline's, `Facts.posh_timezone` (Europe/London unless a school changes it),
so POSH's hours, reminders, case numbers by year and every time shown to people agree. This is
the one place that turns a stored moment into local time.

A local moment plus days keeps its wall-clock time across a clock change (zoneinfo works the
offset out for the new date), so 10:00 on Friday plus three days is 10:00 on Monday.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot.facts import Facts


def zone(facts: Facts) -> ZoneInfo:
    """The school's time zone (`ZoneInfo` keeps one instance per name, so this is cheap)."""
    return ZoneInfo(facts.posh_timezone)


def moment(when: datetime, facts: Facts) -> datetime:
    """The same moment on the school's clock."""
    return when.astimezone(zone(facts))


def local(when: datetime, facts: Facts) -> str:
    """A moment as people read it: 'Wed 25 Nov 2026, 11:00'."""
    m = moment(when, facts)
    return f"{day_text(m, weekday=True)}, {m:%H:%M}"


def day_text(d: date, *, weekday: bool = False, year: bool = True) -> str:
    """A day as people write it, the one way every message does: '1 Dec 2026', with the
    weekday 'Tue 1 Dec 2026', without the year 'Tue 1 Dec'."""
    text = f"{d.day} {d:%b}" + (f" {d:%Y}" if year else "")
    return f"{d:%a} {text}" if weekday else text


def stamp(when: datetime | None, facts: Facts) -> str:
    """A moment as spreadsheets sort and read it: '2026-11-25 11:00'; no moment is ''."""
    return f"{moment(when, facts):%Y-%m-%d %H:%M}" if when else ""


def day(when: datetime, facts: Facts) -> date:
    """The school's date at that moment (a UTC evening can be tomorrow in summer time)."""
    return moment(when, facts).date()


def midnight(on: date, facts: Facts) -> datetime:
    """The start of a local day, for a day staff gave without a time."""
    return datetime(on.year, on.month, on.day, tzinfo=zone(facts))

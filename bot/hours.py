"""Is the helpline open now, and if not, when does it open? (UK time, from `Facts`.)

POSH is closed at weekends and on England and Wales bank holidays. The bank holidays come from
the `holidays` package (country GB, subdivision ENG: the gov.uk list, kept up to date by that
package's maintainers, including one-off days such as a coronation); a school adds any other
closure it knows of in `[facts] posh_closed`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache

import holidays

from bot import localtime
from bot.facts import Facts


@lru_cache(maxsize=64)
def bank_holidays(region: str, year: int) -> frozenset[date]:
    """The bank holidays of a year, e.g. region "GB-ENG" (a pure look-up, so cached)."""
    country, _, subdivision = region.partition("-")
    found = holidays.country_holidays(country, subdiv=subdivision or None, years=year)
    return frozenset(found)


def is_closed_day(facts: Facts, day: date) -> bool:
    """A weekday the line is shut all day: a bank holiday, or a closure the school added."""
    if facts.posh_holidays and day in bank_holidays(facts.posh_holidays, day.year):
        return True
    return day.isoformat() in facts.posh_closed


def _open_day(facts: Facts, day: date) -> bool:
    return day.weekday() in facts.posh_days and not is_closed_day(facts, day)


@dataclass(frozen=True)
class Opening:
    open_now: bool
    next_open: datetime
    """When the line next opens (local time); equals now's day opening if open now."""
    closes: datetime | None


def _hm(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def opening(facts: Facts, now: datetime) -> Opening:
    local = localtime.moment(now, facts)
    opens, closes = _hm(facts.posh_opens), _hm(facts.posh_closes)
    day_open = local.replace(hour=opens.hour, minute=opens.minute, second=0, microsecond=0)
    day_close = local.replace(hour=closes.hour, minute=closes.minute, second=0, microsecond=0)
    if _open_day(facts, local.date()) and day_open <= local < day_close:
        return Opening(True, day_open, day_close)
    candidate = day_open if local < day_open else day_open + timedelta(days=1)
    for _ in range(40):  # the longest run of closures (Christmas, with a school's own) is short
        if _open_day(facts, candidate.date()):
            break
        candidate += timedelta(days=1)
    # Days added to a local time keep it 10:00 local across a clock change (`bot.localtime`).
    return Opening(False, candidate, None)


def hours_text(facts: Facts) -> str:
    days = _day_span(facts.posh_days)
    return f"{days}, {facts.posh_opens}–{facts.posh_closes} (UK time)"


def status_text(facts: Facts, now: datetime) -> str:
    o = opening(facts, now)
    if o.open_now and o.closes:
        return f"The helpline is open now, until {o.closes:%H:%M} today."
    local_now = localtime.moment(now, facts)
    return f"The helpline is closed now. It opens {when(o.next_open, local_now)}."


def when(moment: datetime, now: datetime) -> str:
    """'today at 10:00', 'tomorrow at 10:00' or 'on Monday 30 November at 10:00'."""
    days = (moment.date() - now.date()).days
    clock = f"{moment:%H:%M}"
    if days == 0:
        return f"today at {clock}"
    if days == 1:
        return f"tomorrow at {clock}"
    return f"on {moment:%A} {moment.day} {moment:%B} at {clock}"


_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _day_span(days: tuple[int, ...]) -> str:
    ordered = sorted(set(days))
    if ordered and ordered == list(range(ordered[0], ordered[-1] + 1)) and len(ordered) > 1:
        return f"{_NAMES[ordered[0]]}–{_NAMES[ordered[-1]]}"
    return ", ".join(_NAMES[d] for d in ordered)

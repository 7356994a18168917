"""Read the day staff first saw an account, in the ways people in the UK write a date.

Accepts relative days ("yesterday", "3 days ago", "last monday") and UK day/month/year dates
in their usual shapes. Dates are never read month-first: "11/21/2026" is an error with a
hint, not 21 November, because a silently wrong date is worse in a report than a question.

Pure (stdlib only) and locale-independent: month and weekday names are our own tables, not
strftime's, so output does not change with the server's locale.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

MAX_YEARS_BACK = 5
MAX_INPUT_CHARS = 100

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)

HINT_UNREADABLE = (
    "I couldn't read that as a date. Try something like 21/11/2026, 21 Nov, yesterday or "
    "3 days ago."
)
HINT_FUTURE = "That date is in the future — when did you first see it?"
HINT_TOO_OLD = (
    f"That date is more than {MAX_YEARS_BACK} years ago — please check the year and try again."
)

_NUMBER_WORDS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
}
_FIXED_OFFSETS = {
    "today": 0,
    "yesterday": 1,
    "day before yesterday": 2,
    "last week": 7,
    "a fortnight ago": 14,
}
# Every pattern is matched against at most MAX_INPUT_CHARS characters, and none nests an
# unbounded quantifier inside another, so matching is fast on any input.
# re.ASCII: only 0-9 count as digits, so int() always accepts what \d matched.
_AGO = re.compile(r"(\d{1,6}|[a-z]+) (day|week)s? ago", re.ASCII)
_NUMERIC = re.compile(r"(\d{1,2})[/.\-](\d{1,2})(?:[/.\-](\d{4}|\d{2}))?", re.ASCII)
_ISO = re.compile(r"(\d{4})[/.\-](\d{1,2})[/.\-](\d{1,2})", re.ASCII)
_DAY_MONTH = re.compile(r"(\d{1,2}) ?([a-z]{3,9})(?: ?(\d{4}|\d{2}))?", re.ASCII)
_MONTH_DAY = re.compile(r"([a-z]{3,9}) ?(\d{1,2})(?: (\d{4}|\d{2}))?", re.ASCII)
_ORDINAL = re.compile(r"\b(\d{1,2})(?:st|nd|rd|th)\b", re.ASCII)
_ALL_NUMERIC = re.compile(r"[\d\s/.\-]+", re.ASCII)
_SPACED_SEPARATOR = re.compile(r"\s*([/.\-])\s*")
# "21-nov-2026", "21/Nov": a separator touching a letter is just a space.
_WORD_SEPARATOR = re.compile(r"(?<=[a-z])[/.\-]|[/.\-](?=[a-z])")
_NOISE_WORDS = frozenset({"on", "the", "of"})
_WEEKDAY_QUALIFIERS = frozenset({"this", "last"})


class DateError(ValueError):
    """A date staff typed that cannot be used; the message says what to change."""


def parse_day(text: str, today: date) -> date:
    """The day `text` refers to, relative to `today`, or raise `DateError` with a hint."""
    if len(text) > MAX_INPUT_CHARS:
        raise DateError(HINT_UNREADABLE)
    words = _tidy(text)
    day = _relative(words, today)
    if day is None:
        day = _calendar(words, today)
    return _checked(day, today)


def describe_day(d: date, today: date) -> str:
    """ "today (Wed 25 Nov 2026)", "yesterday (Tue 24 Nov 2026)", else "Sat 21 Nov 2026"."""
    plain = f"{WEEKDAYS[d.weekday()][:3].title()} {_long(d)}"
    if d == today:
        return f"today ({plain})"
    if d == today - timedelta(days=1):
        return f"yesterday ({plain})"
    return plain


# --- tidying -----------------------------------------------------------------------------------


def _tidy(text: str) -> str:
    """Lower-case, single-spaced, without ordinals, commas or surrounding punctuation."""
    s = text.lower().replace("–", "-").replace("—", "-").replace(",", " ")
    s = _ORDINAL.sub(r"\1", s)
    s = _WORD_SEPARATOR.sub(" ", s)
    words = (word.strip(".!?;:()'\"") for word in s.split())
    s = " ".join(w for w in words if w and w not in _NOISE_WORDS)
    if _ALL_NUMERIC.fullmatch(s):
        # "21 / 11 / 2026": spaces around separators are typing, not meaning.
        s = _SPACED_SEPARATOR.sub(r"\1", s)
    return s


# --- relative days -----------------------------------------------------------------------------


def _relative(words: str, today: date) -> date | None:
    if words in _FIXED_OFFSETS:
        return _days_back(today, _FIXED_OFFSETS[words])
    match = _AGO.fullmatch(words)
    if match:
        count = _count(match.group(1))
        per = 7 if match.group(2) == "week" else 1
        return _days_back(today, count * per)
    weekday = _weekday(" ".join(w for w in words.split() if w not in _WEEKDAY_QUALIFIERS))
    if weekday is not None:
        # The most recent such day, counting today: "monday" said on a Monday means today.
        return today - timedelta(days=(today.weekday() - weekday) % 7)
    return None


def _count(word: str) -> int:
    if word.isdigit():
        return int(word)
    if word in _NUMBER_WORDS:
        return _NUMBER_WORDS[word]
    raise DateError(HINT_UNREADABLE)


def _days_back(today: date, days: int) -> date:
    # Checked here because a huge count would overflow date arithmetic.
    if days > (MAX_YEARS_BACK + 1) * 366:
        raise DateError(HINT_TOO_OLD)
    return today - timedelta(days=days)


def _weekday(word: str) -> int | None:
    """0 for "monday"/"mon"/"mond", ..., or None. "weds" and "thur" are common spellings."""
    if word == "weds":
        return 2
    if len(word) < 3:
        return None
    for index, name in enumerate(WEEKDAYS):
        if name.startswith(word):
            return index
    return None


def _month(word: str) -> int | None:
    """1 for "jan"/"january", ...; any prefix of three letters or more, so "sept" works."""
    if len(word) < 3:
        return None
    for index, name in enumerate(MONTHS, start=1):
        if name.startswith(word):
            return index
    return None


# --- calendar dates ----------------------------------------------------------------------------


def _calendar(words: str, today: date) -> date:
    first, _, rest = words.partition(" ")
    stated_weekday = _weekday(first) if rest else None
    if stated_weekday is not None:
        # "Wed 25 Nov 2026": read the date, then check the weekday agrees with it.
        day = _calendar(rest, today)
        if day.weekday() != stated_weekday:
            raise DateError(
                f"{_long(day)} was a {WEEKDAYS[day.weekday()].title()}, not a "
                f"{WEEKDAYS[stated_weekday].title()}. Which day did you mean?"
            )
        return day
    if match := _ISO.fullmatch(words):
        year, month, day_ = (int(g) for g in match.groups())
        return _build(year, month, day_, words, today, year_given=True)
    if match := _NUMERIC.fullmatch(words):
        return _from_parts(match.group(1), match.group(2), match.group(3), words, today)
    if match := _DAY_MONTH.fullmatch(words):
        return _named(match.group(1), match.group(2), match.group(3), words, today)
    if match := _MONTH_DAY.fullmatch(words):
        return _named(match.group(2), match.group(1), match.group(3), words, today)
    raise DateError(HINT_UNREADABLE)


def _named(day: str, month_word: str, year: str | None, words: str, today: date) -> date:
    month = _month(month_word)
    if month is None:
        raise DateError(HINT_UNREADABLE)
    return _from_parts(day, str(month), year, words, today)


def _from_parts(day: str, month: str, year: str | None, words: str, today: date) -> date:
    if year is None:
        return _build(today.year, int(month), int(day), words, today, year_given=False)
    full_year = int(year) + 2000 if len(year) == 2 else int(year)
    return _build(full_year, int(month), int(day), words, today, year_given=True)


def _build(year: int, month: int, day: int, words: str, today: date, *, year_given: bool) -> date:
    if not 1 <= month <= 12:
        raise DateError(_bad_month_hint(day, month, year, year_given))
    try:
        built = date(year, month, day)
    except ValueError:
        raise DateError(_bad_day_hint(day, month, year)) from None
    if not year_given and built > today:
        # A year-less date later this year is not silently moved to last year: ask instead.
        raise DateError(
            f"{_long(built)} is in the future. If you meant last year, please add the year, "
            f"for example {day}/{month}/{year - 1}."
        )
    return built


def _bad_month_hint(day: int, month: int, year: int, year_given: bool) -> str:
    shown = f"{day}/{month}/{year}" if year_given else f"{day}/{month}"
    if 1 <= day <= 12 and 13 <= month <= 31:
        # Looks like month-first (US) order; suggest the UK reading.
        swapped = f"{month}/{day}/{year}" if year_given else f"{month}/{day}"
        return (
            f"Dates are day/month/year, so {shown} would mean month {month}. "
            f"Did you mean {swapped}?"
        )
    return f"There is no month {month}. Dates are day/month/year, for example 21/11/{year}."


def _bad_day_hint(day: int, month: int, year: int) -> str:
    if not 1 <= year <= 9999:
        return HINT_TOO_OLD if year < 1 else HINT_FUTURE
    month_name = MONTHS[month - 1].title()
    if day < 1:
        return f"There is no day {day} in {month_name}. Please check the date."
    return f"There is no {day} {month_name} in {year}. Please check the date."


def _long(d: date) -> str:
    return f"{d.day} {MONTHS[d.month - 1][:3].title()} {d.year}"


def _checked(day: date, today: date) -> date:
    if day > today:
        raise DateError(HINT_FUTURE)
    if day < _years_before(today, MAX_YEARS_BACK):
        raise DateError(HINT_TOO_OLD)
    return day


def _years_before(today: date, years: int) -> date:
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February in a year that has none
        return today.replace(year=today.year - years, day=28)

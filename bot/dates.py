"""Read the day staff first saw an account, in the ways people in the UK write a date.

Accepts relative days ("yesterday", "last night", "this morning", "3 days ago", "last monday"),
UK day/month/year dates in their usual shapes, small typos ("yesterdy", "tuseday"), and vague
answers ("last week", "over the weekend", "a few days ago"), which `read_when` returns as a
span of days so the question can be narrowed once rather than refused. Dates are never read
month-first: "11/21/2026" is an error with a hint, not 21 November, because a silently wrong
date is worse in a report than a question.

Why not `dateparser`: tried on this module's own table it read "11/21/2026" as 21 November
even with DATE_ORDER=DMY, took "2" (a menu number) as 2 November, made "last week" one exact
day, and knew no typos. Typos are corrected here with rapidfuzz against a small vocabulary.

Locale-independent: month and weekday names are our own tables, not strftime's, so output
does not change with the server's locale.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from rapidfuzz import fuzz, process

from bot import localtime
from bot.errors import DateError

MAX_YEARS_BACK = 5
TYPO_SCORE = 80  # rapidfuzz ratio: "tuseday" → "tuesday" scores 86, "month" → "monday" 55
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
# One wording for every day still to come, whatever the question (first seen, reported in the
# app) and however it was said ("tomorrow", "next friday", 26/11/2026): what it is, then what to do.
UP_TO_TODAY = "Please give a day up to today, for example today, yesterday or 3 days ago."
HINT_FUTURE = f"That is in the future. {UP_TO_TODAY}"
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
    "last night": 1,
    "day before yesterday": 2,
    "a week ago": 7,
    "a fortnight ago": 14,
}
# Said of today: "this morning", "earlier", "just now", "an hour ago"…
_TODAY_WORDS = frozenset(
    {"earlier", "earlier today", "just now", "now", "tonight", "just", "an hour ago"}
    | {"a few hours ago", "few hours ago", "hours ago", "a couple of hours ago", "this"}
)
# Parts of the day add nothing to the date: "yesterday evening", "monday night".
_TIME_OF_DAY = re.compile(
    r"\b(?:(?:this|in the|at|on|during|around|about)\s+)?"
    r"(?:morning|afternoon|evening|night|lunchtime|lunch|break|breaktime|first thing)\b"
    r"|\b(?:at|around|about)?\s*\d{1,2}(?::\d{2})?\s*(?:am|pm)\b"
    r"|\b(?:just gone|gone)\b",
    re.ASCII,
)
# Words a typo may stand for, and the words themselves, for rapidfuzz to match against.
_VOCABULARY = (
    *WEEKDAYS,
    *MONTHS,
    "today",
    "yesterday",
    "tonight",
    "morning",
    "afternoon",
    "evening",
    "night",
    "last",
    "week",
    "weeks",
    "weekend",
    "fortnight",
    "month",
    "days",
    "ago",
    "couple",
    "earlier",
    "recently",
)
UNKNOWN_WORDS = frozenset(
    {"not sure", "unsure", "dont know", "do not know", "i dont know", "no idea", "dunno"}
    | {"idk", "cant remember", "i cant remember", "dont remember", "i dont remember"}
    | {"not known", "unknown", "no clue", "skip", "pass", "no idea at all", "not a clue"}
)
# Said around "I don't know" without changing it: "no idea sorry", "not sure tbh".
_POLITE = frozenset({"sorry", "tbh", "really", "honestly", "though", "im", "afraid", "please"})
# Every pattern is matched against at most MAX_INPUT_CHARS characters, and none nests an
# unbounded quantifier inside another, so matching is fast on any input.
# re.ASCII: only 0-9 count as digits, so int() always accepts what \d matched.
_AGO = re.compile(r"(?:(\d{1,6}|[a-z]+) )?(day|week|fortnight)s? ago", re.ASCII)
_NUMERIC = re.compile(r"(\d{1,2})[/.\-](\d{1,2})(?:[/.\-](\d{4}|\d{2}))?", re.ASCII)
_ISO = re.compile(r"(\d{4})[/.\-](\d{1,2})[/.\-](\d{1,2})", re.ASCII)
_DAY_MONTH = re.compile(r"(\d{1,2}) ?([a-z]{3,9})(?: ?(\d{4}|\d{2}))?", re.ASCII)
_MONTH_DAY = re.compile(r"([a-z]{3,9}) ?(\d{1,2})(?: (\d{4}|\d{2}))?", re.ASCII)
_ORDINAL = re.compile(r"\b(\d{1,2})(?:st|nd|rd|th)\b", re.ASCII)
_ALL_NUMERIC = re.compile(r"[\d\s/.\-]+", re.ASCII)
_SPACED_SEPARATOR = re.compile(r"\s*([/.\-])\s*")
# "21-nov-2026", "21/Nov": a separator touching a letter is just a space.
_WORD_SEPARATOR = re.compile(r"(?<=[a-z])[/.\-]|[/.\-](?=[a-z])")
_BACK = re.compile(r"\b(days?|weeks?|fortnights?) back\b", re.ASCII)  # "2 days back": ago
_NOISE_WORDS = frozenset({"on", "the", "of", "in", "since", "from"})  # "since monday": monday
_BACK_IN = re.compile(r"\b(?:way\s+)?back\s+in\b")  # "back in october": in october
# Text speak for the words of a date: "2day", "yday".
_TEXT_SPEAK = {"2day": "today", "tdy": "today", "2nite": "tonight", "tonite": "tonight"}
_TEXT_SPEAK |= {"nite": "night", "nyt": "night", "mornin": "morning"}
_TEXT_SPEAK |= {"yday": "yesterday", "yest": "yesterday", "ytd": "yesterday", "wk": "week"}
_WEEKDAY_QUALIFIERS = frozenset({"this", "last"})


@dataclass(frozen=True)
class When:
    """A day, a span of days when the answer was vague, or not known.

    Stored as ISO 8601: "2026-11-24", the interval "2026-11-16/2026-11-22", or "unknown".
    """

    start: date | None
    end: date | None
    said: str = ""

    @property
    def is_day(self) -> bool:
        return self.start is not None and self.start == self.end

    @property
    def is_known(self) -> bool:
        return self.start is not None

    def iso(self) -> str:
        if self.start is None or self.end is None:
            return "unknown"
        if self.start == self.end:
            return self.start.isoformat()
        return f"{self.start.isoformat()}/{self.end.isoformat()}"


def parse_day(text: str, today: date) -> date:
    """The day `text` refers to, relative to `today`, or raise `DateError` with a hint."""
    if len(text) > MAX_INPUT_CHARS:
        raise DateError(HINT_UNREADABLE)
    _not_to_come(_tidy_plain(text))
    return _day(_tidy(text), today)


def read_when(text: str, today: date) -> When:
    """A day, or a span for a vague answer ("last week", "thursday or friday"), or unknown
    ("not sure"). A hedge ("I think", "probably") is kept in what was said, not in the way."""
    if len(text) > MAX_INPUT_CHARS:
        raise DateError(HINT_UNREADABLE)
    _not_to_come(_tidy_plain(text))
    words = " ".join(_HEDGES.sub(" ", _tidy(text)).split())
    plain = " ".join(w for w in _tidy_plain(text).split() if w not in _POLITE)
    if words in UNKNOWN_WORDS or plain in UNKNOWN_WORDS:
        return When(None, None, text.strip())
    ordinal = _BARE_ORDINAL.fullmatch(" ".join(_HEDGES.sub(" ", text.lower()).split()))
    if ordinal:  # "the 20th": this month's, or the last month that had one
        day = _day_of_month(int(ordinal.group(1) or ordinal.group(2)), today)
        return When(day, day, text.strip())
    either = _either(words, today)
    if either is not None:
        return When(*either, text.strip())
    span = _vague(words, today)
    if span is not None:
        start, end = max(span[0], _years_before(today, MAX_YEARS_BACK)), min(span[1], today)
        return When(start, end, text.strip()) if start < end else When(end, end, text.strip())
    day = _day(words, today)
    return When(day, day, text.strip())


def when_from_iso(value: object) -> When:
    """The stored form back; anything unreadable counts as not known."""
    text = str(value or "")
    try:
        if "/" in text:
            start, end = (date.fromisoformat(p) for p in text.split("/", 1))
            return When(start, end)
        day = date.fromisoformat(text)
        return When(day, day)
    except ValueError:
        return When(None, None)


def describe_when(value: object) -> str:
    """For records: "Tue 24 Nov 2026", "between Mon 16 Nov and Sun 22 Nov 2026", "not known"."""
    when = when_from_iso(value)
    if when.start is None or when.end is None:
        return "not known"
    if when.is_day:
        return _weekday_long(when.start)
    first = _weekday_long(when.start)
    if when.start.year == when.end.year:
        first = first.rsplit(" ", 1)[0]
    return f"between {first} and {_weekday_long(when.end)}"


def describe_day(d: date, today: date) -> str:
    """ "today (Wed 25 Nov 2026)", "yesterday (Tue 24 Nov 2026)", else "Sat 21 Nov 2026"."""
    plain = _weekday_long(d)
    if d == today:
        return f"today ({plain})"
    if d == today - timedelta(days=1):
        return f"yesterday ({plain})"
    return plain


def _weekday_long(d: date) -> str:
    return localtime.day_text(d, weekday=True)


def _not_to_come(words: str) -> None:
    if _TO_COME.fullmatch(words):
        raise DateError(HINT_FUTURE)


# Words for a day still to come, said of when something was seen ("tomorrow", "next friday").
_TO_COME = re.compile(
    r"(?:(?:i think|probably) )?(?:the )?(?:day after )?(?:tom+or+ow|tmrw?)|next \w+"
    r"|(?:this )?coming \w+|later today"
    r"|in (?:a|an|one|two|three|a few|few|\d+) (?:day|week|fortnight|month|year)s?(?: time)?"
)


def _day(words: str, today: date) -> date:
    day = _relative(words, today)
    if day is None:
        day = _calendar(words, today)
    return _checked(day, today)


# --- tidying -----------------------------------------------------------------------------------


def _tidy_plain(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9 ]+", "", text.lower().replace("’", "")).split())


def _tidy(text: str) -> str:
    """Lower-case, single-spaced, typos mended, without ordinals, commas, parts of the day or
    surrounding punctuation."""
    s = text.lower().replace("–", "-").replace("—", "-").replace(",", " ").replace("’", "'")
    s = _ORDINAL.sub(r"\1", s)
    s = _BACK_IN.sub("in", s)
    s = _WORD_SEPARATOR.sub(" ", s)
    words = [word.strip(".!?;:()'\"") for word in s.split()]
    s = " ".join(_mend(w) for w in words if w and w not in _NOISE_WORDS)
    s = _BACK.sub(r"\1 ago", s)
    s = _times_of_day(s)
    if _ALL_NUMERIC.fullmatch(s):
        # "21 / 11 / 2026": spaces around separators are typing, not meaning.
        s = _SPACED_SEPARATOR.sub(r"\1", s)
    return s


def _mend(word: str) -> str:
    """A small typo of a date word, mended: "yesterdy" → "yesterday". Short words and words
    that are a known word's start ("sept", "thur") are left for the prefix rules."""
    if word in _TEXT_SPEAK:
        return _TEXT_SPEAK[word]
    if len(word) < 4 or not word.isalpha() or word in _VOCABULARY:
        return word
    if any(name.startswith(word) for name in (*WEEKDAYS, *MONTHS)):
        return word
    found = process.extractOne(word, _VOCABULARY, scorer=fuzz.ratio, score_cutoff=TYPO_SCORE)
    return str(found[0]) if found else word


def _times_of_day(s: str) -> str:
    """ "last night" → "yesterday", "this morning" → "today", "monday night" → "monday"."""
    if s in ("last night", "yesterday night"):
        return "yesterday"
    had_time = bool(_TIME_OF_DAY.search(s))
    s = " ".join(_TIME_OF_DAY.sub(" ", s).split())
    if s in _TODAY_WORDS or (had_time and not s):
        return "today"
    return s


# --- vague answers -----------------------------------------------------------------------------

# Said around a date, not part of it: "I think it was Thursday", "probably Monday".
_HEDGES = re.compile(
    r"\b(?:i think(?: it was)?|i thought(?: it was)?|think it was|it was|i reckon|i believe|"
    r"i guess|i'd say|id say|probably|maybe|possibly|perhaps|roughly|approximately|approx|"
    r"around|about|sometime|some time|or so|ish|at a guess|if i remember(?: rightly)?)\b",
    re.ASCII,
)
# A day of the month alone, marked as one ("20th", "the 20"): a bare "2" is a menu number.
_BARE_ORDINAL = re.compile(
    r"(?:(?:on|since) )?(?:the )?(\d{1,2})(?:st|nd|rd|th)|(?:(?:on|since) )?the (\d{1,2})",
    re.ASCII,
)
_EITHER = re.compile(r"(?:between )?(.+?) (?:or|and|to) (.+)", re.ASCII)
# Parts of a month: "early November", "the middle of Oct", "end of last month".
_PART_OF_MONTH = re.compile(
    r"(early|beginning|start|mid|middle|late|end) (?:of )?(?:last month|this month|([a-z]{3,9}))"
    r"(?: (\d{4}))?",
    re.ASCII,
)
_PARTS = {"early": (1, 10), "beginning": (1, 10), "start": (1, 10), "mid": (11, 20)}
_PARTS |= {"middle": (11, 20), "late": (21, 31), "end": (21, 31)}


def _either(words: str, today: date) -> tuple[date, date] | None:
    """ "thursday or friday", "between the 20th and 22nd": the span from one to the other."""
    match = _EITHER.fullmatch(words)
    if not match:
        return None
    try:
        first, second = (_either_day(match.group(n), today) for n in (1, 2))
    except DateError:
        return None
    return min(first, second), max(first, second)


def _either_day(words: str, today: date) -> date:
    # Beside another day, a bare number is a day of the month: "between the 20th and 22nd".
    if words.isascii() and words.isdigit() and len(words) <= 2:
        return _day_of_month(int(words), today)
    return _day(words, today)


def _part_of_month(words: str, today: date) -> tuple[date, date] | None:
    match = _PART_OF_MONTH.fullmatch(words)
    if not match:
        return None
    first = today.replace(day=1)
    if "last month" in words:
        first = (first - timedelta(days=1)).replace(day=1)
    elif match.group(2):
        month = _month(match.group(2))
        if month is None:
            return None
        year = int(match.group(3)) if match.group(3) else today.year
        if not today.year - MAX_YEARS_BACK <= year <= today.year:
            raise DateError(HINT_TOO_OLD if year < today.year else HINT_FUTURE)
        first = date(year, month, 1)
        if first.replace(day=_PARTS[match.group(1)][0]) > today and not match.group(3):
            first = first.replace(year=year - 1)  # "late December", said on 1 December
    low, high = _PARTS[match.group(1)]
    last = (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    return first.replace(day=low), min(last, first.replace(day=min(high, last.day)))


_FEW_DAYS = frozenset(
    {"few days ago", "a few days ago", "couple days ago", "a couple days ago", "other day"}
    | {"recently", "a couple days back", "few days back", "this past week", "past few days"}
)
_FEW_WEEKS = frozenset(
    {"couple weeks ago", "a couple weeks ago", "few weeks ago", "a few weeks ago", "weeks ago"}
)
_WEEKEND = frozenset({"weekend", "last weekend", "over weekend", "at weekend", "this weekend"})


def _vague(words: str, today: date) -> tuple[date, date] | None:
    """The span a vague answer covers, or None if it names a day (or nothing we know)."""
    monday = today - timedelta(days=today.weekday())
    if words == "last week":
        return monday - timedelta(days=7), monday - timedelta(days=1)
    if words in ("this week", "earlier this week"):
        return monday, today
    if words in _WEEKEND:
        saturday = today - timedelta(days=(today.weekday() - 5) % 7)
        return saturday, saturday + timedelta(days=1)
    if words in _FEW_DAYS:
        return today - timedelta(days=5), today - timedelta(days=2)
    if words in _FEW_WEEKS:
        return today - timedelta(days=21), today - timedelta(days=10)
    part = _part_of_month(words, today)
    if part is not None:
        return part
    month = _month(words) if words.isalpha() and _weekday(words) is None else None
    if month is not None:  # "in November": the whole month, the latest one not to come
        year = today.year if month <= today.month else today.year - 1
        start = date(year, month, 1)
        return start, (start.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(1)
    first = today.replace(day=1)
    if words == "last month":
        end = first - timedelta(days=1)
        return end.replace(day=1), end
    if words in ("this month", "earlier this month"):
        return first, today
    return None


# --- relative days -----------------------------------------------------------------------------


def _relative(words: str, today: date) -> date | None:
    if words in _FIXED_OFFSETS:
        return _days_back(today, _FIXED_OFFSETS[words])
    match = _AGO.fullmatch(words)
    if match:
        count = _count(match.group(1) or "a")  # "week ago", "fortnight ago"
        per = {"day": 1, "week": 7, "fortnight": 14}[match.group(2)]
        return _days_back(today, count * per)
    weekday = _weekday(" ".join(w for w in words.split() if w not in _WEEKDAY_QUALIFIERS))
    if weekday is not None:
        # The most recent such day, counting today: "monday" said on a Monday means today,
        # but "last monday" said on a Monday means a week ago (today would be "today").
        back = (today.weekday() - weekday) % 7
        return today - timedelta(days=back or (7 if "last" in words.split() else 0))
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


def _day_of_month(day: int, today: date) -> date:
    month_start = today.replace(day=1)
    for _ in range(3):  # the 31st, said on 1 December, is 31 October
        try:
            found = month_start.replace(day=day)
        except ValueError:  # no 31st this month
            found = None
        if found is not None and found <= today:
            return found
        month_start = (month_start - timedelta(days=1)).replace(day=1)
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
    return localtime.day_text(d)


def _checked(day: date, today: date) -> date:
    if day > today:
        raise DateError(f"{_long(day)} is in the future. {UP_TO_TODAY}")
    if day < _years_before(today, MAX_YEARS_BACK):
        raise DateError(HINT_TOO_OLD)
    return day


def _years_before(today: date, years: int) -> date:
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February in a year that has none
        return today.replace(year=today.year - years, day=28)

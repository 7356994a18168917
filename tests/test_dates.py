"""Tests for bot.dates: the ways UK staff write a day, against a fixed Wednesday."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.dates import describe_day, describe_when, parse_day, read_when
from bot.errors import DateError

TODAY = date(2026, 11, 25)  # a Wednesday


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # relative days
        ("today", date(2026, 11, 25)),
        ("Today", date(2026, 11, 25)),
        ("  TODAY.  ", date(2026, 11, 25)),
        ("yesterday", date(2026, 11, 24)),
        ("Yesterday!!", date(2026, 11, 24)),
        ("the day before yesterday", date(2026, 11, 23)),
        ("0 days ago", date(2026, 11, 25)),
        ("1 day ago", date(2026, 11, 24)),
        ("3 days ago", date(2026, 11, 22)),
        ("3  Days   ago", date(2026, 11, 22)),
        ("three days ago", date(2026, 11, 22)),
        ("a day ago", date(2026, 11, 24)),
        ("a week ago", date(2026, 11, 18)),
        ("a week ago", date(2026, 11, 18)),
        ("1 week ago", date(2026, 11, 18)),
        ("2 weeks ago", date(2026, 11, 11)),
        ("two weeks ago", date(2026, 11, 11)),
        ("a fortnight ago", date(2026, 11, 11)),
        # weekdays: the most recent one, today if today is that day
        ("monday", date(2026, 11, 23)),
        ("Monday", date(2026, 11, 23)),
        ("last monday", date(2026, 11, 23)),
        ("on Monday", date(2026, 11, 23)),
        ("mon", date(2026, 11, 23)),
        ("tuesday", date(2026, 11, 24)),
        ("tues", date(2026, 11, 24)),
        ("wednesday", date(2026, 11, 25)),
        ("last wednesday", date(2026, 11, 18)),  # said on a Wednesday: a week ago
        ("this wednesday", date(2026, 11, 25)),
        ("weds", date(2026, 11, 25)),
        ("thursday", date(2026, 11, 19)),
        ("thurs", date(2026, 11, 19)),
        ("friday", date(2026, 11, 20)),
        ("saturday", date(2026, 11, 21)),
        ("sunday", date(2026, 11, 22)),
        ("last sunday", date(2026, 11, 22)),
        # UK numeric dates
        ("21/11/2026", date(2026, 11, 21)),
        ("21/11/26", date(2026, 11, 21)),
        ("21-11-2026", date(2026, 11, 21)),
        ("21.11.2026", date(2026, 11, 21)),
        ("21 / 11 / 2026", date(2026, 11, 21)),
        ("1/2/2026", date(2026, 2, 1)),
        ("01/02/2026", date(2026, 2, 1)),
        ("21/11", date(2026, 11, 21)),
        ("25/11", date(2026, 11, 25)),
        ("1/1", date(2026, 1, 1)),
        ("21/11/2026.", date(2026, 11, 21)),
        ("29/02/2024", date(2024, 2, 29)),
        # ISO
        ("2026-11-21", date(2026, 11, 21)),
        ("2026-1-5", date(2026, 1, 5)),
        # month names
        ("21 Nov 2026", date(2026, 11, 21)),
        ("21 nov. 2026", date(2026, 11, 21)),
        ("21 November", date(2026, 11, 21)),
        ("21 november 2026", date(2026, 11, 21)),
        ("21st November 2026", date(2026, 11, 21)),
        ("the 21st of November", date(2026, 11, 21)),
        ("21-Nov-2026", date(2026, 11, 21)),
        ("21 Nov 26", date(2026, 11, 21)),
        ("Nov 21 2026", date(2026, 11, 21)),
        ("November 21, 2026", date(2026, 11, 21)),
        ("nov 21", date(2026, 11, 21)),
        ("3 Sept", date(2026, 9, 3)),
        ("1 Jan 2022", date(2022, 1, 1)),
        # weekday and date together, when they agree
        ("Sat 21 Nov 2026", date(2026, 11, 21)),
        ("Saturday, 21st November", date(2026, 11, 21)),
        ("sat 21/11/2026", date(2026, 11, 21)),
    ],
)
def test_parse_day_accepts(text: str, expected: date) -> None:
    assert parse_day(text, TODAY) == expected


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        # future
        ("26/11/2026", "26 Nov 2026 is in the future. Please give a day up to today"),
        ("tomorrow", "That is in the future. Please give a day up to today"),
        ("next Friday", "That is in the future"),
        ("in 2 days", "That is in the future"),
        ("the day after tomorrow", "That is in the future"),
        ("1/1/2027", "in the future"),
        ("2027-01-01", "in the future"),
        ("21 Nov 2030", "in the future"),
        ("21/11/99", "in the future"),  # 2099: two-digit years are this century
        # year-less dates later this year: an error that says so, never last year
        ("26/11", "26 Nov 2026 is in the future. If you meant last year, please add the year"),
        ("30/12", "for example 30/12/2025"),
        ("25 December", "25 Dec 2026 is in the future"),
        # impossible
        ("31/02/2026", "There is no 31 February in 2026"),
        ("29/02/2026", "There is no 29 February in 2026"),
        ("29/02", "There is no 29 February in 2026"),
        ("31 June 2026", "There is no 31 June in 2026"),
        ("0/5/2026", "There is no day 0 in May"),
        ("5/0/2026", "There is no month 0"),
        ("32/13/2026", "There is no month 13. Dates are day/month/year"),
        # US month/day order is never guessed
        ("11/21/2026", "Dates are day/month/year, so 11/21/2026 would mean month 21"),
        ("11/21/2026", "Did you mean 21/11/2026?"),
        ("1/13/2026", "Did you mean 13/1/2026?"),
        ("11/21", "Did you mean 21/11?"),
        # too old (probably a typo)
        ("1/1/2020", "more than 5 years ago"),
        ("24/11/2021", "more than 5 years ago"),
        ("21/11/1926", "more than 5 years ago"),
        ("0000-01-01", "more than 5 years ago"),
        ("999999 days ago", "more than 5 years ago"),
        ("300 weeks ago", "more than 5 years ago"),
        # weekday and date that disagree
        ("Mon 21 Nov 2026", "21 Nov 2026 was a Saturday, not a Monday"),
        # unreadable
        ("", "I couldn't read that as a date"),
        ("   ", "I couldn't read that as a date"),
        ("last", "I couldn't read that as a date"),
        ("a while ago", "I couldn't read that as a date"),
        ("a few days ago", "I couldn't read that as a date"),
        ("nvbr 21", "I couldn't read that as a date"),
        ("November 2026", "I couldn't read that as a date"),
        ("next monday", "That is in the future"),
        ("21/11/202", "I couldn't read that as a date"),
        ("21112026", "I couldn't read that as a date"),
        ("today (Wed 25 Nov 2026)", "I couldn't read that as a date"),
        ("1" * 1000, "I couldn't read that as a date"),
    ],
)
def test_parse_day_rejects_with_a_hint(text: str, phrase: str) -> None:
    with pytest.raises(DateError) as caught:
        parse_day(text, TODAY)
    assert phrase in str(caught.value)


def test_five_year_boundary() -> None:
    assert parse_day("25/11/2021", TODAY) == date(2021, 11, 25)
    with pytest.raises(DateError):
        parse_day("24/11/2021", TODAY)


def test_five_year_boundary_from_a_leap_day() -> None:
    leap_day = date(2028, 2, 29)
    assert parse_day("28/02/2023", leap_day) == date(2023, 2, 28)
    with pytest.raises(DateError):
        parse_day("27/02/2023", leap_day)


def test_weekday_on_other_todays() -> None:
    sunday = date(2026, 11, 29)
    assert parse_day("monday", sunday) == date(2026, 11, 23)
    assert parse_day("sunday", sunday) == sunday
    assert parse_day("saturday", sunday) == date(2026, 11, 28)


def test_year_less_date_early_in_january() -> None:
    new_year = date(2027, 1, 2)
    assert parse_day("1/1", new_year) == date(2027, 1, 1)
    with pytest.raises(DateError, match="If you meant last year"):
        parse_day("31/12", new_year)
    assert parse_day("31/12/2026", new_year) == date(2026, 12, 31)


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 11, 25), "today (Wed 25 Nov 2026)"),
        (date(2026, 11, 24), "yesterday (Tue 24 Nov 2026)"),
        (date(2026, 11, 21), "Sat 21 Nov 2026"),
        (date(2026, 11, 1), "Sun 1 Nov 2026"),
        (date(2025, 12, 31), "Wed 31 Dec 2025"),
        (date(2026, 11, 26), "Thu 26 Nov 2026"),
    ],
)
def test_describe_day(day: date, expected: str) -> None:
    assert describe_day(day, TODAY) == expected


# --- properties ----------------------------------------------------------------------------------

_recent_days = st.integers(min_value=0, max_value=5 * 365).map(lambda n: TODAY - timedelta(n))


@given(st.text(max_size=120))
def test_parse_day_only_ever_raises_date_error(text: str) -> None:
    try:
        day = parse_day(text, TODAY)
    except DateError as error:
        assert str(error)
    else:
        assert TODAY.replace(year=TODAY.year - 5) <= day <= TODAY


@given(_recent_days)
def test_every_uk_shape_round_trips(day: date) -> None:
    for text in (
        f"{day.day}/{day.month}/{day.year}",
        f"{day.day:02}.{day.month:02}.{day.year % 100:02}",
        day.isoformat(),
        describe_day(day, TODAY).split("(")[-1].rstrip(")"),
        f"{(TODAY - day).days} days ago",
    ):
        assert parse_day(text, TODAY) == day, text


@given(st.integers(min_value=0, max_value=6))
def test_weekday_names_are_within_the_last_week(offset: int) -> None:
    day = TODAY - timedelta(days=offset)
    name = describe_day(day, date(2000, 1, 1)).split()[0]
    assert parse_day(name, TODAY) == day
    assert parse_day(f"last {name}", TODAY) == (day if offset else day - timedelta(days=7))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("yesterdy", "2026-11-24"),
        ("last night", "2026-11-24"),
        ("this morning", "2026-11-25"),
        ("earlier today", "2026-11-25"),
        ("yesterday evening", "2026-11-24"),
        ("monday night", "2026-11-23"),
        ("tuseday", "2026-11-24"),
        ("thrusday", "2026-11-19"),
        ("21/11", "2026-11-21"),
        ("21 Nov", "2026-11-21"),
        ("novmber 21", "2026-11-21"),
        ("this afternoon at 3pm", "2026-11-25"),
        ("last week", "2026-11-16/2026-11-22"),
        ("over the weekend", "2026-11-21/2026-11-22"),
        ("a few days ago", "2026-11-20/2026-11-23"),
        ("the other day", "2026-11-20/2026-11-23"),
        ("last month", "2026-10-01/2026-10-31"),
        ("not sure", "unknown"),
        ("I don't know", "unknown"),
        ("can't remember", "unknown"),
        # Hedged, as people say it when unsure (found trying it in `reportbot chat`).
        ("last thurs i think", "2026-11-19"),
        ("I think it was last Thursday", "2026-11-19"),
        ("probably monday", "2026-11-23"),
        ("about a week ago", "2026-11-18"),
        ("sometime last week", "2026-11-16/2026-11-22"),
        # One day or another, and parts of a month.
        ("thursday or friday", "2026-11-19/2026-11-20"),
        ("between the 20th and 22nd", "2026-11-20/2026-11-22"),
        ("around the 20th", "2026-11-20"),
        ("the 30th", "2026-10-30"),
        ("early November", "2026-11-01/2026-11-10"),
        ("in the middle of october", "2026-10-11/2026-10-20"),
        ("end of last month", "2026-10-21/2026-10-31"),
        ("late december", "2025-12-21/2025-12-31"),
        ("in October", "2026-10-01/2026-10-31"),
        # Found by review (issue 9): "on"/"since" before a day, text speak, a fortnight.
        ("on the 21st", "2026-11-21"),
        ("on 21st", "2026-11-21"),
        ("since the 21st", "2026-11-21"),
        ("since monday", "2026-11-23"),
        ("since yesterday", "2026-11-24"),
        ("since last week", "2026-11-16/2026-11-22"),
        ("a fortnight ago", "2026-11-11"),
        ("fortnight ago", "2026-11-11"),
        ("about a fortnight ago", "2026-11-11"),
        ("week ago", "2026-11-18"),
        ("2day", "2026-11-25"),
        ("yday", "2026-11-24"),
        ("last wk", "2026-11-16/2026-11-22"),
        ("2 days back", "2026-11-23"),
        ("a couple of weeks back", "2026-11-04/2026-11-15"),
        # Found by an exploratory test.
        ("skip", "unknown"),
        ("no idea sorry", "unknown"),
        ("not sure tbh", "unknown"),
        ("last nite", "2026-11-24"),
        ("back in october", "2026-10-01/2026-10-31"),
    ],
)
def test_read_when_understands_how_people_say_it(text: str, expected: str) -> None:
    assert read_when(text, TODAY).iso() == expected


def test_a_bare_number_is_left_to_the_menu() -> None:
    """ "2" is the question's second choice (Yesterday), never the 2nd of the month."""
    for text in ("1", "2", "20"):
        with pytest.raises(DateError):
            read_when(text, TODAY)


def test_a_vague_answer_never_reaches_past_today() -> None:
    monday = date(2026, 11, 23)
    assert read_when("this week", monday).iso() == "2026-11-23"
    assert read_when("weekend", date(2026, 11, 28)).iso() == "2026-11-28"


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        ("2026-11-24", "Tue 24 Nov 2026"),
        ("2026-11-16/2026-11-22", "between Mon 16 Nov and Sun 22 Nov 2026"),
        ("2026-12-28/2027-01-03", "between Mon 28 Dec 2026 and Sun 3 Jan 2027"),
        ("unknown", "not known"),
        ("rubbish", "not known"),
    ],
)
def test_records_always_say_absolute_dates(stored: str, shown: str) -> None:
    assert describe_when(stored) == shown

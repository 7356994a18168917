"""POSH's hours in UK time, across weekends and clock changes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.facts import Facts, facts_with, phone_uri
from bot.hours import hours_text, opening, status_text

FACTS = Facts()


@pytest.mark.parametrize(
    ("utc", "open_now", "opens"),
    [
        (datetime(2026, 11, 25, 10, 0, tzinfo=UTC), True, "2026-11-25 10:00"),  # Wed, GMT
        (datetime(2026, 11, 25, 9, 59, tzinfo=UTC), False, "2026-11-25 10:00"),
        (datetime(2026, 11, 25, 16, 0, tzinfo=UTC), False, "2026-11-26 10:00"),
        (datetime(2026, 11, 27, 17, 0, tzinfo=UTC), False, "2026-11-30 10:00"),  # Fri → Mon
        (datetime(2026, 11, 28, 12, 0, tzinfo=UTC), False, "2026-11-30 10:00"),  # Saturday
        (datetime(2026, 7, 1, 9, 30, tzinfo=UTC), True, "2026-07-01 10:00"),  # BST: 10:30 local
        (datetime(2026, 7, 1, 15, 30, tzinfo=UTC), False, "2026-07-02 10:00"),  # 16:30 BST
        (datetime(2026, 3, 27, 16, 0, tzinfo=UTC), False, "2026-03-30 10:00"),  # over the change
        # Christmas Day (Fri), the weekend, Boxing Day's substitute (Mon 28): Tue 29 December.
        (datetime(2026, 12, 25, 11, 0, tzinfo=UTC), False, "2026-12-29 10:00"),
        (datetime(2026, 12, 24, 16, 0, tzinfo=UTC), False, "2026-12-29 10:00"),
    ],
)
def test_opening(utc: datetime, open_now: bool, opens: str) -> None:
    o = opening(FACTS, utc)
    assert o.open_now is open_now
    assert f"{o.next_open:%Y-%m-%d %H:%M}" == opens
    assert o.next_open.utcoffset() == o.next_open.tzinfo.utcoffset(o.next_open)  # type: ignore[union-attr]


def test_status_text_says_when_it_opens() -> None:
    friday_evening = datetime(2026, 11, 27, 18, 0, tzinfo=UTC)
    assert status_text(FACTS, friday_evening) == (
        "The helpline is closed now. It opens on Monday 30 November at 10:00."
    )
    assert "tomorrow at 10:00" in status_text(FACTS, datetime(2026, 11, 25, 20, 0, tzinfo=UTC))
    assert "open now, until 16:00" in status_text(FACTS, datetime(2026, 11, 25, 11, tzinfo=UTC))


def test_facts_live_in_one_place_and_a_school_can_override_them() -> None:
    assert FACTS.posh_phone == "0344 381 4772"
    assert FACTS.posh_email == "helpline@saferinternet.org.uk"
    assert hours_text(FACTS) == "Monday–Friday, 10:00–16:00 (UK time)"
    assert phone_uri(FACTS.posh_phone) == "tel:+443443814772"
    changed = facts_with({"posh_closes": "17:00", "school_name": "Example Academy"})
    assert changed.posh_closes == "17:00" and changed.posh_phone == FACTS.posh_phone
    with pytest.raises(KeyError):
        facts_with({"posh_fax": "nope"})


@pytest.mark.parametrize(
    "override",
    [
        {"posh_opens": "10am"},
        {"posh_timezone": "UK"},
        {"posh_days": [7]},
        {"posh_opens": "17:00"},
        {"posh_phone": ""},
        {"posh_email": 5},
    ],
)
def test_a_wrong_value_is_refused_at_start_up_not_at_the_first_report(
    override: dict[str, object],
) -> None:
    with pytest.raises(ValueError):
        facts_with(override)


def test_christmas_says_the_day_it_opens() -> None:
    assert status_text(FACTS, datetime(2026, 12, 25, 11, tzinfo=UTC)) == (
        "The helpline is closed now. It opens on Tuesday 29 December at 10:00."
    )


def test_a_closure_the_school_adds_is_honoured() -> None:
    closed = facts_with({"posh_closed": ["2026-11-26"]})  # a Thursday, not a bank holiday
    assert opening(FACTS, datetime(2026, 11, 26, 11, tzinfo=UTC)).open_now
    assert not opening(closed, datetime(2026, 11, 26, 11, tzinfo=UTC)).open_now
    after = opening(closed, datetime(2026, 11, 25, 17, tzinfo=UTC))
    assert f"{after.next_open:%Y-%m-%d %H:%M}" == "2026-11-27 10:00"
    with pytest.raises(ValueError, match="posh_closed"):
        facts_with({"posh_closed": ["26/11/2026"]})

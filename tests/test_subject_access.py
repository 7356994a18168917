"""Subject access finds a person the way people write names, everywhere the bot holds them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from test_records import ANN, BOB, LEAD, seeded, utc

from bot import casework, subject_access
from bot.errors import QueryError
from bot.model import Audience, Case, Conversation, OutboxItem, Person, Platform
from bot.subject_access import name_query, sar_json, sar_text, search

T = datetime(2026, 12, 1, 11, tzinfo=UTC)


def cases() -> list[Case]:
    found = seeded()[:5]
    casework.assign(found[3], "Patel, Priya", LEAD, utc(2026, 11, 21))
    casework.add_note(found[2], LEAD, utc(2026, 11, 11), "Mrs Okafor saw it first")
    found[4].answers["target_staff"] = "mrs sarah jones, Year 4"
    return found


def find(query: str, **held: list) -> subject_access.Findings:  # type: ignore[type-arg]
    return search(
        name_query(query), held.get("cases", cases()), held.get("drafts", []), held.get("items", [])
    )


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Mrs Jones", {"TT-2026-0005"}),  # title ignored: finds "mrs sarah jones"
        ("MRS SARAH JONES", {"TT-2026-0005"}),
        ("S Jones", {"TT-2026-0005"}),  # an initial
        ("Sarrah Jones", {"TT-2026-0005"}),  # a small typo
        ("okafor", {"TT-2026-0003"}),  # in a leader's note
        ("priya patel", {"TT-2026-0004"}),  # "Patel, Priya": any order, any case
        ("ANN@school.example", {"TT-2026-0001", "TT-2026-0002", "TT-2026-0004"}),
    ],
)
def test_names_are_found_as_people_write_them(query: str, expected: set[str]) -> None:
    assert {h.key for h in find(query).cases} >= expected
    assert "TT-2026-0001" not in {h.key for h in find("Mrs Jones").cases} - expected


def test_a_lone_initial_or_title_is_refused() -> None:
    for query in (" a ", "Mrs", "Dr."):
        with pytest.raises(QueryError, match="at least 2"):
            name_query(query)


def test_the_whole_record_is_given_not_just_the_field_that_matched() -> None:
    [held] = find("okafor").cases
    assert [m.field for m in held.mentions] == ["history: note note"]
    record = dict(held.record)
    assert "answer.harm[1]" in record and record["status"]
    assert any("Mrs Okafor saw it first" in v for v in record.values())


def test_reports_still_being_made_and_undelivered_messages_are_searched() -> None:
    draft = Conversation("c1", BOB, "role", T, T, answers={"target_staff": "Mr Quentin Blake"})
    notice = {"type": "notice", "text": "Sent for Quentin Blake", "tone": "info", "title": ""}
    item = OutboxItem("m1", Platform.SLACK, Audience.PERSON, "T1", {}, notice, T, failed="gone")
    found = find("quentin blake", drafts=[draft], items=[item])
    assert [h.key for h in found.drafts] == ["c1"] and [h.key for h in found.messages] == ["m1"]
    text = sar_text(found, "Tue 01 Dec 2026, 11:00")
    assert "Reports still being made (1)" in text and "not delivered: gone" in text
    doc = sar_json(found, T)
    assert '"drafts"' in doc and "Quentin Blake" in doc


def test_nobody_found_says_so() -> None:
    found = find("Nobody Here")
    assert found.count == 0
    assert "Nothing: no case" in sar_text(found, "now")


def test_a_reporter_is_found_by_name_or_email() -> None:
    stranger = Person(Platform.SLACK, "T9", "U9", name="Zed Zebedee")
    draft = Conversation("c2", stranger, "links", T, T)
    assert [h.key for h in find("zed zebedee", drafts=[draft]).drafts] == ["c2"]
    assert {h.key for h in find(ANN.email).cases}

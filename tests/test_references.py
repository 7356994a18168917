"""How a typed case reference is read back (`bot.references`): the odd forms people type."""

from __future__ import annotations

import pytest

from bot import references


@pytest.mark.parametrize(
    "typed",
    [
        "TT-2026-0002",
        "tt-2026-2",
        "TT 2026 0002",
        "TT-2026-0002.",
        "tt–2026–0002",  # en dashes, as a word processor or phone writes them
        "TT—2026—0002",  # em dashes
        "TT\u22122026\u22120002",  # the minus sign
        " tt_2026_02 ",
        "TT2026-0002",
        "TT2026/0002",
        "tt/2026/2",
    ],
)
def test_odd_forms_of_a_reference_are_read_as_it(typed: str) -> None:
    """Found by an exploratory test: each of these found no case and gave no hint."""
    assert references.canonical(typed) == "TT-2026-0002"
    assert references.canonical(typed, 2027) == "TT-2026-0002"  # its own year wins


def test_a_number_alone_is_this_year_s_case_when_the_year_is_known() -> None:
    assert references.canonical("0002", 2027) == "TT-2027-0002"
    assert references.canonical(" 2. ", 2027) == "TT-2027-0002"
    assert references.canonical("0002") == "0002"  # no year given: it names no case


@pytest.mark.parametrize("typed", ["TT-2026", "TT-26-0002", "XX-2026-0002", "TT-2026-00a2", ""])
def test_anything_else_is_only_trimmed_and_upper_cased(typed: str) -> None:
    assert references.canonical(typed, 2026) == typed.strip().upper()


def test_the_hint_shows_the_form_that_works() -> None:
    hint = references.looks_like(2026)
    assert hint.startswith("References look like TT-2026-0002") and "0002" in hint

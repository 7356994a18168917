"""bot.understand: a typo is forgiven, an added negation is not."""

from __future__ import annotations

import pytest

from bot.model import Choice
from bot.understand import pick

HAVE = Choice("yes", "Yes", ("took screenshots", "they deleted it", "not yet"))


@pytest.mark.parametrize(
    "typed", ["no screenshots", "no they deleted it", "never took screenshots"]
)
def test_a_negation_added_to_a_phrase_is_not_a_typo_of_it(typed: str) -> None:
    assert not pick(typed, (HAVE,), multi=False).exact


@pytest.mark.parametrize("typed", ["took screenshts", "nott yet", "they deleted it"])
def test_a_typo_of_a_phrase_still_names_it(typed: str) -> None:
    assert pick(typed, (HAVE,), multi=False) == pick("took screenshots", (HAVE,), multi=False)


@pytest.mark.parametrize(
    "typed",
    ["we dont no", "dont no", "i dont no", "no sure", "no not sure", "no... not sure", "no idk",
     "i havent looked", "no, well not sure"],
)  # fmt: skip
def test_a_hurried_hedge_at_a_safety_question_is_read_as_not_sure(typed: str) -> None:
    """From an exploratory test: each was taken as a firm No at the danger question."""
    from bot.flow import UNSURE, yes_no

    assert "unsure" in pick(typed, yes_no(UNSURE), multi=True).values


@pytest.mark.parametrize("typed", ["no", "nope", "no not at all", "not that i know of"])
def test_a_plain_no_is_still_no(typed: str) -> None:
    from bot.flow import UNSURE, yes_no

    assert pick(typed, yes_no(UNSURE), multi=True).values == ("no",)


@pytest.mark.parametrize(
    ("typed", "phone"),
    [
        ("(01632) 960-123 ext 4", "(01632) 960-123 ext 4"),
        ("01632 960123 x204, during lunch", "01632 960123 ext 204"),
        ("0044 7700 900123", "0044 7700 900123"),
        ("00 33 1 23 45 67 89", "00 33 1 23 45 67 89"),
    ],
)
def test_phone_numbers_keep_their_extension_and_may_be_dialled_with_00(
    typed: str, phone: str
) -> None:
    """From an exploratory test: the extension was dropped, and 0044 … refused."""
    from bot.understand import contact_in

    assert contact_in(typed).phone == phone


@pytest.mark.parametrize(
    "typed",
    ["they said it doesn't go against community guidelines", "they said it didnt break any rules"],
)
def test_tiktoks_no_violation_in_its_own_words_is_read(typed: str) -> None:
    """From an exploratory test: kept as free text, so `stats` counted no "No violation"."""
    from bot.flow import TIKTOK_REPLIES

    assert pick(typed, TIKTOK_REPLIES, multi=False).values == ("no_violation",)


@pytest.mark.parametrize(
    ("typed", "value"),
    [("👍", "yes"), ("👎", "no"), ("🤷", "unsure"), ("🤷🏽‍♀️", "unsure"), ("2️⃣", "no")],
)
def test_an_answer_sent_as_an_emoji_is_read(typed: str, value: str) -> None:
    """From an exploratory test: each was refused."""
    from bot.flow import UNSURE, yes_no

    assert pick(typed, yes_no(UNSURE), multi=False).values == (value,)


def test_who_is_behind_it_in_a_hurried_sentence() -> None:
    """Found answering the bot under tmux: refused, though the question takes no names."""
    from bot.flow import POSTERS

    assert pick("we reckon its some yr 10 boys", POSTERS, multi=True).values == (
        "suspected",
        "pupils",
    )


@pytest.mark.parametrize(
    ("typed", "section"), [("my number is wrong", "you"), ("the email", "you")]
)
def test_a_change_asked_for_by_what_is_wrong_names_its_part(typed: str, section: str) -> None:
    from bot.flow import SECTIONS

    assert pick(typed, SECTIONS, multi=False).values == (section,)

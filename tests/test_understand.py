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

"""Case references (TT-2026-0007) as every store counts them: one counter per year.

A unit of work hands out the references it read from `next_reference`; the store checks, as
part of the same write, that they are still the next ones, so two writers can never hand out
the same reference (the second gets `Conflict` and reads again).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from bot.ports import Conflict

PREFIX = "TT"
_REFERENCE = re.compile(r"^TT-(\d{4})-(\d+)$")


def reference(year: int, number: int) -> str:
    return f"{PREFIX}-{year}-{number:04d}"


def reference_number(ref: str) -> tuple[int, int]:
    match = _REFERENCE.match(ref)
    if not match:
        raise ValueError(f"not a case reference: {ref!r}")
    return int(match.group(1)), int(match.group(2))


def check_references(refs: Sequence[str], current: Callable[[int], int]) -> None:
    """Raise `Conflict` unless `refs` are the next numbers of their years, in order."""
    wanted: dict[int, int] = {}
    for ref in refs:
        year, number = reference_number(ref)
        expected = wanted.get(year, current(year)) + 1
        if number != expected:
            raise Conflict(f"{ref} was taken meanwhile")
        wanted[year] = number

"""Case references (TT-2026-0007): how they are written, counted (one counter a year, in
every store) and read back from what a leader types ("tt-2026-7" is TT-2026-0007)."""

from __future__ import annotations

import re

PREFIX = "TT"
PATTERN = rf"{PREFIX}-\d{{4}}-\d+"  # for the commands that name a case, any case of letters


def reference(year: int, number: int) -> str:
    return f"{PREFIX}-{year}-{number:04d}"


def counter(year: int) -> str:
    """The name every store keeps the year's highest number under."""
    return f"ref:{year}"


def counted(ref: str) -> tuple[int, int] | None:
    """The year and number of a reference this bot handed out (TT-2026-0007 -> 2026, 7), or
    None for any other string: such a case counts towards no year's numbers."""
    prefix, _, rest = ref.partition("-")
    year, _, number = rest.partition("-")
    if prefix != PREFIX or not (year.isascii() and year.isdigit() and len(year) == 4):
        return None
    if not (number.isascii() and number.isdigit()):
        return None
    return int(year), int(number)


def canonical(typed: str) -> str:
    """A reference as stored, from how it was typed: "tt-2026-7 " -> "TT-2026-0007". Anything
    else is only trimmed and upper-cased (it finds no case, and the person is told so)."""
    ref = typed.strip().upper()
    if re.fullmatch(PATTERN, ref):
        year, number = ref.split("-")[1:]
        return reference(int(year), int(number))
    return ref

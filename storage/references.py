"""Case references (TT-2026-0007) as every store counts them: one counter per year."""

from __future__ import annotations

PREFIX = "TT"


def reference(year: int, number: int) -> str:
    return f"{PREFIX}-{year}-{number:04d}"


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

"""Case references (TT-2026-0007): how they are written, counted (one counter a year, in
every store) and read back from what a leader types: any case of letters, a short number,
spaces, slashes or any kind of dash between the parts, a full stop after it ("tt–2026–7." is
TT-2026-0007), and, where the year is known, the number alone ("7" or "0007": this year's)."""

from __future__ import annotations

import re

PREFIX = "TT"
# Between a reference's parts: spaces, hyphens and the dashes a phone or a word processor puts
# in (non-breaking hyphen, figure, en and em dashes, the minus sign), underscores, slashes.
_SEP = r"[ \t\u00a0_/\u2010-\u2015\u2212-]"
# For the commands that name a case (read with `canonical`), any case of letters:
PATTERN = rf"{PREFIX}{_SEP}*\d{{4}}{_SEP}+\d+"  # TT-2026-0007, tt 2026 7, TT–2026–0007
NUMBER = r"0\d{3}"  # this year's case by its number as references print it, 0007: in chat only
# this form stands alone, since "sent 2 videos" or "removed 2024 posts" is a reporter's answer.
_TYPED = re.compile(rf"(?:{PREFIX}{_SEP}*(?P<year>\d{{4}}){_SEP}+)?(?P<number>\d+)", re.IGNORECASE)


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


def canonical(typed: str, year: int | None = None) -> str:
    """A reference as stored, from how it was typed: "tt-2026-7 ", "TT 2026 0007",
    "TT–2026–0007." -> "TT-2026-0007"; with `year` (this year, as cases are numbered: the
    school's clock), the number alone too: "0007" -> "TT-{year}-0007". Anything else is only
    trimmed and upper-cased (it finds no case, and the person is told so, with `looks_like`)."""
    ref = typed.strip().rstrip(".,;:!?").strip().upper()
    found = _TYPED.fullmatch(ref)
    if found is None:
        return ref
    if found["year"] is not None:
        return reference(int(found["year"]), int(found["number"]))
    return ref if year is None else reference(year, int(found["number"]))


def looks_like(year: int, *, bare: bool = True) -> str:
    """What to say when a reference finds no case: the form that works (`bare`: where a
    number alone is read as this year's case)."""
    short = "; this year's can be just the number, 0002" if bare else ""
    return f"References look like {reference(year, 2)}{short}."

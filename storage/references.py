"""Case references (TT-2026-0007) as every store counts them: one counter per year."""

from __future__ import annotations

import re

PREFIX = "TT"
_REFERENCE = re.compile(r"^TT-(\d{4})-(\d+)$")


def reference(year: int, number: int) -> str:
    return f"{PREFIX}-{year}-{number:04d}"


def reference_number(ref: str) -> tuple[int, int]:
    match = _REFERENCE.match(ref)
    if not match:
        raise ValueError(f"not a case reference: {ref!r}")
    return int(match.group(1)), int(match.group(2))

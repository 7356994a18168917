"""Case references (TT-2026-0007) as every store counts them: one counter per year."""

from __future__ import annotations

PREFIX = "TT"


def reference(year: int, number: int) -> str:
    return f"{PREFIX}-{year}-{number:04d}"

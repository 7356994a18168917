"""One transcript model for every surface, the checks on it, and failures that read well.

Per step: what the runner did, the text the person saw in reply, and the question that reply
asked, with its choices' labels. At the end: what the leadership channel got, the handoff's
email text and the stored cases. Text is compared case-insensitively, with whitespace folded
and curly quotes made straight, so the table can say "that's all" for “That’s all”.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from bot.model import Case
from journeys.table import Expect, Journey, Step

TAIL_STEPS = 3
CLIP = 1500
_QUOTES = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"'})
_DAY = re.compile(r"day(?:([+-])(\d+))?")


class Mismatch(Exception):
    """The bot did not offer what the journey needs next (raised by surfaces and `pick`)."""


class RunnerTimeout(TimeoutError):
    """The surface went quiet: a hang fails the journey instead of stalling CI.

    Not a `JourneyFailed`, so a journey marked xfail for a known wrong answer still fails
    loudly if it hangs instead.
    """


@dataclass(frozen=True)
class Asked:
    """A question as the person saw it: its text and its choices' labels, in order."""

    text: str
    labels: tuple[str, ...]
    multi: bool
    handle: Any = None  # the surface's own object: a Slack message, a Teams card


@dataclass
class StepRecord:
    number: int
    step: Step
    did: str
    saw: str
    asked: Asked | None


@dataclass
class Ending:
    leadership: str
    handoff: str | None  # the email text of the last handoff given, if any
    cases: list[Case]
    days: tuple[date, ...]  # the surface's today (UK time); two if the journey crossed midnight


@dataclass
class Transcript:
    journey: Journey
    surface: str
    steps: list[StepRecord] = field(default_factory=list)
    ending: Ending | None = None

    def waiting(self) -> Asked | None:
        """The question the person has in front of them: the last one asked."""
        return next((r.asked for r in reversed(self.steps) if r.asked), None)

    def tail(self, n: int = TAIL_STEPS) -> str:
        out = []
        for r in self.steps[-n:]:
            out.append(f"step {r.number} · {r.step}" + (f" → {r.did}" if r.did else ""))
            out += ["    " + line for line in _clip(r.saw).splitlines() or ["(nothing)"]]
            if r.asked is not None:
                choices = " | ".join(f"{k}. {c}" for k, c in enumerate(r.asked.labels, 1))
                out.append(f"    [asks: {_clip(r.asked.text, 200)!r} · {choices}]")
        return "\n".join(out) or "(no steps ran)"


class JourneyFailed(AssertionError):
    """The bot did something other than the table says. Names the journey, step and tail."""

    def __init__(self, t: Transcript, number: int | None, problem: str) -> None:
        where = f"step {number} ({t.journey.steps[number - 1]})" if number else "the end"
        head = f"journey {t.journey.id} on {t.surface}, {where}: {problem}"
        super().__init__(f"{head}\n--- transcript tail ---\n{t.tail()}")


# --- matching ---------------------------------------------------------------------------------


def fold(text: str) -> str:
    return " ".join(text.translate(_QUOTES).split()).casefold()


def missing(text: str, want: Expect, what: str) -> list[str]:
    folded = fold(text)
    problems = [f"{what} lacks {w!r}" for w in want.expect if fold(w) not in folded]
    problems += [f"{what} shows {w!r}" for w in want.expect_not if fold(w) in folded]
    return problems


def pick(asked: Asked, labels: tuple[str, ...], several: bool) -> list[int]:
    """Indexes of the choices named: the whole label, or a unique start of one."""
    if several and not asked.multi and len(labels) > 1:
        raise Mismatch(f"several choices given, but the question takes one: {_offer(asked)}")
    picks = []
    for label in labels:
        want = fold(label)
        exact = [k for k, c in enumerate(asked.labels) if fold(c) == want]
        starts = [k for k, c in enumerate(asked.labels) if _bare(c).startswith(_bare(label))]
        found = exact or starts
        if len(found) != 1:
            why = "matches several choices" if found else "is not offered"
            raise Mismatch(f"{label!r} {why}: {_offer(asked)}")
        picks.append(found[0])
    return picks


def _bare(label: str) -> str:
    return fold(label).lstrip("'\" ")


def _offer(asked: Asked) -> str:
    if not asked.labels:
        return f"the last question offers no choices ({_clip(asked.text, 120)!r})"
    return "the last question offers " + " | ".join(asked.labels)


def _clip(text: str, limit: int = CLIP) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- the checks -------------------------------------------------------------------------------


def check_step(journey: Journey, record: StepRecord) -> list[str]:
    problems = missing(record.saw, record.step.seen, "the reply")
    folded = fold(record.saw)
    problems += [
        f"the reply shows {w!r} (never allowed)" for w in journey.never if fold(w) in folded
    ]
    return problems


def check_ending(journey: Journey, end: Ending) -> list[str]:
    problems = missing(end.leadership, journey.leadership, "the leadership channel")
    if end.handoff is None:
        problems += [f"no handoff was given (wanted {w!r})" for w in journey.handoff.expect]
    else:
        problems += missing(end.handoff, journey.handoff, "the handoff")
    if journey.no_case and end.cases:
        problems.append(f"no case should be stored, found {[c.reference for c in end.cases]}")
    ordered = sorted(end.cases, key=lambda c: (c.created_at, c.reference))
    for want, which in ((journey.case, -1), (journey.first_case, 0)):
        if want is None:
            continue
        if not ordered:
            problems.append("no case was stored")
        else:
            problems += check_case(want, ordered[which], end.days)
    return problems


def check_case(want: Mapping[str, Any], case: Case, days: tuple[date, ...]) -> list[str]:
    problems = []
    for key, expected in want.items():
        got = _case_value(case, key)
        if not _same(got, expected, days):
            problems.append(f"case {case.reference}: {key} is {got!r}, wanted {expected!r}")
    return problems


def _case_value(case: Case, key: str) -> Any:
    if key == "flags":
        return sorted(str(f) for f in case.flags)
    if key == "status":
        return str(case.status)
    if key == "duplicate_of":
        return bool(case.duplicate_of)
    if key == "handles":
        return sorted(case.handles)
    if key == "retention":
        return case.retention_category
    return case.answers.get(key)


def _same(got: Any, expected: Any, days: tuple[date, ...]) -> bool:
    if isinstance(expected, bool) or expected is None:
        return got == expected
    if isinstance(expected, dict):  # a subset: {phone: …} says nothing about the email
        return isinstance(got, dict) and all(
            _same(got.get(k), v, days) for k, v in expected.items()
        )
    if expected == "a span of days":  # a vague date kept as a range, "2026-11-16/2026-11-22"
        return isinstance(got, str) and len(got.split("/")) == 2
    if isinstance(expected, list):
        if not isinstance(got, list | tuple):
            return False
        return sorted(str(g) for g in got) == sorted(str(e) for e in expected)
    day = _DAY.fullmatch(str(expected))
    if day:
        shift = int(day.group(2) or 0) * (-1 if day.group(1) == "-" else 1)
        return str(got) in {(d + timedelta(days=shift)).isoformat() for d in days}
    return str(got) == str(expected)

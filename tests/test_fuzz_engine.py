"""Junk leader input never breaks a case: what tests/test_engine_properties.py leaves out.

That file throws junk at every step of a report. Here the junk goes at the leaders' desk once a
case exists: status buttons (`case:VERB:REF`) and typed commands (`sent TT-… reason`) with
odd verbs, references and reasons, from a leader, from the reporter (not a leader), and from a
leader of another school. Properties: no input is a bug (no reference code, nothing raised);
only a leader of the case's own school changes it; the history only ever grows; the case still
loads with a known status.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from test_engine import STAFF, Bot

from bot import lifecycle
from bot.model import Case, CaseStatus, Notice, Person, Platform, Reply

# The same examples on every run, as CI needs; FUZZ_EXPLORE=1 draws new ones.
FIXED = not os.environ.get("FUZZ_EXPLORE")

REF = "TT-2026-0001"
LEADER = Person(Platform.SLACK, "T1", "U0LEAD", name="Lee Leader")
ELSEWHERE = Person(Platform.SLACK, "T2", "U0LEAD", name="Other School")  # same id, other school
ODD_VERBS = ["show", "note", "", "SENT", "delete", "case", "sent ", "a:b"]
ODD_REFS = [REF.lower(), f" {REF} ", f"{REF}:x", "TT-2026-0002", "TT-2026-", "", "TT-9999-0001"]

# Real verbs and the real reference most of the time, so that cases do move.
verbs = st.one_of(
    st.sampled_from(sorted(lifecycle.MOVES)), st.sampled_from(ODD_VERBS), st.text(max_size=12)
)
refs = st.one_of(st.just(REF), st.just(REF), st.sampled_from(ODD_REFS), st.text(max_size=20))
reasons = st.text(max_size=60) | st.sampled_from(["", "because", "<!channel>", "\x00", "x" * 3000])


@dataclass(frozen=True)
class Input:
    who: str  # "leader", "reporter" or "elsewhere"
    button: bool
    verb: str
    ref: str
    reason: str


inputs = st.builds(
    Input, st.sampled_from(["leader", "reporter", "elsewhere"]), st.booleans(), verbs, refs, reasons
)


async def send(bot: Bot, step: Input) -> list[Reply]:
    person = {"leader": LEADER, "reporter": STAFF, "elsewhere": ELSEWHERE}[step.who]
    leader = step.who != "reporter"
    if step.button:
        action = f"case:{step.verb}:{step.ref}"
        return await bot.say(step.reason, person=person, action=action, is_leader=leader)
    text = f"{step.verb} {step.ref} {step.reason}"
    return await bot.say(text, person=person, is_leader=leader)


def snapshot(case: Case) -> tuple[CaseStatus, str, int]:
    return case.status, case.assignee, len(case.history)


@settings(
    derandomize=FIXED, max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(st.lists(inputs, min_size=1, max_size=6))
def test_junk_at_the_leaders_desk_is_refused_kindly_and_only_leaders_change_cases(
    sequence: list[Input],
) -> None:
    async def run() -> None:
        bot = Bot()
        await bot.report()
        case = await bot.store.case(REF)
        assert case is not None
        for step in sequence:
            before = case
            replies = await send(bot, step)
            assert not any(isinstance(r, Notice) and "ERR-" in r.text for r in replies), step
            case = await bot.store.case(REF)
            assert case is not None and case.status in set(CaseStatus)
            # Append-only: what was recorded stays recorded, in order.
            assert case.history[: len(before.history)] == before.history, step
            if snapshot(case) != snapshot(before):
                event(f"{step.who} changed the case")  # see --hypothesis-show-statistics
            if step.who != "leader":
                # The reporter may look at their own case ("viewed"), and – having said they
                # would contact POSH – record that they have ("sent"); nobody else changes it.
                added = case.history[len(before.history) :]
                allowed = {"viewed", "sent"} if step.who == "reporter" else set()
                assert all(e.action in allowed for e in added), step
                if not any(e.action == "sent" for e in added):
                    assert (case.status, case.assignee) == (before.status, before.assignee), step
                assert step.who == "reporter" or not added, step

    asyncio.run(run())

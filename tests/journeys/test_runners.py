"""The runners themselves: a journey the bot does not follow fails, and says where and why.

Each broken journey below is a real one with one expectation made wrong, run on every surface,
so a runner that stopped reading replies, questions, cases or the leadership channel would
let these pass and fail here instead.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from journeys import runner, terminal
from journeys.table import SURFACES, TableError, counts, load, parse
from journeys.transcript import JourneyFailed, RunnerTimeout

START = """
    - start: ""
    - type: "@fake.mr.smith"
"""
REPORT = (
    START
    + """
    - choose: That's all
    - choose: [Fake account]
    - choose: No
    - choose: No
    - choose: [The school itself]
    - type: today
    - choose: Not yet
    - choose: Yes, with the link
    - choose: Skip
    - choose: We don't know
    - choose: [Our DSL]
    - type: Sam Patel
    - type: Deputy Head
    - type: 01632 960 123
    - choose: I'll contact POSH myself
    - choose: Submit report
"""
)
BROKEN = {
    "reply": (
        START + '      expect: ["Got 2"]',
        [
            "step 2 (type: '@fake.mr.smith'): the reply lacks 'Got 2'",
            "--- transcript tail ---",
            "step 1 · start: ''",
            "Got 1: @fake.mr.smith",
        ],
    ),
    "never": (
        START + '  never: ["paste the tiktok link"]',
        ["step 1 (start: ''): the reply shows 'paste the tiktok link' (never allowed)"],
    ),
    "choice": (
        START + "    - choose: Maybe",
        [
            "step 3 (choose: 'Maybe'): 'Maybe' is not offered",
            "offers That's all | Start the links again",
        ],
    ),
    "ending": (
        REPORT
        + """  case: {harm: [threats], first_seen: day-1, flags: [danger]}
  leadership: {expect: ["Ms Nobody"]}
  handoff: {expect_not: ["Dear POSH team"]}""",
        [
            "the end:",
            "the leadership channel lacks 'Ms Nobody'",
            "the handoff shows 'Dear POSH team'",
            "harm is ['impersonation'], wanted ['threats']",
            "first_seen is '",
            "flags is [], wanted ['danger']",
        ],
    ),
}


def _journey(name: str, body: str) -> str:
    return f"- id: broken-{name}\n  steps:{body}\n"


@pytest.mark.parametrize("surface", SURFACES)
@pytest.mark.parametrize("name", BROKEN)
async def test_a_journey_the_bot_does_not_follow_fails_with_its_step_and_tail(
    surface: str, name: str, tmp_path: Path
) -> None:
    body, wanted = BROKEN[name]
    [journey] = parse(_journey(name, body))
    with pytest.raises(JourneyFailed) as failed:
        await runner.run(journey, surface, tmp_path)
    message = str(failed.value)
    assert message.startswith(f"journey broken-{name} on {surface}, "), message
    for part in wanted:
        assert part in message, message


async def test_a_terminal_that_goes_quiet_fails_in_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(terminal, "READ_LIMIT", 0.5)
    chat = terminal.TerminalChat(tmp_path / "data", tmp_path)
    silent = "import sys, time; print('hello', flush=True); sys.stdin.readline(); time.sleep(30)"
    chat.proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        silent,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    with pytest.raises(RunnerTimeout, match="hello"):
        await chat.type("anyone there?")
    assert chat.proc is None  # killed, not left running


@pytest.mark.parametrize(
    ("table", "error"),
    [
        ("- id: a\n  steps: [{start: ''}]\n  expct: [x]", "unknown key 'expct'"),
        ("- id: a\n  steps: [{start: '', type: hi}]", "exactly one of"),
        ("- id: a\n  steps: [{picture: hi}]", "the terminal cannot send a picture"),
        ("- id: a\n  surfaces: [slack]\n  steps: [{start: ''}]", "needs a `why:` line"),
        ("- id: a\n  steps: [{start: ''}]\n  xfail: {teems: x}", "names a surface"),
        ("- id: a\n  steps: [{start: ''}]\n- id: a\n  steps: [{start: ''}]", "used twice"),
        ("- id: a\n  steps: [{start: ''}]\n  case: {}\n  no_case: true", "contradict"),
        ("- id: a\n  steps: [{start: ''}]\n  handoff: {expect: []}", "handoff: expect is empty"),
        ("- id: a\n  steps: [{start: '', expect: []}]", "step 1: expect is empty"),
        ("- id: a\n  steps: [{start: '', expect_not: []}]", "expect_not is empty"),
    ],
)
def test_mistakes_in_the_table_are_named(table: str, error: str) -> None:
    with pytest.raises(TableError, match=error):
        parse(table)


def test_plain_values_stay_what_a_person_types_and_lists_of_steps_are_spliced() -> None:
    [journey] = parse(
        """
- id: a
  steps:
    - &opening
      - start: ""
      - type: no
    -
      - type: 1,3
      - type: 10:30
    - *opening
  case: {first_seen: 2026-03-03, danger: no, duplicate_of: false}
"""
    )
    assert [s.text for s in journey.steps] == ["", "no", "1,3", "10:30", "", "no"]
    assert journey.case == {"first_seen": "2026-03-03", "danger": "no", "duplicate_of": False}


def test_the_readme_s_figures_are_the_table_s() -> None:
    """README's paragraph on journeys states the figures `python -m journeys.table` prints."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert counts(load()) in " ".join(readme.split())

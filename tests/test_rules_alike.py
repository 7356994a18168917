"""Chat and the command line apply one set of case rules (`bot.lifecycle`): the same long note
or reason is refused by both, with the same kind message, and nothing is cut short or saved;
taking a case on means the same by either route."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_casework_cli import REF, Env
from test_engine import LEAD, Bot, texts
from test_records import seeded

from bot import casework, lifecycle
from bot.lifecycle import MAX_NOTE
from bot.model import PoshOwner

LONG = "POSH said " + "x" * (MAX_NOTE - 9)  # one character over the limit
LONGEST = "y" * MAX_NOTE
# Found by an exploratory test: "keep a note under 1,500" while a note of 1,500 is kept whole.
NOTE_TOO_LONG = (
    "That note is 1,501 characters: a note may be up to 1,500 characters, so please add the "
    "rest as a second note."
)
REASON_TOO_LONG = (
    "That reason is 1,501 characters: a reason may be up to 1,500 characters, so please add "
    "the rest as a note."
)


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Env]:
    monkeypatch.chdir(tmp_path)  # no reportbot.toml from the developer's folder
    monkeypatch.delenv("REPORTBOT_CONFIG", raising=False)
    monkeypatch.delenv("REPORTBOT_DATA_DIR", raising=False)
    yield Env(tmp_path, monkeypatch)


async def _in_chat(*commands: str) -> tuple[list[str], list[str]]:
    """What a leader is told for each command, and the notes the case then holds."""
    bot = Bot()
    await bot.report()
    told = [texts(await bot.say(c, person=LEAD, is_leader=True)) for c in commands]
    case = await bot.store.case(REF)
    assert case is not None
    return told, [h.note for h in case.history if h.action == "note"]


def _on_the_command_line(
    env: Env, capsys: pytest.CaptureFixture[str], *argv: str
) -> tuple[int, str]:
    code = env.run(*argv)
    return code, capsys.readouterr().err.removeprefix("reportbot: ").strip()


def test_a_long_note_is_refused_alike_in_chat_and_on_the_command_line(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    (chat, kept), notes = asyncio.run(_in_chat(f"note {REF} {LONG}", f"note {REF} {LONGEST}"))
    env.file_report(capsys)
    env.as_user("dee.head")
    code, cli = _on_the_command_line(env, capsys, "cases", "note", REF, LONG)

    assert code == 1
    assert chat == cli == NOTE_TOO_LONG
    assert "Note added" in kept and notes == [LONGEST]  # the longest allowed is kept whole
    assert env.run("cases", "note", REF, LONGEST) == 0
    assert env.run("cases", "show", REF) == 0
    shown = capsys.readouterr().out
    assert LONGEST in shown and "POSH said" not in shown


def test_a_long_reason_is_refused_alike_in_chat_and_on_the_command_line(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    (chat,), _ = asyncio.run(_in_chat(f"close {REF} {LONG}"))
    env.file_report(capsys)
    env.as_user("dee.head")
    code, cli = _on_the_command_line(env, capsys, "cases", "move", REF, "close", "--reason", LONG)

    assert code == 1
    assert chat == cli == REASON_TOO_LONG
    assert env.run("cases") == 0
    assert f"{REF} – New" in capsys.readouterr().out  # not closed


def test_taking_a_case_on_from_the_command_line_relieves_the_reporter_as_chat_does() -> None:
    """A reporter who said they would contact POSH is told they need not, by either route."""
    for take_on in (
        lambda c: lifecycle.apply(c, "assign", "Head", c.created_at),  # chat's button
        lambda c: casework.assign(c, "", "dee.head", c.created_at),  # reportbot cases assign
        lambda c: casework.assign(c, "Sam Deputy", "dee.head", c.created_at),
    ):
        case = seeded()[3]
        case.posh_owner = PoshOwner.REPORTER
        assert lifecycle.reporter_may(case, case.reporter, "sent")
        take_on(case)
        assert case.posh_owner == PoshOwner.LEADERS
        assert not lifecycle.reporter_may(case, case.reporter, "sent")

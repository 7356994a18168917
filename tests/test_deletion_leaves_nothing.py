"""A deleted case leaves nothing behind on disk (issue 14.2), end to end.

A report is made through Slack (the real server app, against the stand-in) with one unique word
in every free-text answer. Slack refuses, for good, every direct message that carries the word
(the echo of the link, the summary with every answer, the handoff, a leader's `show` with its
history and notes, and the files a leader asks for: export, export REF, sar), so each stays in
the outbox as failed. Then the case is deleted with the
real `reportbot retention delete`, and every file under the data folder is searched.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from pathlib import Path

import pytest
from slack_fakes import (
    LEADER,
    LEADERS,
    STAFF,
    START,
    FakeSlack,
    JSONDict,
    all_text,
    slack_env,
    slack_harness,
    walk,
)

from adapters import compose
from adapters.cli import main
from bot.clock import FakeClock
from storage.tinydb_store import open_store

WORD = f"qzword{secrets.token_hex(6)}"  # lower case: it is also a TikTok @handle


def steps(word: str) -> tuple[tuple[str, str], ...]:
    """A report whose every free-text answer holds `word`."""
    return (
        ("press", "done"),
        ("press", "impersonation,other"),
        ("say", f"{word} edits photos of staff"),
        ("press", "no"),
        ("press", "no"),
        ("press", "staff,other"),
        ("say", f"Ms {word} Patel, Head of Year 9"),
        ("say", f"The {word} family"),
        ("press", "today"),
        ("press", "yes"),
        ("press", "today"),
        ("say", f"They said {word} is fine"),
        ("press", "yes"),
        ("say", f"It shows {word} in a fake video"),
        ("press", "unknown"),
        ("press", "dsl"),
        ("say", f"Sam {word} Staff"),
        ("say", f"Deputy Head for {word}"),
        ("say", f"{word}@school.example"),
        ("press", "reporter"),
        ("press", "submit"),
    )


def files_holding(folder: Path, word: str) -> list[str]:
    """Every file under `folder` (hidden, temporary and backup files too) holding `word`."""
    return sorted(
        str(p.relative_to(folder))
        for p in folder.rglob("*")
        if p.is_file() and word.encode() in p.read_bytes()
    )


async def cli(*argv: str) -> int:
    return await asyncio.to_thread(main, list(argv))  # `reportbot` runs its own event loop


async def test_deleting_a_case_removes_every_stored_copy_and_sar_agrees(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # no reportbot.toml from the developer's folder
    monkeypatch.delenv("REPORTBOT_CONFIG", raising=False)
    data = tmp_path / "data"
    clock = FakeClock(START)  # the bot and the commands share it: nothing is old enough to prune
    monkeypatch.setattr(compose, "SystemClock", lambda: clock)
    fake = FakeSlack()

    def a_dm_with_the_word(params: JSONDict) -> bool:
        to_person = str(params.get("channel", "")).startswith(("D", "U"))
        return to_person and WORD in all_text(params)

    fake.refuse("is_archived", a_dm_with_the_word)
    api = await fake.start()
    try:
        store = await open_store(data, clock=clock)
        async with slack_harness(store=store, fake=fake, clock=clock, env=slack_env(api)) as h:
            await h.command(STAFF, f"https://www.tiktok.com/@{WORD}")
            await h.deliver()
            await walk(h, STAFF, steps(WORD))
            [case] = await store.cases()
            ref = case.reference
            typed = ("harm_other", "target_staff", "target_other", "in_app_reply", "role")
            assert all(WORD in str(case.answers[k]) for k in (*typed, "contact"))
            assert case.handles == (WORD,)
            await h.say(LEADER, f"note {ref} {WORD} rang back")
            await h.say(LEADER, f"show {ref}")
            for asked in ("export", f"export {ref}", "sar Patel"):  # files, refused in the DM
                await h.say(LEADER, asked)
            assert len(fake.posts(LEADERS)) == 1  # the channel got its post
        await store.close()
        live = json.loads((data / "live.json").read_text())
        refused = [d for d in live["outbox"].values() if d.get("failed")]
        assert {d["address"]["user"] for d in refused} == {STAFF, LEADER}  # kept, as failed
        summary = [d for d in refused if d["reply"].get("title", "").startswith("Your report")]
        history = [d for d in refused if d["reply"].get("title") == "History"]
        assert summary and history  # the summary DM and the leader's `show`
        files = [d for d in refused if d["reply"]["type"] == "file"]
        assert len(files) == 3  # each held the word, so Slack refused it; the requests stay
        assert files_holding(data, WORD) == ["cases/TT-2026-00.json", "live.json"]
        assert await cli("--data-dir", str(data), "sar", WORD) == 0
        assert ref in capsys.readouterr().out  # sar can find it while it is held

        status = await cli(
            "--data-dir", str(data), "retention", "delete", ref,
            "--reason", "review agreed", "--confirm", "--force",
        )  # fmt: skip
        assert status == 0, capsys.readouterr().err

        assert files_holding(data, WORD) == []
        capsys.readouterr()
        assert await cli("--data-dir", str(data), "sar", WORD) == 0
        assert (
            "Nothing: no case, report in progress or message mentions it."
            in capsys.readouterr().out
        )
    finally:
        await fake.close()

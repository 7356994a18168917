"""The leaders' commands end to end: a report filed through `reportbot chat`, then followed,
exported, counted, searched and deleted with `reportbot cases/export/stats/sar/retention`,
on the TinyDB store in a temporary data folder, with a clock the test moves."""

from __future__ import annotations

import asyncio
import csv
import getpass
import io
import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import clean_database
from postgres_cluster import Cluster
from test_engine import HAPPY

from adapters import casework, compose
from adapters.cli import main
from bot import case_report
from bot.clock import FakeClock
from bot.model import Case, CaseStatus, HistoryEntry, Person, Platform
from bot.ports import UnitOfWork
from bot.school import SETTINGS_KEY, SchoolSettings
from storage.choice import open_chosen_store

# Wednesday 25 November 2026, 11:00 UK time.
START = datetime(2026, 11, 25, 11, 0, tzinfo=UTC)
# In the terminal there is no profile name to offer, so the reporter types theirs.
ANSWERS = [*(("Ann Teacher" if a == "yes that's me" else a) for a in HAPPY), "submit"]
REF = "TT-2026-0001"


class Env:
    def __init__(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.data = str(tmp_path / "data")
        self.tmp = tmp_path
        self.clock = FakeClock(START)
        self.monkeypatch = monkeypatch
        monkeypatch.setattr(compose, "SystemClock", lambda: self.clock)
        self.as_user("ann.teacher")

    def as_user(self, name: str) -> None:
        self.monkeypatch.setattr(getpass, "getuser", lambda: name)

    def run(self, *argv: str) -> int:
        return main(["--data-dir", self.data, *argv])

    def file_report(self, capsys: pytest.CaptureFixture[str]) -> None:
        self.monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join(ANSWERS) + "\n"))
        assert self.run("chat") == 0
        out = capsys.readouterr().out
        assert f"Report {REF} saved" in out


@pytest.fixture(params=["data folder", "postgres"])
def env(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Env]:
    """The commands on each store: on Postgres (REPORTBOT_DATABASE_URL set) they run beside
    the bot's own connections, as a leader runs them on a hosted deployment."""
    monkeypatch.chdir(tmp_path)  # no reportbot.toml from the developer's folder
    monkeypatch.delenv("REPORTBOT_CONFIG", raising=False)
    monkeypatch.delenv("REPORTBOT_DATA_DIR", raising=False)
    monkeypatch.delenv(compose.DATABASE_URL, raising=False)
    if request.param == "postgres":
        monkeypatch.setenv(compose.DATABASE_URL, emptied(request.getfixturevalue("pg_cluster")))
    yield Env(tmp_path, monkeypatch)


def emptied(cluster: Cluster) -> str:
    async def empty() -> str:
        async with clean_database(cluster) as url:
            return url

    return asyncio.run(empty())


def csv_rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))


def test_a_case_is_followed_from_report_to_removal(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    env.file_report(capsys)
    assert env.run("cases") == 0
    listed = capsys.readouterr().out
    assert "Open cases (1)" in listed and f"{REF} – New – @fake.mr.smith" in listed

    env.as_user("dee.head")
    env.clock.advance(hours=2)
    assert env.run("cases", "move", REF.lower(), "sent") == 0
    env.clock.advance(days=1, hours=3)
    assert env.run("cases", "move", "tt-2026-1", "removed", "--reason", "POSH confirmed") == 0
    assert f"{REF} – Removed" in capsys.readouterr().out

    assert env.run("export", "--out", str(env.tmp / "cases.csv")) == 0
    assert "Wrote 1 case(s)" in capsys.readouterr().out
    (row,) = csv_rows(env.tmp / "cases.csv")
    assert row["created"] == "2026-11-25 11:00"
    assert (row["sent_to_posh"], row["removed"]) == ("2026-11-25 13:00", "2026-11-26 16:00")
    assert row["status"] == "Removed" and row["handles"] == "fake.mr.smith"
    assert stat.S_IMODE((env.tmp / "cases.csv").stat().st_mode) == 0o600

    assert env.run("stats") == 0
    figures = capsys.readouterr().out
    posh = next(x for x in figures.splitlines() if x.strip().startswith("Report to POSH"))
    removal = next(x for x in figures.splitlines() if x.strip().startswith("POSH to removal"))
    assert "2 h" in posh and "1 day 3 h" in removal and "Nov 2026       1" in figures

    assert env.run("cases", "show", REF) == 0
    shown = capsys.readouterr().out
    assert "dee.head: Sent to POSH (New → Sent to POSH)" in shown
    assert "dee.head: Content removed (Sent to POSH → Removed) – “POSH confirmed”" in shown
    assert "Ann Teacher: Reported" in shown and "POSH to removal: 1 day 3 h" in shown
    assert "review on 26 Nov 2032" in shown  # online abuse: 6 years from removal

    assert env.run("cases") == 0
    assert "There are no open cases" in capsys.readouterr().out
    assert env.run("cases", "--all") == 0
    assert f"{REF} – Removed" in capsys.readouterr().out


def test_assign_note_and_the_printable_report(env: Env, capsys: pytest.CaptureFixture[str]) -> None:
    env.file_report(capsys)
    env.as_user("dee.head")
    assert env.run("cases", "assign", REF) == 0
    assert f"{REF}: you (dee.head) are now contacting POSH.\n{REF} – New" in capsys.readouterr().out
    assert env.run("cases", "assign", REF, "--to", "Sam <Deputy>") == 0
    said = capsys.readouterr().out  # found by an exploratory test: only the case line was shown
    assert said.startswith(f"{REF}: Sam <Deputy> is now contacting POSH (recorded by dee.head).")
    assert env.run("cases", "note", REF, "Rang POSH: call back <tomorrow>") == 0
    capsys.readouterr()
    assert env.run("export", "--case", REF) == 0
    assert f"Wrote {REF}'s report to {REF}.html" in capsys.readouterr().out
    page = (env.tmp / f"{REF}.html").read_text(encoding="utf-8")
    assert "Sam &lt;Deputy&gt;" in page and "call back &lt;tomorrow&gt;" in page
    assert "<Deputy>" not in page and "0344 381 4772" in page
    assert stat.S_IMODE((env.tmp / f"{REF}.html").stat().st_mode) == 0o600
    assert env.run("cases", "show", REF) == 0
    shown = capsys.readouterr().out
    assert "dee.head: Contacting POSH (– → dee.head)" in shown
    assert "dee.head: Contacting POSH (dee.head → Sam <Deputy>)" in shown


def test_mistakes_get_a_kind_message_and_exit_1(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    env.file_report(capsys)
    assert env.run("cases", "move", REF, "with_tiktok") == 1
    err = capsys.readouterr().err
    assert f"{REF} is now “New”, so “With TikTok via POSH” doesn't apply." in err
    assert "Traceback" not in err
    assert env.run("cases", "move", REF, "close") == 1
    assert "needs a reason" in capsys.readouterr().err
    assert env.run("cases", "move", REF, "explode") == 1
    assert "I don't know how to “explode” a case" in capsys.readouterr().err
    assert env.run("cases", "show", "TT-2026-0099") == 1
    assert capsys.readouterr().err.strip() == (
        "reportbot: No case TT-2026-0099 here. References look like TT-2026-0002; this "
        "year's can be just the number, 0002."
    )
    assert env.run("cases", "note", REF, "   ") == 1
    assert "The note is empty" in capsys.readouterr().err
    assert env.run("export", "--case", REF, "--out", str(env.tmp / "nowhere" / "x.html")) == 1
    assert "Could not write" in capsys.readouterr().err


def test_a_reference_typed_oddly_finds_its_case_and_a_wrong_one_says_what_works(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    """Found by an exploratory test: these found no case and gave no hint."""
    env.file_report(capsys)
    for typed in ("1", "0001", "TT 2026 0001", f"{REF}.", "tt–2026–0001"):
        assert env.run("cases", "show", typed) == 0, typed
        assert capsys.readouterr().out.startswith(f"TikTok report {REF}\n"), typed
    assert env.run("cases", "note", "0001", "Rang POSH") == 0
    assert f"{REF} – New" in capsys.readouterr().out
    env.clock.advance(days=40)  # 2027 on the school's clock: a number alone is 2027's case
    assert env.run("cases", "show", "0001") == 1
    err = capsys.readouterr().err
    assert "No case TT-2027-0001 here. References look like TT-2027-0002" in err


def test_a_bug_shows_a_reference_code_not_a_traceback(
    env: Env, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    env.file_report(capsys)

    def broken(*args: object) -> str:
        raise RuntimeError("case content must not be shown")

    monkeypatch.setattr(case_report, "case_text", broken)
    assert env.run("cases", "show", REF) == 1
    captured = capsys.readouterr()
    assert "something went wrong (ERR-" in captured.err
    assert "case content must not be shown" not in captured.out + captured.err


def test_sar_then_retention_delete_leaves_a_tombstone(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    env.file_report(capsys)
    assert env.run("sar", "ANN TEACHER") == 0
    found = capsys.readouterr().out
    assert f"{REF} – New" in found and "Ann Teacher" in found
    assert "01632 960 123" in found  # the whole record, not only the name
    assert env.run("sar", "ann.teacher", "--out", str(env.tmp / "sar.json")) == 0
    doc = json.loads((env.tmp / "sar.json").read_text(encoding="utf-8"))
    assert [c["key"] for c in doc["cases"]] == [REF]
    assert env.run("sar", "someone else") == 0
    assert "Nothing: no case" in capsys.readouterr().out

    env.as_user("dpo")
    assert env.run("retention", "delete", REF, "--reason", "filed in error") == 1
    assert "still open" in capsys.readouterr().err
    assert env.run("retention", "delete", REF, "--reason", "filed in error", "--force") == 1
    assert "--confirm" in capsys.readouterr().err
    argv = ("retention", "delete", REF, "--reason", "filed in error", "--force", "--confirm")
    assert env.run(*argv) == 0
    assert f"Deleted {REF}" in capsys.readouterr().out

    assert env.run("cases", "show", REF) == 0
    shown = capsys.readouterr().out
    assert "Deleted. Only its reference" in shown and "dpo: Deleted" in shown
    assert "fake.mr.smith" not in shown and "Smith" not in shown and "01632" not in shown
    assert env.run("sar", "ann.teacher") == 0
    assert "Nothing: no case" in capsys.readouterr().out
    assert env.run("export", "--out", "-") == 0
    exported = capsys.readouterr().out
    assert f"{REF},Deleted,2026-11-25 11:00" in exported and "smith" not in exported
    assert env.run("retention", "delete", REF, "--reason", "again", "--confirm") == 1
    assert "already been deleted" in capsys.readouterr().err


def test_retention_review_and_keep(env: Env, capsys: pytest.CaptureFixture[str]) -> None:
    env.file_report(capsys)
    env.as_user("dee.head")
    assert env.run("cases", "move", REF, "close", "--reason", "account gone") == 0
    assert env.run("retention", "review") == 0
    assert "No cases are due" in capsys.readouterr().out
    env.clock.set(datetime(2036, 11, 25, 12, tzinfo=UTC))
    assert env.run("retention") == 0
    due = capsys.readouterr().out
    assert f"{REF} – Closed – online_abuse: 6 years from closure on 25 Nov 2026" in due
    assert env.run("retention", "keep", REF, "--until", "2038-01-31", "--reason", "tribunal") == 0
    assert "next review on 31 Jan 2038" in capsys.readouterr().out
    assert env.run("retention", "review") == 0
    assert "No cases are due" in capsys.readouterr().out
    assert env.run("cases", "show", REF) == 0
    assert "Retention review: kept until 31 Jan 2038. tribunal" in capsys.readouterr().out
    assert env.run("retention", "keep", REF, "--until", "soon", "--reason", "x") == 1
    assert "not a date" in capsys.readouterr().err
    # Sooner than the review now due would keep it for less time: asked again first.
    argv = ("retention", "keep", REF, "--until", "2037-06-30", "--reason", "review")
    assert env.run(*argv) == 1
    assert "due for review on 31 Jan 2038" in capsys.readouterr().err
    assert env.run(*argv, "--confirm") == 0
    assert "next review on 30 Jun 2037" in capsys.readouterr().out


def test_stats_shows_progress_for_many_cases(env: Env, capsys: pytest.CaptureFixture[str]) -> None:
    async def seed() -> None:
        opened = await open_chosen_store(os.environ.get(compose.DATABASE_URL, ""), Path(env.data))
        store = opened.store
        cases = []
        for n in range(1, casework.PROGRESS_FROM + 2):
            reporter = Person(Platform.SLACK, "T1", f"U{n}", name=f"Staff {n}")
            case = Case(f"TT-2026-{n:04d}", START, reporter, f"c{n}", {"harm": ["harassment"]})
            case.record(HistoryEntry(START, reporter.name, "reported", new=CaseStatus.NEW))
            cases.append(case)
        try:  # one write: a thousand fsynced commits take a minute on a slow disk
            await store.commit(UnitOfWork(cases=cases))
        finally:
            await store.close()

    asyncio.run(seed())
    assert env.run("stats") == 0
    captured = capsys.readouterr()
    assert "Working out the figures: 1001/1001 cases" in captured.err
    assert "TikTok reports: 1001 (1001 open" in captured.out
    assert "Working out" not in captured.out


@pytest.mark.parametrize("command", [("export",), ("sar", "ann.teacher")], ids=["export", "sar"])
def test_an_export_never_follows_a_planted_link_nor_changes_another_file(
    env: Env, capsys: pytest.CaptureFixture[str], command: tuple[str, ...]
) -> None:
    """Issue 14.4: a `cases.csv` symlink made the export overwrite its target and chmod it."""
    env.file_report(capsys)
    victim = env.tmp / "victim.txt"
    victim.write_text("someone else's file")
    victim.chmod(0o644)
    planted = env.tmp / "out.file"
    planted.symlink_to(victim)
    assert env.run(*command, "--out", str(planted)) == 1
    err = capsys.readouterr().err
    assert "is a symbolic link, so nothing was written there" in err and "Traceback" not in err
    assert victim.read_text() == "someone else's file"
    assert stat.S_IMODE(victim.stat().st_mode) == 0o644
    assert planted.is_symlink()


@pytest.mark.parametrize("kind", ["fifo", "folder"])
def test_an_export_refuses_a_target_that_is_not_an_ordinary_file(
    env: Env, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    env.file_report(capsys)
    target = env.tmp / "cases.csv"
    reader = -1
    if kind == "fifo":
        os.mkfifo(target, 0o644)
        reader = os.open(target, os.O_RDONLY | os.O_NONBLOCK)  # so a writer would not block
    else:
        target.mkdir(mode=0o755)
    try:
        assert env.run("export", "--out", str(target)) == 1
        assert "so nothing was written there" in capsys.readouterr().err
        assert stat.S_IMODE(target.lstat().st_mode) in (0o644, 0o755)  # mode untouched
    finally:
        if reader >= 0:
            os.close(reader)


def test_an_export_replaces_an_earlier_one_with_a_new_private_file(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    env.file_report(capsys)
    target = env.tmp / "cases.csv"
    target.write_text("an old export")
    target.chmod(0o644)
    linked = env.tmp / "hard-link-to-old.csv"
    os.link(target, linked)
    assert env.run("export", "--out", str(target)) == 0
    assert REF in target.read_text(encoding="utf-8-sig")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert linked.read_text() == "an old export"  # a new file: the old one was not written into
    assert [p.name for p in env.tmp.glob(".*.tmp")] == []


# --- many schools: --school and `reportbot schools` ----------------------------------------------

ALPHA = "slack:T0ALPHA"
BRAVO = "teams:72f988bf-86f1-41af-91ab-2d7cd011db47"


def _seed_schools(url: str) -> None:
    """The same reference in two schools and in the deployment's own rows, as a provider has."""

    async def seed() -> None:
        opened = await open_chosen_store(url, Path("unused"))
        assert opened.schools is not None
        try:
            for school, name in [(ALPHA, "Alpha Academy"), (BRAVO, ""), ("", "")]:
                team = school.partition(":")[2] or "T0"
                reporter = Person(Platform.SLACK, team, "U1", name=f"Staff of {team}")
                case = Case(REF, START, reporter, "c1", {"harm": ["harassment"]})
                case.record(HistoryEntry(START, reporter.name, "reported", new=CaseStatus.NEW))
                meta = {SETTINGS_KEY: SchoolSettings(name=name).to_json()} if name else {}
                store = opened.schools.for_school(school) if school else opened.store
                await store.commit(UnitOfWork(cases=[case], meta=meta))
        finally:
            await opened.store.close()

    asyncio.run(seed())


def _outbox(url: str, school: str) -> list[str]:
    async def read() -> list[str]:
        opened = await open_chosen_store(url, Path("unused"))
        assert opened.schools is not None
        try:
            items = await opened.schools.for_school(school).outbox_items()
            return [item.case_reference for item in items]
        finally:
            await opened.store.close()

    return asyncio.run(read())


def test_a_provider_answers_a_sar_and_runs_retention_for_one_school(
    pg_cluster: Cluster,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("REPORTBOT_CONFIG", raising=False)
    url = emptied(pg_cluster)
    monkeypatch.setenv(compose.DATABASE_URL, url)
    monkeypatch.setenv("REPORTBOT_MANY_SCHOOLS", "1")
    env = Env(tmp_path, monkeypatch)
    _seed_schools(url)

    assert env.run("schools") == 0
    listed = capsys.readouterr().out
    assert "Schools in the database (3)" in listed
    assert f"  {ALPHA} – Alpha Academy – 1 case(s), 1 open" in listed
    assert f"  {BRAVO} – 1 case(s), 1 open" in listed
    assert "(no --school: the deployment's own rows) – 1 case(s)" in listed

    # Without --school: the deployment's own rows only, and it says so (on stderr).
    assert env.run("sar", "Staff of T0ALPHA") == 0
    captured = capsys.readouterr()
    assert "Nothing: no case" in captured.out and "without --school KEY" in captured.err
    # With it: that school's rows, and no other's (the same reference is in all three).
    assert env.run("sar", "staff of", "--school", ALPHA) == 0
    found = capsys.readouterr().out
    assert f"{REF} – New" in found and "Staff of T0ALPHA" in found and "72f988bf" not in found
    assert env.run("cases", "--all", "--school", BRAVO) == 0
    assert "All cases (1)" in capsys.readouterr().out
    assert env.run("cases", "show", REF, "--school", ALPHA) == 0
    shown = capsys.readouterr().out
    assert "Staff of T0ALPHA: Reported" in shown and "72f988bf" not in shown

    env.as_user("dpo")
    argv = ("retention", "delete", REF, "--reason", "SAR erasure", "--force", "--confirm")
    assert env.run(*argv, "--school", ALPHA) == 0
    assert f"Deleted {REF}" in capsys.readouterr().out
    assert _outbox(url, ALPHA) == [REF] and _outbox(url, BRAVO) == []  # its own courier's
    assert env.run("retention", "review", "--school", ALPHA) == 0
    assert env.run("cases", "--school", ALPHA) == 0
    assert "There are no open cases" in capsys.readouterr().out
    for school in (BRAVO, ""):  # the other school, and the deployment's rows, untouched
        assert env.run("cases", *(("--school", school) if school else ())) == 0
        assert f"{REF} – New" in capsys.readouterr().out
    assert env.run("export", "--out", "-", "--school", ALPHA) == 0
    assert f"{REF},Deleted" in capsys.readouterr().out
    assert env.run("stats", "--school", BRAVO) == 0
    assert "TikTok reports: 1 (1 open" in capsys.readouterr().out

    assert env.run("sar", "xy", "--school", "slack:TNOPE") == 1
    assert "nothing for the school 'slack:TNOPE'" in capsys.readouterr().err


def test_school_needs_the_database(env: Env, capsys: pytest.CaptureFixture[str]) -> None:
    if os.environ.get(compose.DATABASE_URL):
        assert env.run("sar", "xy", "--school", ALPHA) == 1  # no such school in it
        assert "reportbot schools" in capsys.readouterr().err
        return
    assert env.run("sar", "xy", "--school", ALPHA) == 2
    assert "the data folder holds one school" in capsys.readouterr().err
    assert env.run("schools") == 0
    assert "The data folder holds one school" in capsys.readouterr().out


@pytest.mark.parametrize("command", ["chat", "cases", "sar"])
def test_each_command_s_help_shows_data_dir(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """README documents `reportbot chat [--data-dir DIR]`: the sub-command's help says so."""
    with pytest.raises(SystemExit):
        main([command, "--help"])
    assert "--data-dir DIR" in capsys.readouterr().out


def test_a_reader_that_stops_early_gets_no_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`reportbot sar NAME | head`: quiet, with SIGPIPE's exit status, as command line tools."""
    data = tmp_path / "data"

    async def seed() -> None:
        opened = await open_chosen_store("", data)
        cases = []
        for n in range(1, 1001):  # far more than a pipe holds
            reporter = Person(Platform.SLACK, "T1", f"U{n}", name="Ann Teacher")
            case = Case(f"TT-2026-{n:04d}", START, reporter, f"c{n}", {"harm": ["harassment"]})
            case.record(HistoryEntry(START, reporter.name, "reported", new=CaseStatus.NEW))
            cases.append(case)
        try:
            await opened.store.commit(UnitOfWork(cases=cases))
        finally:
            await opened.store.close()

    asyncio.run(seed())
    env = {k: v for k, v in os.environ.items() if not k.startswith("REPORTBOT_")}
    for argv in (("sar", "ann teacher"), ("cases", "--all")):
        process = subprocess.Popen(
            [sys.executable, "-m", "adapters.cli", "--data-dir", str(data), *argv],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=tmp_path,
            env={**env, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
        )
        assert process.stdout is not None and process.stderr is not None
        assert process.stdout.readline()  # as `head -1` does, then it goes
        process.stdout.close()
        assert process.wait(timeout=60) == 141, argv
        assert process.stderr.read() == b"", argv
        process.stderr.close()


def test_a_note_describing_a_child_s_nude_video_flags_the_case_on_the_command_line(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    """Found by an exploratory test: a plain "Note added", and the case stayed as it was."""
    env.file_report(capsys)
    note = "Karen says a nude video of a year 10 girl is now on the account"
    assert env.run("cases", "note", REF, note) == 0
    said = capsys.readouterr().out
    assert said.startswith("(!!) Sexual images of someone under 18\n")
    assert "don't copy, screenshot" in said and "Internet Watch Foundation" in said
    assert f"{REF} is now flagged for it" in said
    assert f"URGENT (child images) – {REF} – New" in said
    assert env.run("cases", "show", REF) == 0
    shown = capsys.readouterr().out
    assert f"“{note}”" in shown  # the note is kept
    assert "Flagged: possible sexual images of someone under 18 – “said in a note”" in shown
    assert "The web address only – never send, show or describe the images" in shown
    assert "Retention: child_protection: 25 years" in shown
    assert env.run("cases", "note", REF, "Sam has screenshots saved") == 0
    assert "(!!) Don't keep copies" in capsys.readouterr().out


def test_the_terminal_s_operator_is_a_leader_in_chat(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    """Found by an exploratory test: `show` gave the reporter's view to the operator who had
    made the report, help named no leader's command, and a deletion offered buttons the
    terminal cannot press (typing 1 answered the report in progress instead)."""
    env.file_report(capsys)
    typed = [
        f"show {REF}",
        "help",
        f"close {REF} because tiktok removed it",
        f"retention delete {REF} because a test",
    ]
    env.monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join(typed) + "\n"))
    assert env.run("chat") == 0
    out = capsys.readouterr().out
    assert f"Your report {REF}" not in out
    assert f"TikTok report {REF}" in out and "History\n" in out
    assert "For leaders\n" in out and "show REF – a case and its history" in out
    assert f"reportbot retention delete {REF} --reason 'a test' --confirm" in out
    assert "Delete it" not in out
    assert env.run("cases", "show", REF) == 0
    shown = capsys.readouterr().out
    assert "Close (New → Closed) – “tiktok removed it”" in shown
    assert env.run("retention", "delete", REF, "--reason", "a test", "--confirm") == 0


def test_cases_commands_take_what_leaders_type_without_the_help(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    """Found by an exploratory test: argparse's "unrecognized arguments" and "invalid
    choice" for each of these."""
    env.file_report(capsys)
    env.as_user("dee.head")
    assert env.run("cases", "note", "1", "POSH", "called", "back") == 0
    assert env.run("cases", "assign", "1", "Mrs", "Green") == 0
    assert "Mrs Green is now contacting POSH (recorded by dee.head)" in capsys.readouterr().out
    # Read as chat reads it (found in review): "to" and a reason after "because".
    assert env.run("cases", "assign", "1", "to", "Sam", "Patel", "because", "he", "knows") == 0
    assert "Sam Patel is now contacting POSH" in capsys.readouterr().out
    for listing in ("list", "open"):
        assert env.run("cases", listing) == 0
        assert "Open cases (1)" in capsys.readouterr().out
    assert env.run("cases", "move", "1", "in-app") == 0
    assert env.run("cases", "move", "1", "sent") == 0
    assert env.run("cases", "move", "1", "with-tiktok") == 0
    assert env.run("cases", "move", "1", "remove") == 0
    assert f"{REF} – Removed" in capsys.readouterr().out
    assert env.run("cases", "close", REF, "because", "TikTok", "took", "it", "down") == 0
    assert env.run("cases", "reopen", "1", "--reason", "it came back") == 0
    assert env.run("cases", "move", "1", "closed", "dealt", "with") == 0
    assert env.run("cases", "show", REF) == 0
    shown = capsys.readouterr().out
    assert "dee.head: Note – “POSH called back”" in shown
    assert "Close (Removed → Closed) – “TikTok took it down”" in shown
    assert "Reopen (Closed → New) – “it came back”" in shown
    assert "Close (New → Closed) – “dealt with”" in shown


def test_the_open_list_says_where_ended_cases_are(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    """A removed case has its outcome, so it leaves the open list; the list says where it is."""
    env.file_report(capsys)
    assert env.run("cases") == 0
    assert "reportbot cases --all lists them too" in capsys.readouterr().out

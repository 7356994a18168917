"""The README's front door works: its scripted terminal report files a case that lasts."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def scripted_report() -> str:
    """The shell block after "A report can be scripted" in the README, run as written."""
    readme = (ROOT / "README.md").read_text()
    after = readme.split("A report can be scripted", 1)[1]
    block = re.search(r"```sh\n(.*?)```", after, re.DOTALL)
    assert block, "the README lost its scripted report"
    return block.group(1).replace(".venv/bin/reportbot", f"{sys.executable} -m adapters.cli")


def run(command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("REPORTBOT_DATA_DIR", None)
    return subprocess.run(
        ["bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


def test_the_scripted_terminal_report_ends_with_a_case_and_the_handoff(tmp_path: Path) -> None:
    done = run(scripted_report(), tmp_path)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert re.search(r"Report TT-\d{4}-0001 saved", out)
    assert "0344 381 4772" in out and "helpline@saferinternet.org.uk" in out
    assert "LEADERSHIP CHANNEL" in out
    shard = next((tmp_path / "data" / "cases").glob("TT-*.json"))
    assert stat.S_IMODE(shard.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "data").stat().st_mode) == 0o700
    listed = run(f"{sys.executable} -m adapters.cli cases", tmp_path)  # a new process
    assert re.search(r"TT-\d{4}-0001 – New – @fake.mr.smith", listed.stdout), listed.stdout


def test_python_dash_m_bot_runs_the_same_command_line(tmp_path: Path) -> None:
    done = run(f"{sys.executable} -m bot --help", tmp_path)
    assert done.returncode == 0 and "chat" in done.stdout and "serve" in done.stdout

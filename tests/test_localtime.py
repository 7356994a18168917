"""One local-time helper (`bot.localtime`): what it promises across the clock changes, and
that bot/ and adapters/ turn no moment into local time anywhere else."""

from __future__ import annotations

import ast
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from bot import localtime
from bot.facts import Facts

ROOT = Path(__file__).resolve().parents[1]
FACTS = Facts()
# Allowed to name a zone, each with its reason.
ZONE_HOMES = {
    "bot/localtime.py",  # the helper itself
    "bot/facts.py",  # checks at start-up that a school's `posh_timezone` is a zone
}


def test_moments_read_in_uk_time_in_winter_and_summer() -> None:
    winter = datetime(2026, 11, 25, 11, tzinfo=UTC)
    summer = datetime(2026, 6, 30, 23, 30, tzinfo=UTC)
    assert localtime.local(winter, FACTS) == "Wed 25 Nov 2026, 11:00"
    assert localtime.local(summer, FACTS) == "Wed 1 Jul 2026, 00:30"
    assert localtime.stamp(summer, FACTS) == "2026-07-01 00:30"
    assert localtime.stamp(None, FACTS) == ""
    assert localtime.day(summer, FACTS) == date(2026, 7, 1)  # a UTC evening is tomorrow here


def test_a_local_day_starts_at_local_midnight_and_days_keep_the_hour() -> None:
    assert localtime.midnight(date(2026, 7, 1), FACTS) == datetime(2026, 6, 30, 23, tzinfo=UTC)
    assert localtime.midnight(date(2026, 11, 1), FACTS) == datetime(2026, 11, 1, tzinfo=UTC)
    # What hours and reminders rely on: the clocks go back on Sunday 25 October 2026.
    friday = localtime.moment(datetime(2026, 10, 23, 9, tzinfo=UTC), FACTS)  # 10:00 BST
    assert (friday + timedelta(days=3)).astimezone(UTC) == datetime(2026, 10, 26, 10, tzinfo=UTC)


def test_only_the_helper_turns_a_moment_into_local_time() -> None:
    offenders = []
    for path in sorted([*(ROOT / "bot").rglob("*.py"), *(ROOT / "adapters").rglob("*.py")]):
        name = path.relative_to(ROOT).as_posix()
        if name in ZONE_HOMES:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Name | ast.Attribute) and _named(node) == "ZoneInfo":
                offenders.append(f"{name}:{node.lineno} ZoneInfo")
            elif isinstance(node, ast.Call) and _named(node.func) == "astimezone":
                to_utc = bool(node.args) and _named(node.args[0]) == "UTC"  # UTC is not local
                offenders += [] if to_utc else [f"{name}:{node.lineno} astimezone"]
    assert offenders == [], "use bot.localtime"


def _named(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    return node.attr if isinstance(node, ast.Attribute) else ""

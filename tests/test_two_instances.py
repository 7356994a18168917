"""The scripted check of issue 13 (scripts/two_instances.py), run as a test so CI runs it:
two `reportbot serve` processes on one Postgres, each person's signed requests alternating
between them, one instance killed with kill -9 in the middle of the reports (holding a reply
Slack had taken but not answered), Slack's retries sent to the other, the dead one started
again. Every check the script prints must pass: each case stored and posted once, every
acknowledged step in the database, every handoff delivered, nothing left in the outbox."""

from __future__ import annotations

from pathlib import Path

from scripts.two_instances import run_check


async def test_two_instances_one_killed_mid_report_lose_nothing_and_post_nothing_twice(
    pg_empty_url: str, tmp_path: Path
) -> None:
    outcome = await run_check(tmp_path, pg_empty_url)
    print(outcome.render())  # shown with -s, and with any failure
    assert outcome.passed, outcome.render()

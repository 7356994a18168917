"""The scripted check of issue 15 (scripts/many_schools.py), run as a test so CI runs it: two
Slack workspaces installed through the OAuth flow against the stand-in (begun on one
`reportbot serve`, finished on the other, on one Postgres), each leadership channel set with
`/report-tiktok setup`, interleaved reports from both through both instances. Every check the
script prints must pass: each case posted once, only in its own school's channel, with that
school's token; a workspace that never installed refused; a leader of one school unable to move
the other's case."""

from __future__ import annotations

from pathlib import Path

from scripts.many_schools import run_check


async def test_two_schools_installed_through_oauth_on_two_instances_stay_apart(
    pg_empty_url: str, tmp_path: Path
) -> None:
    outcome = await run_check(tmp_path, pg_empty_url)
    print(outcome.render())  # shown with -s, and with any failure
    assert outcome.passed, outcome.render()

"""Urgent alerts and a child's sexual images: what leaders and POSH are told.

The journeys (tests/journeys/journeys.yaml) hold the conversations; these hold the reading of
free text on its own, and what a journey cannot see (capital letters, the card's own lines).
"""

from __future__ import annotations

from datetime import UTC, datetime

from bot.facts import DEFAULT_FACTS
from bot.model import Case, CaseStatus, Flag, Person, Platform
from bot.views import case_view


def _case(flags: frozenset[Flag], status: CaseStatus = CaseStatus.NEW) -> Case:
    at = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)
    return Case(
        reference="TT-2026-0001",
        created_at=at,
        reporter=Person(Platform.TERMINAL, "local", "priya"),
        conversation_id="c1",
        answers={
            "links": [{"url": "", "handle": "year11.hotlist", "label": "@year11.hotlist"}],
            "harm": ["sexualised"],
            "sexual_images": "no",
            "target": ["pupils"],
            "sexual_images_again": "no",
            "first_seen": "2026-12-01",
            "in_app": "no",
            "evidence": "not_yet",
            "description": "photos of year 11 girls in their underwear",
            "poster": "pupils",
            "told": ["nobody"],
            "name": "Priya Shah",
            "role": "Head of Year 11",
            "contact": {"phone": "07700 900456", "email": ""},
            "who_calls": "reporter",
        },
        flags=flags,
        status=status,
    )


def test_urgent_alert_names_the_link_and_the_reporter_and_reads_as_sentences() -> None:
    case = _case(frozenset({Flag.DANGER, Flag.SEXUAL_IMAGES}), CaseStatus.REPORTING)
    case.answers = {"links": case.answers["links"]}  # only the link so far, no name
    view = case_view(case, DEFAULT_FACTS, case.created_at)
    lines = dict(view.lines)
    assert lines["TikTok links"] == "https://www.tiktok.com/@year11.hotlist"
    assert lines["Reporting"].startswith("The person making this report (terminal user priya)")
    assert view.status_line.endswith(
        "flags someone may be in immediate danger. It may include sexual images of someone under 18"
    )

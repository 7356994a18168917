"""The journey contract: every journey in journeys.yaml, through every surface it names."""

from __future__ import annotations

from pathlib import Path

import pytest

from journeys import runner
from journeys.table import Journey, load
from journeys.transcript import JourneyFailed

TABLE = Path(__file__).with_name("journeys.yaml")
JOURNEYS = load(TABLE)


def _params() -> list[pytest.ParameterSet]:
    params = []
    for journey in JOURNEYS:
        for surface in journey.surfaces:
            reason = journey.xfail.get(surface)
            marks = [pytest.mark.xfail(reason=reason, raises=JourneyFailed, strict=True)]
            params.append(
                pytest.param(
                    surface, journey, id=f"{surface}-{journey.id}", marks=marks if reason else ()
                )
            )
    return params


@pytest.mark.parametrize(("surface", "journey"), _params())
async def test_journey(surface: str, journey: Journey, tmp_path: Path) -> None:
    await runner.run(journey, surface, tmp_path)

"""REPORTBOT_OUTBOX_LEASE: how long an instance's claim on an outbox item lasts, which is how
long a dead instance's replies wait before another instance sends them."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from store_helpers import QuietPlatform

from adapters.compose import OUTBOX_LEASE, outbox_lease, runtime_for
from bot.config import Settings
from bot.errors import ConfigError
from bot.model import Platform

Silent = QuietPlatform


async def test_the_lease_reaches_the_engine_and_every_courier(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    async with runtime_for(settings, env={OUTBOX_LEASE: "7.5"}) as runtime:
        courier = runtime.add_platform(Platform.SLACK, Silent(), Silent(), start=False)
        assert runtime.engine.lease == courier.lease == timedelta(seconds=7.5)


def test_unset_it_is_two_minutes() -> None:
    assert outbox_lease({}) == outbox_lease({OUTBOX_LEASE: " "}) == timedelta(minutes=2)


@pytest.mark.parametrize("value", ["0", "0.5", "-3", "soon", "nan", "3601"])
def test_a_lease_that_is_no_sensible_number_of_seconds_is_refused_by_name(value: str) -> None:
    with pytest.raises(ConfigError, match=f"{OUTBOX_LEASE} must be a number of seconds"):
        outbox_lease({OUTBOX_LEASE: value})

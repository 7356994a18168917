"""The school's settings file: read once, checked at start-up, errors that name the setting."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.config import Settings, load_settings
from bot.errors import ConfigError
from bot.model import PoshOwner


def settings_from(tmp_path: Path, text: str) -> Settings:
    path = tmp_path / "reportbot.toml"
    path.write_text(text)
    return load_settings({"REPORTBOT_CONFIG": str(path)})


def test_a_school_names_itself_and_overrides_a_fact(tmp_path: Path) -> None:
    s = settings_from(
        tmp_path,
        '[school]\nname = "Example Academy"\n[facts]\nunion_contact = "NAHT"\n'
        "[conversations]\nexpiry_hours = 12\n",
    )
    assert s.facts.school_name == "Example Academy"
    assert s.facts.union_contact == "NAHT"
    assert s.facts.posh_phone == "0344 381 4772"
    assert s.expiry == timedelta(hours=12)


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("[facts]\nposh_fax = 1\n", "posh_fax"),
        ('[facts]\nposh_opens = "10am"\n', "posh_opens"),
        ("[conversations]\nexpiry_hours = -1\n", "expiry_hours"),
        ('[retention]\nstaff_allegation = "ten"\n', "staff_allegation"),
        ("not toml at all [", "could not be read"),
    ],
)
def test_a_malformed_setting_stops_start_up_naming_it(
    tmp_path: Path, text: str, named: str
) -> None:
    with pytest.raises(ConfigError, match=named):
        settings_from(tmp_path, text)


def test_a_missing_config_file_named_by_the_environment_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="REPORTBOT_CONFIG"):
        load_settings({"REPORTBOT_CONFIG": str(tmp_path / "nope.toml")})


def test_a_school_can_make_the_reporter_contact_posh_by_default(tmp_path: Path) -> None:
    assert settings_from(tmp_path, "").who_calls == PoshOwner.LEADERS
    s = settings_from(tmp_path, '[posh]\ncontact = "reporter"\n')
    assert s.who_calls == PoshOwner.REPORTER
    with pytest.raises(ConfigError, match=r"\[posh\] contact"):
        settings_from(tmp_path, '[posh]\ncontact = "whoever"\n')

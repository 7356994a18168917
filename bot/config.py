"""The school's settings: a small TOML file plus environment variables, checked at start-up.

    # reportbot.toml
    [school]
    name = "Example Academy"
    [facts]                      # any field of bot.facts.Facts
    union_contact = "NAHT regional office, 0300 30 30 111"
    [conversations]
    expiry_hours = 24
    [posh]
    contact = "leaders"          # who contacts POSH by default: "leaders" or "reporter"

A missing or malformed setting stops start-up with a `ConfigError` that names it.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.errors import ConfigError
from bot.facts import Facts, facts_with
from bot.model import PoshOwner
from bot.retention import SCHEDULE, check_schedule


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("data")
    facts: Facts = field(default_factory=Facts)
    expiry: timedelta = timedelta(hours=24)
    retention: dict[str, int] = field(default_factory=lambda: dict(SCHEDULE))
    who_calls: PoshOwner = PoshOwner.LEADERS


def load_settings(env: Mapping[str, str] | None = None, data_dir: str | None = None) -> Settings:
    env = os.environ if env is None else env
    path = _config_path(env)
    doc = _read_toml(path) if path else {}
    facts_doc = dict(_table(doc, "facts", path))
    school = _table(doc, "school", path)
    if "name" in school:
        facts_doc["school_name"] = school["name"]
    try:
        facts = facts_with(facts_doc)
    except KeyError as e:
        raise ConfigError(f"{path}: unknown setting in [facts]: {e}") from None
    except (TypeError, ValueError) as e:
        raise ConfigError(f"{path}: [facts] {e}") from None
    hours = _table(doc, "conversations", path).get("expiry_hours", 24)
    if not isinstance(hours, int | float) or hours <= 0:
        raise ConfigError(f"{path}: [conversations] expiry_hours must be a positive number")
    retention = check_schedule({**SCHEDULE, **_table(doc, "retention", path)})
    folder = data_dir or env.get("REPORTBOT_DATA_DIR") or "data"
    who_calls = _who_calls(_table(doc, "posh", path), path)
    return Settings(Path(folder), facts, timedelta(hours=hours), retention, who_calls)


def _who_calls(table: dict[str, Any], path: Path | None) -> PoshOwner:
    value = str(table.get("contact", "leaders")).strip().lower()
    try:
        return PoshOwner(value)
    except ValueError:
        raise ConfigError(
            f'{path}: [posh] contact must be "leaders" (the leadership team contacts POSH) or '
            f'"reporter" (the member of staff who reports it), not {value!r}'
        ) from None


def _config_path(env: Mapping[str, str]) -> Path | None:
    named = env.get("REPORTBOT_CONFIG")
    if named:
        if not Path(named).is_file():
            raise ConfigError(f"REPORTBOT_CONFIG points to {named}, which is not a file")
        return Path(named)
    default = Path("reportbot.toml")
    return default if default.is_file() else None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"{path} could not be read: {e}") from None


def _table(doc: dict[str, Any], name: str, path: Path | None) -> dict[str, Any]:
    value = doc.get(name, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: [{name}] must be a table")
    return value

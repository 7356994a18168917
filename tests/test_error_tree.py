"""One error tree: every exception class in bot/, storage/ and adapters/ derives from
`ReportBotError` and is named in the diagram at the top of bot/errors.py, so a new one can
neither escape the tree nor go undocumented."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import adapters
import bot
import storage
from bot import errors
from bot.errors import ReportBotError

# Classes left outside the tree, each with its reason. Keep this short.
OUTSIDE: set[str] = set()  # classes left outside the tree, each with its reason: none


def _modules() -> list[str]:
    names = []
    for package in (bot, storage, adapters):
        prefix = package.__name__ + "."
        for info in pkgutil.walk_packages(package.__path__, prefix):
            # Run, not imported: the launcher, and the scripts Alembic runs in its own context.
            if not info.name.endswith(".__main__") and ".migrations" not in info.name:
                names.append(info.name)
    return names


def _exception_classes() -> dict[str, type[BaseException]]:
    """Every exception class defined (not just imported) in the project's modules."""
    found = {}
    for name in _modules():
        module = importlib.import_module(name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, BaseException) and cls.__module__ == name:
                found[f"{name}.{cls.__qualname__}"] = cls
    return found


def test_the_walk_finds_the_modules_and_classes_it_must() -> None:
    """Guards the test itself: a walk that found nothing would pass anything."""
    found = _exception_classes()
    assert {"bot.errors.InvalidMove", "adapters.slack.client.SlackRefused"} <= set(found)
    assert "adapters.teams.tokens.Unauthorized" in found
    assert len(found) >= 20
    assert all(Path(importlib.import_module(n).__file__ or "").exists() for n in _modules())


def test_every_exception_class_derives_from_reportbot_error() -> None:
    escaped = sorted(
        name
        for name, cls in _exception_classes().items()
        if not issubclass(cls, ReportBotError) and name not in OUTSIDE
    )
    assert escaped == [], "derive these from a class in bot/errors.py"


def test_every_exception_class_is_in_the_documented_tree() -> None:
    # The diagram's names: the root, indented four spaces, then each after its branch "── ".
    drawn = set(re.findall(r"(?:^    |── )([A-Z]\w+)", errors.__doc__ or "", re.MULTILINE))
    assert "ReportBotError" in drawn and "ReasonNeeded" in drawn
    missing = sorted(
        name
        for name, cls in _exception_classes().items()
        if name not in OUTSIDE and cls.__name__ not in drawn
    )
    assert missing == [], "add these to the diagram at the top of bot/errors.py"


def test_the_exemptions_still_exist() -> None:
    """An exemption for a class that is gone, or now in the tree, is removed, not kept."""
    found = _exception_classes()
    assert all(name in found for name in OUTSIDE)
    assert not any(issubclass(found[name], ReportBotError) for name in OUTSIDE)

"""What `reportbot serve` says when nothing is configured: right, and pointing at real headings."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from adapters.compose import build_runtime
from adapters.server import NOTHING_CONFIGURED, serve
from bot.config import Settings
from bot.errors import ConfigError
from storage.memory import MemoryStore

README = Path(__file__).resolve().parents[1] / "README.md"


async def test_serve_with_nothing_configured_says_what_to_set() -> None:
    with pytest.raises(ConfigError) as raised:
        await serve(build_runtime(Settings(), MemoryStore()), {}, 0)
    assert str(raised.value) == NOTHING_CONFIGURED


def test_the_message_names_readme_headings_that_exist() -> None:
    headings = {
        line.lstrip("#").strip()
        for line in README.read_text(encoding="utf-8").splitlines()
        if line.startswith("#")
    }
    named = re.findall(r'"([^"]+)"', NOTHING_CONFIGURED)
    assert named and all(name in headings for name in named), named

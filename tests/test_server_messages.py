"""`reportbot serve` stopping at start-up: what it says, and that it leaves nothing open."""

from __future__ import annotations

import re
from pathlib import Path

import aiohttp
import pytest
from slack_fakes import oauth_env, slack_env

import adapters.slack
from adapters.compose import build_runtime, runtime_for
from adapters.server import NOTHING_CONFIGURED, build_app, serve
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


def _sessions(monkeypatch: pytest.MonkeyPatch) -> list[aiohttp.ClientSession]:
    """Every aiohttp session Slack's attach opens (else: "Unclosed client session" at exit)."""
    made: list[aiohttp.ClientSession] = []
    real = aiohttp.ClientSession

    def session(**kw: object) -> aiohttp.ClientSession:
        made.append(real(**kw))  # type: ignore[arg-type]
        return made[-1]

    monkeypatch.setattr(adapters.slack.aiohttp, "ClientSession", session)
    return made


async def test_no_secret_key_stops_start_up_with_slack_s_session_closed(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = _sessions(monkeypatch)
    env = oauth_env("http://127.0.0.1:9/api/", pg_url)
    del env["REPORTBOT_SECRET_KEY"]
    async with runtime_for(Settings(), env=env) as runtime:
        with pytest.raises(ConfigError, match="REPORTBOT_SECRET_KEY is not set"):
            await build_app(runtime, env)
    assert made and all(s.closed for s in made)


async def test_a_teams_mistake_stops_start_up_with_slack_s_session_closed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made = _sessions(monkeypatch)
    env = {**slack_env("http://127.0.0.1:9/api/"), "MicrosoftAppPassword": "x"}  # no app id
    runtime = build_runtime(Settings(), MemoryStore())
    try:
        with pytest.raises(ConfigError, match="MicrosoftAppId is empty"):
            await build_app(runtime, env)
    finally:
        await runtime.close()
    assert made and all(s.closed for s in made)

"""Settings, the manifest, and attaching to the server."""

from __future__ import annotations

import json

import pytest
from aiohttp import web
from slack_fakes import BOT_TOKEN, LEADERS, SECRET

from adapters.compose import build_runtime
from adapters.server import build_app
from adapters.slack import config, manifest
from bot.config import Settings
from bot.errors import ConfigError
from storage.memory import MemoryStore

GOOD = {
    "SLACK_BOT_TOKEN": BOT_TOKEN,
    "SLACK_SIGNING_SECRET": SECRET,
    "SLACK_LEADERSHIP_CHANNEL": LEADERS,
}


def test_no_slack_settings_means_slack_is_not_configured() -> None:
    assert config.load({"PATH": "/bin", "MicrosoftAppId": "x"}) is None


def test_good_settings_load() -> None:
    settings = config.load(GOOD)
    assert settings is not None and not settings.socket_mode
    assert settings.api_url == "https://slack.com/api/"


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"SLACK_BOT_TOKEN": ""}, "SLACK_BOT_TOKEN"),
        ({"SLACK_BOT_TOKEN": "xoxp-user-token"}, "SLACK_BOT_TOKEN"),
        ({"SLACK_SIGNING_SECRET": ""}, "SLACK_SIGNING_SECRET"),
        ({"SLACK_LEADERSHIP_CHANNEL": "#leadership"}, "SLACK_LEADERSHIP_CHANNEL"),
        ({"SLACK_LEADERSHIP_CHANNEL": ""}, "SLACK_LEADERSHIP_CHANNEL"),
        ({"SLACK_APP_TOKEN": "xoxb-wrong"}, "SLACK_APP_TOKEN"),
        ({"SLACK_API_URL": "slack.com"}, "SLACK_API_URL"),
        ({"SLACK_API_TIMEOUT": "soon"}, "SLACK_API_TIMEOUT"),
    ],
)
def test_a_missing_or_malformed_setting_is_named(change: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=named) as caught:
        config.load({**GOOD, **change})
    assert SECRET not in str(caught.value) and BOT_TOKEN not in str(caught.value)


def test_socket_mode_needs_no_signing_secret() -> None:
    env = {**GOOD, "SLACK_APP_TOKEN": "xapp-1-A0-1-abc", "SLACK_SIGNING_SECRET": ""}
    settings = config.load(env)
    assert settings is not None and settings.socket_mode and settings.signing_secret == ""


async def test_attach_returns_none_without_slack_and_stops_on_a_bad_setting() -> None:
    runtime = build_runtime(Settings(), MemoryStore())
    app, attached = await build_app(runtime, {})
    assert attached == [] and isinstance(app, web.Application)
    with pytest.raises(ConfigError, match="SLACK_SIGNING_SECRET"):
        await build_app(
            runtime, {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_LEADERSHIP_CHANNEL": LEADERS}
        )


def test_the_manifest_for_a_public_url() -> None:
    doc = json.loads(manifest.render(url="https://bot.example.sch.uk/"))
    url = "https://bot.example.sch.uk/slack/events"
    assert doc["features"]["slash_commands"][0]["command"] == "/report-tiktok"
    assert doc["features"]["slash_commands"][0]["url"] == url
    assert doc["settings"]["event_subscriptions"]["request_url"] == url
    assert doc["settings"]["interactivity"] == {"is_enabled": True, "request_url": url}
    assert set(doc["settings"]["event_subscriptions"]["bot_events"]) == {
        "message.im",
        "app_home_opened",
    }
    scopes = set(doc["oauth_config"]["scopes"]["bot"])
    assert {
        "commands",
        "chat:write",
        "im:history",
        "im:write",
        "groups:read",
        "users:read.email",
        "files:write",
    } <= scopes
    assert doc["features"]["app_home"]["messages_tab_enabled"] is True
    assert doc["settings"]["socket_mode_enabled"] is False


def test_the_manifest_for_socket_mode_has_no_urls() -> None:
    text = manifest.render(socket_mode=True)
    doc = json.loads(text)
    assert doc["settings"]["socket_mode_enabled"] is True and "REQUEST_URL" not in text
    assert "request_url" not in doc["settings"]["interactivity"]


@pytest.mark.parametrize("url", ["http://bot.example.sch.uk", "bot.example.sch.uk", ""])
def test_the_manifest_needs_an_https_url(url: str) -> None:
    with pytest.raises(ConfigError):
        manifest.render(url=url)


def test_the_cli_prints_the_manifest(capsys: pytest.CaptureFixture[str]) -> None:
    from adapters.cli import main

    assert main(["slack-manifest", "--url", "https://bot.example.sch.uk"]) == 0
    assert "https://bot.example.sch.uk/slack/events" in capsys.readouterr().out


def test_the_manifest_for_many_schools_installs_through_oauth(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from adapters.cli import main

    assert main(["slack-manifest", "--url", "https://bots.trust.example/", "--distributed"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["oauth_config"]["redirect_urls"] == [
        "https://bots.trust.example/slack/oauth_redirect"
    ]
    events = doc["settings"]["event_subscriptions"]
    assert events["request_url"] == "https://bots.trust.example/slack/events"
    assert {"app_uninstalled", "tokens_revoked"} <= set(events["bot_events"])
    assert doc["settings"]["socket_mode_enabled"] is False
    assert doc["settings"]["org_deploy_enabled"] is True
    single = json.loads(manifest.render(url="https://bots.trust.example/"))
    assert "redirect_urls" not in single["oauth_config"]  # one school: no OAuth install
    with pytest.raises(ConfigError, match="over HTTP"):
        manifest.render(socket_mode=True, distributed=True)

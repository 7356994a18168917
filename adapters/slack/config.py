"""Slack settings from the environment, checked once at start-up.

A missing or malformed value stops the bot with a `ConfigError` that names the variable and
says where to find it; values themselves are never echoed, because they are secrets.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from urllib.parse import urlparse

from bot.errors import ConfigError

DEFAULT_API_URL = "https://slack.com/api/"
EVENTS_PATH = "/slack/events"
INSTALL_PATH = "/slack/install"  # many schools: Bolt's OAuth install (adapters.slack.oauth)
REDIRECT_PATH = "/slack/oauth_redirect"  # where Slack sends the installer back
NAMES = (
    "SLACK_CLIENT_ID",
    "SLACK_CLIENT_SECRET",
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_LEADERSHIP_CHANNEL",
    "SLACK_APP_TOKEN",
    "SLACK_API_URL",
    "SLACK_API_TIMEOUT",
)
_WHERE = MappingProxyType(
    {
        "SLACK_BOT_TOKEN": "the Bot User OAuth Token (starts xoxb-), on your Slack app's "
        "OAuth & Permissions page",
        "SLACK_SIGNING_SECRET": "the Signing Secret, on your Slack app's Basic Information page",
        "SLACK_LEADERSHIP_CHANNEL": "the leadership channel's ID (e.g. C0123ABCDEF): open the "
        "channel, click its name, and copy the Channel ID at the bottom",
        "SLACK_APP_TOKEN": "an App-Level Token with connections:write (starts xapp-), on your "
        "Slack app's Basic Information page",
        "SLACK_CLIENT_ID": "the Client ID, on your Slack app's Basic Information page (App "
        "Credentials)",
        "SLACK_CLIENT_SECRET": "the Client Secret, on your Slack app's Basic Information page "
        "(App Credentials)",
    }
)
# With SLACK_CLIENT_ID (many schools, each installing through OAuth) these belong to a
# deployment for one school, and would be ignored: refused instead, saying why.
ONE_SCHOOL_ONLY = MappingProxyType(
    {
        "SLACK_BOT_TOKEN": "each school's token comes from its install",
        "SLACK_LEADERSHIP_CHANNEL": "each school chooses its channel with /report-tiktok setup",
        "SLACK_APP_TOKEN": "Socket Mode sends each event to one random connection and is not "
        "allowed for apps in the Slack Marketplace: many schools are served over HTTP",
    }
)
_CHANNEL = re.compile(r"[CG][A-Z0-9]{6,}")


@dataclass(frozen=True)
class SlackConfig:
    bot_token: str
    signing_secret: str
    leadership_channel: str
    app_token: str = ""
    api_url: str = DEFAULT_API_URL
    api_timeout: float = 10.0
    client_id: str = ""  # many schools: Slack's OAuth install
    client_secret: str = ""

    @property
    def socket_mode(self) -> bool:
        return bool(self.app_token)

    @property
    def oauth(self) -> bool:
        return bool(self.client_id)


def load(env: Mapping[str, str]) -> SlackConfig | None:
    """The Slack settings, or None when the school has not set Slack up at all."""
    if not any(env.get(name, "").strip() for name in NAMES):
        return None
    if env.get("SLACK_CLIENT_ID", "").strip():
        return _many_schools(env)
    app_token = _optional(env, "SLACK_APP_TOKEN", prefix="xapp-")
    return SlackConfig(
        bot_token=_required(env, "SLACK_BOT_TOKEN", prefix="xoxb-"),
        # Socket Mode traffic is authenticated by the app token, so the secret is optional there.
        signing_secret=(
            _optional(env, "SLACK_SIGNING_SECRET")
            if app_token
            else _required(env, "SLACK_SIGNING_SECRET")
        ),
        leadership_channel=_channel(env),
        app_token=app_token,
        api_url=_api_url(env),
        api_timeout=_timeout(env),
    )


def _many_schools(env: Mapping[str, str]) -> SlackConfig:
    """Many schools, each installing the app through OAuth (HTTP mode only)."""
    for name, why in ONE_SCHOOL_ONLY.items():
        if env.get(name, "").strip():
            raise ConfigError(f"{name} cannot be used with SLACK_CLIENT_ID: {why}. Unset it.")
    return SlackConfig(
        bot_token="",
        signing_secret=_required(env, "SLACK_SIGNING_SECRET"),
        leadership_channel="",
        api_url=_api_url(env),
        api_timeout=_timeout(env),
        client_id=_required(env, "SLACK_CLIENT_ID"),
        client_secret=_required(env, "SLACK_CLIENT_SECRET"),
    )


def _required(env: Mapping[str, str], name: str, prefix: str = "") -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigError(f"{name} is not set. Set it to {_WHERE[name]}.")
    return _checked(name, value, prefix)


def _optional(env: Mapping[str, str], name: str, prefix: str = "") -> str:
    value = env.get(name, "").strip()
    return _checked(name, value, prefix) if value else ""


def _checked(name: str, value: str, prefix: str) -> str:
    if prefix and not value.startswith(prefix):
        raise ConfigError(f"{name} does not look right: it should be {_WHERE[name]}.")
    if any(ch.isspace() for ch in value):
        raise ConfigError(f"{name} contains spaces: copy it again as {_WHERE[name]}.")
    return value


def _channel(env: Mapping[str, str]) -> str:
    value = _required(env, "SLACK_LEADERSHIP_CHANNEL")
    if value.startswith("#") or not _CHANNEL.fullmatch(value):
        raise ConfigError(
            "SLACK_LEADERSHIP_CHANNEL must be a channel ID, not a name. Set it to "
            + _WHERE["SLACK_LEADERSHIP_CHANNEL"]
            + "."
        )
    return value


def _api_url(env: Mapping[str, str]) -> str:
    value = env.get("SLACK_API_URL", "").strip() or DEFAULT_API_URL
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigError("SLACK_API_URL must be a web address such as https://slack.com/api/")
    return value if value.endswith("/") else value + "/"


def _timeout(env: Mapping[str, str]) -> float:
    value = env.get("SLACK_API_TIMEOUT", "").strip()
    if not value:
        return 10.0
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds <= 120:
        raise ConfigError("SLACK_API_TIMEOUT must be a number of seconds between 0 and 120")
    return seconds

"""`reportbot slack-manifest`: the Slack app manifest, with the request URLs filled in.

The template (`manifest.json`, beside this file) lists every scope the bot uses and why:
commands, chat:write, im:history/im:write (the DM conversation), groups:read/channels:read
(is the leadership channel private; who is in it), groups:history (after an outage, find a
leadership post that did go out, rather than post it twice), users:read/users:read.email
(the reporter's name and email for the report), files:write (a leader's export, case report
or subject access bundle, uploaded into their DM).

`--distributed` is the app that many schools install through OAuth (SLACK_CLIENT_ID): the
same, with the OAuth redirect URL, the app_uninstalled and tokens_revoked events (their tokens
are deleted; adapters.slack.oauth) and org-wide installs for Enterprise Grid. It has no Socket
Mode: Slack sends each Socket Mode event to one random connection, and the Slack Marketplace
does not allow it.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any
from urllib.parse import urlparse

from adapters.slack.config import EVENTS_PATH, REDIRECT_PATH
from bot.errors import ConfigError

REMOVAL_EVENTS = ("app_uninstalled", "tokens_revoked")


def render(*, url: str | None = None, socket_mode: bool = False, distributed: bool = False) -> str:
    """The manifest as JSON, for Slack's "Create New App > From an app manifest"."""
    manifest = _template()
    if distributed and (socket_mode or not url):
        raise ConfigError(
            "a distributed app (many schools) is served over HTTP: give --url https://…, "
            "without --socket-mode"
        )
    if socket_mode:
        _for_socket_mode(manifest)
    elif url:
        _fill(manifest, events_url(url))
    else:
        raise ConfigError("give the bot's public address (--url https://…) or --socket-mode")
    if distributed:
        _for_many_schools(manifest, events_url(url or ""))
    return json.dumps(manifest, indent=2, ensure_ascii=False)


def bot_scopes() -> list[str]:
    """The bot scopes the app asks for (an OAuth install asks for the same)."""
    scopes: list[str] = _template()["oauth_config"]["scopes"]["bot"]
    return scopes


def events_url(base: str) -> str:
    parsed = urlparse(base.strip())
    if parsed.scheme != "https" or not parsed.netloc:
        raise ConfigError(f"--url must be an https:// address that Slack can reach, not {base!r}")
    path = parsed.path.rstrip("/")
    if path.endswith(EVENTS_PATH):
        path = path[: -len(EVENTS_PATH)]
    return f"https://{parsed.netloc}{path}{EVENTS_PATH}"


def _template() -> dict[str, Any]:
    text = resources.files("adapters.slack").joinpath("manifest.json").read_text("utf-8")
    manifest: dict[str, Any] = json.loads(text)
    return manifest


def _fill(manifest: dict[str, Any], url: str) -> None:
    for command in manifest["features"]["slash_commands"]:
        command["url"] = url
    manifest["settings"]["event_subscriptions"]["request_url"] = url
    manifest["settings"]["interactivity"]["request_url"] = url


def _for_socket_mode(manifest: dict[str, Any]) -> None:
    """Socket Mode needs no request URLs: Slack sends everything down the bot's WebSocket."""
    for command in manifest["features"]["slash_commands"]:
        del command["url"]
    del manifest["settings"]["event_subscriptions"]["request_url"]
    del manifest["settings"]["interactivity"]["request_url"]
    manifest["settings"]["socket_mode_enabled"] = True


def _for_many_schools(manifest: dict[str, Any], events: str) -> None:
    """Installed by each school through OAuth, its tokens deleted when it removes the app."""
    base = events.removesuffix(EVENTS_PATH)
    manifest["oauth_config"]["redirect_urls"] = [f"{base}{REDIRECT_PATH}"]
    manifest["settings"]["event_subscriptions"]["bot_events"] += list(REMOVAL_EVENTS)
    manifest["settings"]["org_deploy_enabled"] = True

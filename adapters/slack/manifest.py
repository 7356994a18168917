"""`reportbot slack-manifest`: the Slack app manifest, with the request URLs filled in.

The template (`manifest.json`, beside this file) lists every scope the bot uses and why:
commands, chat:write, im:history/im:write (the DM conversation), groups:read/channels:read
(is the leadership channel private; who is in it), groups:history (after an outage, find a
leadership post that did go out, rather than post it twice), users:read/users:read.email
(the reporter's name and email for the report), files:write (a leader's export, case report
or subject access bundle, uploaded into their DM).
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any
from urllib.parse import urlparse

from adapters.slack.config import EVENTS_PATH
from bot.errors import ConfigError

PLACEHOLDER = "REQUEST_URL"


def render(*, url: str | None = None, socket_mode: bool = False) -> str:
    """The manifest as JSON, for Slack's "Create New App > From an app manifest"."""
    manifest = _template()
    if socket_mode:
        _for_socket_mode(manifest)
    elif url:
        _fill(manifest, events_url(url))
    else:
        raise ConfigError("give the bot's public address (--url https://…) or --socket-mode")
    return json.dumps(manifest, indent=2, ensure_ascii=False)


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

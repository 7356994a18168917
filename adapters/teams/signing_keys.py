"""Bot Framework's token signing keys, fetched on a worker thread with a timeout.

botbuilder validates each inbound token against keys from an OpenID metadata document, which its
`_OpenIdMetadata._refresh` fetches with a synchronous `requests.get` and no timeout – on the
event loop, at the first authenticated request, every 24 hours, and when a token names an
unknown key. A slow or silent Microsoft endpoint would freeze every chat meanwhile. `install`
swaps that one method for one that runs the same two fetches in `asyncio.to_thread`, bounded by
a timeout, and lets one fetch serve every request waiting for it. The SDK's cache, its refresh
schedule and its use of the keys are unchanged.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any

import requests
from botframework.connector.auth import jwt_token_extractor

log = logging.getLogger(__name__)

_INFLIGHT = "_reportbot_refresh"  # attribute on a metadata object: the fetch under way


def install(timeout: float) -> None:
    """Make botbuilder's key refresh leave the event loop (idempotent; the last timeout wins)."""
    metadata_class: Any = getattr(jwt_token_extractor, "_OpenIdMetadata", None)
    if metadata_class is None or not hasattr(metadata_class, "_refresh"):
        log.warning("botbuilder's key refresh has changed; it may block the event loop")
        return

    async def refresh(metadata: Any) -> None:
        await _refresh_once(metadata, seconds=timeout)

    metadata_class._refresh = refresh


async def _refresh_once(metadata: Any, *, seconds: float) -> None:
    """One fetch at a time per metadata document; requests arriving meanwhile share it."""
    task: asyncio.Task[list[Any]] | None = getattr(metadata, _INFLIGHT, None)
    loop = asyncio.get_running_loop()
    if task is None or task.done() or task.get_loop() is not loop:
        task = loop.create_task(_fetch_off_loop(str(metadata.url), seconds=seconds))
        setattr(metadata, _INFLIGHT, task)
    keys = await asyncio.shield(task)
    metadata.keys = keys
    metadata.last_updated = datetime.now()  # naive local time, as botbuilder compares it


async def _fetch_off_loop(url: str, *, seconds: float) -> list[Any]:
    # requests' timeout bounds each connect and read; wait_for bounds the whole, two fetches.
    return await asyncio.wait_for(asyncio.to_thread(fetch_keys, url, seconds), 3 * seconds)


def fetch_keys(url: str, timeout: float) -> list[Any]:
    """The metadata document, then the keys it points to (what botbuilder fetches)."""
    response = requests.get(url, timeout=timeout)
    response.raise_for_status()
    keys_url = response.json()["jwks_uri"]
    keys = requests.get(keys_url, timeout=timeout)
    keys.raise_for_status()
    return list(keys.json()["keys"])

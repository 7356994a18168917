"""The token signing keys the Agents SDK's `JwtTokenValidator` checks inbound tokens against.

The SDK fetches them with PyJWT's `PyJWKClient` – synchronous urllib on a worker thread, under
a thread lock, for up to 30 s; a silent key endpoint would tie up the default executor that
the store's file work shares. This key source takes its place (`validator._jwk_client_manager`,
the one object the validator asks): keys come over aiohttp on the event loop, bounded by a
timeout; one fetch per address serves every request waiting for it; they are kept for a day,
and fetched again early only for an unknown key id, at most every five minutes, so forged key
ids cannot make the bot hammer Microsoft (while none are held, each request tries again, and
gets 503 – try later – if that fails). With REPORTBOT_TEAMS_OPENID_METADATA set (tests,
sovereign clouds), every key address is read from that OpenID metadata document instead.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from jwt import PyJWK, PyJWKClientError, PyJWTError

from bot.errors import PlatformError

log = logging.getLogger(__name__)

KEEP_FOR = 24 * 3600.0  # seconds a key set is trusted before it is fetched again
UNKNOWN_KEY_REFETCH = 300.0  # an unknown key id fetches again at most this often


class KeysUnavailable(PlatformError):
    """The signing keys could not be fetched (and none are held): try again later (503)."""


@dataclass
class _KeySet:
    keys: dict[str, PyJWK] = field(default_factory=dict)
    fetched: float = float("-inf")  # time.monotonic() of the last fetch


class SigningKeys:
    def __init__(self, *, timeout: float, metadata_url: str = "") -> None:
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._metadata_url = metadata_url
        self._sets: dict[str, _KeySet] = {}
        self._fetching: dict[str, asyncio.Task[dict[str, PyJWK]]] = {}
        self._session: aiohttp.ClientSession | None = None

    async def get_signing_key(self, jwks_uri: str, header: dict[str, Any]) -> PyJWK:
        """The key a token's header names, as PyJWT's client would return it."""
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise PyJWKClientError("the token names no signing key")
        held = self._sets.setdefault(jwks_uri, _KeySet())
        age = time.monotonic() - held.fetched
        stale = age > KEEP_FOR or (kid not in held.keys and age > UNKNOWN_KEY_REFETCH)
        if stale or not held.keys:
            await self._refresh(jwks_uri, held)
        key = held.keys.get(kid)
        if key is None:
            raise PyJWKClientError("the token's signing key is not one of the channel's keys")
        return key

    async def close(self) -> None:
        for task in self._fetching.values():
            task.cancel()
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _refresh(self, jwks_uri: str, held: _KeySet) -> None:
        task = self._fetching.get(jwks_uri)
        if task is None or task.done():
            task = asyncio.get_running_loop().create_task(self._fetch(jwks_uri))
            self._fetching[jwks_uri] = task
        try:
            held.keys = await asyncio.shield(task)
        except (aiohttp.ClientError, TimeoutError, ValueError, KeyError, TypeError) as e:
            log.warning("could not fetch the token signing keys (%s)", type(e).__name__)
            if not held.keys:
                raise KeysUnavailable(type(e).__name__) from None
        held.fetched = time.monotonic()

    async def _fetch(self, jwks_uri: str) -> dict[str, PyJWK]:
        if self._metadata_url:
            jwks_uri = str((await self._get(self._metadata_url))["jwks_uri"])
        keys: dict[str, PyJWK] = {}
        for doc in (await self._get(jwks_uri))["keys"]:
            try:
                keys[str(doc["kid"])] = PyJWK(doc)
            except (PyJWTError, KeyError):
                continue  # a key of a kind PyJWT cannot use: the others still serve
        return keys

    async def _get(self, url: str) -> dict[str, Any]:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        async with self._session.get(url) as response:
            response.raise_for_status()
            body = await response.json(content_type=None)
        if not isinstance(body, dict):
            raise ValueError("not a JSON object")
        return body

"""Bot Connector clients for the Agents SDK's CloudAdapter: one per service URL, kept open.

The SDK's own factory (`RestChannelServiceClientFactory`) opens a new aiohttp session – a new
connection, and a token request – for every turn and every proactive message, closes it
afterwards, and sets no timeout but aiohttp's five minutes. This factory keeps one client per
service URL for the life of the server and one token until shortly before it expires. Nothing
here retries: the courier does, honouring Retry-After. Callers bound each call with their own
timeout; the session's limit is only the longest wait for a late answer.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import jwt
from microsoft_agents.hosting.core import ClaimsIdentity, TurnContext
from microsoft_agents.hosting.core.authorization import AuthenticationConstants, Connections
from microsoft_agents.hosting.core.connector.client import UserTokenClient
from microsoft_agents.hosting.core.connector.teams import TeamsConnectorClient

from adapters import json_body
from adapters.teams.failures import NoToken

SCOPE = AuthenticationConstants.AGENTS_SDK_SCOPE  # the Bot Connector's audience
REFRESH_BEFORE = 300.0  # seconds before a token expires that a new one is fetched
UNKNOWN_LIFETIME = 600.0  # a token that does not say when it expires is kept this long
TOKEN_SERVICE = AuthenticationConstants.AGENTS_SDK_OAUTH_URL


class KeptClient(TeamsConnectorClient):
    """A connector client the adapter may close after each turn: its session stays open."""

    async def close(self) -> None:
        return None

    async def shut(self) -> None:
        await self.client.close()


class KeptUserTokenClient(UserTokenClient):
    """The adapter builds one per turn for sign-in flows, which this bot does not use."""

    async def close(self) -> None:
        return None

    async def shut(self) -> None:
        await self.client.close()


class ConnectorClients:
    """The adapter's `ChannelServiceClientFactoryBase`, and the bot's own roster look-ups."""

    def __init__(self, connections: Connections | None, app_id: str, *, late_limit: float) -> None:
        self._connections = connections  # None: development mode, no token at all
        self._app_id = app_id
        self._timeout = aiohttp.ClientTimeout(total=late_limit, connect=min(late_limit, 30.0))
        self._clients: dict[str, KeptClient] = {}
        self._user_tokens: KeptUserTokenClient | None = None
        self._token = ""
        self._expires = 0.0
        self._token_lock = asyncio.Lock()

    async def create_connector_client(
        self,
        context: TurnContext | None,
        claims_identity: ClaimsIdentity,
        service_url: str,
        audience: str,
        scopes: list[str] | None = None,
        use_anonymous: bool = False,
    ) -> KeptClient:
        """For the adapter's turns, which send nothing themselves (apologies aside): the client
        with the token it has; sends get a fresh one through `for_service` first."""
        return self._client(service_url)

    async def create_user_token_client(
        self, context: TurnContext, claims_identity: ClaimsIdentity, use_anonymous: bool = False
    ) -> KeptUserTokenClient:
        if self._user_tokens is None:
            session = aiohttp.ClientSession(
                base_url=TOKEN_SERVICE + "/", timeout=self._timeout, json_serialize=json_body.dumps
            )
            self._user_tokens = KeptUserTokenClient(
                TOKEN_SERVICE, "", app_id=self._app_id or "anonymous", session=session
            )
        return self._user_tokens

    async def for_service(self, service_url: str) -> KeptClient:
        """The client for one Bot Connector, with a current token (raises NoToken)."""
        await self._bearer()
        return self._client(service_url)

    def _client(self, service_url: str) -> KeptClient:
        client = self._clients.get(service_url)
        if client is None:
            base = service_url if service_url.endswith("/") else service_url + "/"
            session = aiohttp.ClientSession(
                base_url=base, timeout=self._timeout, json_serialize=json_body.dumps
            )
            client = KeptClient(base, self._token, session=session)
            self._clients[service_url] = client
        elif self._token:
            client.client.headers["Authorization"] = f"Bearer {self._token}"
        return client

    async def close(self) -> None:
        kept: list[Any] = [*self._clients.values(), self._user_tokens]
        self._clients, self._user_tokens = {}, None
        await asyncio.gather(*(c.shut() for c in kept if c is not None))

    async def _bearer(self) -> str:
        if self._connections is None:
            return ""
        if time.monotonic() < self._expires - REFRESH_BEFORE:
            return self._token
        async with self._token_lock:  # one token request at a time, shared by all waiting
            if time.monotonic() >= self._expires - REFRESH_BEFORE:
                self._token = await self._fetch_token()
                self._expires = time.monotonic() + _lifetime(self._token)
        return self._token

    async def _fetch_token(self) -> str:
        """MSAL's token, on a worker thread; any failure is NoToken.

        The SDK's `MsalAuth` runs MSAL's token call on a thread, but builds MSAL's client – which
        fetches the authority's OpenID configuration, a blocking round trip to Azure AD – on the
        event loop, so the whole call runs on a worker thread, in a loop of its own.
        """
        assert self._connections is not None
        provider = self._connections.get_default_connection()

        def fetch() -> str:
            return str(asyncio.run(provider.get_access_token(SCOPE, [f"{SCOPE}/.default"])))

        try:
            token = await asyncio.to_thread(fetch)
        except Exception as e:  # MSAL's ValueError, or requests' errors: neither is logged
            raise NoToken(type(e).__name__) from None
        if not token or token == "None":
            raise NoToken("empty token")
        return token


def _lifetime(token: str) -> float:
    """Seconds until the token expires, read from its own `exp` (it is not verified here)."""
    try:
        expires = float(jwt.decode(token, options={"verify_signature": False})["exp"])
    except (jwt.PyJWTError, KeyError, TypeError, ValueError):
        return UNKNOWN_LIFETIME
    return max(0.0, expires - time.time())

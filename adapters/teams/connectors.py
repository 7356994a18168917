"""Bot Connector clients, built once per service URL and reused, with retries left to the outbox.

botbuilder's connector factory builds a new client – a new msrest retry policy, new credentials
and so a new token cache – for every inbound turn and every proactive message (GUIDE §5). This
wrapper around the SDK's authentication keeps one client per (app id, service URL, audience).
Each client is set to fail fast: no retries inside msrest (the courier retries, honouring
Retry-After, and never loses the item) and a bounded timeout instead of msrest's 100 s.
"""

from __future__ import annotations

import asyncio
from typing import Any

from botbuilder.schema import Activity
from botframework.connector.aio import ConnectorClient
from botframework.connector.auth import (
    AuthenticateRequestResult,
    AuthenticationConstants,
    BotFrameworkAuthentication,
    ClaimsIdentity,
    ConnectorFactory,
    UserTokenClient,
)

ClientKey = tuple[str, str, str]


class CachingAuthentication(BotFrameworkAuthentication):  # type: ignore[misc]
    def __init__(self, inner: BotFrameworkAuthentication, *, timeout: float) -> None:
        self._inner = inner
        self._timeout = timeout
        self._clients: dict[ClientKey, ConnectorClient] = {}

    async def connector(self, service_url: str, app_id: str) -> ConnectorClient:
        """A client for calls the bot makes on its own (membership checks)."""
        claims = ClaimsIdentity(
            {
                AuthenticationConstants.AUDIENCE_CLAIM: app_id,
                AuthenticationConstants.APP_ID_CLAIM: app_id,
            },
            True,
        )
        client = await self.create_connector_factory(claims).create(service_url, None)
        await warm_token(client)
        return client

    async def authenticate_request(
        self, activity: Activity, auth_header: str
    ) -> AuthenticateRequestResult:
        result = await self._inner.authenticate_request(activity, auth_header)
        if result.connector_factory is not None:
            result.connector_factory = _CachingFactory(
                self, result.connector_factory, _app_id(result.claims_identity)
            )
        return result

    def create_connector_factory(self, claims_identity: ClaimsIdentity) -> ConnectorFactory:
        inner = self._inner.create_connector_factory(claims_identity)
        return _CachingFactory(self, inner, _app_id(claims_identity))

    async def authenticate_streaming_request(
        self, auth_header: str, channel_id_header: str
    ) -> AuthenticateRequestResult:
        return await self._inner.authenticate_streaming_request(auth_header, channel_id_header)

    async def create_user_token_client(self, claims_identity: ClaimsIdentity) -> UserTokenClient:
        return await self._inner.create_user_token_client(claims_identity)

    def create_bot_framework_client(self) -> Any:
        return self._inner.create_bot_framework_client()

    def get_originating_audience(self) -> str:
        return str(self._inner.get_originating_audience())

    async def authenticate_channel_request(self, auth_header: str) -> ClaimsIdentity:
        return await self._inner.authenticate_channel_request(auth_header)

    async def cached_client(
        self, inner: ConnectorFactory, app_id: str, service_url: str, audience: str | None
    ) -> ConnectorClient:
        key = (app_id, service_url, audience or self.get_originating_audience())
        client = self._clients.get(key)
        if client is None:
            client = await inner.create(service_url, audience)
            _fail_fast(client, self._timeout)
            self._clients[key] = client
        return client


class _CachingFactory(ConnectorFactory):  # type: ignore[misc]
    def __init__(self, owner: CachingAuthentication, inner: ConnectorFactory, app_id: str) -> None:
        self._owner = owner
        self._inner = inner
        self._app_id = app_id

    async def create(self, service_url: str, audience: str | None = None) -> ConnectorClient:
        return await self._owner.cached_client(self._inner, self._app_id, service_url, audience)


def _app_id(claims: ClaimsIdentity | None) -> str:
    if claims is None:
        return ""
    value = claims.get_claim_value(AuthenticationConstants.AUDIENCE_CLAIM)
    value = value or claims.get_claim_value(AuthenticationConstants.APP_ID_CLAIM)
    return str(value or "")


def _fail_fast(client: ConnectorClient, timeout: float) -> None:
    retry = client.config.retry_policy
    retry.retries = 0
    retry.policy.status_forcelist = frozenset()
    client.config.connection.timeout = timeout


async def warm_token(client: ConnectorClient) -> None:
    """Fetch or refresh the bot's token on a worker thread.

    msrest signs each request synchronously on the event loop; MSAL's token call would block it
    for a network round trip once an hour. Warming here makes that call a cache hit.
    """
    credentials = client.config.credentials
    if getattr(credentials, "microsoft_app_id", None):
        await asyncio.to_thread(credentials.get_access_token)

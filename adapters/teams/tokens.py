"""Inbound authentication: the Bot Connector's token on each activity, checked by the SDK.

The Agents SDK's `JwtTokenValidator` checks the signature (RS256, against `SigningKeys`), the
expiry (with its five minutes' leeway), the audience (the bot's app id) and – with the
connection's VALIDATE_ISSUER, which `TeamsConfig.sdk_env` turns on – the issuer. Bot Framework
also requires what the SDK leaves out: the token's `serviceurl` claim must be the activity's
`serviceUrl`, so a token issued for one conversation's Bot Connector cannot send the bot's
replies (and the case they carry) to an address of the sender's choosing.
"""

from __future__ import annotations

import logging

from microsoft_agents.activity import Activity
from microsoft_agents.hosting.core import AgentAuthConfiguration, ClaimsIdentity
from microsoft_agents.hosting.core.authorization import AuthenticationConstants
from microsoft_agents.hosting.core.authorization.jwt import JwtTokenValidator

from adapters.teams.signing_keys import KeysUnavailable, SigningKeys
from bot.errors import PlatformError

log = logging.getLogger(__name__)

MAX_TOKEN = 16_384  # Bot Framework tokens are about 1.5 KB; a huge header is not one


class Unauthorized(PlatformError):
    """No valid token: the request gets 401 and the bot never sees it."""


class Tokens:
    def __init__(self, configuration: AgentAuthConfiguration, keys: SigningKeys) -> None:
        self._validator = JwtTokenValidator(configuration)
        # The one object the validator asks for keys: ours fetches them without blocking.
        self._validator._jwk_client_manager = keys  # type: ignore[assignment]

    async def claims(self, authorization: str, activity: Activity) -> ClaimsIdentity:
        """The token's claims; raises Unauthorized, or KeysUnavailable (try again, 503)."""
        token = _bearer(authorization)
        try:
            claims = await self._validator.validate_token(token)
        except KeysUnavailable:
            raise
        except Exception as e:  # PyJWT's errors and the SDK's ValueErrors; never their text
            log.warning("refused a token (%s)", type(e).__name__)
            raise Unauthorized from None
        service_url = claims.get_claim_value(AuthenticationConstants.SERVICE_URL_CLAIM)
        if not isinstance(service_url, str) or not _same_url(service_url, activity.service_url):
            log.warning("refused a token issued for another serviceUrl")
            raise Unauthorized
        return claims


def _bearer(authorization: str) -> str:
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > MAX_TOKEN or " " in token:
        raise Unauthorized
    return token


def _same_url(claimed: str, actual: str | None) -> bool:
    return claimed.rstrip("/").lower() == (actual or "").rstrip("/").lower()

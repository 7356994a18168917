"""The Slack Web API client, and what its failures mean for the courier.

The client's own retry handlers are switched off: the durable outbox is the one place that
retries (with backoff, honouring Retry-After, across restarts), so a message is never retried
twice over by two layers, and a retry is never hidden from the outbox's record.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.config import SlackConfig
from bot.errors import DeliveryRefused, RetryLater

log = logging.getLogger(__name__)

# Errors that go away by themselves, or once an administrator fixes the app's set-up; every
# other error (channel_not_found, invalid_blocks…) is permanent for that message.
TEMPORARY = frozenset(
    {
        "ratelimited",
        "internal_error",
        "fatal_error",
        "service_unavailable",
        "request_timeout",
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "token_expired",
    }
)
SETUP_PROBLEMS = frozenset({"invalid_auth", "not_authed", "account_inactive", "token_revoked"})
SETUP_RETRY_SECONDS = 300.0


def quiet_logger(name: str) -> logging.Logger:
    """A logger for slack_sdk / Bolt that never reaches DEBUG.

    At DEBUG those libraries log whole request parameters and response bodies, i.e. case text
    and user details. Pinning the level here keeps them out whatever the root level is.
    """
    logger = logging.getLogger(f"adapters.slack.{name}")
    logger.setLevel(logging.INFO)
    for kind in (_BoltTokenNotice, _NoBodies):
        if not any(isinstance(f, kind) for f in logger.filters):
            logger.addFilter(kind())
    return logger


class _BoltTokenNotice(logging.Filter):
    """Bolt reads SLACK_BOT_TOKEN from the environment by itself, then warns that the client we
    give it wins. That is what we want; the warning would only worry whoever reads the log."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


class _NoBodies(logging.Filter):
    """Bolt's "Unhandled request" warning quotes parts of the body (a block_suggestion's typed
    value). The endpoint keeps such requests from Bolt; should one get through, say only that."""

    def filter(self, record: logging.LogRecord) -> bool:
        if str(record.msg).startswith("Unhandled request"):
            record.msg, record.args = "Bolt had no listener for a request (details withheld)", ()
        return True


def make_client(
    config: SlackConfig,
    session: aiohttp.ClientSession | None = None,
    *,
    token: str | None = None,
) -> AsyncWebClient:
    return AsyncWebClient(
        token=token,
        base_url=config.api_url,
        timeout=max(1, math.ceil(config.api_timeout)),
        session=session,
        retry_handlers=[],
        logger=quiet_logger("sdk"),
    )


@asynccontextmanager
async def slack_errors(method: str, limit: float) -> AsyncIterator[None]:
    """Turn a failed API call into RetryLater (temporary) or DeliveryRefused (permanent)."""
    try:
        async with asyncio.timeout(limit):
            yield
    except SlackApiError as e:
        raise classify(method, e) from None
    except (TimeoutError, aiohttp.ClientError, OSError) as e:
        raise RetryLater(f"{method}: {type(e).__name__}") from None


def error_code(e: SlackApiError) -> str:
    data = e.response.data
    return str(data.get("error", "")) if isinstance(data, dict) else ""


class SlackRefused(DeliveryRefused):
    """A permanent refusal, with Slack's error code for callers that treat some specially."""

    def __init__(self, reason: str, code: str) -> None:
        super().__init__(reason)
        self.code = code


def classify(method: str, e: SlackApiError) -> RetryLater | SlackRefused:
    status = e.response.status_code
    code = error_code(e)
    reason = f"{method}: HTTP {status} {code}".strip()
    if status == 429 or code == "ratelimited":
        return RetryLater(reason, _retry_after(e))
    if code in SETUP_PROBLEMS:
        log.error(
            "Slack refused the bot token (%s): check SLACK_BOT_TOKEN and reinstall the app; "
            "messages are kept and retried",
            code,
        )
        return RetryLater(reason, SETUP_RETRY_SECONDS)
    if status >= 500 or code in TEMPORARY:
        return RetryLater(reason)
    return SlackRefused(reason, code)


def _retry_after(e: SlackApiError) -> float | None:
    value = e.response.headers.get("Retry-After") or e.response.headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except (TypeError, ValueError):
        return None

"""What a failed Bot Connector call means for the outbox: try again later, or never.

The Agents SDK's connector client raises aiohttp's `ClientResponseError` (with the status and
the response headers) and retries nothing; the courier is the one place that retries.
Temporary: 408, 412, 429 and 5xx, after their Retry-After when they give one; timeouts,
connection errors, no token from Azure AD. Permanent: other 4xx – except for the leadership
channel, where 401/403/404 mean the bot's registration or team membership needs fixing; a case
card then waits for the fix rather than being dropped, because a report must reach leadership.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import aiohttp

from bot.errors import DeliveryError, DeliveryRefused, PlatformError, RetryLater

log = logging.getLogger(__name__)

FIX_WAIT = 300.0  # seconds between attempts while the school fixes a setting
MAX_RETRY_AFTER = 3600.0
_TEMPORARY = {408, 412, 429}  # 412: Teams' "precondition failed" under load, retried
_NEEDS_FIXING = {401, 403, 404}


class NoToken(PlatformError):
    """Azure AD gave the bot no token (it is down, or the app id or secret is wrong)."""


def http_status(exc: BaseException) -> int | None:
    if isinstance(exc, aiohttp.ClientResponseError):
        return int(exc.status)
    return None


def classify(exc: BaseException, *, leadership: bool) -> DeliveryError | None:
    """The outbox's reading of a failure, or None for a bug (the courier logs and retries)."""
    status = http_status(exc)
    if status is not None:
        return _from_status(exc, status, leadership)
    if isinstance(exc, NoToken):
        log.error("Azure AD gave no token: check MicrosoftAppId and MicrosoftAppPassword")
        return RetryLater("no token from Azure AD", FIX_WAIT)
    if isinstance(exc, TimeoutError):
        return RetryLater("Bot Connector timed out")
    if isinstance(exc, aiohttp.ClientError | OSError):
        return RetryLater(f"Bot Connector unreachable ({type(exc).__name__})")
    return None


def _from_status(exc: BaseException, status: int, leadership: bool) -> DeliveryError:
    if status in _TEMPORARY or status >= 500:
        return RetryLater(f"Bot Connector answered {status}", retry_after(exc))
    if status == 401:
        log.error("Bot Connector refused the bot's token (401): check MicrosoftAppId/Password")
        return RetryLater("Bot Connector answered 401", FIX_WAIT)
    if leadership and status in _NEEDS_FIXING:
        log.error(
            "the leadership channel refused a case card (%d): add the bot to the leadership "
            "team again, or mention it with “use this channel”; the card waits until then",
            status,
        )
        return RetryLater(f"leadership channel answered {status}", FIX_WAIT)
    return DeliveryRefused(f"Bot Connector answered {status}")


def retry_after(exc: BaseException) -> float | None:
    """Retry-After in seconds (a number or an HTTP date), capped; None when absent or bad."""
    headers = getattr(exc, "headers", None) or {}
    raw = str(headers.get("Retry-After", "")).strip()
    if not raw:
        return None
    try:
        seconds = float(raw)
    except ValueError:
        try:
            seconds = (parsedate_to_datetime(raw) - datetime.now(UTC)).total_seconds()
        except (TypeError, ValueError):
            return None
    if seconds != seconds:  # NaN
        return None
    return min(MAX_RETRY_AFTER, max(0.0, seconds))

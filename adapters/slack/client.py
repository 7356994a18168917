"""The Slack Web API client, and what its failures mean for the courier.

The client's own retry handlers are switched off: the durable outbox is the one place that
retries (with backoff, honouring Retry-After, across restarts), so a message is never retried
twice over by two layers, and a retry is never hidden from the outbox's record.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import orjson
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.internal_utils import _build_unexpected_body_error_message

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


JSON_TYPE = re.compile(r"^application/(?:[\w.+-]+?\+)?json")  # as aiohttp's json() accepts


class WebClient(AsyncWebClient):
    """slack_sdk's client, with the HTTP exchange of a JSON call (chat.postMessage, .update)
    made here: on the shared session, with no retry handlers (the outbox retries), the SDK's
    own exchange adds only its retry bookkeeping and a stdlib `json` decode of the answer
    (chat.postMessage's holds the whole message), 40-55 µs of a post's 330-400. The answer
    goes back to the SDK as its exchange gives it, so its errors are raised as before."""

    async def _request(self, *, http_verb: str, api_url: str, req_args: dict[str, Any]) -> Any:
        session = self.session
        plain = req_args.get("json") is not None and not req_args.get("data")
        if self.retry_handlers or session is None or session.closed or not plain:
            return await super()._request(http_verb=http_verb, api_url=api_url, req_args=req_args)
        async with session.request(http_verb, api_url, **req_args) as res:
            return {"data": await _answer(res), "headers": res.headers, "status_code": res.status}


async def _answer(res: aiohttp.ClientResponse) -> Any:
    """The body as slack_sdk's own exchange reads it, JSON by orjson."""
    if res.content_type == "application/gzip":
        return await res.read()
    if res.content_type == "text/plain":
        return await res.text()
    if not JSON_TYPE.match(res.content_type):
        return {}  # the SDK's "no response data"
    body = (await res.read()).strip()
    if not body:
        return None
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        pass
    text = body.decode(res.get_encoding(), "replace")
    try:
        return json.loads(text)  # what orjson refuses: another encoding than UTF-8
    except ValueError:  # worded as the SDK words it
        error = SlackApiError(_build_unexpected_body_error_message(text), res)  # type: ignore[no-untyped-call]
        message = f"Unexpectedly failed to read the response body: {error}"
        raise SlackApiError(message, res) from None  # type: ignore[no-untyped-call]


def make_client(
    config: SlackConfig,
    session: aiohttp.ClientSession | None = None,
    *,
    token: str | None = None,
) -> AsyncWebClient:
    return WebClient(
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

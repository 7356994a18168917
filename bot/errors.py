"""Every error this project raises on purpose, in one tree under `ReportBotError`.

    ReportBotError              raised on purpose; the message is written for people
    ├── ConfigError             a setting is missing or malformed: start-up stops and says which
    ├── StorageError            the data folder or database cannot be read or written
    │   ├── UnreadableDataError a data file exists but does not load: nothing is overwritten
    │   ├── Conflict            another writer changed it first: nothing was written, read again
    │   └── Redelivered             storage.postgres.store: rolls back a commit already applied
    ├── DeliveryError           sending to a platform failed
    │   ├── RetryLater          temporary (outage, 5xx, rate limit, timeout): the courier retries
    │   └── DeliveryRefused     permanent (bad channel, no permission): surfaced, not retried
    │       └── SlackRefused        adapters.slack.client: with Slack's error code
    ├── PlatformError           at a platform's edge, outside a delivery; its adapter answers
    │   ├── Malformed               adapters.slack.translate: a field Slack always sends is missing
    │   ├── Unauthorized            adapters.teams.tokens: no valid token (401)
    │   ├── KeysUnavailable         adapters.teams.signing_keys: no signing keys yet (503)
    │   └── NoToken                 adapters.teams.failures: Azure AD gave the bot no token
    ├── InputError              what someone typed cannot be used; the message says what would do
    │   ├── Problem             an answer to a report's question (the question is asked again)
    │   ├── LinkError           not a usable TikTok link
    │   ├── DateError           not a usable date
    │   └── QueryError          a subject access search too short to run safely
    └── CaseworkError           a request about a case that cannot be carried out
        └── InvalidMove         a change the case's lifecycle does not allow
            └── ReasonNeeded    a decision without its reason: the front end asks for one

Platform-specific kinds live in their adapter (indented further above); the rest live here.
Anything that is not a `ReportBotError` is a bug: the person sees a reference code, and the
log gets the traceback, never case content or tokens (`error_reference`, `log_bug`).
"""

from __future__ import annotations

import logging
import secrets
import traceback


class ReportBotError(Exception):
    """Base of every error this project raises on purpose."""


class ConfigError(ReportBotError):
    """A setting is missing or malformed; the message names it and says how to fix it."""


# --- storage -----------------------------------------------------------------------------------


class StorageError(ReportBotError):
    """The data folder cannot be read or written."""


class UnreadableDataError(StorageError):
    """A data file exists but does not load. The bot stops rather than overwrite it."""


class Conflict(StorageError):
    """Another writer changed a case (or took a reference) first: nothing was written.

    The caller reads again and retries; with one process this happens only between two
    people filing at the same moment, each taking the same next reference.
    """


# --- platforms ---------------------------------------------------------------------------------


class DeliveryError(ReportBotError):
    """Sending to a platform failed."""


class RetryLater(DeliveryError):
    """A temporary failure (outage, 5xx, rate limit, timeout): try again later."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class DeliveryRefused(DeliveryError):
    """A permanent failure (bad channel, no permission): retrying will not help."""


class PlatformError(ReportBotError):
    """Something at a platform's edge, outside a delivery (a request, a token, a key set);
    the adapter that raised it answers the platform or classifies it."""


# --- what people type --------------------------------------------------------------------------


class InputError(ReportBotError):
    """What someone typed cannot be used; the message, written for them, says what would do."""


class Problem(InputError):
    """An answer we cannot use; the message, one line, says what would be accepted."""


class LinkError(InputError):
    """A token that is not a usable TikTok link; the message is written for school staff.

    `token` is the text that was rejected (so a reply can say which one), and `host` is set
    when the link was on another website.
    """

    def __init__(self, message: str, token: str = "", host: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.token = token
        self.host = host


class DateError(InputError):
    """A date staff typed that cannot be used; the message says what to change."""


class QueryError(InputError):
    """The name to search for is too short to search for safely."""


# --- cases -------------------------------------------------------------------------------------


class CaseworkError(ReportBotError):
    """A request about a case that cannot be carried out; the message says what to do."""


class InvalidMove(CaseworkError):
    """A change to a case that its lifecycle does not allow; the message says why, kindly."""


class ReasonNeeded(InvalidMove):
    """A decision (refuse, close, reopen) asked for without its reason: ask for one."""


# --- bugs --------------------------------------------------------------------------------------


def error_reference() -> str:
    """A short code to show the user and log beside the traceback, e.g. ERR-7F3A9C."""
    return "ERR-" + secrets.token_hex(3).upper()


def log_bug(logger: logging.Logger, code: str, exc: BaseException) -> None:
    """Log an unexpected error with its stack but not its message.

    Exception messages can quote what the user typed (a KeyError on an answer, a ValueError on
    a link), and case content must stay out of logs; the frames are enough to find the bug.
    """
    frames = "".join(traceback.format_tb(exc.__traceback__))
    logger.error("unexpected error %s: %s\n%s", code, type(exc).__name__, frames)

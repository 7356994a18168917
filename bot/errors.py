"""A small exception tree: errors the bot expects and explains, and everything else.

Known errors carry a message written for the person using the bot. Anything else is a bug:
the user sees a reference code, the log gets the traceback (never case content or tokens).
"""

from __future__ import annotations

import logging
import secrets
import traceback


class ReportBotError(Exception):
    """Base of every error this project raises on purpose."""


class ConfigError(ReportBotError):
    """A setting is missing or malformed; the message names it and says how to fix it."""


class StorageError(ReportBotError):
    """The data folder cannot be read or written."""


class UnreadableDataError(StorageError):
    """A data file exists but does not load. The bot stops rather than overwrite it."""


class CaseworkError(ReportBotError):
    """A request about a case that cannot be carried out; the message says what to do."""


class InvalidMove(CaseworkError):
    """A change to a case that its lifecycle does not allow; the message says why, kindly."""


class ReasonNeeded(InvalidMove):
    """A decision (refuse, close, reopen) asked for without its reason: ask for one."""


class DeliveryError(ReportBotError):
    """Sending to a platform failed."""


class RetryLater(DeliveryError):
    """A temporary failure (outage, 5xx, rate limit, timeout): try again later."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class DeliveryRefused(DeliveryError):
    """A permanent failure (bad channel, no permission): retrying will not help."""


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

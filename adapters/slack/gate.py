"""Which school a signed Slack request belongs to, and whether this bot serves it.

Slack signs every request with the app's one signing secret, so a signature proves only that
Slack sent it, not which workspace's data it may touch: that is the `team_id` (or, for an
Enterprise Grid org-wide install, the `enterprise_id`) inside it, as Bolt reads it. Before
Bolt's own authorisation, every request passes here (Bolt's `before_authorize`, the same for
HTTP and Socket Mode):

- one school (SLACK_BOT_TOKEN): the request must come from the token's own workspace, as
  `auth.test` says at start-up; any other is refused;
- many schools (OAuth): the workspace or org must have installed the app.

A refusal is a 403, logged with the workspace's id and the kind of request only, never its
content; nothing reaches the engine or the store. The school's id (`slack:T…`, `slack:E…`;
"" for the one school of a single-token deployment) goes on in Bolt's context as "school".
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from adapters.logs import enter_school
from adapters.slack import shapes
from bot.errors import RetryLater

log = logging.getLogger(__name__)
SCHOOL = "school"  # the key in Bolt's context
# Slack's own requests with no workspace to check, and the notices that the app was removed
# (Bolt deletes that workspace's tokens; letting a repeat through can do no harm).
PASS = frozenset({"url_verification", "ssl_check", "app_uninstalled", "tokens_revoked"})


@dataclass(frozen=True)
class Workspace:
    """Who a signed request says it comes from."""

    enterprise_id: str | None
    team_id: str | None
    is_enterprise_install: bool = False

    @property
    def school(self) -> str:
        """`slack:E…` for an org-wide install (every workspace in the org is one school),
        else `slack:T…`."""
        if self.is_enterprise_install and self.enterprise_id:
            return f"slack:{self.enterprise_id}"
        return f"slack:{self.team_id}" if self.team_id else ""


def workspace_of(request: AsyncBoltRequest) -> Workspace:
    context = request.context
    return Workspace(context.enterprise_id, context.team_id, bool(context.is_enterprise_install))


class Admission(Protocol):
    async def __call__(self, workspace: Workspace) -> str | None:
        """The school's id if this bot serves the workspace, else None. Raises RetryLater
        when it cannot tell just now."""
        ...


class OneWorkspace:
    """Single-token mode: only the token's own workspace (from `auth.test`) is served."""

    def __init__(self, learn: Callable[[], Awaitable[Workspace | None]]) -> None:
        self._learn = learn
        self.own: Workspace | None = None

    async def __call__(self, workspace: Workspace) -> str | None:
        if self.own is None:
            self.own = await self._learn()
            if self.own is None:
                raise RetryLater("the bot token's workspace is not known yet")
        own = self.own
        if workspace.team_id:
            return "" if workspace.team_id == own.team_id else None
        # An org-level request (no team): only for a token installed on that org.
        org = own.is_enterprise_install and workspace.enterprise_id == own.enterprise_id
        return "" if org and workspace.enterprise_id else None


class Gate(AsyncMiddleware):
    """Bolt's `before_authorize`: admit the request's school, or refuse it."""

    def __init__(self, admit: Admission) -> None:
        self.admit = admit

    async def async_process(
        self,
        *,
        req: AsyncBoltRequest,
        resp: BoltResponse,
        next: Callable[[], Awaitable[BoltResponse]],
    ) -> BoltResponse:
        kind = "slash command" if "command" in req.body else shapes.kind_name(req.body)
        if kind in PASS or req.body.get("ssl_check") == "1":
            return await next()
        workspace = workspace_of(req)
        try:
            school = await self.admit(workspace) if workspace.school else None
        except RetryLater:
            log.warning("could not check a Slack request's workspace just now; asked to retry")
            return BoltResponse(status=503, body='{"error": "try again"}')
        if school is None:
            log.warning(
                "refused a signed %s request from a workspace this bot does not serve (%s)",
                kind,
                workspace.school or "no workspace id",
            )
            return BoltResponse(status=403, body='{"error": "not installed here"}')
        req.context[SCHOOL] = school
        enter_school(school)  # this request's log lines, and its spawned work's, name it
        return await next()

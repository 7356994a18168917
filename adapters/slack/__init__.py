"""Slack: /report-tiktok, the guided report in a DM, and the leadership channel's case posts.

`attach` reads the SLACK_* settings, mounts `POST /slack/events` (and/or prepares Socket Mode),
and starts the courier that delivers the outbox to Slack. Modules, in the order a message
meets them: `endpoint` (HTTP checks) or `socket_mode`, `gate` (which school; served here?),
`listeners`, `translate` (payload → Turn), the engine; on the way out the courier resolves
each reply and hands it to `sender` or `posts` (the leadership channel), which render it
(`render`: reply → Block Kit). `school` holds one school's pieces; one school is `app`
(SLACK_BOT_TOKEN), many are `oauth` (SLACK_CLIENT_ID: each school installs the app, its
tokens kept by `installs`).
"""

from __future__ import annotations

from collections.abc import Mapping

import aiohttp
from aiohttp import web

from adapters import json_body
from adapters.compose import Runtime
from adapters.slack import config
from adapters.slack.app import SlackAdapter
from adapters.slack.oauth import SlackSchools


async def attach(
    app: web.Application, runtime: Runtime, env: Mapping[str, str]
) -> SlackAdapter | SlackSchools | None:
    """Wire Slack into the server, or return None when no SLACK_* setting is present."""
    settings = config.load(env)
    if settings is None:
        return None
    timeout = aiohttp.ClientTimeout(total=settings.api_timeout)
    session = aiohttp.ClientSession(timeout=timeout, json_serialize=json_body.dumps)
    try:
        if settings.oauth:
            schools = SlackSchools(settings, runtime, session, env)
            schools.mount(app)
            return schools
        adapter = SlackAdapter(settings, runtime, session)
        adapter.mount(app)
        adapter.equip()
        return adapter
    except BaseException:  # e.g. no REPORTBOT_SECRET_KEY: start-up stops, the session with it
        await session.close()
        raise

"""Slack's OAuth install for many schools, end to end on one instance, against the stand-in:
installs kept encrypted, the installer's welcome, setup in chat, each school's work with its own
token and only in its own channel, a workspace that never installed refused, a removal that
keeps the cases. (Two instances: scripts/many_schools.py, run by tests/test_many_schools.py.)"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import aiohttp
import asyncpg
import pytest
from aiohttp.test_utils import TestServer
from slack_fakes import (
    SECRET_KEY,
    FakeSlack,
    Grant,
    command_form,
    eventually,
    form_body,
    home_event,
    install_app,
    message_event,
    oauth_env,
    signed_headers,
)

from adapters.compose import Runtime, runtime_for
from adapters.logs import FORMAT, SchoolTag
from adapters.server import Attached, build_app
from bot.config import Settings
from bot.errors import ConfigError

FORM = "application/x-www-form-urlencoded"
A, B = "T0ALPHA", "T0BRAVO"
A_LEADERS, B_LEADERS = "G0ALPHALEAD", "G0BRAVOLEAD"


@dataclass
class Rig:
    fake: FakeSlack
    runtime: Runtime
    attached: list[Attached]
    url: str
    session: aiohttp.ClientSession
    database_url: str

    async def install(self, team: str, installer: str, **kw: bool) -> int:
        grant = Grant(team=team, installer=installer, **kw)
        done = await install_app(self.session, self.url, self.url, self.fake, grant)
        return done.status

    async def post(self, body: bytes, content_type: str) -> int:
        headers = {"Content-Type": content_type, **signed_headers(body)}
        async with self.session.post(f"{self.url}/slack/events", data=body, headers=headers) as r:
            return r.status

    async def command(self, team: str, user: str, text: str = "", channel: str = "") -> int:
        form = command_form(user, text, team=team, channel=channel or "C0STAFFROOM")
        return await self.post(form_body(form), FORM)

    async def dm(self, team: str, user: str, text: str) -> int:
        body = json.dumps(message_event(user, text, team=team)).encode()
        return await self.post(body, "application/json")

    def said_to(self, user: str) -> str:
        return "\n".join(str(m.get("text", "")) for m in self.fake.dm(user))


def two_workspaces() -> FakeSlack:
    fake = FakeSlack()
    fake.workspace(
        A, leaders=A_LEADERS, people={"U0AINST": "Alex Installer", "U0ASTAFF": "Ash Staff"}
    )
    fake.workspace(
        B,
        leaders=B_LEADERS,
        people={"U0BADMIN": "Bea Admin", "U0BSTAFF": "Bo Staff"},
        admins=("U0BADMIN",),
    )
    return fake


@asynccontextmanager
async def rig(database_url: str, fake: FakeSlack | None = None) -> AsyncIterator[Rig]:
    fake = fake or two_workspaces()
    api = await fake.start()
    env = oauth_env(api, database_url)
    async with runtime_for(Settings(), env=env) as runtime:
        app, attached = await build_app(runtime, env)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        for handle in attached:
            await handle.start()
        try:
            async with aiohttp.ClientSession() as session:
                url = str(server.make_url("")).rstrip("/")
                yield Rig(fake, runtime, attached, url, session, database_url)
        finally:
            for handle in attached:
                await handle.close()
            await server.close()
            await fake.close()


async def test_two_workspaces_install_set_up_and_report_each_in_its_own_channel(
    pg_url: str,
) -> None:
    async with rig(pg_url) as r:
        assert await r.install(A, "U0AINST") == 200
        assert await r.install(B, "U0BADMIN") == 200
        await eventually(lambda: "/report-tiktok setup" in r.said_to("U0AINST"))
        await eventually(lambda: "/report-tiktok setup" in r.said_to("U0BADMIN"))

        # The tokens are kept encrypted: the database never holds one as Slack issued it.
        conn = await asyncpg.connect(pg_url)
        try:
            kept = [row["bot_token"] for row in await conn.fetch("SELECT * FROM slack_bots")]
        finally:
            await conn.close()
        assert len(kept) == 2 and not any(t.startswith("xox") for t in kept)
        assert not any(token in " ".join(kept) for token in r.fake.tokens)

        # The installer of one, the admin of the other, choose their leadership channels.
        assert await r.command(A, "U0AINST", "setup", channel=A_LEADERS) == 200
        assert await r.command(B, "U0BSTAFF", "setup", channel=B_LEADERS) == 200  # not allowed
        assert await r.command(B, "U0BADMIN", "setup", channel=B_LEADERS) == 200
        await eventually(lambda: "now the leadership channel" in r.said_to("U0AINST"))
        await eventually(lambda: "Only the person who installed" in r.said_to("U0BSTAFF"))
        await eventually(lambda: "now the leadership channel" in r.said_to("U0BADMIN"))

        # Staff of each school start a report; each DM goes with its own school's token.
        for team, user in ((A, "U0ASTAFF"), (B, "U0BSTAFF")):
            assert await r.command(team, user, "https://www.tiktok.com/@fake.teacher") == 200
        await eventually(  # each was asked the first question
            lambda: all("answer:links:" in str(r.fake.dm(u)) for u in ("U0ASTAFF", "U0BSTAFF"))
        )
        for team, user in ((A, "U0ASTAFF"), (B, "U0BSTAFF")):
            assert {m["_team"] for m in r.fake.dm(user)} == {team}
        by_school = {s.school for s in r.runtime.schools.opened()}  # type: ignore[union-attr]
        assert by_school == {f"slack:{A}", f"slack:{B}"}
        async with r.session.get(f"{r.url}/healthz") as health:
            slack = (await health.json())["platforms"]["slack"]
        assert slack == {"mode": "http, many schools", "schools_open": 2}


async def test_a_workspace_that_never_installed_is_refused(
    pg_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with rig(pg_url) as r:
        assert await r.install(A, "U0AINST") == 200
        secret = "https://www.tiktok.com/@never.installed.secret"
        assert await r.command("T0NEVER", "U0X", secret) == 403
        assert await r.dm("T0NEVER", "U0X", secret) == 403
        assert "slack:T0NEVER" in caplog.text and "never.installed.secret" not in caplog.text
        assert "slack:T0NEVER" not in {s.school for s in r.runtime.schools.opened()}  # type: ignore[union-attr]
        conn = await asyncpg.connect(pg_url)
        try:
            assert await conn.fetchval("SELECT count(*) FROM cases") == 0
            assert await conn.fetchval("SELECT count(*) FROM conversations") == 0
        finally:
            await conn.close()


@pytest.mark.parametrize(
    "removal",
    [
        {"type": "app_uninstalled", "event_ts": "1.2"},
        {"type": "tokens_revoked", "tokens": {"bot": [f"U0BOT{A}"]}, "event_ts": "1.2"},
    ],
    ids=["app_uninstalled", "tokens_revoked"],
)
async def test_a_removal_deletes_every_copy_of_the_tokens_and_keeps_the_cases(
    pg_url: str, removal: dict[str, object]
) -> None:
    async with rig(pg_url) as r:
        assert await r.install(A, "U0AINST") == 200
        assert await r.command(A, "U0ASTAFF", "https://www.tiktok.com/@fake") == 200
        event = {
            "token": "x",
            "team_id": A,
            "api_app_id": "A0REPORT",
            "event": removal,
            "type": "event_callback",
            "event_id": "EvREMOVED",
            "event_time": 1,
        }
        assert await r.post(json.dumps(event).encode(), "application/json") == 200
        conn = await asyncpg.connect(pg_url)
        try:
            assert await conn.fetchval("SELECT count(*) FROM slack_bots") == 0
            assert await conn.fetchval("SELECT count(*) FROM slack_installations") == 0
            assert await conn.fetchval("SELECT count(*) FROM conversations") == 1  # kept
        finally:
            await conn.close()
        assert await r.command(A, "U0ASTAFF", "hello") == 403  # until it installs again


async def test_an_install_with_a_state_from_nowhere_is_refused(pg_url: str) -> None:
    async with rig(pg_url) as r:
        r.fake.grant("code-x", Grant(team=A, installer="U0AINST"))
        forged = f"{r.url}/slack/oauth_redirect?code=code-x&state=made-up"
        async with r.session.get(forged, headers={"Cookie": "slack-app-oauth-state=made-up"}) as x:
            assert x.status == 401
        assert not r.fake.called("oauth.v2.access")  # the code was never spent


def test_many_schools_needs_a_secret_key_that_is_one(tmp_path: object) -> None:
    from adapters.slack.installs import secret_key

    with pytest.raises(ConfigError, match=r"REPORTBOT_SECRET_KEY is not set.*generate_key"):
        secret_key({})
    with pytest.raises(ConfigError, match="not a Fernet key") as refused:
        secret_key({"REPORTBOT_SECRET_KEY": "hunter2"})
    assert "hunter2" not in str(refused.value)
    assert secret_key({"REPORTBOT_SECRET_KEY": f"{SECRET_KEY}, {SECRET_KEY}"})


class Lines(logging.Handler):
    """The server's log as it writes it (adapters.logs' format and tag)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.setFormatter(logging.Formatter(FORMAT))
        self.addFilter(SchoolTag())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


async def test_each_schools_log_lines_name_it_and_hold_no_content(pg_url: str) -> None:
    lines = Lines()
    logging.getLogger().addHandler(lines)
    try:
        async with rig(pg_url) as r:
            assert await r.install(A, "U0AINST") == 200
            assert await r.install(B, "U0BADMIN") == 200
            await eventually(lambda: bool(r.fake.dm("U0AINST")) and bool(r.fake.dm("U0BADMIN")))
            r.fake.fail("chat.postMessage", 500)  # Slack down, for the next post
            secret = "https://www.tiktok.com/@alpha.secret.handle"
            assert await r.command(A, "U0ASTAFF", secret) == 200
            await eventually(lambda: any("failed" in line for line in lines.lines), 10)
            r.fake.fail("users.info", 500)  # while Bravo's request is handled
            assert await r.command(B, "U0BSTAFF", secret) == 200
            await eventually(lambda: any("users.info failed" in line for line in lines.lines))
            assert await r.command("T0NEVER", "U0X", secret) == 403
    finally:
        logging.getLogger().removeHandler(lines)
    retry = next(line for line in lines.lines if "failed" in line)
    assert f"[slack:{A}]" in retry  # the courier's own task, in the background
    lookup = next(line for line in lines.lines if "users.info failed" in line)
    assert f"[slack:{B}]" in lookup  # a request's own work
    refused = next(line for line in lines.lines if "refused a signed" in line)
    assert "slack:T0NEVER" in refused and "[slack:" not in refused  # no school served it
    assert not any("alpha.secret" in line or "xox" in line for line in lines.lines)


async def test_each_schools_name_set_in_chat_shows_on_its_leaders_home_tab(pg_url: str) -> None:
    async with rig(pg_url) as r:
        r.fake.members[A_LEADERS].append("U0AINST")  # the installer leads at Alpha
        r.fake.members[B_LEADERS].append("U0BADMIN")
        for team, user in ((A, "U0AINST"), (B, "U0BADMIN")):
            assert await r.install(team, user) == 200
        assert await r.command(A, "U0AINST", "setup", channel=A_LEADERS) == 200
        assert await r.command(B, "U0BADMIN", "setup", channel=B_LEADERS) == 200
        assert await r.command(A, "U0AINST", "settings name Alpha Academy") == 200
        assert await r.command(B, "U0BADMIN", "settings union NEU, 0345 811 8111") == 200
        await eventually(
            lambda: "Saved" in r.said_to("U0AINST") and "Saved" in r.said_to("U0BADMIN")
        )

        async def home(team: str, user: str) -> str:
            before = len(r.fake.called("views.publish"))
            body = json.dumps(home_event(user, team)).encode()
            assert await r.post(body, "application/json") == 200
            await eventually(lambda: len(r.fake.called("views.publish")) > before)
            return str(r.fake.called("views.publish")[-1]["view"])

        alpha, bravo = await home(A, "U0AINST"), await home(B, "U0BADMIN")
        assert "School: Alpha Academy" in alpha and "/report-tiktok settings name" in alpha
        assert "NEU, 0345 811 8111" not in alpha
        assert "NEU, 0345 811 8111" in bravo and "Alpha Academy" not in bravo
        assert "Your school" not in await home(A, "U0ASTAFF")  # staff: no settings shown


async def test_an_org_wide_install_is_one_school_for_every_workspace_in_the_org(
    pg_url: str,
) -> None:
    async with rig(pg_url) as r:
        grant = Grant(team="T0ONE", installer="U0TRUST", enterprise="E0TRUST", org_wide=True)
        assert (await install_app(r.session, r.url, r.url, r.fake, grant)).status == 200
        await eventually(lambda: "/report-tiktok setup" in r.said_to("U0TRUST"))

        async def command(team: str, user: str, org_wide: bool) -> int:
            form = command_form(user, "https://www.tiktok.com/@fake.trust", team=team)
            form |= {"enterprise_id": "E0TRUST", "is_enterprise_install": str(org_wide).lower()}
            return await r.post(form_body(form), FORM)

        assert await command("T0ONE", "U0ONESTAFF", True) == 200
        assert await command("T0TWO", "U0TWOSTAFF", True) == 200  # another school in the org
        assert await command("T0ONE", "U0ONEOTHER", False) == 403  # the workspace never did
        await eventually(lambda: bool(r.fake.dm("U0ONESTAFF")) and bool(r.fake.dm("U0TWOSTAFF")))
        conn = await asyncpg.connect(pg_url)
        try:
            kept = await conn.fetch("SELECT school, person_key FROM conversations")
        finally:
            await conn.close()
        assert {row["school"] for row in kept} == {"slack:E0TRUST"} and len(kept) == 2
        assert {row["person_key"] for row in kept} == {  # its leaders see both (in_scope)
            "slack:E0TRUST:U0ONESTAFF",
            "slack:E0TRUST:U0TWOSTAFF",
        }

"""Teams for many schools (REPORTBOT_MANY_SCHOOLS=1): each tenant is the school `teams:<tenant>`.

One deployment on a real Postgres, the real server app and Agents SDK in development mode, and
the Bot Connector stand-in: two tenants file reports at once, each case is stored under its
own school, numbered from TT-2026-0001 there, and posted only to its own leadership team; a
leader of one tenant cannot act on the other's case; a tenant not on the list is refused.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from teams_fakes import (
    ANSWERS,
    DEV_ENV,
    LEADER,
    LEADS_CHANNEL,
    PERSONAL_CHAT,
    REPORTER,
    START,
    TEAM,
    TEAM_LINK,
    TENANT,
    FakeConnector,
    bot_added_to_team,
    button,
    channel_message,
    choose,
    connector_stand_in,
    personal_message,
    texts,
)

from adapters.compose import Runtime, runtime_for
from adapters.server import build_app
from adapters.teams.tenants import NOT_SET_UP
from bot.clock import FakeClock
from bot.config import Settings
from bot.errors import ConfigError
from bot.model import CaseStatus, Platform

OTHER = "0d9a7c4e-5b6f-4a3e-9c2d-1e0f9a8b7c6d"  # a second school's tenant
STRANGER = "11111111-2222-3333-4444-555555555555"  # a tenant the deployment does not serve
REFERENCE = "TT-2026-0001"
PUBLIC = "https://reportbot.trust.example"


@dataclass(frozen=True)
class School:
    """One tenant's people and places, as Teams would name them."""

    tenant: str
    reporter: dict[str, str]
    leader: dict[str, str]
    team: dict[str, str]
    channel: str
    staff_name: str  # typed by the reporter: tells the two schools' case cards apart
    account: str = "fake.head.teacher"  # the TikTok account reported (in the leaders' CSV)

    @property
    def link(self) -> str:
        return f"https://www.tiktok.com/@{self.account}"

    @property
    def school(self) -> str:
        return f"teams:{self.tenant}"

    @property
    def chat(self) -> str:  # the reporter's personal chat, as teams_fakes names it
        return PERSONAL_CHAT if self.reporter is REPORTER else f"a:chat-{self.reporter['id']}"

    @property
    def reporter_key(self) -> str:
        return f"teams:{self.tenant}:{self.reporter['id']}"


A = School(TENANT, REPORTER, LEADER, TEAM, LEADS_CHANNEL, "Ms J Patel, Head of Year 9")
B = School(
    OTHER,
    {"id": "29:reporter-b-sam", "name": "Sam Okafor", "aadObjectId": "c3"},
    {"id": "29:leader-b-ria", "name": "Ria Shah", "aadObjectId": "d4"},
    {"id": "19:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb@thread.tacv2", "name": "SLT"},
    "19:b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0@thread.tacv2",
    "Mr D Evans, Head of Science",
    "fake.science.dept",
)


def as_tenant(activity: dict[str, Any], tenant: str) -> dict[str, Any]:
    """The activity as Teams sends it from another tenant (both places Teams names it)."""
    moved = copy.deepcopy(activity)
    moved["conversation"]["tenantId"] = tenant
    moved["channelData"]["tenant"] = {"id": tenant}
    return moved


@dataclass
class Deployment:
    connector: FakeConnector
    service_url: str
    runtime: Runtime
    client: TestClient[web.Request, web.Application]

    async def send(self, activity: dict[str, Any]) -> int:
        response = await self.client.post("/api/messages", json=activity)
        await response.read()
        return response.status

    async def of(self, school: School) -> Runtime:
        assert self.runtime.schools is not None
        return await self.runtime.schools.get(school.school)

    async def deliver(self, school: School) -> None:
        await (await self.of(school)).couriers[Platform.TEAMS].drain()

    async def say(
        self, school: School, text: str = "", value: Any = None, user: dict[str, str] | None = None
    ) -> int:
        who = user or school.reporter
        message = personal_message(self.service_url, text, value=value, user=who)
        status = await self.send(as_tenant(message, school.tenant))
        await self.deliver(school)
        return status

    async def install(self, school: School) -> None:
        added = bot_added_to_team(self.service_url, school.channel, school.team)
        assert await self.send(as_tenant(added, school.tenant)) == 200
        await self.deliver(school)

    async def press(self, school: School, value: dict[str, Any], user: dict[str, str]) -> int:
        press = channel_message(
            self.service_url, value=value, user=user, channel=school.channel, team=school.team
        )
        status = await self.send(as_tenant(press, school.tenant))
        await self.deliver(school)
        return status

    def chat_cards(self, school: School) -> list[dict[str, Any]]:
        return [c.card for c in self.connector.posts_to(school.chat)]

    async def answer_next(self, school: School) -> bool:
        """Answer the question the reporter was last asked; False once the report is in."""
        conversation = await (await self.of(school)).store.conversation(school.reporter_key)
        if conversation is None or conversation.step == "end":
            return False
        kind, answer = ANSWERS[conversation.step]
        if conversation.step == "target_staff":
            answer = school.staff_name
        card = self.chat_cards(school)[-1]
        if kind == "press":
            await self.say(school, value=button(card, answer))
        elif kind == "choose":
            await self.say(school, value=choose(card, *answer))
        else:
            await self.say(school, answer)
        return True


def many_env(pg_url: str, **more: str) -> dict[str, str]:
    return {
        **DEV_ENV,
        "REPORTBOT_DATABASE_URL": pg_url,
        "REPORTBOT_MANY_SCHOOLS": "1",
        "REPORTBOT_TEAMS_TENANTS": f"{A.tenant},{B.tenant}",
        "REPORTBOT_PUBLIC_URL": PUBLIC,
        **more,
    }


@asynccontextmanager
async def deployment(pg_url: str) -> AsyncIterator[Deployment]:
    env = many_env(pg_url)
    async with (
        connector_stand_in() as (fake, url),
        runtime_for(Settings(), FakeClock(START), env=env) as runtime,
    ):
        app, _ = await build_app(runtime, env)
        client = TestClient(TestServer(app, host="127.0.0.1"))
        await client.start_server()
        try:
            yield Deployment(fake, url, runtime, client)
        finally:
            await client.close()


async def install_both_and_file(d: Deployment) -> None:
    """Each school adds the bot to its leadership team (its leader a member), then both file."""
    for school in (A, B):
        d.connector.members.add((school.team["id"], school.leader["id"]))
        await d.install(school)
    await file_both(d)


async def file_both(d: Deployment) -> None:
    """Both reporters file a report at once, their answers interleaved."""
    for school in (A, B):
        assert await d.say(school, "report") == 200
        assert await d.say(school, school.link) == 200
        assert await d.say(school, value=button(d.chat_cards(school)[-1], "done")) == 200
    pending = [A, B]
    for _ in range(len(ANSWERS) + 2):
        pending = [s for s in pending if await d.answer_next(s)]
        if not pending:
            return
    raise AssertionError(f"not finished: {[s.tenant for s in pending]}")


async def test_each_tenant_files_into_its_own_school_numbered_and_posted_apart(
    pg_url: str,
) -> None:
    async with deployment(pg_url) as d:
        await install_both_and_file(d)

        assert await d.runtime.store.cases() == []  # nothing in the deployment's own rows
        for school, other in ((A, B), (B, A)):
            runtime = await d.of(school)
            [case] = await runtime.store.cases()
            assert case.reference == REFERENCE  # each school counts from 1
            assert case.reporter.workspace == school.tenant
            [card] = [p for p in d.connector.posts_to(school.channel) if REFERENCE in texts(p.card)]
            assert school.staff_name in texts(card.card)
            assert other.staff_name not in texts(card.card)
            assert card.body["channelData"]["tenant"]["id"] == school.tenant
            for post in d.connector.posts_to(school.channel) + d.connector.posts_to(school.chat):
                assert post.body["channelData"]["tenant"]["id"] == school.tenant
            assert await runtime.store.outbox_items() == []  # each school's outbox delivered


async def test_a_leader_of_one_tenant_cannot_move_the_others_case(pg_url: str) -> None:
    async with deployment(pg_url) as d:
        await install_both_and_file(d)
        card = d.connector.posts_to(B.channel)[-1].card
        sent = button(card, f"case:sent:{REFERENCE}")
        before = await (await d.of(B)).store.case(REFERENCE)
        assert before is not None and before.status != CaseStatus.SENT_TO_POSH

        # In development mode the tenant is whatever the activity says: a press forged to
        # name B goes to B's school, which asks B's leadership team, and A's leader is not in it.
        # (In production the Bot Connector's token fixes the activity, so it cannot be forged.)
        assert await d.press(B, sent, A.leader) == 200
        b_case = await (await d.of(B)).store.case(REFERENCE)
        assert b_case is not None and b_case == before
        [refused] = d.connector.posts_to(f"{B.channel};messageid=1575667808184")
        assert "Only members of the leadership channel can update cases" in texts(refused.card)
        # Pressed in A's own tenant, the same reference is A's own case: B's is untouched.
        assert await d.press(A, sent, A.leader) == 200
        a_case = await (await d.of(A)).store.case(REFERENCE)
        b_case = await (await d.of(B)).store.case(REFERENCE)
        assert a_case is not None and a_case.status == CaseStatus.SENT_TO_POSH
        assert b_case is not None and b_case == before
        assert [c.conversation for c in d.connector.updates] == [A.channel]


async def test_a_tenant_not_served_is_told_and_nothing_of_it_is_kept(
    pg_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with deployment(pg_url) as d:
        stranger = School(STRANGER, A.reporter, A.leader, A.team, A.channel, "")
        message = personal_message(
            d.service_url, "fake account of mrs jones", user=stranger.reporter
        )
        assert await d.send(as_tenant(message, STRANGER)) == 403
        [reply] = d.connector.calls
        assert reply.method == "POST" and reply.conversation == stranger.chat
        assert texts(reply.card) == NOT_SET_UP
        press = channel_message(d.service_url, "use this channel")
        assert await d.send(as_tenant(press, STRANGER)) == 403  # not a personal chat: no reply
        assert len(d.connector.calls) == 1
        assert d.runtime.schools is not None and d.runtime.schools.opened() == []
        unserved = d.runtime.schools.stores.for_school(stranger.school)
        assert await unserved.conversation(stranger.reporter_key) is None
        assert await unserved.outbox_items() == []
    [refusal] = [r for r in caplog.records if "refused" in r.getMessage()][:1]
    assert STRANGER in refusal.getMessage()
    assert not any("mrs jones" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    ("more", "says"),
    [
        ({"REPORTBOT_TEAMS_TENANTS": ""}, "REPORTBOT_TEAMS_TENANTS"),
        ({"REPORTBOT_TEAMS_LEADERSHIP_TEAM": TEAM_LINK}, "names one school's team"),
        ({"REPORTBOT_MANY_SCHOOLS": "maybe"}, "must be 1 or 0"),
    ],
)
async def test_many_schools_refuses_settings_that_would_mix_them(
    pg_url: str, more: dict[str, str], says: str
) -> None:
    env = many_env(pg_url, **more)
    with pytest.raises(ConfigError, match=says):
        async with runtime_for(Settings(), FakeClock(START), env=env) as runtime:
            await build_app(runtime, env)


async def test_many_schools_for_teams_alone_needs_the_database() -> None:
    env = {**DEV_ENV, "REPORTBOT_MANY_SCHOOLS": "1", "REPORTBOT_TEAMS_TENANTS": TENANT}
    with pytest.raises(ConfigError, match="REPORTBOT_MANY_SCHOOLS"):
        async with runtime_for(Settings(), env=env):
            pass


async def test_a_leaders_download_link_opens_in_their_own_tenant_only(pg_url: str) -> None:
    async with deployment(pg_url) as d:
        await install_both_and_file(d)
        paths = {}
        for school in (A, B):
            assert await d.say(school, "export", user=school.leader) == 200
            [card] = [c.card for c in d.connector.posts_to(f"a:chat-{school.leader['id']}")]
            [url] = [a["url"] for a in card["actions"] if a["type"] == "Action.OpenUrl"]
            assert url.startswith(f"{PUBLIC}/teams/{school.tenant}/files/")
            paths[school.tenant] = url.removeprefix(PUBLIC)

        a_token = paths[A.tenant].rsplit("/", 1)[1]
        for tenant in (B.tenant, STRANGER):  # A's link under another tenant's address
            response = await d.client.get(f"/teams/{tenant}/files/{a_token}")
            assert response.status == 404
        for school, other in ((A, B), (B, A)):
            response = await d.client.get(paths[school.tenant])
            body = (await response.read()).decode()
            assert response.status == 200, body
            assert REFERENCE in body and school.account in body
            assert other.account not in body

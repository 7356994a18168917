"""Slack installations (adapters.slack.installs): the tables our migration makes are the ones
slack_sdk's stores query; tokens are encrypted at rest; a rotating token is refreshed once,
under the database lock, however many instances need it at the same moment."""

from __future__ import annotations

import asyncio
import logging
import time

import aiohttp
import asyncpg
import pytest
from cryptography.fernet import Fernet, MultiFernet
from slack_fakes import CLIENT_ID, CLIENT_SECRET, SECRET_KEY, FakeSlack
from slack_sdk.oauth.installation_store import Bot
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
from slack_sdk.oauth.token_rotation.async_rotator import AsyncTokenRotator
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import MetaData

from adapters.slack.installs import EncryptedInstalls, OneUseStates, SlackTokens
from adapters.slack.school import SchoolClient
from storage.postgres.database import make_engine
from storage.postgres.schema import slack_bots, slack_installations, slack_oauth_states

TEAM = "T0ROTATE"
SCHOOL = f"slack:{TEAM}"


def _columns(table: object) -> dict[str, bool]:
    return {c.name: bool(c.nullable) for c in table.columns}  # type: ignore[attr-defined]


def test_our_tables_have_the_columns_slack_sdk_queries() -> None:
    theirs = MetaData()
    store = AsyncSQLAlchemyInstallationStore
    assert _columns(slack_installations) == _columns(
        store.build_installations_table(theirs, "slack_installations")
    )
    assert _columns(slack_bots) == _columns(store.build_bots_table(theirs, "slack_bots"))
    states = AsyncSQLAlchemyOAuthStateStore.build_oauth_states_table(theirs, "slack_oauth_states")
    assert _columns(slack_oauth_states) == _columns(states)


def _bot(token: str, refresh: str = "", expires_at: int | None = None) -> Bot:
    return Bot(
        app_id="A0REPORT",
        enterprise_id=None,
        team_id=TEAM,
        bot_token=token,
        bot_id="B0ROT",
        bot_user_id="U0BOTROT",
        bot_scopes="commands,chat:write",
        bot_refresh_token=refresh or None,
        bot_token_expires_at=expires_at,
        is_enterprise_install=False,
        installed_at=time.time(),
    )


async def test_tokens_are_kept_encrypted_and_only_the_key_opens_them(
    pg_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    engine = make_engine(pg_url)
    try:
        installs = EncryptedInstalls(CLIENT_ID, engine, MultiFernet([Fernet(SECRET_KEY)]))
        await installs.async_save_bot(_bot("xoxb-plain-token", "xoxe-1-refresh"))
        conn = await asyncpg.connect(pg_url)
        try:
            row = await conn.fetchrow("SELECT bot_token, bot_refresh_token FROM slack_bots")
        finally:
            await conn.close()
        assert row is not None and "plain-token" not in row[0] and "refresh" not in row[1]
        found = await installs.bot_of_school(SCHOOL)
        assert found is not None and found.bot_token == "xoxb-plain-token"
        assert found.bot_refresh_token == "xoxe-1-refresh"

        # A new key first, the old one kept: old rows still open; a stranger's key opens none.
        new = Fernet.generate_key()
        rotated = EncryptedInstalls(
            CLIENT_ID, engine, MultiFernet([Fernet(new), Fernet(SECRET_KEY)])
        )
        assert (await rotated.bot_of_school(SCHOOL)).bot_token == "xoxb-plain-token"  # type: ignore[union-attr]
        stranger = EncryptedInstalls(CLIENT_ID, engine, MultiFernet([Fernet(new)]))
        assert await stranger.bot_of_school(SCHOOL) is None
        assert "cannot be decrypted" in caplog.text and "plain-token" not in caplog.text
    finally:
        await engine.dispose()


async def test_an_install_state_is_accepted_once(pg_url: str) -> None:
    engine = make_engine(pg_url)
    try:
        states = OneUseStates(expiration_seconds=600, engine=engine)
        state = await states.async_issue()
        taken = await asyncio.gather(*(states.async_consume(state) for _ in range(5)))
        assert taken.count(True) == 1
        assert not await states.async_consume("made-up")
    finally:
        await engine.dispose()


class Instance:
    """What one reportbot instance holds for Slack tokens: its own engine and cache."""

    def __init__(self, pg_url: str, api: str, session: aiohttp.ClientSession) -> None:
        self.engine = make_engine(pg_url)
        keys = MultiFernet([Fernet(SECRET_KEY)])
        self.installs = EncryptedInstalls(CLIENT_ID, self.engine, keys)
        client = AsyncWebClient(base_url=api, session=session)
        rotator = AsyncTokenRotator(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, client=client)
        self.tokens = SlackTokens(self.installs, rotator)


async def test_a_rotating_token_is_refreshed_once_under_the_lock_for_every_instance(
    pg_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    fake = FakeSlack()
    api = await fake.start()
    async with aiohttp.ClientSession() as session:
        instances = [Instance(pg_url, api, session) for _ in range(3)]
        try:
            issued = fake._issue(TEAM, rotation=True)
            soon = int(time.time()) + 60  # inside the two hours before expiry
            await instances[0].installs.async_save_bot(
                _bot(issued["access_token"], issued["refresh_token"], soon)
            )
            found = await asyncio.gather(*(i.tokens.bot(SCHOOL) for i in instances))
            refreshes = [c for c in fake.calls if c.method == "oauth.v2.access"]
            assert len(refreshes) == 1  # Slack honours each refresh token once
            tokens = {b.bot_token for b in found if b is not None}
            assert len(tokens) == 1 and tokens != {issued["access_token"]}
            [token] = tokens
            assert fake.tokens[token] == TEAM
            assert sum(i.tokens.rotations for i in instances) == 1

            # A background send (the courier) asks for the school's token at its call.
            client = SchoolClient(
                lambda: instances[1].tokens.token(SCHOOL), base_url=api, session=session
            )
            await client.auth_test()
            assert fake.calls[-1].team == TEAM and fake.calls[-1].token == token[:5]
            assert issued["access_token"] not in caplog.text and token not in caplog.text
        finally:
            for i in instances:
                await i.engine.dispose()
            await fake.close()

"""Inbound tokens, checked with the Agents SDK's validator against keys served on loopback.

`TokenIssuer` (teams_fakes) signs tokens as Bot Framework does, with an RSA key made for the
run, and serves its OpenID metadata and keys; the bot is pointed at it with
REPORTBOT_TEAMS_OPENID_METADATA. Forged tokens are what an attacker can make: another key, an
old token, another audience or issuer, a genuine token replayed for another serviceUrl.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import pytest
from teams_fakes import (
    APP_ID,
    AUTH_ENV,
    REPORTER_KEY,
    SECRET,
    TENANT,
    TIKTOK_LINK,
    TeamsHarness,
    TokenIssuer,
    bearer,
    complete_report,
    connector_stand_in,
    harness,
    personal_message,
    rsa_key,
    token_issuer,
)

OTHER_TENANT = "11111111-2222-3333-4444-555555555555"
SDK = "CONNECTIONS__SERVICE_CONNECTION__SETTINGS__"


async def _accepted(h: TeamsHarness) -> bool:
    return await h.runtime.store.conversation(REPORTER_KEY) is not None


async def test_a_token_signed_by_the_channel_is_accepted() -> None:
    async with token_issuer() as issuer, harness(issuer.env()) as h:
        activity = personal_message(h.service_url, "report")
        assert await h.send(activity, bearer(issuer.token(h.service_url))) == 200
        assert await _accepted(h)


Forge = Callable[[TokenIssuer, str], dict[str, str]]
FORGED: dict[str, Forge] = {
    "no Authorization header": lambda i, url: {},
    "not a bearer token": lambda i, url: {"Authorization": "Basic dXNlcjpwYXNz"},
    "a bearer with no token": lambda i, url: {"Authorization": "Bearer"},
    "not a JWT": lambda i, url: bearer("not-a-token"),
    "signed with another key": lambda i, url: bearer(i.token(url, key=rsa_key())),
    "a key the channel does not have": lambda i, url: bearer(i.token(url, kid="other")),
    "expired an hour ago": lambda i, url: bearer(i.token(url, lifetime=-3600)),
    "for another bot": lambda i, url: bearer(
        i.token(url, audience="0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e")
    ),
    "from another issuer": lambda i, url: bearer(i.token(url, issuer="https://attacker.example")),
    "no serviceurl claim": lambda i, url: bearer(i.token(url, serviceurl=None)),
    "unsigned (alg none)": lambda i, url: bearer(
        "eyJhbGciOiJub25lIiwia2lkIjoicmVwb3J0Ym90LXRlc3Qta2V5LTEifQ."
        "eyJhdWQiOiI2ZjFiMmMzZC00ZTVmLTRhNmItOGM3ZC05ZTBmMWEyYjNjNGQifQ."
    ),
}


@pytest.mark.parametrize("forge", FORGED.values(), ids=FORGED.keys())
async def test_a_missing_malformed_forged_expired_or_misaddressed_token_gets_401(
    forge: Forge, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with token_issuer() as issuer, harness(issuer.env()) as h:
        headers = forge(issuer, h.service_url)
        activity = personal_message(h.service_url, TIKTOK_LINK)
        assert await h.send(activity, headers) == 401
        assert await h.deliver() == 0
        assert h.connector.calls == []
        assert not await _accepted(h)
    token = headers.get("Authorization", "").removeprefix("Bearer ")
    assert not token or token not in caplog.text
    assert TIKTOK_LINK not in caplog.text and SECRET not in caplog.text


async def test_a_genuine_token_cannot_send_the_reply_to_another_service_url() -> None:
    """botbuilder's emulator path did not tie the two: the reply went to the attacker."""
    async with (
        token_issuer() as issuer,
        connector_stand_in() as (attacker, attacker_url),
        harness(issuer.env()) as h,
    ):
        genuine = issuer.token(h.service_url)  # issued for the real Bot Connector
        replayed = personal_message(attacker_url, "report")
        assert await h.send(replayed, bearer(genuine)) == 401
        await h.deliver()
        assert attacker.calls == [] and not await _accepted(h)
        # The same token on an activity that names its own Bot Connector is fine.
        assert await h.send(personal_message(h.service_url, "report"), bearer(genuine)) == 200


async def test_a_single_tenant_bot_serves_only_its_own_tenant_unless_told_otherwise() -> None:
    async with token_issuer() as issuer:
        for env, status in [
            (issuer.env(), 403),
            (issuer.env({**AUTH_ENV, "REPORTBOT_TEAMS_TENANTS": f"{TENANT},{OTHER_TENANT}"}), 200),
            (issuer.env({**AUTH_ENV, "MicrosoftAppType": "MultiTenant"}), 200),
        ]:
            async with harness(env) as h:
                activity = personal_message(h.service_url, "report")
                activity["channelData"]["tenant"]["id"] = OTHER_TENANT
                activity["conversation"]["tenantId"] = OTHER_TENANT
                token = issuer.token(h.service_url)
                assert await h.send(activity, bearer(token)) == status, env
            async with harness(env) as h:  # the bot's own tenant is always served
                own = personal_message(h.service_url, "report")
                assert await h.send(own, bearer(issuer.token(h.service_url))) == 200


async def test_with_a_tenant_id_and_no_app_type_the_bot_is_single_tenant() -> None:
    unset = {k: v for k, v in AUTH_ENV.items() if k != "MicrosoftAppType"}
    async with token_issuer() as issuer, harness(issuer.env(unset)) as h:
        teams = (await (await h.client.get("/healthz")).json())["platforms"]["teams"]
        assert teams["app_type"] == "SingleTenant" and teams["tenants"] == "own"
        other = personal_message(h.service_url, "report")
        other["channelData"]["tenant"]["id"] = OTHER_TENANT
        other["conversation"]["tenantId"] = OTHER_TENANT
        assert await h.send(other, bearer(issuer.token(h.service_url))) == 403
        own = personal_message(h.service_url, "report")
        assert await h.send(own, bearer(issuer.token(h.service_url))) == 200


async def test_a_bot_any_tenant_may_use_says_so_at_start(caplog: pytest.LogCaptureFixture) -> None:
    multi = {**AUTH_ENV, "MicrosoftAppType": "MultiTenant"}
    async with token_issuer() as issuer, harness(issuer.env(multi)) as h:
        teams = (await (await h.client.get("/healthz")).json())["platforms"]["teams"]
        assert teams["app_type"] == "MultiTenant" and teams["tenants"] == "any"
    assert "any Microsoft 365 organisation can message this bot" in caplog.text
    caplog.clear()
    listed = {**multi, "REPORTBOT_TEAMS_TENANTS": TENANT}
    async with token_issuer() as issuer, harness(issuer.env(listed)):
        pass
    assert "any Microsoft 365 organisation" not in caplog.text


async def test_the_sdk_s_own_setting_names_work_too() -> None:
    async with token_issuer() as issuer:
        env = {
            f"{SDK}CLIENTID": APP_ID,
            f"{SDK}CLIENTSECRET": SECRET,
            f"{SDK}TENANTID": TENANT,
            "REPORTBOT_TEAMS_OPENID_METADATA": issuer.metadata_url,
        }
        async with harness(env) as h:
            teams = (await (await h.client.get("/healthz")).json())["platforms"]["teams"]
            assert teams["authentication"] == "on"
            assert teams["tenants"] == "own"  # single-tenant: a tenant and a secret, as Azure has
            activity = personal_message(h.service_url, "report")
            assert await h.send(activity) == 401
            assert await h.send(activity, bearer(issuer.token(h.service_url))) == 200


async def test_signing_keys_are_fetched_once_without_blocking_the_event_loop() -> None:
    """The SDK's PyJWKClient fetches with urllib on worker threads; these come over aiohttp."""
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    async with token_issuer() as issuer, harness(issuer.env()) as h:
        issuer.delay = 0.2  # each key document takes a while to come
        ticking = asyncio.create_task(ticker())
        users = [{"id": f"29:user-{n}", "name": f"User {n}"} for n in range(3)]
        token = issuer.token(h.service_url)
        statuses = await asyncio.gather(
            *(h.send(personal_message(h.service_url, "hi", user=u), bearer(token)) for u in users)
        )
        ticking.cancel()
        assert statuses == [200, 200, 200]
        assert issuer.fetches == ["metadata", "keys"]  # one fetch served all three
        assert ticks >= 10  # the loop kept running while the keys were on their way
        assert await h.send(personal_message(h.service_url, "again"), bearer(token)) == 200
        assert issuer.fetches == ["metadata", "keys"]  # and they are kept


async def test_unreachable_signing_keys_get_503_so_teams_tries_again() -> None:
    async with token_issuer() as issuer, harness(issuer.env()) as h:
        issuer.delay = 5  # longer than REPORTBOT_TEAMS_TIMEOUT (0.5 s)
        token = issuer.token(h.service_url)
        assert await h.send(personal_message(h.service_url, "report"), bearer(token)) == 503
        issuer.delay = 0
        assert await h.send(personal_message(h.service_url, "report"), bearer(token)) == 200


async def test_replies_carry_the_bot_s_token_fetched_once_off_the_event_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Outbound: MSAL's token (here a stand-in's), reused until shortly before it expires."""
    import threading

    from microsoft_agents.authentication.msal import MsalAuth

    outbound = TokenIssuer().token("https://api.botframework.com", audience="bot-connector")
    asked: list[tuple[list[str], threading.Thread]] = []

    async def get_access_token(self: Any, resource: str, scopes: list[str], *a: Any) -> str:
        asked.append((scopes, threading.current_thread()))
        return outbound

    monkeypatch.setattr(MsalAuth, "get_access_token", get_access_token)
    async with token_issuer() as issuer, harness(issuer.env()) as h:
        original = h.send

        async def signed(activity: dict[str, Any], headers: Any = None) -> int:
            return await original(activity, bearer(issuer.token(h.service_url)))

        h.send = signed  # type: ignore[method-assign]
        await complete_report(h)
    assert len(h.connector.posts) > 15
    assert {c.authorization for c in h.connector.calls} == {f"Bearer {outbound}"}
    assert [scopes for scopes, _ in asked] == [["https://api.botframework.com/.default"]]
    assert asked[0][1] is not threading.main_thread()

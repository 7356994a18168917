"""Teams settings: off when absent, development mode only when asked, clear errors otherwise."""

from __future__ import annotations

import pytest
from aiohttp import web

from adapters.compose import build_runtime
from adapters.teams import attach
from adapters.teams.config import load_teams_config
from bot.config import Settings
from bot.errors import ConfigError
from storage.memory import MemoryStore

APP_ID = "6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
SDK = "CONNECTIONS__SERVICE_CONNECTION__SETTINGS__"


def test_nothing_set_means_teams_is_off() -> None:
    assert load_teams_config({}) is None
    assert load_teams_config({"REPORTBOT_TEAMS_DEV": "0"}) is None


async def test_attach_returns_none_when_teams_is_not_configured() -> None:
    runtime = build_runtime(Settings(), MemoryStore())
    app = web.Application()
    assert await attach(app, runtime, {}) is None
    assert not [r for r in app.router.routes() if r.resource and "/api/messages" in str(r.resource)]


def test_development_mode_must_be_asked_for_and_turns_authentication_off() -> None:
    config = load_teams_config({"REPORTBOT_TEAMS_DEV": "1"})
    assert config is not None and config.dev_mode and not config.authenticated


def test_a_full_single_tenant_configuration() -> None:
    config = load_teams_config(
        {
            "MicrosoftAppId": APP_ID,
            "MicrosoftAppPassword": "s3cret",
            "MicrosoftAppType": "singletenant",
            "MicrosoftAppTenantId": TENANT,
            "REPORTBOT_TEAMS_TENANTS": f" {TENANT.upper()} ",
        }
    )
    assert config is not None and config.authenticated
    assert config.app_type == "SingleTenant"
    assert config.allows(TENANT) and not config.allows("11111111-2222-3333-4444-555555555555")
    assert "s3cret" not in repr(config)
    sdk = config.sdk_env()  # what the Agents SDK's MsalConnectionManager is built from
    assert sdk[f"{SDK}CLIENTID"] == APP_ID and sdk[f"{SDK}CLIENTSECRET"] == "s3cret"
    assert sdk[f"{SDK}TENANTID"] == TENANT and sdk[f"{SDK}AUTHTYPE"] == "ClientSecret"
    assert sdk[f"{SDK}VALIDATE_ISSUER"] == "true"


def test_today_s_names_map_to_the_sdk_s_connection_settings() -> None:
    multi = load_teams_config(
        {"MicrosoftAppId": APP_ID, "MicrosoftAppPassword": "s3cret"}  # no tenant: MultiTenant
    )
    assert multi is not None and multi.app_type == "MultiTenant"
    assert multi.sdk_env()[f"{SDK}TENANTID"] == "botframework.com"
    assert multi.allows("11111111-2222-3333-4444-555555555555")  # any tenant, as before
    msi = load_teams_config(
        {
            "MicrosoftAppId": APP_ID,
            "MicrosoftAppType": "UserAssignedMSI",
            "MicrosoftAppTenantId": TENANT,
        }
    )
    assert msi is not None and msi.sdk_env()[f"{SDK}AUTHTYPE"] == "UserManagedIdentity"
    assert f"{SDK}CLIENTSECRET" not in msi.sdk_env()
    assert msi.allows(TENANT) and not msi.allows("11111111-2222-3333-4444-555555555555")


def test_a_tenant_id_with_no_app_type_is_single_tenant_as_the_agents_sdk_takes_it() -> None:
    """Unset MicrosoftAppType once meant MultiTenant: the tenant id ignored, any tenant served."""
    config = load_teams_config(
        {"MicrosoftAppId": APP_ID, "MicrosoftAppPassword": "s3cret", "MicrosoftAppTenantId": TENANT}
    )
    assert config is not None and config.app_type == "SingleTenant"
    assert config.sdk_env()[f"{SDK}TENANTID"] == TENANT  # tokens from the school's own tenant
    assert config.tenants_allowed() == "own"
    assert config.allows(TENANT) and not config.allows("11111111-2222-3333-4444-555555555555")
    # Asked for by name, an older multi-tenant registration still works as it did.
    multi = load_teams_config(
        {
            "MicrosoftAppId": APP_ID,
            "MicrosoftAppPassword": "s3cret",
            "MicrosoftAppTenantId": TENANT,
            "MicrosoftAppType": "MultiTenant",
        }
    )
    assert multi is not None and multi.app_type == "MultiTenant"
    assert multi.sdk_env()[f"{SDK}TENANTID"] == "botframework.com"


def test_the_sdk_s_own_names_work_alone_and_must_agree_with_today_s() -> None:
    sdk_only = {f"{SDK}CLIENTID": APP_ID, f"{SDK}CLIENTSECRET": "s3cret", f"{SDK}TENANTID": TENANT}
    config = load_teams_config(sdk_only)
    assert config is not None and config.app_id == APP_ID and config.password == "s3cret"
    assert config.app_type == "SingleTenant" and config.tenant_id == TENANT
    assert config.sdk_env()[f"{SDK}CLIENTSECRET"] == "s3cret"
    same = load_teams_config({**sdk_only, "MicrosoftAppId": APP_ID})
    assert same is not None and same.app_id == APP_ID
    with pytest.raises(ConfigError, match="MicrosoftAppId and CONNECTIONS__") as raised:
        load_teams_config({**sdk_only, "MicrosoftAppId": "0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e"})
    assert "s3cret" not in str(raised.value)
    passed = load_teams_config(
        {**sdk_only, f"{SDK}AUTHORITY": "https://login.microsoftonline.us/x"}
    )
    assert passed is not None
    assert passed.sdk_env()[f"{SDK}AUTHORITY"] == "https://login.microsoftonline.us/x"


def test_managed_identity_needs_no_password_but_a_tenant() -> None:
    env = {"MicrosoftAppId": APP_ID, "MicrosoftAppType": "UserAssignedMSI"}
    with pytest.raises(ConfigError, match="MicrosoftAppTenantId"):
        load_teams_config(env)
    config = load_teams_config({**env, "MicrosoftAppTenantId": TENANT})
    assert config is not None and config.password == ""


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"MicrosoftAppId": "my-bot"}, "MicrosoftAppId"),
        ({"MicrosoftAppId": APP_ID}, "MicrosoftAppPassword"),
        ({"MicrosoftAppPassword": "x"}, "MicrosoftAppId"),
        (
            {"MicrosoftAppId": APP_ID, "MicrosoftAppPassword": "x", "MicrosoftAppType": "Bot"},
            "MicrosoftAppType",
        ),
        (
            {
                "MicrosoftAppId": APP_ID,
                "MicrosoftAppPassword": "x",
                "MicrosoftAppType": "SingleTenant",
            },
            "MicrosoftAppTenantId",
        ),
        (
            {
                "MicrosoftAppId": APP_ID,
                "MicrosoftAppPassword": "x",
                "MicrosoftAppTenantId": "school",
            },
            "MicrosoftAppTenantId",
        ),
        ({"REPORTBOT_TEAMS_DEV": "maybe"}, "REPORTBOT_TEAMS_DEV"),
        (
            {"REPORTBOT_TEAMS_DEV": "1", "REPORTBOT_TEAMS_OPENID_METADATA": "login.example/keys"},
            "REPORTBOT_TEAMS_OPENID_METADATA",
        ),
        ({"REPORTBOT_TEAMS_DEV": "1", "REPORTBOT_TEAMS_TENANTS": "a,b"}, "REPORTBOT_TEAMS_TENANTS"),
        (
            {"REPORTBOT_TEAMS_DEV": "1", "REPORTBOT_TEAMS_TIMEOUT": "soon"},
            "REPORTBOT_TEAMS_TIMEOUT",
        ),
        ({"REPORTBOT_TEAMS_DEV": "1", "REPORTBOT_TEAMS_TIMEOUT": "-1"}, "REPORTBOT_TEAMS_TIMEOUT"),
        (
            {"REPORTBOT_TEAMS_DEV": "1", "REPORTBOT_TEAMS_LEADERSHIP_TEAM": "Leadership"},
            "REPORTBOT_TEAMS_LEADERSHIP_TEAM",
        ),
        (
            {
                "REPORTBOT_TEAMS_DEV": "1",
                "REPORTBOT_TEAMS_LEADERSHIP_TEAM": "https://teams.microsoft.com/l/chat/0/0",
            },
            "REPORTBOT_TEAMS_LEADERSHIP_TEAM",
        ),
    ],
)
def test_a_malformed_setting_is_named(env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=named) as raised:
        load_teams_config(env)
    assert str(raised.value) != "x"  # the message explains; it never echoes a password
    assert "MicrosoftAppPassword=x" not in str(raised.value)


GROUP = "f3ec8cd2-e704-4344-8c47-9a3a21d683c0"
THREAD = "19:zFLSDFWsesfzcmKArqKJ-65aOXJz@thread.tacv2"


@pytest.mark.parametrize(
    ("copied", "thread", "group"),
    [
        (  # Teams: ⋯ beside the team > Get link to team
            f"https://teams.microsoft.com/l/team/19%3azFLSDFWsesfzcmKArqKJ-65aOXJz%40thread.tacv2/"
            f"conversations?groupId={GROUP}&tenantId={TENANT}",
            THREAD,
            GROUP,
        ),
        (  # a channel's link names the channel, but still carries the team's group
            f"https://teams.microsoft.com/l/channel/19%3a0b7f32667e064dd9b25d7969801541f4%40thread"
            f".tacv2/Reports?groupId={GROUP}&tenantId={TENANT}",
            "",
            GROUP,
        ),
        (f" {THREAD} ", THREAD, ""),
        (GROUP.upper(), "", GROUP),
    ],
)
def test_the_leadership_team_can_be_named_as_an_admin_copies_it(
    copied: str, thread: str, group: str
) -> None:
    config = load_teams_config(
        {"REPORTBOT_TEAMS_DEV": "1", "REPORTBOT_TEAMS_LEADERSHIP_TEAM": copied}
    )
    assert config is not None and config.leadership_team is not None
    team = config.leadership_team
    assert (team.thread_id, team.group_id) == (thread.lower(), group)
    assert team.matches(THREAD, GROUP)
    assert not team.matches("19:other@thread.tacv2", "0c5e9d3a-7b21-4f6e-9a8d-1e2f3a4b5c6d")


def test_without_the_setting_no_team_is_named() -> None:
    config = load_teams_config({"REPORTBOT_TEAMS_DEV": "1"})
    assert config is not None and config.leadership_team is None

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
    assert "s3cret" not in repr(config) and "s3cret" not in repr(config.sdk_settings())
    assert config.sdk_settings().APP_TENANTID == TENANT


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
        ({"REPORTBOT_TEAMS_DEV": "1", "REPORTBOT_TEAMS_TENANTS": "a,b"}, "REPORTBOT_TEAMS_TENANTS"),
        (
            {"REPORTBOT_TEAMS_DEV": "1", "REPORTBOT_TEAMS_TIMEOUT": "soon"},
            "REPORTBOT_TEAMS_TIMEOUT",
        ),
        ({"REPORTBOT_TEAMS_DEV": "1", "REPORTBOT_TEAMS_TIMEOUT": "-1"}, "REPORTBOT_TEAMS_TIMEOUT"),
    ],
)
def test_a_malformed_setting_is_named(env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=named) as raised:
        load_teams_config(env)
    assert str(raised.value) != "x"  # the message explains; it never echoes a password
    assert "MicrosoftAppPassword=x" not in str(raised.value)

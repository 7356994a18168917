"""Teams settings, read from the environment under the Bot Framework's usual names or the
Microsoft 365 Agents SDK's own.

    MicrosoftAppId         the Azure Bot's app (client) id; empty = Teams off
                           (SDK: CONNECTIONS__SERVICE_CONNECTION__SETTINGS__CLIENTID)
    MicrosoftAppPassword   its client secret, not for UserAssignedMSI (SDK: …__CLIENTSECRET)
    MicrosoftAppType       SingleTenant | MultiTenant | UserAssignedMSI. Unset: SingleTenant when a
                           tenant id is given, as the Agents SDK takes a tenant id (and
                           UserAssignedMSI for the SDK's AUTHTYPE=UserManagedIdentity);
                           MultiTenant, as the Bot Framework did, only when no tenant id is given
    MicrosoftAppTenantId   the school's tenant id, for SingleTenant and UserAssignedMSI
                           (SDK: …__TENANTID)
    REPORTBOT_TEAMS_TENANTS   comma-separated tenant ids allowed to use the bot; unset: a
                              single-tenant bot's own tenant only, any tenant for MultiTenant
    REPORTBOT_TEAMS_DEV       1 = run with no app id, authentication OFF (local testing only)
    REPORTBOT_TEAMS_TIMEOUT   seconds to wait for the Bot Connector (default 15)
    REPORTBOT_TEAMS_OPENID_METADATA   the OpenID metadata document naming the token signing keys
                              (default: the SDK's, Microsoft's own); for tests and sovereign clouds
    REPORTBOT_PUBLIC_URL      the bot's own https address (the messaging endpoint without
                              /api/messages): leaders' files are single-use links on it
    REPORTBOT_TEAMS_LEADERSHIP_TEAM   recommended: the team that receives cases – its link (Teams:
                              ⋯ beside the team > Get link to team), its id (19:…@thread.tacv2)
                              or its group id (a GUID). Unset: the first team the bot is ever
                              added to.

Other `CONNECTIONS__…` and `CONNECTIONSMAP__…` variables reach the SDK unchanged. Every problem
raises `ConfigError` naming the variable, so start-up stops with a clear line.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Literal
from urllib.parse import parse_qsl, unquote, urlsplit

from bot.errors import ConfigError

AppType = Literal["SingleTenant", "MultiTenant", "UserAssignedMSI"]
APP_TYPES: dict[str, AppType] = {
    "singletenant": "SingleTenant",
    "multitenant": "MultiTenant",
    "userassignedmsi": "UserAssignedMSI",
}
SDK = "CONNECTIONS__SERVICE_CONNECTION__SETTINGS__"  # the SDK's default connection
SDK_PREFIXES = ("CONNECTIONS__", "CONNECTIONSMAP__")
MULTI_TENANT_AUTHORITY = "botframework.com"  # where a multi-tenant bot gets its tokens
_GUID = re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_THREAD = re.compile(r"^19:[^/?#\s]+@thread\.[a-z0-9]+$", re.IGNORECASE)
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


@dataclass(frozen=True)
class TeamRef:
    """A team as a school names it: its thread id, its Microsoft 365 group id, or both.

    Activities always carry the thread id; only install events carry the group id.
    """

    thread_id: str = ""  # "19:…@thread.tacv2", lower-cased
    group_id: str = ""  # a GUID, lower-cased

    def matches(self, thread_id: str, group_id: str = "") -> bool:
        if self.thread_id and thread_id.lower() == self.thread_id:
            return True
        return bool(self.group_id) and group_id.lower() == self.group_id


@dataclass(frozen=True)
class TeamsConfig:
    app_id: str
    password: str = field(default="", repr=False)
    app_type: AppType = "MultiTenant"
    tenant_id: str = ""
    dev_mode: bool = False
    allowed_tenants: frozenset[str] = frozenset()
    timeout: float = 15.0
    leadership_team: TeamRef | None = None  # None: the first team the bot is ever added to
    openid_metadata: str = ""  # "": the SDK's own signing-key addresses
    passthrough: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    public_url: str = ""  # "": leaders' files cannot be offered as links (they are told so)

    @property
    def authenticated(self) -> bool:
        """False only in development mode: then anyone who can reach the port is trusted."""
        return bool(self.app_id)

    @property
    def single_tenant(self) -> bool:
        return self.app_type in ("SingleTenant", "UserAssignedMSI")

    def allows(self, tenant: str) -> bool:
        """REPORTBOT_TEAMS_TENANTS when set; else a single-tenant bot's own tenant only."""
        if self.allowed_tenants:
            return tenant.lower() in self.allowed_tenants
        if self.authenticated and self.single_tenant:
            return tenant.lower() == self.tenant_id.lower()
        return True

    def tenants_allowed(self) -> str | int:
        """For /healthz: how many tenants may use the bot."""
        if self.allowed_tenants:
            return len(self.allowed_tenants)
        return "own" if self.authenticated and self.single_tenant else "any"

    def sdk_env(self) -> dict[str, str]:
        """The Agents SDK's connection settings (`load_configuration_from_env`'s input)."""
        env = dict(self.passthrough)
        if not self.authenticated:
            return env
        env[SDK + "CLIENTID"] = self.app_id
        env[SDK + "TENANTID"] = self.tenant_id if self.single_tenant else MULTI_TENANT_AUTHORITY
        if self.app_type == "UserAssignedMSI":
            env[SDK + "AUTHTYPE"] = "UserManagedIdentity"
        else:
            env[SDK + "AUTHTYPE"] = "ClientSecret"
            env[SDK + "CLIENTSECRET"] = self.password
        env.setdefault(SDK + "VALIDATE_ISSUER", "true")  # only Bot Framework's own issuers
        return env


def load_teams_config(env: Mapping[str, str]) -> TeamsConfig | None:
    """The Teams settings, or None when Teams is not configured (no app id, no dev mode)."""
    app_id = _either(env, "MicrosoftAppId", "CLIENTID")
    dev_mode = _flag(env, "REPORTBOT_TEAMS_DEV")
    password = _either(env, "MicrosoftAppPassword", "CLIENTSECRET")
    base = TeamsConfig(
        "",
        dev_mode=dev_mode,
        allowed_tenants=_tenants(env),
        timeout=_timeout(env),
        leadership_team=_leadership_team(env),
        openid_metadata=_metadata(env),
        passthrough=_passthrough(env),
        public_url=_public_url(env),
    )
    if not app_id:
        if password:
            raise ConfigError("MicrosoftAppPassword is set but MicrosoftAppId is empty: set both")
        return base if dev_mode else None
    _guid(app_id, "MicrosoftAppId")
    tenant_id = _either(env, "MicrosoftAppTenantId", "TENANTID")
    if tenant_id:
        _guid(tenant_id, "MicrosoftAppTenantId")
    app_type = _app_type(env, tenant_id)
    if app_type in ("SingleTenant", "UserAssignedMSI") and not tenant_id:
        raise ConfigError(f"MicrosoftAppTenantId is required when MicrosoftAppType={app_type}")
    if app_type != "UserAssignedMSI" and not password:
        raise ConfigError(
            f"MicrosoftAppPassword is required when MicrosoftAppType={app_type} "
            "(the Azure Bot's client secret)"
        )
    return replace(base, app_id=app_id, password=password, app_type=app_type, tenant_id=tenant_id)


def _either(env: Mapping[str, str], ours: str, sdk_key: str) -> str:
    """A setting under the Bot Framework's name or the SDK's; both set, they must agree."""
    mine, theirs = env.get(ours, "").strip(), env.get(SDK + sdk_key, "").strip()
    if mine and theirs and mine != theirs:
        raise ConfigError(f"{ours} and {SDK}{sdk_key} are both set and differ: set only one")
    return mine or theirs


def _flag(env: Mapping[str, str], name: str) -> bool:
    value = env.get(name, "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(f"{name} must be 1 or 0, not {value!r}")


def _guid(value: str, name: str) -> None:
    if not _GUID.match(value):
        raise ConfigError(
            f"{name} must be a GUID such as 00000000-0000-0000-0000-000000000000 "
            "(copy it from the Azure portal)"
        )


def _app_type(env: Mapping[str, str], tenant_id: str) -> AppType:
    raw = env.get("MicrosoftAppType", "").strip()
    if not raw:
        return _sdk_app_type(env, tenant_id)
    app_type = APP_TYPES.get(raw.lower())
    if app_type is None:
        raise ConfigError(
            f"MicrosoftAppType must be SingleTenant, MultiTenant or UserAssignedMSI, not {raw!r}"
        )
    return app_type


def _sdk_app_type(env: Mapping[str, str], tenant_id: str) -> AppType:
    """Unnamed: what the Agents SDK makes of the same settings.

    The SDK has no multi-tenant switch: a tenant id is where the bot's tokens come from, so a
    bot given one is single-tenant. (The Bot Framework SDK's unset MicrosoftAppType meant
    MultiTenant and dropped the tenant id, so such a bot took tokens from botframework.com and
    answered every tenant: never what someone who typed their tenant id meant.) Only with no
    tenant id at all is it the older multi-tenant registration, the one thing that can work.
    """
    auth_type = env.get(SDK + "AUTHTYPE", "").strip().lower()
    if auth_type == "usermanagedidentity" and env.get(SDK + "CLIENTID", "").strip():
        return "UserAssignedMSI"
    return "SingleTenant" if tenant_id else "MultiTenant"


def _tenants(env: Mapping[str, str]) -> frozenset[str]:
    raw = env.get("REPORTBOT_TEAMS_TENANTS", "")
    tenants = [t.strip() for t in raw.split(",") if t.strip()]
    for tenant in tenants:
        if not _GUID.match(tenant):
            raise ConfigError(
                f"REPORTBOT_TEAMS_TENANTS must be comma-separated tenant ids (GUIDs); "
                f"{tenant!r} is not one"
            )
    return frozenset(t.lower() for t in tenants)


def _timeout(env: Mapping[str, str]) -> float:
    raw = env.get("REPORTBOT_TEAMS_TIMEOUT", "").strip()
    if not raw:
        return 15.0
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if not 0 < value <= 300:
        raise ConfigError(f"REPORTBOT_TEAMS_TIMEOUT must be a number of seconds, not {raw!r}")
    return value


def _metadata(env: Mapping[str, str]) -> str:
    raw = env.get("REPORTBOT_TEAMS_OPENID_METADATA", "").strip()
    parts = urlsplit(raw)
    if raw and (parts.scheme not in ("http", "https") or not parts.hostname):
        raise ConfigError(
            f"REPORTBOT_TEAMS_OPENID_METADATA must be an http(s) address, not {raw!r}"
        )
    return raw


def _public_url(env: Mapping[str, str]) -> str:
    raw = env.get("REPORTBOT_PUBLIC_URL", "").strip().rstrip("/")
    parts = urlsplit(raw)
    if raw and (parts.scheme not in ("http", "https") or not parts.hostname or parts.query):
        raise ConfigError(
            "REPORTBOT_PUBLIC_URL must be the bot's own address, such as "
            f"https://reportbot.school.example, not {raw!r}"
        )
    return raw


def _passthrough(env: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, v) for k, v in env.items() if k.startswith(SDK_PREFIXES)))


def _leadership_team(env: Mapping[str, str]) -> TeamRef | None:
    raw = env.get("REPORTBOT_TEAMS_LEADERSHIP_TEAM", "").strip()
    if not raw:
        return None
    team = parse_team(raw)
    if team is None:
        raise ConfigError(
            "REPORTBOT_TEAMS_LEADERSHIP_TEAM must be the leadership team's link (in Teams: ⋯ "
            "beside the team > Get link to team), its id (19:…@thread.tacv2) or its group id "
            f"(a GUID), not {raw!r}"
        )
    return team


def parse_team(raw: str) -> TeamRef | None:
    """A team from what an admin can copy: a team or channel link, a thread id, a group id."""
    value = raw.strip()
    if _GUID.match(value):
        return TeamRef(group_id=value.lower())
    if _THREAD.match(value):
        return TeamRef(thread_id=value.lower())
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    query = {k.lower(): v for k, v in parse_qsl(parts.query)}
    group = query.get("groupid", "").strip()
    segments = parts.path.split("/")
    # .../l/team/<thread id>/conversations; a channel link (/l/channel/) names a channel instead
    thread = unquote(segments[3]) if segments[1:3] == ["l", "team"] and len(segments) > 3 else ""
    team = TeamRef(
        thread_id=thread.lower() if _THREAD.match(thread) else "",
        group_id=group.lower() if _GUID.match(group) else "",
    )
    return team if team.thread_id or team.group_id else None

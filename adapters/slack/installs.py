"""Slack installations for many schools: each workspace's tokens, encrypted at rest, refreshed
under a database lock.

- `SecretKey` reads REPORTBOT_SECRET_KEY: one or more Fernet keys, comma-separated (the first
  encrypts, any decrypts, so a key can be changed without losing the tokens kept under the
  old one).
- `EncryptedInstalls` wraps slack_sdk's `AsyncSQLAlchemyInstallationStore` (its tables are
  made by our migration 0002, not `create_tables()`): tokens are encrypted before they are
  saved and decrypted when found; slack_sdk keeps them in plain columns otherwise.
- `OneUseStates` is slack_sdk's `AsyncSQLAlchemyOAuthStateStore` with a consume that is one
  statement, so two instances cannot both accept the same install's state.
- `SlackTokens` answers "which bot token does this school use now?" for Bolt's authorisation
  and for background sends (the courier, reminders) alike. A token that is about to expire
  (token rotation) is refreshed under a Postgres advisory lock held for that school, and read
  again once the lock is held: two instances refreshing at once would otherwise both spend
  the one refresh token, and one of them would be left with a token Slack has revoked.
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

import aiohttp
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from slack_sdk.errors import SlackTokenRotationError
from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.installation_store.sqlalchemy import (
    AsyncSQLAlchemyInstallationStore,
    SQLAlchemyInstallationStore,
)
from slack_sdk.oauth.sqlalchemy_utils import normalize_datetime_for_db
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
from slack_sdk.oauth.token_rotation.async_rotator import AsyncTokenRotator
from sqlalchemy import and_, desc, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.slack.client import quiet_logger
from bot.errors import ConfigError, RetryLater

log = logging.getLogger(__name__)
SECRET_KEY = "REPORTBOT_SECRET_KEY"
MAKE_KEY = (
    'python3 -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
)
TOKEN_FIELDS = ("bot_token", "bot_refresh_token", "user_token", "user_refresh_token")
ROTATE_BEFORE = 120  # minutes before expiry that a rotating token is refreshed (Bolt's default)
CACHE_FOR = 30.0  # seconds a school's token is used without reading the store again
LOCK_SPACE = 0x736C6B  # pg_advisory_xact_lock(space, hashtext(school)): "slk"
T = TypeVar("T", Bot, Installation)


def secret_key(env: Mapping[str, str]) -> MultiFernet:
    """REPORTBOT_SECRET_KEY as Fernet keys; a ConfigError that never echoes the value."""
    value = env.get(SECRET_KEY, "").strip()
    if not value:
        raise ConfigError(
            f"{SECRET_KEY} is not set. Many schools' Slack tokens are kept encrypted with it. "
            f"Make one with {MAKE_KEY} and keep it apart from the database (a secret store)."
        )
    try:
        return MultiFernet([Fernet(key.strip()) for key in value.split(",") if key.strip()])
    except (ValueError, TypeError):
        raise ConfigError(
            f"{SECRET_KEY} is not a Fernet key (44 characters of URL-safe base64; several may "
            f"be given, comma-separated). Make one with {MAKE_KEY}."
        ) from None


class EncryptedInstalls(AsyncInstallationStore):
    """slack_sdk's installation store, with every token encrypted at rest."""

    def __init__(self, client_id: str, engine: AsyncEngine, keys: MultiFernet) -> None:
        self.inner = AsyncSQLAlchemyInstallationStore(
            client_id, engine, logger=quiet_logger("installs")
        )
        self.client_id = client_id
        self.keys = keys

    @property
    def logger(self) -> logging.Logger:
        return self.inner.logger

    def _sealed(self, found: T) -> T:
        sealed = copy.copy(found)
        for name in TOKEN_FIELDS:
            value = getattr(sealed, name, None)
            if value:
                setattr(sealed, name, self.keys.encrypt(value.encode()).decode())
        return sealed

    def opened(self, found: T | None) -> T | None:
        if found is None:
            return None
        opened = copy.copy(found)
        try:
            for name in TOKEN_FIELDS:
                value = getattr(opened, name, None)
                if value:
                    setattr(opened, name, self.keys.decrypt(value.encode()).decode())
        except InvalidToken:
            log.error(
                "a Slack installation's tokens cannot be decrypted with %s (was it changed "
                "without keeping the old key after the new one?); that school must reinstall",
                SECRET_KEY,
            )
            return None
        return opened

    async def async_save(self, installation: Installation) -> None:
        await self.inner.async_save(self._sealed(installation))

    async def async_save_bot(self, bot: Bot) -> None:
        await self.inner.async_save_bot(self._sealed(bot))

    async def async_find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        found = await self.inner.async_find_bot(
            enterprise_id=enterprise_id,
            team_id=team_id,
            is_enterprise_install=is_enterprise_install,
        )
        return self.opened(found)

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        found = await self.inner.async_find_installation(
            enterprise_id=enterprise_id,
            team_id=team_id,
            user_id=user_id,
            is_enterprise_install=is_enterprise_install,
        )
        return self.opened(found)

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await self.inner.async_delete_bot(enterprise_id=enterprise_id, team_id=team_id)

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        await self.inner.async_delete_installation(
            enterprise_id=enterprise_id, team_id=team_id, user_id=user_id
        )

    async def bot_of_school(self, school: str) -> Bot | None:
        """The school's newest bot (`slack:E…`: the org-wide install; `slack:T…`: the
        workspace's, inside an Enterprise Grid org or not)."""
        platform, _, ident = school.partition(":")
        if platform != "slack" or not ident:
            return None
        c = self.inner.bots.c
        org = ident.startswith("E")
        where = and_(
            c.client_id == self.client_id,
            c.bot_token.is_not(None),
            c.enterprise_id == ident if org else c.team_id == ident,
            c.is_enterprise_install if org else ~c.is_enterprise_install,
        )
        query = self.inner.bots.select().where(where).order_by(desc(c.installed_at)).limit(1)
        async with self.inner.engine.connect() as conn:
            row = (await conn.execute(query)).mappings().first()
        return self.opened(SQLAlchemyInstallationStore.build_bot_entity(row)) if row else None


class OneUseStates(AsyncSQLAlchemyOAuthStateStore):
    """The OAuth state store, each state accepted once even by two instances at once."""

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        c = self.oauth_states.c
        now = normalize_datetime_for_db(datetime.now(tz=UTC))
        async with self.engine.begin() as conn:  # states never used are cleared as we go
            await conn.execute(self.oauth_states.delete().where(c.expire_at < now))
        return await super().async_issue(*args, **kwargs)

    async def async_consume(self, state: str) -> bool:
        c = self.oauth_states.c
        now = normalize_datetime_for_db(datetime.now(tz=UTC))
        try:
            async with self.engine.begin() as conn:
                gone = await conn.execute(
                    self.oauth_states.delete()
                    .where(c.state == state, c.expire_at > now)
                    .returning(c.id)
                )
                return gone.first() is not None
        except SQLAlchemyError as e:
            log.warning("could not check an OAuth state (%s)", type(e).__name__)
            return False


class SlackTokens:
    """Each school's current bot: decrypted, cached briefly, refreshed under a lock."""

    def __init__(
        self,
        installs: EncryptedInstalls,
        rotator: AsyncTokenRotator,
        *,
        rotate_before: int = ROTATE_BEFORE,
        cache_for: float = CACHE_FOR,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.installs = installs
        self.rotator = rotator
        self.rotate_before = rotate_before
        self.cache_for = cache_for
        self._now = now
        self._cache: dict[str, tuple[float, Bot]] = {}
        self.rotations = 0  # refreshes this instance made (for tests and /healthz)

    async def bot(self, school: str) -> Bot | None:
        """The school's bot with a token good for now, or None: not installed (or removed)."""
        cached = self._cache.get(school)
        if cached and self._now() - cached[0] < self.cache_for and self._fresh(cached[1]):
            return cached[1]
        found = await self.installs.bot_of_school(school)
        if found is not None and not self._fresh(found):
            found = await self._rotate(school)
        if found is None:
            self._cache.pop(school, None)
            return None
        self._cache[school] = (self._now(), found)
        return found

    async def token(self, school: str) -> str:
        """For a background send: the token, or RetryLater while there is none."""
        found = await self.bot(school)
        if found is None or not found.bot_token:
            raise RetryLater(f"{school} has no Slack installation (removed, or not yet)", 300.0)
        return found.bot_token

    def forget(self, school: str) -> None:
        self._cache.pop(school, None)

    def _fresh(self, bot: Bot) -> bool:
        expires = bot.bot_token_expires_at
        return expires is None or expires > self._now() + self.rotate_before * 60

    async def _rotate(self, school: str) -> Bot | None:
        """Refresh the school's token, one instance at a time: whoever gets the lock second
        finds the token refreshed already and uses it."""
        engine = self.installs.inner.engine
        async with engine.begin() as conn:
            lock = func.pg_advisory_xact_lock(LOCK_SPACE, func.hashtext(school))
            await conn.execute(select(lock))
            current = await self.installs.bot_of_school(school)
            if current is None or self._fresh(current):
                return current
            try:
                rotated = await self.rotator.perform_bot_token_rotation(
                    bot=current, minutes_before_expiration=self.rotate_before
                )
            except (SlackTokenRotationError, TimeoutError, aiohttp.ClientError, OSError) as e:
                # Until it expires the token still works; the next use tries again.
                log.warning("could not refresh the Slack token of %s (%s)", school, _why(e))
                return current
            if rotated is None:
                return current
            await self.installs.async_save_bot(rotated)
            self.rotations += 1
            log.info("refreshed the Slack token of %s", school)
            return rotated


def _why(e: BaseException) -> str:
    api = getattr(e, "api_error", None)  # SlackTokenRotationError carries Slack's answer
    data = getattr(getattr(api, "response", None), "data", None)
    code = data.get("error") if isinstance(data, dict) else None
    return str(code or type(e).__name__)

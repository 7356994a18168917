"""The tables, as SQLAlchemy Core sees them: what the store queries and writes.

Each table keys its rows by `school` first ("" until the deployment serves several schools),
so that every row can be scoped to the school it belongs to. Whole values (a case, a
conversation, an outbox item) are kept as JSONB in the form `bot.codec` writes, exactly as
the other stores keep them; the other columns are copies of what the store looks rows up by.

The migrations in `migrations/versions` create these tables; `tests/test_postgres_store.py`
checks that the migrated database and this module agree.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Identity,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

metadata = MetaData()

_C = "C"  # references and ids sort and compare byte by byte, as Python compares str


def _school() -> Column[str]:
    return Column("school", Text, primary_key=True, server_default="")


def _stamp(name: str, nullable: bool = True) -> Column[datetime]:
    return Column(name, DateTime(timezone=True), nullable=nullable)


cases = Table(
    "cases",
    metadata,
    _school(),
    Column("reference", String(collation=_C), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("is_open", Boolean, nullable=False),
    _stamp("created_at", nullable=False),
    Column("reporter", Text, nullable=False),  # the reporter's Person.key
    Column("conversation_id", Text, nullable=False),
    Column("handles", ARRAY(Text), nullable=False),
    _stamp("remind_at"),
    Column("doc", JSONB, nullable=False),
    Index("cases_by_time", "school", "created_at", "reference"),
    Index("cases_open", "school", "created_at", "reference", postgresql_where=text("is_open")),
    Index("cases_by_handle", "handles", postgresql_using="gin"),
    Index(
        "cases_due",
        "school",
        "remind_at",
        "reference",
        postgresql_where=text("is_open AND remind_at IS NOT NULL"),
    ),
    Index("cases_by_conversation", "school", "conversation_id"),
    Index("cases_by_reporter", "school", "reporter"),
)

conversations = Table(
    "conversations",
    metadata,
    _school(),
    Column("person_key", Text, primary_key=True),
    Column("conversation_id", Text, nullable=False),
    Column("case_reference", Text, nullable=False),
    Column("doc", JSONB, nullable=False),
    Index("conversations_by_id", "school", "conversation_id"),
    Index(
        "conversations_by_case",
        "school",
        "case_reference",
        postgresql_where=text("case_reference <> ''"),
    ),
)

deliveries = Table(  # inbound delivery ids already applied (pruned after SEEN_KEPT)
    "deliveries",
    metadata,
    _school(),
    Column("id", Text, primary_key=True),
    _stamp("at", nullable=False),
    Index("deliveries_by_time", "at"),
)

# One row per item id, pending, failed or sent: a sent item stays as a content-free row
# (`sent_at` set, `doc` null) until pruned, so the one key refuses a second queueing of it,
# even one racing the delivered mark.
outbox = Table(
    "outbox",
    metadata,
    _school(),
    Column("id", Text, primary_key=True),
    Column("seq", BigInteger, Identity(always=False), nullable=False),
    Column("platform", Text, nullable=False, server_default=""),
    Column("lane", Text, nullable=False, server_default=""),  # bot.outbox.lane_of
    _stamp("created_at", nullable=False),
    _stamp("due_at"),
    _stamp("claimed_until"),
    Column("failed", Boolean, nullable=False, server_default=text("false")),
    _stamp("failed_at"),
    _stamp("sent_at"),
    Column("case_reference", Text, nullable=False, server_default=""),
    Column("conversation_id", Text, nullable=False, server_default=""),
    Column("doc", JSONB),
    Index(
        "outbox_ready",
        "school",
        "platform",
        "seq",
        postgresql_where=text("sent_at IS NULL AND NOT failed"),
    ),
    Index(
        "outbox_lanes",
        "school",
        "platform",
        "lane",
        "seq",
        postgresql_where=text("sent_at IS NULL AND NOT failed"),
    ),
    Index("outbox_unsent", "school", "seq", postgresql_where=text("sent_at IS NULL")),
    Index("outbox_by_case", "school", "case_reference", postgresql_where=text("sent_at IS NULL")),
    Index(
        "outbox_by_conversation",
        "school",
        "conversation_id",
        postgresql_where=text("sent_at IS NULL AND conversation_id <> ''"),
    ),
    Index("outbox_sent", "sent_at", postgresql_where=text("sent_at IS NOT NULL")),
    Index(
        "outbox_failed",
        "school",
        "platform",
        "seq",
        postgresql_where=text("failed AND sent_at IS NULL"),
    ),
)

meta = Table(
    "meta",
    metadata,
    _school(),
    Column("key", String(collation=_C), primary_key=True),
    Column("about", Text, nullable=False),  # the key's last ':' part: the case it is about
    Column("value", JSONB, nullable=False),
    Index("meta_about", "school", "about"),
)

counters = Table(  # "ref:2026": the highest reference number of 2026 handed out
    "counters",
    metadata,
    _school(),
    Column("name", Text, primary_key=True),
    Column("value", BigInteger, nullable=False),
)


# --- Slack's OAuth install (adapters/slack/installs.py) ------------------------------------------
# The tables slack_sdk's AsyncSQLAlchemyInstallationStore and AsyncSQLAlchemyOAuthStateStore
# query, as slack_sdk 3.48 defines them (tests/test_slack_installs.py holds the two to the
# same columns), but for the token columns: Text, not String(200), because tokens are kept
# encrypted (Fernet), and an encrypted rotating token is longer than 200 characters. A row's
# workspace or Enterprise Grid org (team_id, enterprise_id) is the school it belongs to.
_TOKENS = ("bot_token", "bot_refresh_token", "user_token", "user_refresh_token")


def _slack(name: str, size: int, nullable: bool = True) -> Column[str]:
    return Column(name, Text if name in _TOKENS else String(size), nullable=nullable)


def _bot_columns() -> list[Column[Any]]:
    """The bot's token and scopes, as both of slack_sdk's tables keep them."""
    return [
        _slack("bot_token", 200),
        _slack("bot_id", 32),
        _slack("bot_user_id", 32),
        _slack("bot_scopes", 1000),
        _slack("bot_refresh_token", 200),
        Column("bot_token_expires_at", DateTime),
    ]


def _installed_at() -> Column[datetime]:
    return Column("installed_at", DateTime, nullable=False, server_default=text("now()"))


slack_installations = Table(
    "slack_installations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _slack("client_id", 32, nullable=False),
    _slack("app_id", 32, nullable=False),
    _slack("enterprise_id", 32),
    _slack("enterprise_name", 200),
    _slack("enterprise_url", 200),
    _slack("team_id", 32),
    _slack("team_name", 200),
    *_bot_columns(),
    _slack("user_id", 32, nullable=False),
    _slack("user_token", 200),
    _slack("user_scopes", 1000),
    _slack("user_refresh_token", 200),
    Column("user_token_expires_at", DateTime),
    _slack("incoming_webhook_url", 200),
    _slack("incoming_webhook_channel", 200),
    _slack("incoming_webhook_channel_id", 200),
    _slack("incoming_webhook_configuration_url", 200),
    Column("is_enterprise_install", Boolean, nullable=False, server_default=text("false")),
    _slack("token_type", 32),
    _installed_at(),
    Index(
        "slack_installations_idx",
        "client_id",
        "enterprise_id",
        "team_id",
        "user_id",
        "installed_at",
    ),
)

slack_bots = Table(
    "slack_bots",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _slack("client_id", 32, nullable=False),
    _slack("app_id", 32, nullable=False),
    _slack("enterprise_id", 32),
    _slack("enterprise_name", 200),
    _slack("team_id", 32),
    _slack("team_name", 200),
    *_bot_columns(),
    Column("is_enterprise_install", Boolean, nullable=False, server_default=text("false")),
    _installed_at(),
    Index("slack_bots_idx", "client_id", "enterprise_id", "team_id", "installed_at"),
)

slack_oauth_states = Table(  # one row per install begun, consumed by its redirect
    "slack_oauth_states",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("state", String(200), nullable=False),
    Column("expire_at", DateTime, nullable=False),
    Index("slack_oauth_states_by_state", "state"),
)

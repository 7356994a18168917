"""Slack's OAuth install: installations, bots and OAuth states (storage/postgres/schema.py says
why the token columns are Text).

Frozen as written: a later change to the tables is a new revision, never an edit here.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision: str | None = "0001"

TOKENS = ("bot_token", "bot_refresh_token", "user_token", "user_refresh_token")


def _col(name: str, size: int, nullable: bool = True) -> sa.Column[Any]:
    kind = sa.Text() if name in TOKENS else sa.String(size)
    return sa.Column(name, kind, nullable=nullable)


def _common_head() -> list[sa.Column[Any]]:
    return [
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _col("client_id", 32, nullable=False),
        _col("app_id", 32, nullable=False),
        _col("enterprise_id", 32),
        _col("enterprise_name", 200),
    ]


def _bot_columns() -> list[sa.Column[Any]]:
    return [
        _col("bot_token", 200),
        _col("bot_id", 32),
        _col("bot_user_id", 32),
        _col("bot_scopes", 1000),
        _col("bot_refresh_token", 200),
        sa.Column("bot_token_expires_at", sa.DateTime),
    ]


def _tail() -> list[sa.Column[Any]]:
    return [
        sa.Column("is_enterprise_install", sa.Boolean, nullable=False, server_default=sa.false()),
    ]


def _installed_at() -> sa.Column[Any]:
    return sa.Column("installed_at", sa.DateTime, nullable=False, server_default=sa.func.now())


def upgrade() -> None:
    op.create_table(
        "slack_installations",
        *_common_head(),
        _col("enterprise_url", 200),
        _col("team_id", 32),
        _col("team_name", 200),
        *_bot_columns(),
        _col("user_id", 32, nullable=False),
        _col("user_token", 200),
        _col("user_scopes", 1000),
        _col("user_refresh_token", 200),
        sa.Column("user_token_expires_at", sa.DateTime),
        _col("incoming_webhook_url", 200),
        _col("incoming_webhook_channel", 200),
        _col("incoming_webhook_channel_id", 200),
        _col("incoming_webhook_configuration_url", 200),
        *_tail(),
        _col("token_type", 32),
        _installed_at(),
    )
    op.create_index(
        "slack_installations_idx",
        "slack_installations",
        ["client_id", "enterprise_id", "team_id", "user_id", "installed_at"],
    )
    op.create_table(
        "slack_bots",
        *_common_head(),
        _col("team_id", 32),
        _col("team_name", 200),
        *_bot_columns(),
        *_tail(),
        _installed_at(),
    )
    op.create_index(
        "slack_bots_idx", "slack_bots", ["client_id", "enterprise_id", "team_id", "installed_at"]
    )
    op.create_table(
        "slack_oauth_states",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("state", sa.String(200), nullable=False),
        sa.Column("expire_at", sa.DateTime, nullable=False),
    )
    op.create_index("slack_oauth_states_by_state", "slack_oauth_states", ["state"])


def downgrade() -> None:
    for table in ("slack_oauth_states", "slack_bots", "slack_installations"):
        op.drop_table(table)

"""The first tables: cases, conversations, deliveries, outbox, meta, counters.

Frozen as written: a later change to the tables is a new revision, never an edit here.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

revision = "0001"
down_revision: str | None = None

PENDING = "sent_at IS NULL AND NOT failed"


def _school() -> sa.Column[str]:
    return sa.Column("school", sa.Text, primary_key=True, server_default="")


def _stamp(name: str, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "cases",
        _school(),
        sa.Column("reference", sa.String(collation="C"), primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("is_open", sa.Boolean, nullable=False),
        _stamp("created_at", nullable=False),
        sa.Column("reporter", sa.Text, nullable=False),
        sa.Column("conversation_id", sa.Text, nullable=False),
        sa.Column("handles", ARRAY(sa.Text), nullable=False),
        _stamp("remind_at"),
        sa.Column("doc", JSONB, nullable=False),
    )
    op.create_index("cases_by_time", "cases", ["school", "created_at", "reference"])
    op.create_index(
        "cases_open",
        "cases",
        ["school", "created_at", "reference"],
        postgresql_where=sa.text("is_open"),
    )
    op.create_index("cases_by_handle", "cases", ["handles"], postgresql_using="gin")
    op.create_index(
        "cases_due",
        "cases",
        ["school", "remind_at", "reference"],
        postgresql_where=sa.text("is_open AND remind_at IS NOT NULL"),
    )
    op.create_index("cases_by_conversation", "cases", ["school", "conversation_id"])
    op.create_index("cases_by_reporter", "cases", ["school", "reporter"])

    op.create_table(
        "conversations",
        _school(),
        sa.Column("person_key", sa.Text, primary_key=True),
        sa.Column("conversation_id", sa.Text, nullable=False),
        sa.Column("case_reference", sa.Text, nullable=False),
        sa.Column("doc", JSONB, nullable=False),
    )
    op.create_index("conversations_by_id", "conversations", ["school", "conversation_id"])
    op.create_index(
        "conversations_by_case",
        "conversations",
        ["school", "case_reference"],
        postgresql_where=sa.text("case_reference <> ''"),
    )

    op.create_table(
        "deliveries",
        _school(),
        sa.Column("id", sa.Text, primary_key=True),
        _stamp("at", nullable=False),
    )
    op.create_index("deliveries_by_time", "deliveries", ["at"])

    op.create_table(
        "outbox",
        _school(),
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("seq", sa.BigInteger, sa.Identity(always=False), nullable=False),
        sa.Column("platform", sa.Text, nullable=False, server_default=""),
        sa.Column("lane", sa.Text, nullable=False, server_default=""),
        _stamp("created_at", nullable=False),
        _stamp("due_at"),
        _stamp("claimed_until"),
        sa.Column("failed", sa.Boolean, nullable=False, server_default=sa.text("false")),
        _stamp("failed_at"),
        _stamp("sent_at"),
        sa.Column("case_reference", sa.Text, nullable=False, server_default=""),
        sa.Column("conversation_id", sa.Text, nullable=False, server_default=""),
        sa.Column("doc", JSONB),
    )
    op.create_index(
        "outbox_ready",
        "outbox",
        ["school", "platform", "seq"],
        postgresql_where=sa.text(PENDING),
    )
    op.create_index(
        "outbox_lanes",
        "outbox",
        ["school", "platform", "lane", "seq"],
        postgresql_where=sa.text(PENDING),
    )
    op.create_index(
        "outbox_unsent", "outbox", ["school", "seq"], postgresql_where=sa.text("sent_at IS NULL")
    )
    op.create_index(
        "outbox_by_case",
        "outbox",
        ["school", "case_reference"],
        postgresql_where=sa.text("sent_at IS NULL"),
    )
    op.create_index(
        "outbox_by_conversation",
        "outbox",
        ["school", "conversation_id"],
        postgresql_where=sa.text("sent_at IS NULL AND conversation_id <> ''"),
    )
    op.create_index(
        "outbox_sent", "outbox", ["sent_at"], postgresql_where=sa.text("sent_at IS NOT NULL")
    )
    op.create_index(
        "outbox_failed",
        "outbox",
        ["school", "platform", "seq"],
        postgresql_where=sa.text("failed AND sent_at IS NULL"),
    )

    op.create_table(
        "meta",
        _school(),
        sa.Column("key", sa.String(collation="C"), primary_key=True),
        sa.Column("about", sa.Text, nullable=False),
        sa.Column("value", JSONB, nullable=False),
    )
    op.create_index("meta_about", "meta", ["school", "about"])

    op.create_table(
        "counters",
        _school(),
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("value", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    raise NotImplementedError("migrations only go forward: they never drop what a school keeps")

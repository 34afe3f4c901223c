"""Initial state store: every table of syncd.state.schema.

Revision ID: 0001_initial
Revises:
Create Date: 2025-01-01 00:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_initial"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Plain types on purpose: a migration must not change when the application's types evolve.
TS = sa.DateTime(timezone=True)


def _unit() -> list[sa.Column]:
    return [
        sa.Column("connector", sa.String(64), nullable=False),
        sa.Column("mailbox", sa.String(320), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "cursors",
        *_unit(),
        sa.Column("stream", sa.String(64), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("resync_count", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("connector", "mailbox", "stream", name=op.f("pk_cursors")),
    )

    op.create_table(
        "ledger",
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("sobject", sa.String(16), nullable=False),
        sa.Column("salesforce_id", sa.String(18), nullable=False),
        *_unit(),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("what_id", sa.String(18), nullable=True),
        sa.Column("occurred_at", TS, nullable=False),
        sa.Column("written_at", TS, nullable=False),
        sa.Column("match_trace", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_ledger")),
        sa.CheckConstraint(
            "sobject IN ('Task', 'Event', 'EmailMessage')", name=op.f("ck_ledger_sobject")
        ),
    )
    op.create_index(op.f("ix_ledger_connector_mailbox"), "ledger", ["connector", "mailbox"])
    op.create_index(op.f("ix_ledger_what_id"), "ledger", ["what_id"])

    op.create_table(
        "ledger_sightings",
        sa.Column("key", sa.String(255), nullable=False),
        *_unit(),
        sa.Column("seen_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("key", "connector", "mailbox", name=op.f("pk_ledger_sightings")),
        sa.ForeignKeyConstraint(
            ["key"],
            ["ledger.key"],
            name=op.f("fk_ledger_sightings_key_ledger"),
            ondelete="CASCADE",
        ),
    )

    op.create_table(
        "outcome_counts",
        *_unit(),
        sa.Column("outcome", sa.String(128), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("connector", "mailbox", "outcome", name=op.f("pk_outcome_counts")),
    )

    op.create_table(
        "unmatched",
        sa.Column("key", sa.String(255), nullable=False),
        *_unit(),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("first_seen", TS, nullable=False),
        sa.Column("last_tried", TS, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_unmatched")),
    )
    op.create_index(op.f("ix_unmatched_last_tried"), "unmatched", ["last_tried"])
    op.create_index(op.f("ix_unmatched_connector_mailbox"), "unmatched", ["connector", "mailbox"])

    op.create_table(
        "dead_letters",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(255), nullable=True),
        *_unit(),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("error_code", sa.String(128), nullable=False),
        sa.Column("error_message", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("last_tried", TS, nullable=False),
        sa.Column("resolved", sa.Boolean(), nullable=False),
        sa.Column("resolved_at", TS, nullable=True),
        sa.Column("source_file", sa.Text(), nullable=True),
        sa.Column("source_line", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dead_letters")),
    )
    op.create_index(op.f("ix_dead_letters_resolved"), "dead_letters", ["resolved"])
    op.create_index(op.f("ix_dead_letters_key"), "dead_letters", ["key"])

    op.create_table(
        "flags",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("opportunity_id", sa.String(18), nullable=False),
        sa.Column("rule", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("severity", sa.Integer(), nullable=False),
        sa.Column("details", sa.Text(), nullable=True),
        sa.Column("first_raised", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("last_alerted", TS, nullable=True),
        sa.Column("snoozed_until", TS, nullable=True),
        sa.Column("resolved_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flags")),
        sa.CheckConstraint(
            "state IN ('raised', 'alerted', 'resolved', 'snoozed')", name=op.f("ck_flags_state")
        ),
    )
    op.create_index(
        op.f("uq_flags_open"),
        "flags",
        ["opportunity_id", "rule"],
        unique=True,
        sqlite_where=sa.text("state <> 'resolved'"),
        postgresql_where=sa.text("state <> 'resolved'"),
    )
    op.create_index(op.f("ix_flags_state"), "flags", ["state"])

    op.create_table(
        "alert_queue",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("flag_id", sa.Integer(), nullable=True),
        sa.Column("digest_key", sa.String(255), nullable=True),
        sa.Column("channel", sa.String(255), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("next_attempt_at", TS, nullable=False),
        sa.Column("sent_at", TS, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_queue")),
        sa.ForeignKeyConstraint(
            ["flag_id"],
            ["flags.id"],
            name=op.f("fk_alert_queue_flag_id_flags"),
            ondelete="SET NULL",
        ),
        sa.CheckConstraint(
            "status IN ('queued', 'sent', 'failed')", name=op.f("ck_alert_queue_status")
        ),
    )
    op.create_index(
        op.f("ix_alert_queue_status_next_attempt_at"), "alert_queue", ["status", "next_attempt_at"]
    )
    op.create_index(op.f("ix_alert_queue_flag_id"), "alert_queue", ["flag_id"])
    op.create_index(op.f("ix_alert_queue_digest_key"), "alert_queue", ["digest_key"])

    op.create_table(
        "runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        *_unit(),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("finished_at", TS, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("counts", sa.Text(), nullable=True),
        sa.Column("error_class", sa.String(128), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_runs")),
        sa.CheckConstraint("status IN ('running', 'ok', 'error')", name=op.f("ck_runs_status")),
    )
    op.create_index(
        op.f("ix_runs_connector_mailbox_started_at"), "runs", ["connector", "mailbox", "started_at"]
    )
    op.create_index(op.f("ix_runs_status_finished_at"), "runs", ["status", "finished_at"])

    op.create_table(
        "leases",
        sa.Column("unit_key", sa.String(400), nullable=False),
        sa.Column("holder", sa.String(255), nullable=True),
        sa.Column("expires_at", TS, nullable=True),
        sa.Column("acquired_at", TS, nullable=True),
        sa.Column("renewed_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("unit_key", name=op.f("pk_leases")),
    )


def downgrade() -> None:
    for table in (
        "leases",
        "runs",
        "alert_queue",
        "flags",
        "dead_letters",
        "unmatched",
        "outcome_counts",
        "ledger_sightings",
        "ledger",
        "cursors",
    ):
        op.drop_table(table)

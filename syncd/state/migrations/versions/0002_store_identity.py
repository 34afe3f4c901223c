"""The store's identity row, checked on every commit.

Revision ID: 0002_store_identity
Revises: 0001_initial
Create Date: 2026-12-07 00:00:00+00:00
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0002_store_identity"
down_revision: str | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    table = op.create_table(
        "store_identity",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.String(64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("checked_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_store_identity")),
    )
    op.bulk_insert(
        table, [{"id": 1, "store_id": uuid.uuid4().hex, "created_at": datetime.now(UTC)}]
    )


def downgrade() -> None:
    op.drop_table("store_identity")

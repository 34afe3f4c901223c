"""The state store's tables, as typed SQLAlchemy 2.0 declarative models.

Every table here is created explicitly by the initial Alembic revision in
``migrations/versions``; a test compares this metadata with the migrated database on SQLite and
PostgreSQL, so the two cannot drift apart silently. Constraint names come from one naming
convention so migrations can refer to them on both backends.

Units of work are identified by ``(connector, mailbox)``: ``connector`` is the configured
connector *name*, ``mailbox`` the internal user an item was captured from.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from syncd.state.types import JSONText, UTCDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Lengths shared by several tables.
KEY_LEN = 255  # activity key, the same width as Syncd_Key__c
CONNECTOR_LEN = 64
MAILBOX_LEN = 320  # the longest legal email address
SFID_LEN = 18

SOBJECTS = ("Task", "Event", "EmailMessage")
FLAG_STATES = ("raised", "alerted", "resolved", "snoozed")
ALERT_STATUSES = ("queued", "sent", "failed")
RUN_STATUSES = ("running", "ok", "error")


def _in(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{v}'" for v in values)
    return f"{column} IN ({quoted})"


class Base(DeclarativeBase):
    """Declarative base carrying the shared naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class CursorRow(Base):
    """Where the next pull of one (connector, mailbox, stream) starts; opaque to the store."""

    __tablename__ = "cursors"

    connector: Mapped[str] = mapped_column(String(CONNECTOR_LEN), primary_key=True)
    mailbox: Mapped[str] = mapped_column(String(MAILBOX_LEN), primary_key=True)
    stream: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    resync_count: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


class LedgerRow(Base):
    """One activity key written to Salesforce: the proof that it must not be written again."""

    __tablename__ = "ledger"
    __table_args__ = (
        CheckConstraint(_in("sobject", SOBJECTS), name="sobject"),
        Index(None, "connector", "mailbox"),
        Index(None, "what_id"),
    )

    key: Mapped[str] = mapped_column(String(KEY_LEN), primary_key=True)
    sobject: Mapped[str] = mapped_column(String(16))
    salesforce_id: Mapped[str] = mapped_column(String(SFID_LEN))
    connector: Mapped[str] = mapped_column(String(CONNECTOR_LEN))
    mailbox: Mapped[str] = mapped_column(String(MAILBOX_LEN))
    kind: Mapped[str] = mapped_column(String(16))
    what_id: Mapped[str | None] = mapped_column(String(SFID_LEN))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    written_at: Mapped[datetime] = mapped_column(UTCDateTime)
    match_trace: Mapped[Any | None] = mapped_column(JSONText)


class SightingRow(Base):
    """A mailbox that saw an already-known key; the second mailbox records, never rewrites."""

    __tablename__ = "ledger_sightings"

    key: Mapped[str] = mapped_column(
        String(KEY_LEN), ForeignKey("ledger.key", ondelete="CASCADE"), primary_key=True
    )
    connector: Mapped[str] = mapped_column(String(CONNECTOR_LEN), primary_key=True)
    mailbox: Mapped[str] = mapped_column(String(MAILBOX_LEN), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime)


class OutcomeCountRow(Base):
    """Running total of one outcome (written, skipped:<reason>, …) for a unit."""

    __tablename__ = "outcome_counts"

    connector: Mapped[str] = mapped_column(String(CONNECTOR_LEN), primary_key=True)
    mailbox: Mapped[str] = mapped_column(String(MAILBOX_LEN), primary_key=True)
    outcome: Mapped[str] = mapped_column(String(128), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class UnmatchedRow(Base):
    """An activity nobody in the CRM matched yet; re-tried when contacts or leads change."""

    __tablename__ = "unmatched"
    __table_args__ = (Index(None, "last_tried"), Index(None, "connector", "mailbox"))

    key: Mapped[str] = mapped_column(String(KEY_LEN), primary_key=True)
    connector: Mapped[str] = mapped_column(String(CONNECTOR_LEN))
    mailbox: Mapped[str] = mapped_column(String(MAILBOX_LEN))
    payload: Mapped[Any] = mapped_column(JSONText)
    reason: Mapped[str] = mapped_column(Text)
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime)
    last_tried: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=1)


class DeadLetterRow(Base):
    """One record that failed permanently, with the error, kept until retried or resolved."""

    __tablename__ = "dead_letters"
    __table_args__ = (Index(None, "resolved"), Index(None, "key"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str | None] = mapped_column(String(KEY_LEN))
    connector: Mapped[str] = mapped_column(String(CONNECTOR_LEN))
    mailbox: Mapped[str] = mapped_column(String(MAILBOX_LEN))
    payload: Mapped[Any] = mapped_column(JSONText)
    error_code: Mapped[str] = mapped_column(String(128))
    error_message: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_tried: Mapped[datetime] = mapped_column(UTCDateTime)
    resolved: Mapped[bool] = mapped_column(Boolean, default=False)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Call-log files (call_files connector): where the bad row came from.
    source_file: Mapped[str | None] = mapped_column(Text)
    source_line: Mapped[int | None] = mapped_column(Integer)


class FlagRow(Base):
    """A deal-risk flag raised by a rule on an opportunity, with its lifecycle state."""

    __tablename__ = "flags"
    __table_args__ = (
        CheckConstraint(_in("state", FLAG_STATES), name="state"),
        # At most one open (not resolved) flag per opportunity and rule; resolved ones are history.
        Index(
            "uq_flags_open",
            "opportunity_id",
            "rule",
            unique=True,
            sqlite_where=text("state <> 'resolved'"),
            postgresql_where=text("state <> 'resolved'"),
        ),
        Index(None, "state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    opportunity_id: Mapped[str] = mapped_column(String(SFID_LEN))
    rule: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))
    severity: Mapped[int] = mapped_column(Integer)
    details: Mapped[Any | None] = mapped_column(JSONText)
    first_raised: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_alerted: Mapped[datetime | None] = mapped_column(UTCDateTime)
    snoozed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AlertRow(Base):
    """An alert to deliver (queued) or delivered (sent) to a Slack user or channel."""

    __tablename__ = "alert_queue"
    __table_args__ = (
        CheckConstraint(_in("status", ALERT_STATUSES), name="status"),
        Index(None, "status", "next_attempt_at"),
        Index(None, "flag_id"),
        Index(None, "digest_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    flag_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("flags.id", ondelete="SET NULL")
    )
    digest_key: Mapped[str | None] = mapped_column(String(255))
    channel: Mapped[str] = mapped_column(String(255))
    payload: Mapped[Any] = mapped_column(JSONText)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)


class RunRow(Base):
    """One sync pass of a unit: when, how it ended, what it counted; never secrets."""

    __tablename__ = "runs"
    __table_args__ = (
        CheckConstraint(_in("status", RUN_STATUSES), name="status"),
        Index(None, "connector", "mailbox", "started_at"),
        Index(None, "status", "finished_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    connector: Mapped[str] = mapped_column(String(CONNECTOR_LEN))
    mailbox: Mapped[str] = mapped_column(String(MAILBOX_LEN))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16))
    counts: Mapped[Any | None] = mapped_column(JSONText)
    error_class: Mapped[str | None] = mapped_column(String(128))
    error_message: Mapped[str | None] = mapped_column(Text)


class LeaseRow(Base):
    """Who works on a unit ("connector/mailbox") until when; free when holder is NULL."""

    __tablename__ = "leases"

    unit_key: Mapped[str] = mapped_column(String(400), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(255))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acquired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    renewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class StoreIdentityRow(Base):
    """The one row naming this store, written at creation (see :mod:`syncd.state.identity`)."""

    __tablename__ = "store_identity"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: The last time a readiness probe committed through the store.
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


metadata = Base.metadata

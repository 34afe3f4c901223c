"""The alert queue: Slack messages to send, sent, or given up on.

An alert refers to a flag or to a digest (by key). Delivery is at-least-once from the queue:
``due`` hands out queued alerts whose time has come; the sender marks each sent or failed
(with a retry time for a 429's Retry-After, or none to give up). ``last_sent`` answers the
cool-down question "when did this flag or digest last go out?".

A message may carry flags (a deal's findings, a digest's deals): their ids ride in the
payload's Slack message metadata (``metadata.event_payload.flags``, see
https://api.slack.com/reference/metadata). ``mark_sent`` marks exactly those flags alerted in
the same transaction, so a flag is "alerted" when its message was delivered, never before.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, or_, select, update

from syncd.state.schema import AlertRow, FlagRow
from syncd.state.scope import Scope


@dataclass(frozen=True)
class Alert:
    """One message for a Slack user or channel."""

    id: int
    flag_id: int | None
    digest_key: str | None
    channel: str
    payload: Any
    status: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    sent_at: datetime | None
    last_error: str | None


def _alert(row: AlertRow) -> Alert:
    return Alert(
        id=row.id,
        flag_id=row.flag_id,
        digest_key=row.digest_key,
        channel=row.channel,
        payload=row.payload,
        status=row.status,
        attempts=row.attempts,
        created_at=row.created_at,
        next_attempt_at=row.next_attempt_at,
        sent_at=row.sent_at,
        last_error=row.last_error,
    )


def carried_flags(payload: Any) -> list[int]:
    """The flag ids a queued message carries in its metadata (none for a plain message)."""
    meta = (payload or {}).get("metadata") if isinstance(payload, dict) else None
    flags = ((meta or {}).get("event_payload") or {}).get("flags") or []
    return [int(f) for f in flags]


def _queued(
    flag_id: int | None, key: str | None, channel: str, payload: Any, now: datetime
) -> AlertRow:
    return AlertRow(
        flag_id=flag_id,
        digest_key=key,
        channel=channel,
        payload=payload,
        status="queued",
        attempts=0,
        created_at=now,
        next_attempt_at=now,
    )


class Alerts:
    """Enqueue, hand out and settle alerts."""

    def __init__(self, scope: Scope) -> None:
        self._scope = scope

    def enqueue(
        self,
        channel: str,
        payload: Any,
        *,
        flag_id: int | None = None,
        digest_key: str | None = None,
    ) -> int:
        """Queue an alert for delivery now; returns its id."""
        if (flag_id is None) == (digest_key is None):
            raise ValueError("an alert refers to exactly one of flag_id or digest_key")
        with self._scope.session() as session:
            row = _queued(flag_id, digest_key, channel, payload, self._scope.now())
            session.add(row)
            session.flush()
            return row.id

    def enqueue_many(self, alerts: Sequence[tuple[int, str, Any]], now: datetime) -> None:
        """Queue one alert per (flag id, channel, payload) for delivery at ``now``."""
        if not alerts:
            return
        rows = [
            {
                "flag_id": flag_id,
                "digest_key": None,
                "channel": channel,
                "payload": payload,
                "status": "queued",
                "attempts": 0,
                "created_at": now,
                "next_attempt_at": now,
            }
            for flag_id, channel, payload in alerts
        ]
        with self._scope.session() as session:
            session.execute(insert(AlertRow), rows)

    def enqueue_keyed(self, alerts: Sequence[tuple[str, str, Any]], now: datetime) -> list[int]:
        """Queue one message per (key, channel, payload) (a deal's or a digest); their ids."""
        ids: list[int] = []
        with self._scope.session() as session:
            for key, channel, payload in alerts:
                row = _queued(None, key, channel, payload, now)
                session.add(row)
                session.flush()
                ids.append(row.id)
        return ids

    def due(self, limit: int = 50) -> list[Alert]:
        """Queued alerts whose next attempt is due, oldest first."""
        now = self._scope.now()
        with self._scope.session(write=False) as session:
            rows = session.scalars(
                select(AlertRow)
                .where(AlertRow.status == "queued", AlertRow.next_attempt_at <= now)
                .order_by(AlertRow.next_attempt_at, AlertRow.id)
                .limit(limit)
            )
            return [_alert(row) for row in rows]

    def get(self, alert_id: int) -> Alert | None:
        """One alert, or None."""
        with self._scope.session(write=False) as session:
            row = session.get(AlertRow, alert_id)
            return _alert(row) if row else None

    def mark_sent(self, alert_id: int) -> None:
        """Record delivery, and mark the flags the message carried alerted now."""
        now = self._scope.now()
        with self._scope.session() as session:
            session.execute(
                update(AlertRow)
                .where(AlertRow.id == alert_id)
                .values(status="sent", sent_at=now, attempts=AlertRow.attempts + 1)
            )
            row = session.get(AlertRow, alert_id)
            ids = carried_flags(row.payload if row is not None else None)
            if not ids:
                return
            for flag in session.scalars(
                select(FlagRow).where(FlagRow.id.in_(ids), FlagRow.state != "resolved")
            ):
                details = dict(flag.details or {})
                measure = details.get("measure", 0)
                details["alerted"] = {"severity": flag.severity, "measure": measure}
                flag.details = details
                flag.last_alerted = now
                if flag.state == "raised":
                    flag.state = "alerted"

    def count(self) -> int:
        """Alerts ever queued (0 on a store that never alerted: the first run)."""
        with self._scope.session(write=False) as session:
            return session.scalar(select(func.count()).select_from(AlertRow)) or 0

    def recent_deals(self, since: datetime) -> set[str]:
        """Opportunities with a deal message queued, or sent since ``since``."""
        stmt = select(AlertRow.digest_key).where(
            AlertRow.digest_key.like("deal:%"),
            or_(AlertRow.status == "queued", AlertRow.sent_at >= since),
        )
        with self._scope.session(write=False) as session:
            return {str(key).split(":")[1] for key in session.scalars(stmt)}

    def requeue(self, ids: Sequence[int] = ()) -> int:
        """Queue failed alerts again for delivery now (``ids``, or every failed one)."""
        now = self._scope.now()
        stmt = update(AlertRow).where(AlertRow.status.in_(("failed", "queued")))
        stmt = stmt.where(AlertRow.id.in_(ids)) if ids else stmt.where(AlertRow.status == "failed")
        with self._scope.session() as session:
            result = session.execute(stmt.values(status="queued", next_attempt_at=now))
            return int(getattr(result, "rowcount", 0) or 0)

    def backlog(self) -> tuple[int, int, str | None]:
        """(queued, failed, the latest error of a queued alert tried before) for status."""
        with self._scope.session(write=False) as session:
            counts = dict(
                session.execute(
                    select(AlertRow.status, func.count()).group_by(AlertRow.status)
                ).all()
            )
            error = session.scalar(
                select(AlertRow.last_error)
                .where(AlertRow.status == "queued", AlertRow.attempts > 0)
                .order_by(AlertRow.id.desc())
                .limit(1)
            )
        return int(counts.get("queued", 0)), int(counts.get("failed", 0)), error

    def pending_flags(self) -> set[int]:
        """Flags carried by messages still queued (not to be queued again meanwhile)."""
        stmt = select(AlertRow.payload).where(AlertRow.status == "queued")
        with self._scope.session(write=False) as session:
            return {f for payload in session.scalars(stmt) for f in carried_flags(payload)}

    def latest(self, status: str | None = None, limit: int = 1000) -> list[Alert]:
        """Alerts, newest first, optionally of one status."""
        stmt = select(AlertRow).order_by(AlertRow.id.desc()).limit(limit)
        if status is not None:
            stmt = stmt.where(AlertRow.status == status)
        with self._scope.session(write=False) as session:
            return [_alert(row) for row in session.scalars(stmt)]

    def mark_failed(self, alert_id: int, error: str, retry_at: datetime | None = None) -> None:
        """Record a failed attempt; stay queued until ``retry_at``, or give up when None."""
        values: dict[str, Any] = {
            "attempts": AlertRow.attempts + 1,
            "last_error": self._scope.clean_error(error),
        }
        if retry_at is None:
            values["status"] = "failed"
        else:
            values["next_attempt_at"] = retry_at
        with self._scope.session() as session:
            session.execute(update(AlertRow).where(AlertRow.id == alert_id).values(**values))

    def last_sent(
        self, *, flag_id: int | None = None, digest_key: str | None = None
    ) -> datetime | None:
        """When an alert for this flag or digest last went out, or None."""
        stmt = select(func.max(AlertRow.sent_at)).where(AlertRow.status == "sent")
        if flag_id is not None:
            stmt = stmt.where(AlertRow.flag_id == flag_id)
        if digest_key is not None:
            stmt = stmt.where(AlertRow.digest_key == digest_key)
        with self._scope.session(write=False) as session:
            return session.scalar(stmt)

"""Dead letters: single records that failed permanently, kept with their error until handled.

A ``Permanent`` error for one record (a validation error, a field too long, a malformed row in
a call-log file) puts that record here and the rest of the batch goes on. Re-adding the same
activity key while its dead letter is still open counts another attempt instead of a new row,
so a replayed batch does not pile up duplicates. Error text is redacted and capped.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update

from syncd.state.schema import DeadLetterRow
from syncd.state.scope import Scope


@dataclass(frozen=True)
class DeadLetter:
    """A failed record and what went wrong."""

    id: int
    key: str | None
    connector: str
    mailbox: str
    payload: Any
    error_code: str
    error_message: str
    attempts: int
    created_at: datetime
    last_tried: datetime
    resolved: bool
    resolved_at: datetime | None
    source_file: str | None
    source_line: int | None


def _letter(row: DeadLetterRow) -> DeadLetter:
    return DeadLetter(
        id=row.id,
        key=row.key,
        connector=row.connector,
        mailbox=row.mailbox,
        payload=row.payload,
        error_code=row.error_code,
        error_message=row.error_message,
        attempts=row.attempts,
        created_at=row.created_at,
        last_tried=row.last_tried,
        resolved=row.resolved,
        resolved_at=row.resolved_at,
        source_file=row.source_file,
        source_line=row.source_line,
    )


class DeadLetters:
    """Add, list, retry and resolve dead letters."""

    def __init__(self, scope: Scope) -> None:
        self._scope = scope

    def add(
        self,
        connector: str,
        mailbox: str,
        payload: Any,
        error_code: str,
        error_message: str,
        *,
        key: str | None = None,
        source_file: str | None = None,
        source_line: int | None = None,
    ) -> int:
        """Store a failed record; returns its id (the existing one for an open key)."""
        now = self._scope.now()
        message = self._scope.clean_error(error_message)
        with self._scope.session() as session:
            if key is not None:
                row = session.scalars(
                    select(DeadLetterRow)
                    .where(DeadLetterRow.key == key, DeadLetterRow.resolved.is_(False))
                    .order_by(DeadLetterRow.id)
                    .limit(1)
                    .with_for_update()
                ).first()
                if row is not None:
                    row.attempts += 1
                    row.last_tried = now
                    row.payload = payload
                    row.error_code = error_code
                    row.error_message = message
                    return row.id
            row = DeadLetterRow(
                key=key,
                connector=connector,
                mailbox=mailbox,
                payload=payload,
                error_code=error_code,
                error_message=message,
                attempts=1,
                created_at=now,
                last_tried=now,
                resolved=False,
                source_file=source_file,
                source_line=source_line,
            )
            session.add(row)
            session.flush()
            return row.id

    def get(self, letter_id: int) -> DeadLetter | None:
        """One dead letter, or None."""
        with self._scope.session(write=False) as session:
            row = session.get(DeadLetterRow, letter_id)
            return _letter(row) if row else None

    def list(
        self,
        *,
        include_resolved: bool = False,
        connector: str | None = None,
        mailbox: str | None = None,
        key: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[DeadLetter]:
        """Dead letters, oldest first; open ones only unless ``include_resolved``."""
        stmt = select(DeadLetterRow)
        if not include_resolved:
            stmt = stmt.where(DeadLetterRow.resolved.is_(False))
        if connector is not None:
            stmt = stmt.where(DeadLetterRow.connector == connector)
        if mailbox is not None:
            stmt = stmt.where(DeadLetterRow.mailbox == mailbox)
        if key is not None:
            stmt = stmt.where(DeadLetterRow.key == key)
        with self._scope.session(write=False) as session:
            rows = session.scalars(stmt.order_by(DeadLetterRow.id).limit(limit).offset(offset))
            return [_letter(row) for row in rows]

    def mark_retried(
        self, letter_id: int, *, error_code: str | None = None, error_message: str | None = None
    ) -> None:
        """Count a retry that failed again, with the new error when given."""
        values: dict[str, Any] = {
            "attempts": DeadLetterRow.attempts + 1,
            "last_tried": self._scope.now(),
        }
        if error_code is not None:
            values["error_code"] = error_code
        if error_message is not None:
            values["error_message"] = self._scope.clean_error(error_message)
        with self._scope.session() as session:
            session.execute(
                update(DeadLetterRow).where(DeadLetterRow.id == letter_id).values(**values)
            )

    def mark_resolved(self, letter_ids: Iterable[int]) -> int:
        """Close dead letters (retried successfully, or dismissed); returns how many closed."""
        ids = sorted(set(letter_ids))
        if not ids:
            return 0
        now = self._scope.now()
        with self._scope.session() as session:
            result = session.execute(
                update(DeadLetterRow)
                .where(DeadLetterRow.id.in_(ids), DeadLetterRow.resolved.is_(False))
                .values(resolved=True, resolved_at=now)
            )
            return result.rowcount

    def count_open(self) -> int:
        """Number of dead letters not yet resolved."""
        with self._scope.session(write=False) as session:
            stmt = select(func.count()).where(DeadLetterRow.resolved.is_(False))
            return session.scalar(stmt) or 0

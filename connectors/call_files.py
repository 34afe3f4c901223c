"""Call logs dropped in a folder by any other phone system: CSV, JSON arrays or JSON Lines.

Settings (``[[connectors]] type = "call_files"``): ``path`` (the folder), ``provider`` (the
``cl:<provider>:<id>`` key prefix), ``columns`` (our field → the file's column: ``call_id``,
``started_at``, ``duration_seconds``, ``direction``, ``from``, ``to``, ``from_name``,
``to_name``, ``user_address``, ``user_id``, ``disposition``, ``recording_url``; unmapped
fields are read from a column of their own name), ``direction_values`` (the file's words →
inbound/outbound/internal), ``timezone`` for times written without an offset, and the phone
keys of :class:`connectors._phone.PhoneSettings`. The whole folder is one unit, ``mailbox``;
each call's rep comes from its ``user_address`` (or ``user_id`` through ``users``).

Files are taken one at a time in name order. Cursor: ``cf:1:<quoted name>:<sha256[:16]>:<n>``,
"the first n records of this exact file are done". A batch never spans two files, so a
cursor saying "all records of F" is proof, once the runner hands it back (it does so only
after committing it), that F's batch is committed: only then is F moved into ``processed/``.
A crash before the commit re-reads the rows (upserts by key: harmless); a crash between the
commit and the move moves it on the next pull. A cursor's file is found in the folder or in
``processed/`` by name and content hash, so an old cursor replays the same rows; a file that
is gone or changed raises ``CursorExpired``.

A row that cannot be read (no readable start time, unknown direction, unreadable duration, no
phone number) is a :class:`~syncd.model.Reject`: dead-lettered with its file and line while
the rest of the file lands. A file that is not CSV/JSON at all is one ``unparseable`` skip.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from connectors._cursor import CursorFormat
from connectors._phone import PhoneSettings, rep_address, to_call, to_e164
from connectors.base import Connector, register
from syncd.capture.item_guard import guard
from syncd.config import ConnectorSettings
from syncd.errors import ConfigError, CursorExpired, Problem
from syncd.model import Activity, Batch, Reject, Skip, SkipReason

PROCESSED = "processed"
CURSOR = CursorFormat("cf", "a call-file cursor", (str, str, int))
#: The cursor of an empty folder: no file begun.
START = "cf:1:"
_SUFFIXES = (".csv", ".json", ".jsonl")
_DIRECTIONS = {
    "inbound": "inbound", "in": "inbound", "incoming": "inbound",
    "outbound": "outbound", "out": "outbound", "outgoing": "outbound",
    "internal": "internal",
}  # fmt: skip


class CallFilesSettings(PhoneSettings):
    """``[[connectors]]`` keys of the call-log folder."""

    path: str
    provider: str = "callfile"
    format: Literal["auto", "csv", "json"] = "auto"
    columns: dict[str, str] = {}
    direction_values: dict[str, str] = {}
    timezone: str = "UTC"

    @classmethod
    def cross_check(cls, data: dict[str, Any]) -> Iterator[tuple[tuple[str | int, ...], str]]:
        """One folder is one unit: per-rep mailboxes would move a file before all saw it."""
        if data.get("mailboxes"):
            yield (
                ("mailboxes",),
                (
                    "call_files reads the folder as one unit: set mailbox, and name each row's rep"
                    " in a user_address column (or user_id with users)"
                ),
            )


@dataclass(frozen=True, slots=True)
class _Row:
    index: int
    line: int
    data: Any


class _BadRow(ValueError):
    """A row the mapping cannot read; the message names the field, never the value."""


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def _records(path: Path, data: bytes, fmt: str) -> list[_Row]:
    """Every record with its 1-based physical line; ValueError when the file is unreadable."""
    text = data.decode("utf-8-sig")
    kind = fmt if fmt != "auto" else ("csv" if path.suffix == ".csv" else "json")
    if kind == "csv":
        reader = csv.DictReader(io.StringIO(text, newline=""))
        rows: list[_Row] = []
        start = 2  # line 1 is the header
        for i, row in enumerate(reader):
            rows.append(_Row(i, start, row))
            start = reader.line_num + 1
        return rows
    if path.suffix == ".jsonl":
        lines = [(n, ln) for n, ln in enumerate(text.splitlines(), 1) if ln.strip()]
        return [_Row(i, n, json.loads(ln)) for i, (n, ln) in enumerate(lines)]
    return list(_json_array(text))


def _json_array(text: str) -> Iterator[_Row]:
    # Decoded element by element so each record knows the line it starts on.
    decoder = json.JSONDecoder()
    pos = len(text) - len(text.lstrip())
    if text[pos : pos + 1] != "[":
        raise ValueError("a JSON call log is an array of objects")
    pos += 1
    index = 0
    while True:
        while pos < len(text) and text[pos] in " \t\r\n,":
            pos += 1
        if pos >= len(text):
            raise ValueError("unterminated JSON array")
        if text[pos] == "]":
            return
        value, end = decoder.raw_decode(text, pos)
        yield _Row(index, text.count("\n", 0, pos) + 1, value)
        index += 1
        pos = end


@register
class CallFilesConnector(Connector):
    """A folder of call-log files, one file at a time, moved aside once committed."""

    type: ClassVar[str] = "call_files"
    kinds: ClassVar[frozenset[str]] = frozenset({"call"})
    settings_model: ClassVar[type[ConnectorSettings]] = CallFilesSettings
    # A batch is written in 200-record collection calls: 400 fills two (500 cost a third).
    page_size: ClassVar[int] = 400
    cursor_kind: ClassVar[str] = "file name + content hash + records done"

    @property
    def _settings(self) -> CallFilesSettings:
        assert isinstance(self.settings, CallFilesSettings)
        return self.settings

    @property
    def folder(self) -> Path:
        """The folder files are dropped in."""
        return Path(self._settings.path)

    def mailboxes(self) -> list[str]:
        """The one unit the folder is pulled under."""
        return [self._settings.mailbox]

    # -- files and cursors ---------------------------------------------------------------

    def _inbox(self) -> list[Path]:
        if not self.folder.is_dir():
            problem = Problem(f"connectors.{self.name}.path", "the call-log folder is missing")
            raise ConfigError([problem])
        return sorted(
            p for p in self.folder.iterdir() if p.is_file() and p.suffix.lower() in _SUFFIXES
        )

    def _find(self, name: str, digest: str) -> tuple[Path, bytes] | None:
        done = self.folder / PROCESSED
        candidates = [self.folder / name, done / name]
        if done.is_dir():
            candidates += sorted(done.glob(f"{Path(name).stem}.*{Path(name).suffix}"))
        for path in candidates:
            if path.is_file():
                data = path.read_bytes()
                if _digest(data) == digest:
                    return path, data
        return None

    def _move_aside(self, path: Path, digest: str) -> None:
        done = self.folder / PROCESSED
        done.mkdir(exist_ok=True)
        target = done / path.name
        if target.exists():  # the same name dropped again: keep both
            target = done / f"{path.stem}.{digest}{path.suffix}"
        path.replace(target)
        self.log.info("call file processed and moved aside", extra={"records_file": path.name})

    @staticmethod
    def _parse(cursor: str) -> tuple[str, str, int] | None:
        if cursor == START:
            return None
        name, digest, done = CURSOR.decode(cursor)
        if not name:
            raise CursorExpired(f"not a call-file cursor: {cursor[:40]!r}")
        assert isinstance(name, str) and isinstance(digest, str) and isinstance(done, int)
        return name, digest, done

    # -- pull ----------------------------------------------------------------------------

    def pull(self, mailbox: str, cursor: str | None, *, limit: int | None = None) -> Batch:
        """The next records of the current file (or the next file), rows → calls or rejects."""
        limit = max(1, limit or self.page_size)
        position = self._parse(cursor) if cursor is not None else None
        current: tuple[Path, bytes, int] | None = None
        if position is not None:
            name, digest, done = position
            found = self._find(name, digest)
            if found is None:
                raise CursorExpired("the cursor's call file is gone or was changed")
            path, data = found
            total = self._count(path, data)
            if done > total:
                raise CursorExpired("the cursor is past the end of its call file")
            if done < total:
                current = (path, data, done)
            elif path.parent == self.folder:
                self._move_aside(path, digest)  # its last batch is committed: see the docstring
        if current is None:
            inbox = self._inbox()
            if not inbox:
                return Batch(next_cursor=cursor or START, more=False)
            current = (inbox[0], inbox[0].read_bytes(), 0)
        path, data, start = current
        return self._batch(path, data, start, limit)

    def _count(self, path: Path, data: bytes) -> int:
        try:
            return len(_records(path, data, self._settings.format))
        except (ValueError, UnicodeDecodeError, csv.Error):
            return 1  # an unreadable file counts as one record: its skip

    def _batch(self, path: Path, data: bytes, start: int, limit: int) -> Batch:
        digest = _digest(data)
        name = path.name
        try:
            rows = _records(path, data, self._settings.format)
        except (ValueError, UnicodeDecodeError, csv.Error):
            skip = Skip(name, SkipReason.UNPARSEABLE, "the call file is not CSV or JSON")
            more = len(self._inbox()) > (1 if path.parent == self.folder else 0)
            return Batch(skips=(skip,), next_cursor=CURSOR.encode(name, digest, 1), more=more)
        chunk = rows[start : start + limit]
        activities: list[Activity] = []
        skips: list[Skip] = []
        rejects: list[Reject] = []
        for row in chunk:
            try:
                record = self._neutral(row.data)
            except Exception as exc:  # noqa: BLE001 - one bad row never ends the file
                bad = isinstance(exc, _BadRow)
                rejects.append(
                    Reject(
                        f"{name}:{row.line}",
                        {"file": name, "line": row.line, "row": row.data},
                        "bad_row" if bad else "row_error",
                        str(exc) if bad else type(exc).__name__,
                        key=f"cf:{digest}:{row.line}",
                        source_file=name,
                        source_line=row.line,
                    )
                )
                continue
            sid = f"{name}:{row.line}"
            result = guard(sid, lambda r=record: to_call(self, r, self._settings.mailbox))
            (skips if isinstance(result, Skip) else activities).append(result)  # type: ignore[arg-type]
        end = start + len(chunk)
        # A finished file still waits for its commit; more is true so the next pull moves it.
        more = end < len(rows) or len(self._inbox()) > (1 if path.parent == self.folder else 0)
        self.log.info(
            "call file pull: %d calls, %d skipped, %d rejected, %d of %d records",
            len(activities),
            len(skips),
            len(rejects),
            end,
            len(rows),
        )
        return Batch(
            activities=tuple(activities),
            skips=tuple(skips),
            rejects=tuple(rejects),
            next_cursor=CURSOR.encode(name, digest, end),
            more=more,
        )

    # -- one row -------------------------------------------------------------------------

    def _get(self, row: Any, field: str) -> Any:
        column = self._settings.columns.get(field, field)
        value = row.get(column)
        return value.strip() if isinstance(value, str) else value

    def _neutral(self, row: Any) -> dict[str, Any]:
        if not isinstance(row, dict):
            raise _BadRow("the record is not an object")
        settings = self._settings
        started = self._time(self._get(row, "started_at"))
        raw_direction = str(self._get(row, "direction") or "").strip().lower()
        mapped = {k.lower(): v for k, v in settings.direction_values.items()}
        direction = mapped.get(raw_direction) or _DIRECTIONS.get(raw_direction)
        if direction not in {"inbound", "outbound", "internal"}:
            raise _BadRow("direction: not inbound, outbound or internal")
        duration = _seconds(self._get(row, "duration_seconds"))
        region = self.context.capture.default_region
        numbers = [self._get(row, "from"), self._get(row, "to")]
        if not any(to_e164(n, region) for n in numbers):
            raise _BadRow("from/to: no readable phone number")
        rep = rep_address(settings, self._get(row, "user_id"), self._get(row, "user_address"))
        call_id = self._get(row, "call_id")
        if not call_id:
            # No id column: the row's facts, the same wherever and whenever it is read.
            facts = json.dumps([started.isoformat(), *numbers, rep, duration], default=str)
            call_id = hashlib.sha256(facts.encode()).hexdigest()[:24]
        return {
            "provider": settings.provider,
            "call_id": str(call_id),
            "started_at": started,
            "duration_seconds": duration,
            "direction": direction,
            "from": numbers[0],
            "to": numbers[1],
            "from_name": self._get(row, "from_name"),
            "to_name": self._get(row, "to_name"),
            "user_address": rep,
            "disposition": self._get(row, "disposition"),
            "recording_url": self._get(row, "recording_url"),
        }

    def _time(self, value: Any) -> datetime:
        if isinstance(value, int | float) and not isinstance(value, bool):
            try:
                return datetime.fromtimestamp(value, tz=UTC)
            except (ValueError, OverflowError, OSError):
                raise _BadRow("started_at: epoch seconds outside years 1 to 9999") from None
        if not isinstance(value, str) or not value:
            raise _BadRow("started_at: missing")
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise _BadRow("started_at: not an ISO 8601 time") from None
        if parsed.tzinfo is None:
            try:
                # Written without an offset: the phone system's configured zone.
                parsed = parsed.replace(tzinfo=ZoneInfo(self._settings.timezone))
            except ZoneInfoNotFoundError:
                raise _BadRow("started_at: no offset and an unknown timezone setting") from None
        try:
            return parsed.astimezone(UTC)
        except OverflowError:
            raise _BadRow("started_at: outside years 1 to 9999 in UTC") from None


def _seconds(value: Any) -> int:
    if value is None or value == "":
        return 0
    if isinstance(value, int | float) and not isinstance(value, bool):
        return max(0, int(value))
    text = str(value)
    try:
        if ":" in text:
            total = 0
            for part in text.split(":"):
                total = total * 60 + int(part)
            return max(0, total)
        return max(0, int(float(text)))
    except ValueError:
        raise _BadRow("duration_seconds: not seconds or h:mm:ss") from None

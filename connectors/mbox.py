"""Import an mbox export (Google Takeout, Thunderbird, any ``mailbox.mbox`` file).

For history the APIs no longer offer. The file is streamed line by line with constant memory:
``mailbox.mbox`` is not used because it builds a table of every message offset first. A
message starts at a line beginning ``From `` (as ``mailbox.mbox`` splits them); mboxrd quoting
(``>From ``) is undone in kept lines. Unless bodies are captured only the header lines of each
message are kept, so even a message with large attachments costs the size of its headers;
a multipart or ``text/calendar`` message also keeps up to 256 KiB of its body, where an
invitation's ``text/calendar`` part would be: a mail with METHOD:REQUEST or CANCEL is captured
as the meeting, keyed by its iCalUID (:mod:`syncd.capture.invitations`). Memory follows a
budget, not message sizes (:mod:`connectors._mbox_reader`): a batch ends at
``capture.batch_bytes`` of kept mail, a body is kept up to ``capture.max_message_bytes``, and a
message with megabytes of headers is the named skip ``too_large``.

Cursor: ``mbox:1:<byte offset>:<fingerprint>``. The offset is where the next message starts;
the fingerprint hashes the file's first 4 KiB and the 256 bytes before the offset, so appending
to the file keeps the cursor valid while a replaced or truncated file raises ``CursorExpired``
(the runner then imports it again from the start; keys make that harmless).

Settings (``[[connectors]] type = "mbox"``): ``path`` to the file, ``mailbox`` (the internal
user whose mail it is), and ``since`` (a date): messages before it are skipped as
``outside_window``. Without ``since`` the usual ``capture.backfill_days`` window applies; an
operator importing all history sets ``since`` to an early date. The date on the ``From `` line
stands in for a missing Date header. A message still being appended while it is read is taken
as it stands; import files that are complete.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import BinaryIO, ClassVar

from connectors._cursor import CursorFormat
from connectors._file_import import FileImport, FileImportSettings
from connectors._mbox_reader import MAX_HEADER_BYTES, Budget, read_messages
from connectors.base import register
from syncd.capture.invitations import normalize_mail
from syncd.capture.item_guard import guard
from syncd.capture.normalize import Origin
from syncd.config import ConnectorSettings
from syncd.errors import ConfigError, CursorExpired, Problem
from syncd.model import Activity, Batch, Skip, SkipReason

CURSOR = CursorFormat("mbox", "an mbox cursor", (int, str))
_HEAD = 4096
#: Body bytes kept of a multipart or text/calendar message, to find an invitation's part.
_TAIL = 256
_ZONE = re.compile(r"^[+-]\d{4}$")


class MboxSettings(FileImportSettings):
    """``[[connectors]]`` keys of the mbox importer: ``path``, ``mailbox``, ``since``."""

    def named_mailboxes(self) -> tuple[str, ...]:
        """The one mailbox the file is imported into (after any listed ``mailboxes``)."""
        return super().named_mailboxes() or (self.mailbox,)


def _fingerprint(handle: BinaryIO, offset: int) -> str:
    digest = hashlib.sha256()
    handle.seek(0)
    digest.update(handle.read(min(offset, _HEAD)))
    start = max(0, offset - _TAIL)
    handle.seek(start)
    digest.update(handle.read(offset - start))
    return digest.hexdigest()[:16]


def from_line_time(line: bytes) -> datetime | None:
    """The date on an mbox ``From `` line (asctime, optionally with a +hhmm zone), or None."""
    tokens = line.decode("ascii", "replace").split()[2:]
    zone = UTC
    for token in list(tokens):
        if _ZONE.match(token):
            sign = -1 if token[0] == "-" else 1
            delta = timedelta(hours=int(token[1:3]), minutes=int(token[3:5]))
            zone = timezone(sign * delta)
            tokens.remove(token)
    try:
        naive = datetime.strptime(" ".join(tokens[-5:]), "%a %b %d %H:%M:%S %Y")  # noqa: DTZ007
    except ValueError:
        return None
    # The zone is attached on the next line: asctime carries none, so it is UTC unless given.
    try:
        return naive.replace(tzinfo=zone).astimezone(UTC)
    except OverflowError:  # year 1 or 9999 moved past the calendar's end by its zone
        return None


@register
class MboxConnector(FileImport):
    """One mbox file, one mailbox, pulled in file order."""

    type: ClassVar[str] = "mbox"
    kinds: ClassVar[frozenset[str]] = frozenset({"email", "meeting"})
    settings_model: ClassVar[type[ConnectorSettings]] = MboxSettings
    # A batch is written in 200-record collection calls: 400 fills two (500 cost a third).
    page_size: ClassVar[int] = 400
    cursor_kind: ClassVar[str] = "byte offset + file fingerprint"

    @property
    def path(self) -> Path:
        """The mbox file."""
        return Path(self._settings.path)

    @property
    def _settings(self) -> MboxSettings:
        assert isinstance(self.settings, MboxSettings)
        return self.settings

    def _resume(self, handle: BinaryIO, cursor: str | None, size: int) -> int:
        if cursor is None:
            return 0
        offset, fingerprint = CURSOR.decode(cursor)
        assert isinstance(offset, int)
        if offset > size or _fingerprint(handle, offset) != fingerprint:
            raise CursorExpired("the mbox file was replaced or truncated")
        handle.seek(offset)
        if offset < size and not handle.read(5) == b"From ":
            raise CursorExpired("the mbox cursor does not point at a message")
        return offset

    def pull(self, mailbox: str, cursor: str | None, *, limit: int | None = None) -> Batch:
        """The next messages after ``cursor``, normalised; malformed ones become skips."""
        origin: Origin = self.context.origin(self.name, mailbox)
        window = self._window()
        try:
            handle = self.path.open("rb")
        except OSError as exc:
            problem = Problem(f"connectors.{self.name}.path", f"cannot read the mbox file: {exc}")
            raise ConfigError([problem]) from exc
        with handle:
            size = self.path.stat().st_size
            start = self._resume(handle, cursor, size)
            capture = self.context.capture
            budget = Budget(capture.batch_bytes, capture.max_message_bytes)
            raws, next_offset, prefix = read_messages(
                handle, start, max(1, limit or self.page_size), origin.capture_body, budget
            )
            fingerprint = _fingerprint(handle, next_offset)
        activities: list[Activity] = []
        skips: list[Skip] = []
        if prefix and start == 0:
            skips.append(Skip("0", SkipReason.UNPARSEABLE, "text before the first From line"))
        for raw in raws:
            sid = str(raw.offset)
            if raw.oversized:
                skips.append(Skip(sid, SkipReason.TOO_LARGE, f"headers over {MAX_HEADER_BYTES}"))
                continue
            result = guard(
                sid,
                lambda raw=raw, sid=sid: normalize_mail(  # type: ignore[misc]
                    raw.data, origin, source_id=sid, received_at=from_line_time(raw.from_line)
                ),
            )
            if isinstance(result, Skip):
                skips.append(result)
            elif result.occurred_at < window:
                skips.append(Skip(sid, SkipReason.OUTSIDE_WINDOW, key=result.key))
            else:
                activities.append(result)
        self.log.info(
            "mbox pull: %d activities, %d skipped, offset %d of %d",
            len(activities),
            len(skips),
            next_offset,
            size,
        )
        return Batch(
            activities=tuple(activities),
            skips=tuple(skips),
            next_cursor=CURSOR.encode(next_offset, fingerprint),
            more=next_offset < size,
        )

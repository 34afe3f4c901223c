"""What the file importers (``mbox``, ``ics``) share: their keys, mailbox and window.

An import reads one file that belongs to one internal ``mailbox``; ``since`` (a date) is the
oldest item it captures, and a backfill's ``--since`` wins over it; without either the usual
``capture.backfill_days`` window applies.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from connectors.base import Connector
from syncd.config import ConnectorSettings


class FileImportSettings(ConnectorSettings):
    """``[[connectors]]`` keys of a file import."""

    path: str
    mailbox: str
    since: date | None = None


class FileImport(Connector):
    """A connector over one file of one mailbox."""

    @property
    def _file_settings(self) -> FileImportSettings:
        assert isinstance(self.settings, FileImportSettings)
        return self.settings

    def mailboxes(self) -> list[str]:
        """The one mailbox the file belongs to."""
        return [self._file_settings.mailbox]

    def _window(self) -> datetime:
        # A backfill's --since (context.since) wins over the configured ``since``.
        since = self._file_settings.since
        if since is not None and self.context.since is None:
            return datetime.combine(since, time(0), tzinfo=UTC)
        return self.context.backfill_start()

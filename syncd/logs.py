"""Logging set-up: text or JSON lines, with secrets redacted before anything is written.

The redaction runs as a ``logging.Filter`` on syncd's handler, so it sees every record from
every library (simple-salesforce, msal, googleapiclient) before formatting. It removes the value
of every secret the configuration references, and anything that looks like a credential even
when syncd never knew it: bearer tokens, OAuth token fields, JWTs, Slack tokens, Salesforce
session ids, passwords in URLs.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, TextIO

from syncd.config import ServiceConfig

REDACTED = "[redacted]"

#: Patterns of credentials worth hiding even when they are not configured secrets.
_PATTERNS: tuple[re.Pattern[str], ...] = (
    # Authorization headers and bearer tokens.
    re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=\-!]{8,}"),
    # key=value and "key": "value" for credential-looking keys.
    re.compile(
        r"(?i)([\"']?\b(?:access_token|refresh_token|id_token|client_secret|password|passwd|"
        r"secret|api_key|apikey|token|assertion|security_token|private_key|sessionid|sid)"
        r"[\"']?\s*[:=]\s*[\"']?)([^\"'&\s,}]{3,})"
    ),
    # JSON Web Tokens (three base64url parts, the first two starting with '{"').
    re.compile(r"\beyJ[A-Za-z0-9_\-]{5,}\.eyJ[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]*"),
    # Slack tokens.
    re.compile(r"\bxox[abposre]-[A-Za-z0-9\-]{6,}"),
    # Salesforce session ids: org id (00D…) '!' then the token.
    re.compile(r"\b00D[A-Za-z0-9]{12,15}![A-Za-z0-9._\-]{20,}"),
    # user:password@ in URLs.
    re.compile(r"(?<=://)([^/\s:@]+):([^/\s@]+)@"),
)


class Redactor:
    """Replaces known secret values and credential-looking text with ``[redacted]``."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: list[str] = []
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        """Add secret values; very short ones are ignored (they would redact ordinary words)."""
        for value in secrets:
            for part in {value, value.strip()}:
                if len(part) >= 6 and part not in self._secrets:
                    self._secrets.append(part)
        # Longest first, so a secret that contains another is removed whole.
        self._secrets.sort(key=len, reverse=True)

    def __call__(self, text: str) -> str:
        """Return ``text`` with every secret and credential-looking value removed."""
        for value in self._secrets:
            if value in text:
                text = text.replace(value, REDACTED)
        for pattern in _PATTERNS:
            text = pattern.sub(_replacement, text)
        return text


def _replacement(match: re.Match[str]) -> str:
    if match.re.pattern.startswith("(?<=://)"):
        return f"{match.group(1)}:{REDACTED}@"
    if match.lastindex and match.lastindex >= 2:
        return f"{match.group(1)}{REDACTED}"
    if match.lastindex == 1 and match.group(0).lower().startswith(("bearer", "basic")):
        return f"{match.group(1)} {REDACTED}"
    return REDACTED


class RedactingFilter(logging.Filter):
    """Renders each record's message (and traceback) once, redacted, before any formatter."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact in place; never drops a record."""
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a bad format string must not lose the record
            message = f"{record.msg!r} {record.args!r}"
        record.msg = self.redactor(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redactor(record.exc_text)
        record.exc_info = None
        if record.stack_info:
            record.stack_info = self.redactor(record.stack_info)
        return True


_STANDARD_ATTRS = frozenset(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and any ``extra=`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        """Format ``record`` as a JSON line."""
        payload: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                payload[key] = value
        if record.exc_text:
            payload["exc"] = record.exc_text
        return json.dumps(payload, default=str)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a record is emitted, as ``logging.lastResort``.

    A handler holding the ``sys.stderr`` object of the moment it was made writes to a closed
    stream once that object is swapped and closed (an in-process CLI call under a test's
    captured output), and every later record fails with "I/O operation on closed file".
    """

    def __init__(self) -> None:
        logging.Handler.__init__(self)

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        """The current standard error."""
        return sys.stderr


def setup_logging(
    *,
    log_format: str = ServiceConfig.model_fields["log_format"].default,
    level: str = ServiceConfig.model_fields["log_level"].default,
    secrets: Iterable[str] = (),
    stream: TextIO | None = None,
) -> Redactor:
    """Configure the root logger for syncd; returns the redactor so callers can add secrets."""
    redactor = Redactor(secrets)
    handler = logging.StreamHandler(stream) if stream is not None else _StderrHandler()
    handler.addFilter(RedactingFilter(redactor))
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_syncd", False):
            root.removeHandler(old)
    handler._syncd = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    # Alembic announces its migration context on every open; operators need only problems.
    logging.getLogger("alembic").setLevel(max(logging.WARNING, root.level))
    return redactor

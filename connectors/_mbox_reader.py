"""Reading an mbox file message by message within a memory budget.

Lines are read in chunks of at most :data:`CHUNK` bytes, so a 50 MB header line never sits in
memory whole. A message starts at a line beginning ``From `` (as ``mailbox.mbox`` splits
them); mboxrd quoting (``>From ``) is undone in kept lines. What is kept of a message:

- its headers, up to :data:`MAX_HEADER_BYTES`: a message whose headers run past that is kept
  as nothing and flagged ``oversized`` (its normaliser turns it into the named skip
  ``too_large``): no real message needs megabytes of headers, and parsing them is what costs;
- its body only when bodies are captured (``capture_body``) or it may be an invitation (the
  first :data:`INVITE_BYTES`), and never past ``message_bytes``: the rest is dropped and the
  message flagged ``truncated`` (the body text syncd keeps is 32,000 characters anyway; big
  messages are big for their attachments).

A batch ends after ``limit`` messages or once the kept bytes reach ``batch_bytes``, whichever
comes first (always at least one message), so memory follows the budget, not message sizes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import BinaryIO

#: Bytes read per ``readline`` call: the longest piece of a line held at once.
CHUNK = 64 * 1024
#: Headers longer than this make a message ``oversized`` (a skip, not a parse).
MAX_HEADER_BYTES = 2 * 1024 * 1024
#: Body bytes kept of a possible invitation when bodies are not captured.
INVITE_BYTES = 256 * 1024
_QUOTED_FROM = re.compile(rb"^>(>*From )")


@dataclass(slots=True)
class RawMessage:
    """One message as read: where it starts, its ``From `` line and the bytes kept."""

    offset: int
    from_line: bytes
    data: bytes = b""
    #: The headers ran past MAX_HEADER_BYTES: nothing of it is kept.
    oversized: bool = False
    #: The body ran past the per-message budget: the rest was dropped.
    truncated: bool = False


@dataclass(frozen=True, slots=True)
class Budget:
    """How much of the file one batch may hold."""

    batch_bytes: int = 64 * 1024 * 1024
    message_bytes: int = 10 * 1024 * 1024


def read_messages(
    handle: BinaryIO, start: int, limit: int, keep_body: bool, budget: Budget
) -> tuple[list[RawMessage], int, bool]:
    """Messages from ``start`` within ``limit`` and ``budget``: (messages, next offset, prefix).

    ``prefix`` is True when text came before the first ``From `` line.
    """
    handle.seek(start)
    found: list[RawMessage] = []
    current: RawMessage | None = None
    lines: list[bytes] = []
    held = 0  # bytes kept by the messages found so far
    in_headers, prefix, maybe_invite = True, False, False
    head = body = 0
    at_line_start = True
    while True:
        pos = handle.tell()
        piece = handle.readline(CHUNK)
        starts_line, at_line_start = at_line_start, piece.endswith(b"\n")
        if not piece or (starts_line and piece.startswith(b"From ")):
            if current is not None:
                current.data = b"".join(lines)
                held += len(current.data)
                found.append(current)
                current = None
            if not piece or len(found) >= limit or held >= budget.batch_bytes:
                return found, pos, prefix
            current, lines = RawMessage(pos, piece[:CHUNK]), []
            in_headers, maybe_invite, head, body = True, False, 0, 0
            while not at_line_start:  # the rest of an overlong From line: not kept
                rest = handle.readline(CHUNK)
                at_line_start = not rest or rest.endswith(b"\n")
            continue
        if current is None:
            prefix = True  # text before the first From line: not an mbox message
            continue
        if current.oversized:
            continue
        if in_headers:
            head += len(piece)
            if head > MAX_HEADER_BYTES:
                current.oversized, lines = True, []
                continue
            if starts_line and piece[:13].lower() == b"content-type:":
                kind = piece[13:].strip().lower()
                # A calendar part can only be the whole message or inside a multipart one.
                maybe_invite = kind.startswith((b"multipart/", b"text/calendar"))
            lines.append(_QUOTED_FROM.sub(rb"\1", piece) if starts_line else piece)
            if starts_line and piece in (b"\n", b"\r\n"):
                in_headers = False
            continue
        wanted = keep_body or (maybe_invite and body < INVITE_BYTES)
        if wanted and body + len(piece) > budget.message_bytes:
            current.truncated, wanted = True, False
        if wanted:
            lines.append(_QUOTED_FROM.sub(rb"\1", piece) if starts_line else piece)
            body += len(piece)

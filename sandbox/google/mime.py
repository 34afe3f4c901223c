"""A stored message's MIME text → Gmail's ``payload`` tree (``format=full``) and snippet.

Gmail answers ``users.messages.get(format=full)`` with the MIME structure as a tree of parts:
each has ``partId`` ("" for the top, then "0", "1", "0.1", ...), ``mimeType``, ``filename``,
``headers`` (name/value pairs, unfolded), ``body`` (``size`` and base64url ``data`` for a leaf
part, ``attachmentId`` instead of ``data`` for an attachment, ``size`` 0 for a container) and
``parts`` for a multipart. https://developers.google.com/workspace/gmail/api/reference/rest/v1/users.messages#MessagePart
"""

from __future__ import annotations

import base64
import email
import email.policy
import hashlib
import re
from email.message import Message
from typing import Any

_FOLD = re.compile(r"\r?\n[ \t]+")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode()


def headers_of(raw: bytes) -> list[tuple[str, str]]:
    """The top-level header lines of ``raw``, unfolded, in order."""
    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    return [(name, _FOLD.sub(" ", str(value))) for name, value in message.items()]


def _part(message: Message, part_id: str) -> dict[str, Any]:
    filename = message.get_filename() or ""
    answer: dict[str, Any] = {
        "partId": part_id,
        "mimeType": message.get_content_type(),
        "filename": filename,
        "headers": [
            {"name": name, "value": _FOLD.sub(" ", str(value))} for name, value in message.items()
        ],
    }
    if message.is_multipart():
        answer["body"] = {"size": 0}
        subs = message.get_payload()
        assert isinstance(subs, list)
        answer["parts"] = [
            _part(sub, f"{part_id}.{i}" if part_id else str(i)) for i, sub in enumerate(subs)
        ]
        return answer
    data = message.get_payload(decode=True)
    data = data if isinstance(data, bytes) else b""
    if filename:
        digest = hashlib.sha1(data, usedforsecurity=False).hexdigest()
        answer["body"] = {"attachmentId": f"ANGjdJ{digest}", "size": len(data)}
    else:
        answer["body"] = {"size": len(data)} | ({"data": _b64(data)} if data else {})
    return answer


def payload(raw: bytes) -> dict[str, Any]:
    """The ``payload`` of ``format=full`` for the MIME message ``raw``."""
    return _part(email.message_from_bytes(raw, policy=email.policy.compat32), "")


def snippet(raw: bytes) -> str:
    """Gmail's ``snippet``: the start of the first text/plain part, whitespace collapsed."""
    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    for part in message.walk():
        if part.get_content_type() == "text/plain" and not part.get_filename():
            data = part.get_payload(decode=True)
            if isinstance(data, bytes):
                charset = part.get_content_charset() or "utf-8"
                text = data.decode(charset, "replace")
                return " ".join(text.split())[:200]
    return ""

"""The batch endpoint's wire format, as googleapiclient's ``BatchHttpRequest`` sends it.

The request is ``multipart/mixed``; each part is ``application/http`` with a ``Content-ID``
like ``<uuid+N>`` and a body holding one HTTP request (request line, headers, blank line,
body). The answer is ``multipart/mixed`` too, one part per request in order, each with
``Content-ID: <response-uuid+N>`` and a whole HTTP response inside. At most 100 parts.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import uuid
from dataclasses import dataclass
from typing import Any

MAX_PARTS = 100

_REASONS = {200: "OK", 204: "No Content", 400: "Bad Request", 401: "Unauthorized",
            403: "Forbidden", 404: "Not Found", 410: "Gone", 429: "Too Many Requests",
            500: "Internal Server Error", 503: "Service Unavailable"}  # fmt: skip


class BatchFormatError(ValueError):
    """The body is not a batch Google would accept."""


@dataclass
class Part:
    """One inner request."""

    content_id: str
    method: str
    target: str
    headers: dict[str, str]
    body: bytes


def parse(content_type: str, body: bytes) -> list[Part]:
    """The inner requests of a batch body; ``BatchFormatError`` when it is not one."""
    if not content_type.lower().startswith("multipart/mixed") or "boundary=" not in content_type:
        raise BatchFormatError("batch requests must be multipart/mixed with a boundary")
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.compat32).parsebytes(head + body)
    if not message.is_multipart():
        raise BatchFormatError("no parts")
    parts: list[Part] = []
    for sub in message.get_payload():
        if sub.get_content_type() != "application/http":
            raise BatchFormatError("each part must be application/http")
        content_id = (sub.get("Content-ID") or "").strip()
        raw = sub.get_payload(decode=False)
        raw_bytes = raw.encode("utf-8") if isinstance(raw, str) else bytes(raw)
        head_bytes, _, inner_body = raw_bytes.replace(b"\r\n", b"\n").partition(b"\n\n")
        lines = head_bytes.decode("utf-8").split("\n")
        request_line = lines[0].split(" ")
        if len(request_line) < 2:
            raise BatchFormatError("a part without a request line")
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        parts.append(Part(content_id, request_line[0], request_line[1], headers, inner_body))
    if not parts:
        raise BatchFormatError("an empty batch")
    if len(parts) > MAX_PARTS:
        raise BatchFormatError(f"a batch holds at most {MAX_PARTS} requests")
    return parts


def render(answers: list[tuple[str, int, dict[str, str], Any]]) -> tuple[str, bytes]:
    """(content type, body) of the batch answer: (content id, status, headers, JSON) each."""
    boundary = f"batch_{uuid.uuid4().hex}"
    chunks: list[str] = []
    for content_id, status, headers, payload in answers:
        inner_id = content_id.strip("<>")
        text = json.dumps(payload)
        lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}",
                 "Content-Type: application/json; charset=UTF-8"]  # fmt: skip
        lines += [f"{k}: {v}" for k, v in headers.items()]
        chunks.append(
            f"--{boundary}\r\nContent-Type: application/http\r\n"
            f"Content-ID: <response-{inner_id}>\r\n\r\n" + "\r\n".join(lines) + "\r\n\r\n"
            f"{text}\r\n"
        )
    body = "".join(chunks) + f"--{boundary}--\r\n"
    return f"multipart/mixed; boundary={boundary}", body.encode("utf-8")

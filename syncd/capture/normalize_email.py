"""Raw email → :class:`~syncd.model.Email`, never raising on what the wire brings.

Input is either the bytes of an RFC 822 message, or a mapping of header name → value (or list
of values), as Gmail ``format=metadata`` and Graph ``internetMessageHeaders`` give.

Headers are read with Python's ``email`` package under ``policy.default`` (RFC 2047 words, RFC
6532 UTF-8, folded and quoted addresses). ``policy.default`` raises on some malformed headers
when they are accessed; then that header alone is read again under ``compat32`` with
``email.header.decode_header`` and ``email.utils.getaddresses``, and the fallback is noted in
``Email.parse_notes`` (``compat32:<header>``). Only strings with an ``@`` count as addresses
(a bare ``MAILER-DAEMON`` or an empty group such as ``undisclosed-recipients:;`` does not).

Named skips: ``unparseable`` (not a message at all), ``no_sender`` (no From address),
``no_date`` (no usable Date header and no ``received_at`` from the connector) and
``future_date`` (dated over a day ahead, with no believable received time: see
:func:`_occurred`); anything else that raises is ``item_error``. A four-digit year is read as
written, never as a two-digit one. A missing Message-ID is captured under the fallback key of
:mod:`syncd.capture.keys`.
"""

from __future__ import annotations

import email
import email.errors
import email.header
import email.utils
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.message import Message
from email.parser import BytesParser, Parser
from email.policy import Policy
from typing import Any

from syncd.capture.item_guard import never_raises, too_far_ahead
from syncd.capture.keys import email_fallback_key, message_key
from syncd.capture.normalize import (
    MAX_BODY,
    Origin,
    aware_or_none,
    clean_text,
    direction_of,
)
from syncd.email_address import normalize_address
from syncd.model import Email, Participant, Role, Skip, SkipReason

#: What parsing a malformed header under policy.default has been seen to raise. UnicodeError
#: and LookupError come from unknown or lying charsets.
PARSE_ERRORS: tuple[type[BaseException], ...] = (
    email.errors.MessageError,
    ValueError,
    TypeError,
    IndexError,
    AttributeError,
    LookupError,
    AssertionError,
)

#: Address headers → participant role, in the order participants are listed.
ADDRESS_HEADERS: tuple[tuple[str, Role], ...] = (
    ("from", Role.FROM),
    ("to", Role.TO),
    ("cc", Role.CC),
    ("bcc", Role.BCC),
)

_ANGLE = re.compile(r"<[^<>]*>")
_TAGS = re.compile(r"<[^>]*>")
_HEADER_NAME = re.compile(r"^[!-9;-~]+$")
#: The year of an RFC 5322 date: "day month year hour:minute".
_DATE_YEAR = re.compile(r"\b\d{1,2}\s+[A-Za-z]{3,}\.?\s+(\d+)\s+\d{1,2}:\d{2}")


@dataclass(slots=True)
class ParsedEmail:
    """What the headers say, before any decision; ``notes`` record the parser's fallbacks."""

    addresses: list[tuple[Role, str, str | None]] = field(default_factory=list)
    subject: str = ""
    date: datetime | None = None
    message_id: str | None = None
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    list_unsubscribe: str | None = None
    list_id: str | None = None
    precedence: str | None = None
    auto_submitted: str | None = None
    body: str | None = None
    notes: list[str] = field(default_factory=list)

    def sender(self) -> str | None:
        """The first From address."""
        return next((a for role, a, _ in self.addresses if role is Role.FROM), None)


def headers_to_text(headers: Mapping[str, str | Sequence[str]]) -> str:
    """A header mapping as RFC 822 header text, unfolded, invalid header names dropped."""
    lines: list[str] = []
    for name, values in headers.items():
        if not isinstance(name, str) or not _HEADER_NAME.match(name):
            continue
        for value in [values] if isinstance(values, str) else list(values):
            # Unfold: RFC 5322 unfolding removes the CRLF and keeps the whitespace after it.
            text = re.sub(r"\r?\n", "", str(value))
            lines.append(f"{name}: {text}")
    return "\r\n".join(lines) + "\r\n\r\n"


def _decode_compat(value: Any) -> str:
    """A compat32 header value as text, decoding RFC 2047 words as far as they allow."""
    try:
        return str(email.header.make_header(email.header.decode_header(str(value))))
    except PARSE_ERRORS:
        return str(value)


def _parse(raw: bytes | str, pol: Policy, *, headersonly: bool) -> Message:
    if isinstance(raw, str):
        return Parser(policy=pol).parsestr(raw, headersonly=headersonly)
    return BytesParser(policy=pol).parsebytes(raw, headersonly=headersonly)


class _Reader:
    """Reads headers under policy.default, one header at a time falling back to compat32."""

    def __init__(self, raw: bytes | str, *, with_body: bool) -> None:
        self.raw = raw
        self.msg: Message = _parse(raw, policy.default, headersonly=not with_body)
        self._compat: Message | None = None
        self.notes: list[str] = []

    @property
    def compat(self) -> Message:
        if self._compat is None:
            self._compat = _parse(self.raw, policy.compat32, headersonly=True)
        return self._compat

    def text(self, name: str) -> str | None:
        """The decoded value of the first ``name`` header, or None."""
        try:
            value = self.msg.get(name)
            return None if value is None else str(value)
        except PARSE_ERRORS:
            self.notes.append(f"compat32:{name}")
            value = self.compat.get(name)
            return None if value is None else _decode_compat(value)

    def addresses(self, name: str) -> list[tuple[str, str | None]]:
        """(address, display name) for every address in every ``name`` header."""
        found: list[tuple[str, str]] = []
        try:
            for header in self.msg.get_all(name) or []:
                found.extend((a.addr_spec, a.display_name) for a in header.addresses)
        except PARSE_ERRORS:
            self.notes.append(f"compat32:{name}")
            values = [_decode_compat(v) for v in self.compat.get_all(name) or []]
            found = [(addr, disp) for disp, addr in email.utils.getaddresses(values)]
        out: list[tuple[str, str | None]] = []
        for addr, disp in found:
            normal = normalize_address(addr)
            if normal:
                out.append((normal, clean_text(disp) or None))
        return out

    def date(self) -> datetime | None:
        """The Date header as an aware UTC datetime; ``-0000`` (zone unknown) is taken as UTC.

        A four-digit year is taken as written (``0001`` is year 1, not 2001: the ``email``
        package reads every year below 100 as two-digit); a date that cannot be moved to UTC
        (year 1 or 9999 with an offset past the calendar's ends) is ``bad_date``.
        """
        # The header as written (policy.default's str() is its own re-rendering).
        raw = next((str(v) for k, v in self.msg.raw_items() if k.lower() == "date"), None)
        try:
            header = self.msg.get("date")
            value = None if header is None else header.datetime
        except PARSE_ERRORS:
            self.notes.append("compat32:date")
            try:
                value = None if raw is None else email.utils.parsedate_to_datetime(raw)
            except PARSE_ERRORS:
                value = None
        if value is not None and raw is not None:
            value = _literal_year(raw, value)
        if value is None:
            if self.msg.get("date") is not None:
                self.notes.append("bad_date")
            return None
        if value.tzinfo is None:
            self.notes.append("date_without_zone")
            value = value.replace(tzinfo=UTC)
        try:
            return value.astimezone(UTC)
        except OverflowError:  # past 9999-12-31 in UTC is the future; before year 1 is not
            self.notes.append("date_in_future" if value.year > 1 else "bad_date")
            return None

    def body(self) -> str | None:
        """Plain text of the message (HTML with tags removed when that is all there is)."""
        try:
            part = self.msg.get_body(preferencelist=("plain", "html"))  # type: ignore[attr-defined]
            if part is None:
                return None
            content = part.get_content()
        except (*PARSE_ERRORS, KeyError):
            self.notes.append("body_unreadable")
            return None
        if not isinstance(content, str):
            return None
        if part.get_content_subtype() == "html":
            content = _TAGS.sub(" ", content)
        return content[:MAX_BODY]


def _literal_year(raw: str, value: datetime) -> datetime | None:
    """``value`` with the year as ``raw`` writes it when that has four digits (RFC 5322 3.3)."""
    found = _DATE_YEAR.search(raw)
    if found is None or len(found.group(1)) < 4 or int(found.group(1)) == value.year:
        return value
    try:
        return value.replace(year=int(found.group(1)))
    except ValueError:  # year 0, or 29 February in a year without one
        return None


def _first_id(value: str | None) -> str | None:
    if not value:
        return None
    match = _ANGLE.search(value)
    text = (match.group(0) if match else value).strip().strip("<>").strip()
    return text or None


def parse_email(raw: bytes | Mapping[str, Any], *, with_body: bool = False) -> ParsedEmail:
    """Read the headers (and body if asked) of ``raw``; raises only for non-message input."""
    data = bytes(raw) if isinstance(raw, bytes | bytearray) else headers_to_text(raw)
    reader = _Reader(data, with_body=with_body)
    parsed = ParsedEmail()
    for name, role in ADDRESS_HEADERS:
        parsed.addresses.extend((role, a, n) for a, n in reader.addresses(name))
    parsed.subject = clean_text(reader.text("subject"))
    parsed.date = reader.date()
    parsed.message_id = _first_id(reader.text("message-id"))
    parsed.in_reply_to = _first_id(reader.text("in-reply-to"))
    refs = reader.text("references") or ""
    parsed.references = tuple(r.strip("<>") for r in _ANGLE.findall(refs))
    for attr, name in (
        ("list_unsubscribe", "list-unsubscribe"),
        ("list_id", "list-id"),
        ("precedence", "precedence"),
        ("auto_submitted", "auto-submitted"),
    ):
        setattr(parsed, attr, clean_text(reader.text(name), 500) or None)
    if with_body:
        parsed.body = reader.body()
    parsed.notes = reader.notes
    return parsed


def _occurred(
    parsed: ParsedEmail, received_at: datetime | None, now: datetime | None
) -> tuple[datetime | None, SkipReason]:
    """When the message happened: its Date, else when it was received; else why neither.

    A Date more than a day after ``now`` is not believed (anyone can write any Date): the
    time the mail system received the message (Gmail internalDate, Graph receivedDateTime,
    the mbox ``From`` line) stands in, as the receiving server sets it and not the sender.
    Without a believable received time the message is the named skip ``future_date``.
    """
    received = aware_or_none(received_at)
    if received is not None and too_far_ahead(received, now):
        parsed.notes.append("received_in_future")
        received = None
    date = parsed.date
    if date is not None and too_far_ahead(date, now):
        parsed.notes.append("date_in_future")
        date = None
    if date is not None:
        return date, SkipReason.NO_DATE
    if received is not None:
        parsed.notes.append("date_from_received")
        return received.astimezone(UTC), SkipReason.NO_DATE
    if "date_in_future" in parsed.notes or "received_in_future" in parsed.notes:
        return None, SkipReason.FUTURE_DATE
    return None, SkipReason.NO_DATE


@never_raises
def normalize_email(
    raw: bytes | Mapping[str, Any],
    origin: Origin,
    *,
    source_id: str,
    thread_id: str | None = None,
    labels: Sequence[str] = (),
    received_at: datetime | None = None,
) -> Email | Skip:
    """One message → an :class:`Email`, or a :class:`Skip` naming why it cannot be one.

    ``received_at`` (Gmail internalDate, Graph receivedDateTime, the mbox ``From`` line)
    stands in for a missing, unreadable or future Date header.
    """
    if not isinstance(raw, bytes | bytearray | Mapping):
        return Skip(source_id, SkipReason.UNPARSEABLE, f"not a message: {type(raw).__name__}")
    try:
        parsed = parse_email(raw, with_body=origin.capture_body)
    except PARSE_ERRORS as exc:
        return Skip(source_id, SkipReason.UNPARSEABLE, type(exc).__name__)
    sender = parsed.sender()
    if sender is None:
        return Skip(source_id, SkipReason.NO_SENDER, ",".join(parsed.notes))
    occurred, reason = _occurred(parsed, received_at, origin.now)
    if occurred is None:
        return Skip(source_id, reason, ",".join(parsed.notes))
    key = message_key(parsed.message_id)
    if key is None:
        key = email_fallback_key(sender, occurred, parsed.subject)
        parsed.notes.append("no_message_id")
    participants: dict[tuple[Role, str], Participant] = {}
    for role, addr, name in parsed.addresses:
        participants.setdefault((role, addr), Participant(address=addr, name=name, role=role))
    internal = origin.internal_parties()
    return Email(
        source=origin.source,
        source_id=source_id,
        key=key,
        occurred_at=occurred,
        subject=parsed.subject,
        direction=direction_of(sender, (a for _, a, _ in parsed.addresses), internal),
        participants=tuple(participants.values()),
        mailbox=origin.mailbox,
        body=parsed.body if origin.capture_body else None,
        thread_id=thread_id,
        message_id=parsed.message_id,
        in_reply_to=parsed.in_reply_to,
        references=parsed.references,
        list_unsubscribe=parsed.list_unsubscribe,
        list_id=parsed.list_id,
        precedence=parsed.precedence,
        auto_submitted=parsed.auto_submitted,
        labels=tuple(labels),
        parse_notes=tuple(parsed.notes),
    )

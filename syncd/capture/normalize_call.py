"""Call records in a neutral shape → :class:`~syncd.model.Call`.

Phone connectors (Aircall, RingCentral, Zoom Phone, call files) translate their records into::

    {
      "provider": "aircall",          # with call_id, makes the key cl:<provider>:<call_id>
      "call_id": "123456",
      "started_at": <aware datetime or ISO 8601 string with offset>,
      "duration_seconds": 95,
      "direction": "inbound" | "outbound" | "internal",
      "from": "+1 415 555 0100",      # caller's number, any format phonenumbers reads
      "to": "+44 20 7946 0000",       # callee's number
      "from_name": "...", "to_name": "...",
      "user_address": "rep@acme.com", # the internal user on the call; defaults to the mailbox
      "disposition": "answered",      # free text, CallDisposition (255)
      "recording_url": "https://...",
      "subject": "...",               # optional; connectors usually leave it to the writer
    }

The internal user's side (caller on outbound, callee on inbound) carries ``user_address`` so
matching sees one internal and one external participant. Numbers are stored in E.164; a
number ``phonenumbers`` cannot read is kept out of ``phone`` (the name stays).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import phonenumbers

from syncd.capture.item_guard import never_raises, too_far_ahead
from syncd.capture.keys import call_key
from syncd.capture.normalize import Origin, clean_text, first_value
from syncd.email_address import normalize_address
from syncd.model import Call, Direction, Participant, Role, Skip, SkipReason

_DIRECTIONS = {"inbound", "outbound", "internal"}


#: The ITU international call prefix: "00 44 …" is "+44 …" wherever it was written.
_IDD_00 = re.compile(r"^\s*00")
#: Extensions people append: "x12", "ext. 12", "#12".
_EXTENSION = re.compile(r"\s*(?:x|ext\.?|extension|#)\s*\d+\s*$", re.IGNORECASE)


def to_e164(number: Any, region: str | None) -> str | None:
    """``number`` in E.164 (extension dropped), or None when it is not a phone number.

    Used for both sides of matching (call participants and the directory's contact numbers),
    so "(512) 757-6000", "+1 512-757-6000", "512.757.6000 x12" and "00 1 512 757 6000" agree.
    """
    if number is None:
        return None
    text = _EXTENSION.sub("", str(number).strip())
    if not text:
        return None
    if _IDD_00.match(text):
        found = _parse("+" + _IDD_00.sub("", text, count=1), None)
        if found is not None:
            return found
    return _parse(text, region)


def _parse(text: str, region: str | None) -> str | None:
    try:
        parsed = phonenumbers.parse(text, (region or "").upper() or None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _when(value: Any) -> datetime | None:
    """An aware UTC time from ISO 8601 text or epoch seconds; None when it cannot be one."""
    try:
        if isinstance(value, str):
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        elif isinstance(value, int | float) and not isinstance(value, bool):
            value = datetime.fromtimestamp(value, tz=UTC)  # Aircall and Zoom give epoch seconds
        if isinstance(value, datetime) and value.tzinfo is not None:
            return value.astimezone(UTC)
    except (ValueError, OverflowError, OSError):  # unreadable, or beyond year 1..9999
        return None
    return None


@never_raises
def normalize_call(
    record: Mapping[str, Any], origin: Origin, *, source_id: str | None = None
) -> Call | Skip:
    """One call record → a :class:`Call`, or a :class:`Skip` naming why not."""
    if not isinstance(record, Mapping):
        return Skip(source_id or "?", SkipReason.UNPARSEABLE, "call is not a mapping")
    provider = clean_text(record.get("provider"), 40)
    call_id = clean_text(record.get("call_id"), 1000)
    sid = source_id or call_id or "?"
    if not provider or not call_id:
        return Skip(sid, SkipReason.NO_CALL_ID)
    started = _when(first_value(record, "started_at", "start_time"))
    if started is None:
        return Skip(sid, SkipReason.NO_DATE)
    if too_far_ahead(started, origin.now):
        # The dialer's own clock put it there: no other time is known, so it is not captured.
        return Skip(sid, SkipReason.FUTURE_DATE)
    direction = str(record.get("direction") or "").lower()
    if direction not in _DIRECTIONS:
        return Skip(sid, SkipReason.UNPARSEABLE, "unknown call direction")
    try:
        duration = max(0, int(float(record.get("duration_seconds") or 0)))
    except (TypeError, ValueError):
        return Skip(sid, SkipReason.UNPARSEABLE, "unreadable duration")

    user = normalize_address(record.get("user_address")) or normalize_address(origin.mailbox)
    region = origin.default_region
    caller = Participant(
        phone=to_e164(record.get("from"), region),
        name=clean_text(record.get("from_name")) or None,
        address=user if direction in {"outbound", "internal"} else None,
        role=Role.CALLER,
    )
    callee = Participant(
        phone=to_e164(record.get("to"), region),
        name=clean_text(record.get("to_name")) or None,
        address=user if direction == "inbound" else None,
        role=Role.CALLEE,
    )
    recording = record.get("recording_url")
    return Call(
        source=origin.source,
        source_id=sid,
        key=call_key(provider, call_id),
        occurred_at=started,
        subject=clean_text(record.get("subject")),
        direction=Direction(direction),
        participants=(caller, callee),
        mailbox=origin.mailbox,
        provider=provider.lower(),
        call_id=call_id,
        duration_seconds=duration,
        call_direction=direction,
        disposition=clean_text(record.get("disposition"), 255) or None,
        recording_url=str(recording) if recording else None,
    )

"""Deterministic activity keys: the same item gets the same key whichever mailbox or run sees it.

The key is written to ``Syncd_Key__c`` (Text 255, External ID, Unique) and every write is an
upsert by it, so one key is one Salesforce record.

- Email: ``em:`` + the first 40 hex digits of SHA-256 of the normalised Message-ID. 40 hex
  digits are 160 bits: a collision among even billions of messages is not a practical concern,
  and the key stays short. Normalisation: take the first ``<...>`` token if the header holds
  several (some clients append a second), drop all whitespace (folding) and the angle brackets,
  and lower-case the WHOLE id. RFC 5322 makes the local part case-sensitive, but generators
  make ids unique by random or time-derived text, never by case alone, whereas gateways and
  archives have been seen to alter case; treating the whole id case-insensitively merges real
  copies and in practice never merges distinct messages.
- Email without a Message-ID: ``em:h:`` + 40 hex digits of SHA-256 of (normalised From address,
  Date in UTC to the second, subject with whitespace collapsed and case folded). Every mailbox
  holding a copy sees the same three values, so copies still converge; the distinct prefix
  shows in Salesforce that the weaker key was used.
- Meeting: ``mt:`` + 40 hex digits of SHA-256 of the lower-cased, whitespace-free iCalUID for a
  single event, and of iCalUID + ``|`` + the instance's original start (RECURRENCE-ID) in UTC for
  an instance of a recurring event. A rescheduled single meeting keeps its iCalUID and so its
  key; a moved instance keeps its RECURRENCE-ID and so its key.
- Call: ``cl:`` + provider + ``:`` + the provider's call id (trimmed); a call id so long that
  the key would pass 255 characters is replaced by ``h:`` + its SHA-256.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, date, datetime

from syncd.email_address import normalize_address

MAX_KEY_LENGTH = 255
_HEX = 40
_WS = re.compile(r"\s+")
_ANGLE = re.compile(r"<([^<>]*)>")


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:_HEX]


def normalize_message_id(value: str | None) -> str | None:
    """The comparable form of a Message-ID, or None when there is nothing usable."""
    if not value:
        return None
    text = str(value)
    bracketed = _ANGLE.search(text)
    if bracketed and bracketed.group(1).strip():
        text = bracketed.group(1)
    text = _WS.sub("", text).strip("<>")
    return text.lower() or None


def message_key(message_id: str | None) -> str | None:
    """``em:`` key from a Message-ID; None when the id is empty."""
    normal = normalize_message_id(message_id)
    return f"em:{_digest(normal)}" if normal else None


def email_fallback_key(sender: str | None, occurred_at: datetime, subject: str | None) -> str:
    """``em:h:`` key for mail without a Message-ID, from From, Date (UTC, seconds) and Subject."""
    when = occurred_at.astimezone(UTC).replace(microsecond=0).isoformat()
    subj = _WS.sub(" ", subject or "").strip().casefold()
    who = normalize_address(sender) or ""
    return f"em:h:{_digest(f'{who}|{when}|{subj}')}"


def normalize_uid(value: str | None) -> str | None:
    """The comparable form of an iCalUID (whitespace dropped, lower-cased)."""
    if not value:
        return None
    return _WS.sub("", str(value)).lower() or None


def _instant(value: datetime | date) -> str:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("recurrence instance must be timezone-aware")
        return value.astimezone(UTC).replace(microsecond=0).strftime("%Y%m%dT%H%M%SZ")
    return value.strftime("%Y%m%d")


def meeting_key(ical_uid: str | None, recurrence_instance: datetime | date | None = None) -> str:
    """``mt:`` key from the iCalUID and, for a recurring instance, its original start."""
    uid = normalize_uid(ical_uid)
    if uid is None:
        raise ValueError("a meeting key needs an iCalUID")
    material = uid if recurrence_instance is None else f"{uid}|{_instant(recurrence_instance)}"
    return f"mt:{_digest(material)}"


def call_key(provider: str, call_id: str) -> str:
    """``cl:`` + provider + ``:`` + call id, hashed only if it would pass 255 characters."""
    prov = _WS.sub("", provider).lower()
    ident = str(call_id).strip()
    if not prov or not ident:
        raise ValueError("a call key needs a provider and a call id")
    key = f"cl:{prov}:{ident}"
    if len(key) > MAX_KEY_LENGTH:
        key = f"cl:{prov}:h:{hashlib.sha256(ident.encode()).hexdigest()}"
    return key[:MAX_KEY_LENGTH]

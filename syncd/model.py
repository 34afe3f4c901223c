"""The Activity model: what every connector produces and every later stage consumes.

::

    Activity (kind, source, source_id, key, occurred_at, subject, direction, participants,
    │          mailbox, body)
    ├── Email    thread id, Message-ID, In-Reply-To, References, the headers privacy reads
    ├── Meeting  start/end, all-day, location, iCalUID, recurrence instance, cancelled, visibility
    └── Call     duration, call direction, disposition, recording URL, provider, call id

    Batch   one pull: activities, skips (each with a SkipReason), next_cursor, more
    Cursor  where a (connector, mailbox, stream) stands; the value is opaque to everyone else

Everything is a frozen, slotted dataclass so matching and planning can be pure functions of
these values. Datetimes are aware and in UTC; a naive datetime is a bug and raises
``ValueError`` at construction. ``to_dict``/``activity_from_dict`` give a JSON-safe round trip
for the unmatched queue and the dead-letter table.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, ClassVar


class Kind(StrEnum):
    """What an activity is; decides the Salesforce record (Task or Event)."""

    EMAIL = "email"
    MEETING = "meeting"
    CALL = "call"


class Direction(StrEnum):
    """Seen from the company: sent by us, received by us, or between colleagues only."""

    INBOUND = "inbound"
    OUTBOUND = "outbound"
    INTERNAL = "internal"


class Role(StrEnum):
    """The part a participant plays in an activity."""

    FROM = "from"
    TO = "to"
    CC = "cc"
    BCC = "bcc"
    ORGANIZER = "organizer"
    ATTENDEE = "attendee"
    CALLER = "caller"
    CALLEE = "callee"


class SkipReason(StrEnum):
    """Why an item was not captured. Every skip carries exactly one, and is counted by it.

    A missing Message-ID is *not* a skip: such mail is captured under a fallback key (see
    :mod:`syncd.capture.keys`). ``cancelled_unwritten`` is decided by the planner (a cancelled
    meeting that was never written), not by the normaliser or the privacy filter.
    """

    UNPARSEABLE = "unparseable"
    NO_DATE = "no_date"
    NO_SENDER = "no_sender"
    NO_PARTICIPANTS = "no_participants"
    NO_UID = "no_uid"
    NO_CALL_ID = "no_call_id"
    OUTSIDE_WINDOW = "outside_window"
    INTERNAL_ONLY = "internal_only"
    BULK_MAIL = "bulk_mail"
    AUTOMATED = "automated"
    ROLE_SENDER = "role_sender"
    EXCLUDED_ADDRESS = "excluded_address"
    EXCLUDED_DOMAIN = "excluded_domain"
    EXCLUDED_SUBJECT = "excluded_subject"
    PRIVATE_EVENT = "private_event"
    NO_EXTERNAL_ATTENDEE = "no_external_attendee"
    DECLINED = "declined"
    CANCELLED_UNWRITTEN = "cancelled_unwritten"
    #: A missed or unanswered call, when the phone connector's ``missed_calls = "skip"``.
    MISSED_CALL = "missed_call"
    SPAM_OR_TRASH = "spam_or_trash"
    DRAFT = "draft"
    #: Dated more than a day after it was pulled (a forged or broken Date / start time).
    FUTURE_DATE = "future_date"
    #: Converting the item raised; the detail names the exception class (a bug to report).
    ITEM_ERROR = "item_error"
    #: Too big to read within the memory budget (an mbox message with megabytes of headers).
    TOO_LARGE = "too_large"
    #: A meeting over 14 days: no Salesforce org accepts such an Event.
    EVENT_TOO_LONG = "event_too_long"


def require_utc(value: datetime | None, name: str) -> datetime | None:
    """Check ``value`` is aware and return it converted to UTC; ``None`` passes through."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, not {type(value).__name__}")
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise ValueError(f"{name} must be timezone-aware")
    return value.astimezone(UTC)


@dataclass(frozen=True, slots=True, kw_only=True)
class Participant:
    """Someone on an activity: an address or an E.164 phone number, or both."""

    address: str | None = None
    phone: str | None = None
    name: str | None = None
    role: Role
    #: Meeting response (accepted, declined, tentative, needs-action); None elsewhere.
    response: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form."""
        return {
            "address": self.address,
            "phone": self.phone,
            "name": self.name,
            "role": str(self.role),
            "response": self.response,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Participant:
        """Inverse of :meth:`to_dict`."""
        return cls(
            address=data.get("address"),
            phone=data.get("phone"),
            name=data.get("name"),
            role=Role(data["role"]),
            response=data.get("response"),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Activity:
    """Fields every kind shares. Use the subclasses; ``kind`` is fixed by each."""

    kind: ClassVar[Kind]
    #: Names of datetime fields, serialised as ISO 8601 strings.
    _datetime_fields: ClassVar[tuple[str, ...]] = ("occurred_at",)

    source: str
    source_id: str
    key: str
    occurred_at: datetime
    subject: str = ""
    direction: Direction
    participants: tuple[Participant, ...] = ()
    mailbox: str
    #: Body text, only when ``capture.capture_body`` is true (and then already redacted).
    body: str | None = None

    def __post_init__(self) -> None:
        for name in self._datetime_fields:
            value = require_utc(getattr(self, name), name)
            # Frozen: normalise to UTC through object.__setattr__, the dataclass-sanctioned way.
            object.__setattr__(self, name, value)
        if not self.key:
            raise ValueError("an activity needs a key")
        object.__setattr__(self, "participants", tuple(self.participants))
        object.__setattr__(self, "direction", Direction(self.direction))

    def addresses(self) -> tuple[str, ...]:
        """Every participant address, in order, without repeats."""
        return tuple(dict.fromkeys(p.address for p in self.participants if p.address))

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form with ``kind``; inverse of :func:`activity_from_dict`."""
        out: dict[str, Any] = {"kind": str(self.kind)}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, datetime):
                value = value.isoformat()
            elif isinstance(value, timedelta):
                value = value.total_seconds()
            elif f.name == "participants":
                value = [p.to_dict() for p in value]
            elif isinstance(value, tuple):
                value = list(value)
            elif isinstance(value, StrEnum):
                value = str(value)
            out[f.name] = value
        return out

    def replace(self, **changes: Any) -> Activity:
        """A copy with ``changes`` applied (validated again)."""
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True, slots=True, kw_only=True)
class Email(Activity):
    """An email message as one mailbox saw it."""

    kind: ClassVar[Kind] = Kind.EMAIL

    #: The provider's thread/conversation id (Gmail threadId, Graph conversationId), if any.
    thread_id: str | None = None
    #: The RFC 5322 Message-ID as found (with angle brackets stripped); None when absent.
    message_id: str | None = None
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    # Headers the privacy filter reads; kept raw (already decoded) and short.
    list_unsubscribe: str | None = None
    list_id: str | None = None
    precedence: str | None = None
    auto_submitted: str | None = None
    #: Provider labels or folders (Gmail labelIds, Graph folder names): drafts, spam, trash.
    labels: tuple[str, ...] = ()
    #: What the parser had to work around (e.g. ``compat32:to``), for ``syncd explain``.
    parse_notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        Activity.__post_init__(self)
        object.__setattr__(self, "references", tuple(self.references))
        object.__setattr__(self, "labels", tuple(self.labels))
        object.__setattr__(self, "parse_notes", tuple(self.parse_notes))

    @property
    def sender(self) -> str | None:
        """The From address, if any."""
        return next((p.address for p in self.participants if p.role is Role.FROM), None)


@dataclass(frozen=True, slots=True, kw_only=True)
class Meeting(Activity):
    """One calendar event, or one instance of a recurring event.

    ``occurred_at`` equals ``start``. For an all-day event ``start`` is midnight UTC of its
    first day and ``end`` midnight UTC after its last day (exclusive, as iCalendar has it).
    """

    kind: ClassVar[Kind] = Kind.MEETING
    _datetime_fields: ClassVar[tuple[str, ...]] = (
        "occurred_at",
        "start",
        "end",
        "recurrence_instance",
    )

    start: datetime
    end: datetime
    all_day: bool = False
    location: str | None = None
    ical_uid: str
    #: The original start of this instance (RECURRENCE-ID); None for a single event.
    recurrence_instance: datetime | None = None
    cancelled: bool = False
    #: default | public | private | confidential
    visibility: str = "default"
    #: The organiser's address, if known.
    organizer: str | None = None

    def __post_init__(self) -> None:
        Activity.__post_init__(self)
        if self.end < self.start:
            raise ValueError("a meeting cannot end before it starts")


@dataclass(frozen=True, slots=True, kw_only=True)
class Call(Activity):
    """A phone call from a telephony provider."""

    kind: ClassVar[Kind] = Kind.CALL

    provider: str
    call_id: str
    duration_seconds: int = 0
    #: inbound | outbound | internal, as the phone system reports it.
    call_direction: str = "inbound"
    disposition: str | None = None
    recording_url: str | None = None


_KINDS: dict[str, type[Activity]] = {"email": Email, "meeting": Meeting, "call": Call}


def activity_from_dict(data: Mapping[str, Any]) -> Activity:
    """Rebuild an activity from :meth:`Activity.to_dict` output (the kind picks the class)."""
    cls = _KINDS[data["kind"]]
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name not in data:
            continue
        value = data[f.name]
        if f.name in cls._datetime_fields and value is not None:
            value = datetime.fromisoformat(value)
        elif f.name == "participants":
            value = tuple(Participant.from_dict(p) for p in value)
        elif isinstance(value, list):
            value = tuple(value)
        kwargs[f.name] = value
    return cls(**kwargs)


@dataclass(frozen=True, slots=True)
class Skip:
    """An item that was not captured, and why. ``detail`` is short and free of content."""

    source_id: str
    reason: SkipReason
    detail: str = ""
    #: The activity key, when the item got far enough to have one.
    key: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form."""
        return {
            "source_id": self.source_id,
            "reason": str(self.reason),
            "detail": self.detail,
            "key": self.key,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Skip:
        """Inverse of :meth:`to_dict`."""
        return cls(
            data["source_id"], SkipReason(data["reason"]), data.get("detail", ""), data.get("key")
        )


@dataclass(frozen=True, slots=True)
class Reject:
    """A source record the operator must fix (a bad row of a call-log file): dead-lettered.

    Unlike a :class:`Skip` (a deliberate, counted non-capture) a reject is an error: the
    runner stores it in the dead-letter table, with ``source_file``/``source_line`` when the
    record came from a file, in the same transaction as the rest of its batch.
    """

    source_id: str
    payload: Any
    code: str
    message: str
    key: str | None = None
    source_file: str | None = None
    source_line: int | None = None


@dataclass(frozen=True, slots=True)
class Batch:
    """One pull from a connector.

    ``next_cursor`` is where the next pull starts; the runner persists it only after the
    batch's records are written. ``more`` is true when the connector already knows there is
    more to pull right away. ``rejects`` are records dead-lettered instead of written.
    """

    activities: tuple[Activity, ...] = ()
    skips: tuple[Skip, ...] = ()
    next_cursor: str | None = None
    more: bool = False
    rejects: tuple[Reject, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "activities", tuple(self.activities))
        object.__setattr__(self, "skips", tuple(self.skips))
        object.__setattr__(self, "rejects", tuple(self.rejects))

    def __len__(self) -> int:
        return len(self.activities) + len(self.skips) + len(self.rejects)


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where one (connector, mailbox, stream) stands. ``value`` is opaque outside the connector."""

    connector: str
    mailbox: str
    stream: str = "default"
    value: str | None = None
    updated_at: datetime | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "updated_at", require_utc(self.updated_at, "updated_at"))

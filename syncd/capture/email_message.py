"""An email as Salesforce stores email: the fields of one EmailMessage and its relations. Pure.

https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_emailmessage.htm

- **Who it was between.** Each From/To/Cc address is looked up as the matcher does: an active
  User, else the one Contact, else the one unconverted Lead with that address (an address on
  several records is ambiguous and not used). Matched recipients go in ``ToIds``/``CcIds``
  (Salesforce turns them into EmailMessageRelation rows); ``ToAddress``/``CcAddress`` keep only
  the addresses of people not in Salesforce. A matched sender is a FromAddress relation.
- **Status.** Sent (3) for mail the company sent; Read (1) for mail it received. Not New (0):
  Salesforce gives a New message an open Task, a to-do for the rep on every captured mail,
  while captured mail is mail the rep already has in their mailbox.
- **Thread.** ``MessageIdentifier`` is the Message-ID; ``ThreadIdentifier`` the thread's first
  message (the first References entry, else In-Reply-To, else the message itself), so every
  reply of a thread carries the same one; ``ReplyToEmailMessageId`` is the parent's record
  when the ledger knows it was written as an EmailMessage.
- **What.** ``RelatedToId`` is the matched Opportunity or Account; Salesforce puts the
  activity it creates on that record's timeline. No body unless ``capture_body``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from syncd.capture.keys import message_key
from syncd.capture.match import Match
from syncd.capture.records import KEY_FIELD, cut, stamp
from syncd.model import Direction, Email, Role

if TYPE_CHECKING:
    from syncd.ports import DirectoryView

SUBJECT_MAX = 3000
ADDRESS_LIST_MAX = 4000
NAME_MAX = 1000
IDENTIFIER_MAX = 255
BODY_MAX = 131072
STATUS_READ = "1"
STATUS_SENT = "3"
#: Participant role → (the JunctionIdList it goes to, the EmailMessageRelation.RelationType).
RELATION_TYPES = {Role.FROM: "FromAddress", Role.TO: "ToAddress", Role.CC: "CcAddress"}
_JUNCTION = {Role.TO: "ToIds", Role.CC: "CcIds"}


@dataclass(frozen=True)
class Addressed:
    """One address on the mail, in one role, and the Salesforce record it is (if any)."""

    role: Role
    address: str
    name: str | None
    record_id: str | None


def addressed(email: Email, directory: DirectoryView) -> tuple[Addressed, ...]:
    """The mail's From/To/Cc addresses, each with the User, Contact or Lead it is."""
    out: list[Addressed] = []
    for p in email.participants:
        if p.role not in RELATION_TYPES or not p.address:
            continue
        out.append(Addressed(p.role, p.address, p.name, _record(p.address, directory)))
    return tuple(out)


def _record(address: str, directory: DirectoryView) -> str | None:
    user = directory.user_by_email(address)
    if user is not None:
        return user.id
    contacts = directory.contacts_by_email(address)
    if contacts:
        return contacts[0].id if len(contacts) == 1 else None
    leads = directory.leads_by_email(address)
    return leads[0].id if len(leads) == 1 else None


def relation_ids(parties: Iterable[Addressed]) -> dict[str, str]:
    """Record id → its RelationType, each person once (sender first, then To, then Cc)."""
    out: dict[str, str] = {}
    for role in (Role.FROM, Role.TO, Role.CC):
        for a in parties:
            if a.role is role and a.record_id and a.record_id not in out:
                out[a.record_id] = RELATION_TYPES[role]
    return out


def _bracketed(message_id: str | None) -> str | None:
    if not message_id:
        return None
    text = message_id.strip().strip("<>").strip()
    return cut(f"<{text}>", IDENTIFIER_MAX) if text else None


def thread_root(email: Email) -> str | None:
    """The Message-ID the thread started with, as far as this message tells."""
    return next(iter(email.references), None) or email.in_reply_to or email.message_id


def parent_key(email: Email) -> str | None:
    """The key of the message this one replies to (In-Reply-To), if it names one."""
    return message_key(email.in_reply_to) if email.in_reply_to else None


def email_message_fields(
    email: Email,
    found: Match,
    parties: tuple[Addressed, ...],
    written: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The EmailMessage for ``email``; ``written`` maps keys to EmailMessage ids (the ledger's)."""
    sender = next((a for a in parties if a.role is Role.FROM), None)
    ids = relation_ids(parties)
    row: dict[str, Any] = {
        KEY_FIELD: email.key,
        "Subject": cut(email.subject.strip() or "(no subject)", SUBJECT_MAX),
        "MessageDate": stamp(email.occurred_at),
        "Incoming": email.direction is Direction.INBOUND,
        "Status": STATUS_READ if email.direction is Direction.INBOUND else STATUS_SENT,
    }
    if sender is not None:
        row["FromAddress"] = cut(sender.address, NAME_MAX)
        if sender.name:
            row["FromName"] = cut(sender.name, NAME_MAX)
    for role, junction in _JUNCTION.items():
        people = [i for i, kind in ids.items() if kind == RELATION_TYPES[role]]
        if people:
            row[junction] = people
        others = [a.address for a in parties if a.role is role and a.record_id is None]
        if others:
            row[RELATION_TYPES[role]] = cut("; ".join(others), ADDRESS_LIST_MAX)
    for name, value in (
        ("MessageIdentifier", _bracketed(email.message_id)),
        ("ThreadIdentifier", _bracketed(thread_root(email))),
    ):
        if value:
            row[name] = value
    parent = parent_key(email)
    if parent and written and parent in written:
        row["ReplyToEmailMessageId"] = written[parent]
    if found.what_id:
        row["RelatedToId"] = found.what_id
    if email.body:
        row["TextBody"] = cut(email.body, BODY_MAX)
    return row


def sender_id(parties: tuple[Addressed, ...]) -> str | None:
    """The sender's User, Contact or Lead id: its FromAddress relation."""
    return next((a.record_id for a in parties if a.role is Role.FROM and a.record_id), None)

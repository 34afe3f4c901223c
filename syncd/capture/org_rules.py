"""What the org decides about the records syncd writes: the rep's day and its Event rules. Pure.

- **The rep's own day.** A Task's ``ActivityDate`` is a date in the owning user's zone
  (``User.TimeZoneSidKey``), as Salesforce shows it to them: mail sent at 18:30 in Los Angeles
  (02:30 UTC the next day) belongs to the day it was sent for a rep in Chicago. Where the user's
  zone is unknown: ``service.timezone``, then the org's ``Organization.TimeZoneSidKey``, then UTC.
  https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_task.htm
  (ActivityDate: "the date ... in the time zone of the user")
- **Event length.** An Event over 1,440 minutes (24 hours) is refused unless the org enables
  multi-day events (``salesforce.multiday_events``), and none may last over 14 days.
  https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_event.htm
  (DurationInMinutes, EndDateTime)
- **Shared Activities.** Contacts related to a meeting besides its Who are EventRelations with
  ``IsParent = true, IsInvitee = false``; at most 50 contacts, or one lead, per Event; an org
  without Shared Activities relates the Who only.
  https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_eventrelation.htm
- **Enhanced Email.** Where the org has it and ``salesforce.email_as`` asks for it, an email
  is one EmailMessage with its relations (:mod:`.email_message`), not a Task.
  https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_emailmessage.htm
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from syncd.config.models import SalesforceConfig

#: Longest Event without multi-day events, and longest Event at all, in minutes.
ONE_DAY_MINUTES = 1440
MAX_EVENT_MINUTES = 14 * ONE_DAY_MINUTES
#: Contacts one Event may relate (Who included) under Shared Activities.
MAX_CONTACTS_PER_EVENT = 50
#: ``salesforce.multiday_events`` when nothing says otherwise (its default lives in the model).
MULTIDAY_DEFAULT: bool = SalesforceConfig.model_fields["multiday_events"].default
#: ``salesforce.email_as`` when nothing says otherwise (its default lives in the model).
EMAIL_AS_DEFAULT: str = SalesforceConfig.model_fields["email_as"].default


def zone(name: str | None) -> tzinfo | None:
    """The zone named ``name`` (Salesforce's TimeZoneSidKey values are IANA names)."""
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


@dataclass(frozen=True)
class OrgRules:
    """The org's facts that shape a record; the defaults are a UTC org without extras."""

    #: The zone of the user who owns a record (None: not known).
    zone_of: Callable[[str | None], tzinfo] = lambda _owner: UTC
    #: Whether the org enables multi-day events (Events over 24 hours).
    multiday_events: bool = MULTIDAY_DEFAULT
    #: Whether the org has Shared Activities (EventRelations beside the Who).
    shared_activities: bool = True
    #: What an email becomes: "Task", or "EmailMessage" (``salesforce.email_as`` resolved
    #: against the org: "auto" is never left here).
    email_as: str = "Task"


def rep_zones(directory: Any, *, timezone: str | None = None) -> Callable[[str | None], tzinfo]:
    """The owner's zone: User.TimeZoneSidKey, else ``timezone``, else the org's, else UTC."""

    def zone_of(owner_id: str | None) -> tzinfo:
        if directory is None:  # offline (``syncd explain`` without Salesforce)
            return zone(timezone) or UTC
        return (
            zone(directory.time_zone_of(owner_id))
            or zone(timezone)
            or zone(directory.org_time_zone)
            or UTC
        )

    return zone_of

"""A real org's rules for Events and EventRelations, as the sandbox enforces them.

Each is a setting of the org (``Store.multiday_events``, ``Store.shared_activities``) with
Salesforce's documented behaviour; the error codes are Salesforce's, the messages close to them.

- Event length: over 1,440 minutes (24 hours) is refused (FIELD_INTEGRITY_EXCEPTION) unless the
  org enables multi-day events; over 14 days is refused always.
  https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_event.htm
  (DurationInMinutes, EndDateTime) and
  https://help.salesforce.com/s/articleView?id=sf.customize_activities_multiday.htm
- EventRelation: with none of IsInvitee, IsParent, IsWhat set, the row is an invitee
  (IsInvitee = true). With Shared Activities an Event relates up to 50 contacts, or one lead
  (and then no contact); its Who counts as one of them. Without Shared Activities IsParent and
  IsWhat do not exist (describe leaves them out, so a write naming them is INVALID_FIELD) and
  rows are invitees only.
  https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_eventrelation.htm
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.salesforce.errors import RecordError

if TYPE_CHECKING:
    from sandbox.salesforce.store import Store

ONE_DAY_MINUTES = 1440
MAX_EVENT_MINUTES = 14 * ONE_DAY_MINUTES
MAX_CONTACTS = 50
#: EventRelation fields that exist only with Shared Activities.
SHARED_ACTIVITY_FIELDS = ("IsParent", "IsWhat")


def check_event_length(store: Store, row: dict[str, Any]) -> None:
    """Refuse an Event longer than the org allows (not while loading an export)."""
    if store.loading:
        return
    minutes = row.get("DurationInMinutes") or 0
    if minutes > MAX_EVENT_MINUTES:
        raise RecordError(
            "FIELD_INTEGRITY_EXCEPTION",
            "Event duration can't exceed 14 days",
            ["DurationInMinutes"],
        )
    if minutes > ONE_DAY_MINUTES and not store.multiday_events:
        raise RecordError(
            "FIELD_INTEGRITY_EXCEPTION",
            "Event duration can't exceed 24 hours (1440 minutes) unless multiday events are "
            "enabled",
            ["DurationInMinutes"],
        )


def event_relation_defaults(row: dict[str, Any], old: dict | None) -> None:
    """IsInvitee defaults to true when the create sets none of IsInvitee, IsParent, IsWhat."""
    if old is None and not any(row.get(f) is not None for f in ("IsInvitee", "IsParent", "IsWhat")):
        row["IsInvitee"] = True


def check_event_relation(store: Store, row: dict[str, Any]) -> None:
    """Refuse a related person beyond 50 contacts or beside a lead (Shared Activities)."""
    if store.loading or not row.get("IsParent"):
        return
    relation = str(row.get("RelationId") or "")
    if not relation.startswith(("003", "00Q")):
        raise RecordError(
            "FIELD_INTEGRITY_EXCEPTION",
            "field integrity exception: RelationId (IsParent relations are contacts or a lead)",
            ["RelationId"],
        )
    event = store.tables["Event"].rows.get(str(row.get("EventId")))
    people = {
        str(r["RelationId"])
        for r in store.tables["EventRelation"].rows.values()
        if r.get("EventId") == row.get("EventId") and r.get("IsParent") and not r.get("IsDeleted")
    }
    if event is not None and event.get("WhoId"):
        people.add(str(event["WhoId"]))
    if relation in people:
        raise RecordError(
            "DUPLICATE_VALUE", f"duplicate value found: RelationId {relation}", ["RelationId"]
        )
    leads = {p for p in people if p.startswith("00Q")}
    if leads or (relation.startswith("00Q") and people):
        raise RecordError(
            "FIELD_INTEGRITY_EXCEPTION",
            "An event can be related to up to 50 contacts or one lead, not both",
            ["RelationId"],
        )
    if len(people) >= MAX_CONTACTS:
        raise RecordError(
            "FIELD_INTEGRITY_EXCEPTION",
            f"An event can't be related to more than {MAX_CONTACTS} contacts",
            ["RelationId"],
        )

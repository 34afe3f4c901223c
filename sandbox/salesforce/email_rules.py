"""Enhanced Email as a real org enforces it: an EmailMessage's relations, activity and updates.

Each rule is Salesforce's documented behaviour
(https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_emailmessage.htm
and .../sforce_api_objects_emailmessagerelation.htm):

- **JunctionIdList.** ``ToIds``, ``CcIds`` and ``BccIds`` take the ids of contacts, leads and
  users the mail was addressed to; Salesforce turns each into an EmailMessageRelation row
  (RelationType ToAddress, CcAddress or BccAddress; RelationObjectType the record's object;
  RelationAddress its email). The lists are written, not stored as columns.
- **The activity.** With Enhanced Email, Salesforce creates the related activity itself: a Task
  with TaskSubtype Email, linked from ``ActivityId``, on the timeline of ``RelatedToId`` and of
  the first contact or lead related. ActivityId "usually represents an open task that is created
  ... when a new unread email message is received": a message with Status New (0) gets an open
  Task, any other status a completed one.
- **Updates.** Once a message is not a draft (Status 5), only ``IsExternallyVisible`` and custom
  fields can be updated; any other field in the update is refused.
- **Relations are unique.** One EmailMessageRelation per message, person and relation type.
- **The switch.** Without Enhanced Email the API user has no EmailMessage (it exists for
  Email-to-Case only): ``SalesforceSandbox.disable_enhanced_email`` takes both objects out of
  the org, so REST answers NOT_FOUND, collections INVALID_TYPE and SOQL INVALID_TYPE.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.salesforce.errors import RecordError

if TYPE_CHECKING:
    from sandbox.salesforce.schema import SObjectType
    from sandbox.salesforce.store import Store

#: JunctionIdList field → the EmailMessageRelation.RelationType its ids get.
JUNCTIONS = {"ToIds": "ToAddress", "CcIds": "CcAddress", "BccIds": "BccAddress"}
DRAFT = "5"
NEW = "0"
#: Standard fields a sent (non-draft) message still lets the API change.
UPDATEABLE_WHEN_SENT = frozenset({"IsExternallyVisible"})
_STASH = "__junctions"
_TASK_SUBJECT_MAX = 255


def take_junctions(row: dict[str, Any]) -> None:
    """Move the JunctionIdList values out of the stored row, to be related after the write."""
    lists = {name: row.pop(name) for name in JUNCTIONS if row.get(name)}
    for name in JUNCTIONS:
        row.pop(name, None)
    if lists:
        row[_STASH] = lists


def check_update(obj: SObjectType, old: dict[str, Any], values: dict[str, Any]) -> None:
    """Refuse standard fields other than IsExternallyVisible on a message that is not a draft."""
    if old.get("Status") == DRAFT:
        return
    refused = [
        name
        for name in values
        if name not in UPDATEABLE_WHEN_SENT and not (obj.fields[name].custom)
    ]
    if refused:
        raise RecordError(
            "FIELD_INTEGRITY_EXCEPTION",
            "When an email message isn't a draft, you can update only IsExternallyVisible and "
            f"custom fields: {', '.join(refused)}",
            refused,
        )


def relation_defaults(store: Store, row: dict[str, Any]) -> None:
    """Fill RelationObjectType and RelationAddress; refuse the same relation twice."""
    relation = str(row.get("RelationId") or "")
    found = store.find_by_id(relation) if relation else None
    if found is not None:
        name, target = found
        row["RelationObjectType"] = name
        row.setdefault("RelationAddress", target.get("Email"))
        if row["RelationAddress"] is None:
            row["RelationAddress"] = target.get("Email")
    for other in store.tables["EmailMessageRelation"].rows.values():
        if (
            not other.get("IsDeleted")
            and other.get("EmailMessageId") == row.get("EmailMessageId")
            and relation
            and other.get("RelationId") == relation
            and other.get("RelationType") == row.get("RelationType")
        ):
            raise RecordError(
                "DUPLICATE_VALUE",
                f"duplicate value found: RelationId duplicates value on record with id: "
                f"{other['Id']}",
                ["RelationId"],
            )


def after_write(store: Store, row: dict[str, Any], old: dict[str, Any] | None) -> None:
    """Relate the JunctionIdList ids and, for a new message, create its activity."""
    lists: dict[str, list[str]] = row.pop(_STASH, None) or {}
    for name, ids in lists.items():
        for rid in dict.fromkeys(ids):
            store.create(
                "EmailMessageRelation",
                {"EmailMessageId": row["Id"], "RelationId": rid, "RelationType": JUNCTIONS[name]},
                system=True,
            )
    if old is None and not row.get("ActivityId") and row.get("Status") != DRAFT:
        _activity(store, row, [rid for ids in lists.values() for rid in ids])


def _activity(store: Store, row: dict[str, Any], related: list[str]) -> None:
    """The Task Salesforce creates for a new message, linked back through ActivityId."""
    subject = f"Email: {row.get('Subject') or ''}"
    if len(subject) > _TASK_SUBJECT_MAX:
        subject = subject[: _TASK_SUBJECT_MAX - 1] + "…"
    who = next((r for r in related if r.startswith(("003", "00Q"))), None)
    what = row.get("RelatedToId")
    when = row.get("MessageDate") or row["CreatedDate"]
    task: dict[str, Any] = {
        "Subject": subject,
        "TaskSubtype": "Email",
        "Status": "Not Started" if row.get("Status") == NEW else "Completed",
        "ActivityDate": str(when)[:10],
        "OwnerId": row.get("CreatedById") or store.default_user_id,
    }
    if who:
        task["WhoId"] = who
    if what and not (who or "").startswith("00Q"):
        task["WhatId"] = what
    created = store.create("Task", task, system=True)
    store.system_set("EmailMessage", row["Id"], {"ActivityId": created["Id"]})

"""What Salesforce does by itself when records are written.

Before a write: defaults, compound names, Event date/time arithmetic, Opportunity stage-derived
fields (IsClosed, IsWon, Probability, ForecastCategoryName from OpportunityStage) and the derived
AccountId of activities. After a write: OpportunityHistory / OpportunityFieldHistory rows and
LastActivityDate on Contact, Account and Opportunity (the latest due date of closed tasks and
past events), which the deal rules read; an EmailMessage's relations and activity
(:mod:`.email_rules`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.salesforce import email_rules
from sandbox.salesforce.activity_rules import (
    check_event_length,
    check_event_relation,
    event_relation_defaults,
)
from sandbox.salesforce.errors import RecordError
from sandbox.salesforce.schema import CLOSED_TASK_STATUSES, SObjectType
from sandbox.salesforce.values import add_minutes, date_of, minutes_between

if TYPE_CHECKING:
    from sandbox.salesforce.store import Store

#: Opportunity fields whose change adds an OpportunityHistory row.
HISTORY_FIELDS = ("StageName", "Amount", "Probability", "CloseDate")
#: Opportunity fields with field history tracking turned on in the sandbox org.
TRACKED_FIELDS = ("StageName", "CloseDate")

_DEFAULTS: dict[str, dict[str, Any]] = {
    "Task": {"Status": "Not Started", "Priority": "Normal", "TaskSubtype": "Task"},
    "Event": {"ShowAs": "Busy", "EventSubtype": "Event"},
    "Lead": {"Status": "Open - Not Contacted"},
    "User": {"IsActive": True, "UserType": "Standard"},
}


def before_write(store: Store, obj: SObjectType, row: dict[str, Any], old: dict | None) -> None:
    """Fill defaults and derived fields of ``row`` in place; raise on inconsistent values."""
    if obj.name == "EventRelation":
        event_relation_defaults(row, old)
    if old is None:
        for key, value in _DEFAULTS.get(obj.name, {}).items():
            row.setdefault(key, value)
            if row[key] is None:
                row[key] = value
        for name in obj.booleans:
            if row.get(name) is None:
                row[name] = False
        if "OwnerId" in obj.fields and row.get("OwnerId") is None:
            row["OwnerId"] = store.default_user_id
        if obj.name == "User" and row.get("TimeZoneSidKey") is None:
            row["TimeZoneSidKey"] = _org_time_zone(store)
    if obj.name in ("Contact", "Lead", "User"):
        row["Name"] = " ".join(p for p in (row.get("FirstName"), row.get("LastName")) if p)
    if obj.name == "Task":
        row["IsClosed"] = row.get("Status") in CLOSED_TASK_STATUSES
        row["IsHighPriority"] = row.get("Priority") == "High"
    if obj.name == "Event":
        _event_times(row, old)
        check_event_length(store, row)
    if obj.name == "EventRelation" and old is None:
        check_event_relation(store, row)
    if obj.name == "EmailMessage":
        email_rules.take_junctions(row)
    if obj.name == "EmailMessageRelation" and old is None:
        email_rules.relation_defaults(store, row)
    if obj.name in ("Task", "Event"):
        row["AccountId"] = _activity_account(store, row)
    if obj.name == "Opportunity":
        _opportunity_stage(store, row, old)


def _org_time_zone(store: Store) -> str:
    """The org's default time zone (Organization.TimeZoneSidKey), GMT before there is one."""
    orgs = store.tables["Organization"].rows.values()
    return next((str(o["TimeZoneSidKey"]) for o in orgs if o.get("TimeZoneSidKey")), "GMT")


def _event_times(row: dict[str, Any], old: dict | None) -> None:
    """Keep Start/ActivityDateTime, EndDateTime, DurationInMinutes and ActivityDate agreed."""
    if row.get("IsAllDayEvent"):
        day = row.get("ActivityDate") or (row.get("StartDateTime") or "")[:10] or None
        if day is None:
            raise RecordError(
                "REQUIRED_FIELD_MISSING",
                "Required fields are missing: [ActivityDate]",
                ["ActivityDate"],
            )
        row["ActivityDate"] = day
        row["StartDateTime"] = row["ActivityDateTime"] = f"{day}T00:00:00.000+0000"
        row["DurationInMinutes"] = row.get("DurationInMinutes") or 1440
        row["EndDateTime"] = add_minutes(row["StartDateTime"], row["DurationInMinutes"])
        return
    start_changed = old is None or row.get("StartDateTime") != old.get("StartDateTime")
    start = row.get("StartDateTime") if start_changed else None
    start = start or row.get("ActivityDateTime") or row.get("StartDateTime")
    if not start:
        raise RecordError(
            "REQUIRED_FIELD_MISSING",
            "Required fields are missing: [ActivityDateTime]",
            ["ActivityDateTime"],
        )
    row["StartDateTime"] = row["ActivityDateTime"] = start
    # A new end sets the duration; otherwise the duration is kept and the end follows the start.
    end_changed = old is None or row.get("EndDateTime") != old.get("EndDateTime")
    duration_changed = old is not None and row.get("DurationInMinutes") != old.get(
        "DurationInMinutes"
    )
    use_end = row.get("EndDateTime") and end_changed and not duration_changed
    if use_end or (row.get("EndDateTime") and row.get("DurationInMinutes") is None):
        if row["EndDateTime"] < start:
            raise RecordError(
                "FIELD_INTEGRITY_EXCEPTION",
                "End Date/Time: End Date/Time cannot be earlier than Start Date/Time",
                ["EndDateTime"],
            )
        row["DurationInMinutes"] = minutes_between(start, row["EndDateTime"])
    elif row.get("DurationInMinutes") is not None:
        if row["DurationInMinutes"] < 0:
            raise RecordError(
                "FIELD_INTEGRITY_EXCEPTION",
                "Duration: value cannot be negative",
                ["DurationInMinutes"],
            )
        row["EndDateTime"] = add_minutes(start, row["DurationInMinutes"])
    else:
        raise RecordError(
            "REQUIRED_FIELD_MISSING",
            "Required fields are missing: [DurationInMinutes]",
            ["DurationInMinutes"],
        )
    row["ActivityDate"] = date_of(start)


def _activity_account(store: Store, row: dict[str, Any]) -> str | None:
    """Return the Account an activity rolls up to: the Who contact's, else the What's."""
    who = row.get("WhoId")
    if who and who.startswith("003"):
        contact = store.tables["Contact"].rows.get(who)
        if contact and contact.get("AccountId"):
            return contact["AccountId"]
    what = row.get("WhatId")
    if what and what.startswith("001"):
        return what
    if what and what.startswith("006"):
        opp = store.tables["Opportunity"].rows.get(what)
        return opp.get("AccountId") if opp else None
    return None


def stages(store: Store) -> dict[str, dict[str, Any]]:
    """Return the org's active OpportunityStage rows by ApiName (cached until stages change)."""
    if store.stage_cache is None:
        store.stage_cache = {
            row.get("ApiName") or row.get("MasterLabel"): row
            for row in store.tables["OpportunityStage"].rows.values()
            if row.get("IsActive", True) and not row.get("IsDeleted")
        }
    return store.stage_cache


def _opportunity_stage(store: Store, row: dict[str, Any], old: dict | None) -> None:
    stage_name = row.get("StageName")
    if stage_name is None:
        return  # REQUIRED_FIELD_MISSING follows
    stage = stages(store).get(stage_name)
    if stage is None:
        raise RecordError(
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            f"Stage: bad value for restricted picklist field: {stage_name}",
            ["StageName"],
        )
    row["IsClosed"] = bool(stage.get("IsClosed"))
    row["IsWon"] = bool(stage.get("IsWon"))
    stage_changed = old is None or old.get("StageName") != stage_name
    if not stage_changed:
        return
    # A stage change resets probability and forecast category unless the same write set them.
    for name, source in (
        ("Probability", "DefaultProbability"),
        ("ForecastCategoryName", "ForecastCategoryName"),
    ):
        explicit = row.get(name) is not None if old is None else row.get(name) != old.get(name)
        if not explicit:
            row[name] = stage.get(source)


def after_write(
    store: Store, obj: SObjectType, row: dict[str, Any], old: dict | None, *, system: bool
) -> None:
    """Record history and roll activity dates up to the related records."""
    if obj.name == "Opportunity" and store.derive_history:
        _opportunity_history(store, row, old)
    elif obj.name in ("Task", "Event"):
        _last_activity(store, obj.name, row)
    elif obj.name == "EmailMessage":
        email_rules.after_write(store, row, old)


def _opportunity_history(store: Store, row: dict[str, Any], old: dict | None) -> None:
    if old is not None and all(row.get(k) == old.get(k) for k in HISTORY_FIELDS):
        return
    when = row["LastModifiedDate"] if old is not None else row["CreatedDate"]
    history = store.tables["OpportunityHistory"]
    hid = store.new_id(history.obj)
    amount, probability = row.get("Amount"), row.get("Probability")
    store.put(
        history,
        hid,
        {
            "Id": hid,
            "IsDeleted": False,
            "OpportunityId": row["Id"],
            "StageName": row.get("StageName"),
            "Amount": amount,
            "CloseDate": row.get("CloseDate"),
            "Probability": probability,
            "ExpectedRevenue": (amount * probability / 100) if amount and probability else None,
            "ForecastCategory": row.get("ForecastCategoryName"),
            "PrevAmount": old.get("Amount") if old else None,
            "PrevCloseDate": old.get("CloseDate") if old else None,
            "CreatedDate": when,
            "CreatedById": row.get("LastModifiedById"),
            "SystemModstamp": when,
            "LastModifiedDate": when,
        },
    )
    if old is None:
        return
    field_history = store.tables["OpportunityFieldHistory"]
    for name in TRACKED_FIELDS:
        if row.get(name) != old.get(name):
            fid = store.new_id(field_history.obj)
            store.put(
                field_history,
                fid,
                {
                    "Id": fid,
                    "IsDeleted": False,
                    "OpportunityId": row["Id"],
                    "Field": name,
                    "OldValue": old.get(name),
                    "NewValue": row.get(name),
                    "DataType": "Date" if name == "CloseDate" else "Text",
                    "CreatedDate": when,
                    "CreatedById": row.get("LastModifiedById"),
                    "SystemModstamp": when,
                    "LastModifiedDate": when,
                },
            )


def _last_activity(store: Store, name: str, row: dict[str, Any]) -> None:
    day = row.get("ActivityDate")
    if not day or row.get("IsDeleted"):
        return
    if name == "Task" and not row.get("IsClosed"):
        return  # open tasks are not logged activity
    if name == "Event" and day > store.clock().date().isoformat():
        return  # future events do not count yet
    targets: list[tuple[str, str]] = []
    who, what, account = row.get("WhoId"), row.get("WhatId"), row.get("AccountId")
    if who and who.startswith("003"):
        targets.append(("Contact", who))
    if what and what.startswith("006"):
        targets.append(("Opportunity", what))
    if account:
        targets.append(("Account", account))
    for sobject, rid in targets:
        target = store.tables[sobject].rows.get(rid)
        if target is not None and (target.get("LastActivityDate") or "") < day:
            store.system_set(sobject, rid, {"LastActivityDate": day})

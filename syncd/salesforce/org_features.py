"""Org features that change what syncd writes, read from the org or the config.

- **Shared Activities**: EventRelation has ``IsParent`` (and ``IsWhat``) only when the org
  enables Shared Activities; without it an Event relates its Who only, and syncd writes no
  further EventRelations.
  https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_eventrelation.htm
- **Enhanced Email**: the API user sees EmailMessage only where the org enables it; describe
  answers NOT_FOUND otherwise. ``salesforce.email_as`` "auto" writes EmailMessages where it
  is there and Tasks elsewhere; ``"EmailMessage"`` on an org without it is a config error.
  https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_emailmessage.htm
- **Multi-day events**: not readable through the REST API (it is an Activity Setting), so it
  is ``salesforce.multiday_events``; ``syncd doctor`` says which rule applies.
  https://help.salesforce.com/s/articleView?id=sf.customize_activities_multiday.htm
"""

from __future__ import annotations

from typing import Any

from syncd.capture.org_rules import MAX_EVENT_MINUTES
from syncd.errors import ConfigError, Permanent, Problem

EMAIL_AS_KEY = "salesforce.email_as"
NO_ENHANCED_EMAIL = (
    "the org has no EmailMessage for the API user (Enhanced Email is off): turn it on in "
    'Setup → Enhanced Email, or set email_as to "auto" or "Task"'
)


def has_shared_activities(event_relation: dict[str, Any]) -> bool:
    """Whether the org has Shared Activities, from EventRelation's describe."""
    return any(f.get("name") == "IsParent" for f in event_relation.get("fields", []))


def shared_activities(client: Any) -> bool:
    """Ask the org (one describe call)."""
    return has_shared_activities(client.describe("EventRelation"))


def event_rules(event_relation: dict[str, Any], multiday_events: bool) -> list[tuple[str, str]]:
    """(check name, what applies) lines for ``syncd doctor``: facts, never failures."""
    days = MAX_EVENT_MINUTES // 1440
    if multiday_events:
        length = (
            f"salesforce.multiday_events = true: meetings up to {days} days are written whole "
            "(the org must have Activity Settings > Enable multiday events on, or they fail)"
        )
    else:
        length = (
            "salesforce.multiday_events = false: meetings over 24 hours are written as their "
            f"first 24 hours, the real end in the Description; over {days} days: skipped"
        )
    if has_shared_activities(event_relation):
        related = "Shared Activities on: up to 50 related contacts (or one lead) per Event"
    else:
        related = "Shared Activities off: each Event relates its Who only"
    return [("salesforce: multi-day events", length), ("salesforce: event relations", related)]


def enhanced_email(client: Any) -> bool:
    """Whether the API user can write EmailMessage (one describe call)."""
    try:
        described = client.describe("EmailMessage")
    except Permanent as exc:
        if exc.code in ("NOT_FOUND", "INVALID_TYPE"):
            return False
        raise
    return bool(described.get("createable", True))


def email_as(setting: str, client: Any) -> str:
    """``salesforce.email_as`` against the org: "Task" or "EmailMessage"; raises when impossible."""
    if setting == "Task":
        return "Task"
    if enhanced_email(client):
        return "EmailMessage"
    if setting == "auto":
        return "Task"
    raise ConfigError([Problem(EMAIL_AS_KEY, NO_ENHANCED_EMAIL)])


def email_rule(setting: str, client: Any) -> tuple[str, bool, str, str | None]:
    """``syncd doctor``'s line on what an email becomes: name, ok, detail, the sObject in force."""
    name = "salesforce: email written as"
    if setting == "Task":
        detail = f'salesforce.email_as = "{setting}": each email is a Task (TaskSubtype Email)'
        return name, True, detail, "Task"
    if enhanced_email(client):
        detail = (
            f'salesforce.email_as = "{setting}": each email is one EmailMessage with its '
            "relations (Enhanced Email is on)"
        )
        return name, True, detail, "EmailMessage"
    if setting == "auto":
        detail = (
            f'salesforce.email_as = "{setting}": each email is a Task: the org has no EmailMessage '
            "for the API user (Enhanced Email is off)"
        )
        return name, True, detail, "Task"
    return name, False, f'salesforce.email_as = "EmailMessage": {NO_ENHANCED_EMAIL}', None

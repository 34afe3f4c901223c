"""Field-level security for syncd's fields: a permission set granting them to the API user.

A custom field created through the Tooling API is visible to nobody until a permission set or
profile grants it (FieldPermissions), so ``syncd setup salesforce`` also keeps, idempotently:

- the permission set ``Syncd_Integration``;
- one FieldPermissions row with Read and Edit for each field in :data:`GRANTED_FIELDS` that
  exists in the org (a field defined later is granted by the next ``setup``);
- a PermissionSetAssignment of the set to the API user (the user the token belongs to: the
  last segment of the identity URL).

Each step finds what is there first and only creates or repairs what is missing, so re-running
setup after an admin removed a grant or the assignment repairs exactly that and says so.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from syncd.errors import Permanent
from syncd.salesforce import soql
from syncd.salesforce.client import SalesforceClient
from syncd.salesforce.errors import LoginRefused

log = logging.getLogger(__name__)

PERMISSION_SET = "Syncd_Integration"
PERMISSION_SET_LABEL = "Syncd Integration"
_DESCRIPTION = "Read and edit on the fields syncd writes (created by `syncd setup salesforce`)."


@dataclass(frozen=True)
class GrantedField:
    """A field the API user must read and edit, and where its definition lives."""

    sobject: str
    name: str
    #: The CustomField's TableEnumOrId: Activity fields are defined once for Task and Event.
    defined_on: str

    @property
    def full_name(self) -> str:
        """``Object.Field`` as FieldPermissions names it."""
        return f"{self.sobject}.{self.name}"


#: Every field syncd writes and so needs Read+Edit on: extend this list for new fields.
GRANTED_FIELDS: tuple[GrantedField, ...] = (
    GrantedField("Task", "Syncd_Key__c", "Activity"),
    GrantedField("Event", "Syncd_Key__c", "Activity"),
    GrantedField("EmailMessage", "Syncd_Key__c", "EmailMessage"),
)


@dataclass(frozen=True)
class Step:
    """One thing setup checked: what, and whether it was created, repaired or already there."""

    what: str
    outcome: str  # "created" | "repaired" | "exists" | "skipped"
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.what}: {self.outcome}" + (f" ({self.detail})" if self.detail else "")


def existing_fields(client: SalesforceClient) -> list[GrantedField]:
    """The granted fields whose definition exists in the org (one Tooling query)."""
    names = sorted({f.name.removesuffix("__c") for f in GRANTED_FIELDS})
    rows = client.tooling_query(
        soql.select(
            ("Id", "DeveloperName", "TableEnumOrId"),
            "CustomField",
            soql.where_in("DeveloperName", names),
        )
    )
    have = {
        (str(r.get("TableEnumOrId")).lower(), str(r.get("DeveloperName")).lower()) for r in rows
    }
    return [
        f
        for f in GRANTED_FIELDS
        if (f.defined_on.lower(), f.name.removesuffix("__c").lower()) in have
    ]


def _create(client: SalesforceClient, sobject: str, record: dict[str, object]) -> str:
    answer = client.restful(f"sobjects/{sobject}/", method="POST", json=record) or {}
    return str(answer.get("id", ""))


def _permission_set(client: SalesforceClient) -> tuple[str, Step]:
    where = soql.where_eq("Name", PERMISSION_SET)
    rows = client.query_all(soql.select(("Id",), "PermissionSet", where))
    if rows:
        return str(rows[0]["Id"]), Step(f"permission set {PERMISSION_SET}", "exists")
    ps_id = _create(
        client,
        "PermissionSet",
        {"Name": PERMISSION_SET, "Label": PERMISSION_SET_LABEL, "Description": _DESCRIPTION},
    )
    return ps_id, Step(f"permission set {PERMISSION_SET}", "created")


def _field_permissions(
    client: SalesforceClient, ps_id: str, fields: list[GrantedField]
) -> list[Step]:
    where = soql.where_eq("ParentId", ps_id)
    columns = ("Id", "Field", "PermissionsRead", "PermissionsEdit")
    rows = client.query_all(soql.select(columns, "FieldPermissions", where))
    by_field = {str(r.get("Field", "")).lower(): r for r in rows}
    steps = []
    for f in fields:
        what = f"read+edit on {f.full_name}"
        row = by_field.get(f.full_name.lower())
        if row is None:
            _create(
                client,
                "FieldPermissions",
                {
                    "ParentId": ps_id,
                    "SobjectType": f.sobject,
                    "Field": f.full_name,
                    "PermissionsRead": True,
                    "PermissionsEdit": True,
                },
            )
            steps.append(Step(what, "created"))
        elif not (row.get("PermissionsRead") and row.get("PermissionsEdit")):
            client.restful(
                f"sobjects/FieldPermissions/{row['Id']}",
                method="PATCH",
                json={"PermissionsRead": True, "PermissionsEdit": True},
            )
            steps.append(Step(what, "repaired", "was read-only or off"))
        else:
            steps.append(Step(what, "exists"))
    return steps


def _assignment(client: SalesforceClient, ps_id: str) -> Step:
    if client.user_id is None:
        client.login()
    user_id = client.user_id
    if not user_id:
        raise LoginRefused("the Salesforce token carries no identity URL; cannot tell the API user")
    what = f"{PERMISSION_SET} assigned to the API user {user_id}"
    where = f"{soql.where_eq('PermissionSetId', ps_id)} AND {soql.where_eq('AssigneeId', user_id)}"
    if client.query_all(soql.select(("Id",), "PermissionSetAssignment", where)):
        return Step(what, "exists")
    try:
        _create(
            client, "PermissionSetAssignment", {"PermissionSetId": ps_id, "AssigneeId": user_id}
        )
    except Permanent as exc:
        if exc.code == "DUPLICATE_VALUE":  # another setup assigned it meanwhile
            return Step(what, "exists")
        raise
    return Step(what, "created")


def ensure_grants(client: SalesforceClient) -> list[Step]:
    """Make the permission set, its field grants and the API user's assignment exist."""
    fields = existing_fields(client)
    ps_id, first = _permission_set(client)
    steps = [first, *_field_permissions(client, ps_id, fields), _assignment(client, ps_id)]
    changed = [s for s in steps if s.outcome != "exists"]
    log.info(
        "salesforce field grants checked",
        extra={"fields": len(fields), "changed": len(changed)},
    )
    return steps

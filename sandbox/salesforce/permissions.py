"""Field-level security of the sandbox org: who may see and edit which custom field.

A custom field created through the Tooling API is visible to nobody until a permission set (or
profile) grants it: it is absent from describe, SOQL naming it answers 400 INVALID_FIELD, an
upsert by it answers 404 NOT_FOUND ("Provided external ID field does not exist or is not
accessible") and a record carrying it gets INVALID_FIELD. The grant is three records, creatable
and queryable through the REST API with Salesforce's validation:

- ``PermissionSet`` (Name unique, Label):
  https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_permissionset.htm
- ``FieldPermissions`` (ParentId, SobjectType, Field = "Object.Field", PermissionsRead,
  PermissionsEdit; Edit depends on Read; the Field picklist only names permissionable fields):
  https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_fieldpermissions.htm
- ``PermissionSetAssignment`` (AssigneeId, PermissionSetId; one per pair, DUPLICATE_VALUE):
  https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_permissionsetassignment.htm

Enforcement is per request: :class:`FieldAccess` for the session's user is set in
:data:`sandbox.salesforce.schema.VIEWER` while the API serves it, and
:meth:`~sandbox.salesforce.schema.SObjectType.field` consults it for protected fields. Seeding
and Salesforce's own side effects run without a viewer (system context) and see everything.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from sandbox.salesforce.errors import RecordError
from sandbox.salesforce.schema import Field, SObjectType

if TYPE_CHECKING:
    from sandbox.salesforce.store import Store

PERMISSION_OBJECTS = ("PermissionSet", "FieldPermissions", "PermissionSetAssignment")


def permission_objects() -> dict[str, list[Field]]:
    """The three objects of a grant, with the fields syncd and an admin's tools use."""

    def ref(name: str, to: str, rel: str) -> Field:
        return Field(
            name,
            "reference",
            18,
            reference_to=(to,),
            relationship_name=rel,
            nillable=False,
            required=True,
            updateable=False,
        )

    def flag(name: str) -> Field:
        return Field(name, "boolean", 0, nillable=False)

    return {
        "PermissionSet": [
            Field("Name", "string", 80, nillable=False, required=True, unique=True),
            Field("Label", "string", 80, nillable=False, required=True),
            Field("Description", "textarea", 255),
            Field("IsOwnedByProfile", "boolean", 0, nillable=False, createable=False),
        ],
        "FieldPermissions": [
            ref("ParentId", "PermissionSet", "Parent"),
            Field("SobjectType", "picklist", 255, nillable=False, required=True),
            Field("Field", "picklist", 255, nillable=False, required=True),
            flag("PermissionsRead"),
            flag("PermissionsEdit"),
        ],
        "PermissionSetAssignment": [
            ref("AssigneeId", "User", "Assignee"),
            ref("PermissionSetId", "PermissionSet", "PermissionSet"),
        ],
    }


def _live(store: Store, sobject: str) -> list[dict[str, Any]]:
    return [r for r in store.tables[sobject].rows.values() if not r.get("IsDeleted")]


class FieldAccess:
    """What one user may do with protected fields, read from the org's grants once a request."""

    def __init__(self, store: Store, user_id: str) -> None:
        self.store = store
        self.user_id = user_id
        self._levels: dict[str, str] | None = None

    def levels(self) -> dict[str, str]:
        """Lower-cased ``object.field`` → ``"read"`` or ``"edit"`` for this user."""
        if self._levels is None:
            with self.store.lock:
                sets = {
                    a["PermissionSetId"]
                    for a in _live(self.store, "PermissionSetAssignment")
                    if a.get("AssigneeId") == self.user_id
                }
                levels: dict[str, str] = {}
                for fp in _live(self.store, "FieldPermissions"):
                    if fp.get("ParentId") not in sets or not fp.get("PermissionsRead"):
                        continue
                    name = str(fp.get("Field", "")).lower()
                    if fp.get("PermissionsEdit"):
                        levels[name] = "edit"
                    else:
                        levels.setdefault(name, "read")
            self._levels = levels
        return self._levels

    def see(self, obj: SObjectType, f: Field) -> Field | None:
        """The protected field ``f`` as this user sees it: itself, read-only, or not at all."""
        level = self.levels().get(f"{obj.name}.{f.name}".lower())
        if level is None:
            return None
        if level == "edit":
            return f
        return dataclasses.replace(f, createable=False, updateable=False)


def before_write(store: Store, obj: SObjectType, row: dict[str, Any]) -> None:
    """Validate a PermissionSet, FieldPermissions or PermissionSetAssignment as Salesforce does."""
    if obj.name == "PermissionSet":
        _check_api_name(str(row.get("Name") or ""))
    elif obj.name == "FieldPermissions":
        _check_field_permission(store, row)
    elif obj.name == "PermissionSetAssignment":
        for other in _live(store, "PermissionSetAssignment"):
            if other["Id"] != row["Id"] and (
                other.get("AssigneeId"),
                other.get("PermissionSetId"),
            ) == (row.get("AssigneeId"), row.get("PermissionSetId")):
                raise RecordError(
                    "DUPLICATE_VALUE",
                    f"Duplicate PermissionSetAssignment. Assignee: {row.get('AssigneeId')}; "
                    f"Permission Set: {row.get('PermissionSetId')}",
                    [],
                )


def _check_api_name(name: str) -> None:
    ok = (
        name[:1].isalpha()
        and name.replace("_", "").isalnum()
        and name.isascii()
        and "__" not in name
        and not name.endswith("_")
    )
    if not ok:
        raise RecordError(
            "FIELD_INTEGRITY_EXCEPTION",
            "The API Name can only contain underscores and alphanumeric characters. It must be "
            "unique, begin with a letter, not include spaces, not end with an underscore, and "
            "not contain two consecutive underscores.",
            ["Name"],
        )


def _check_field_permission(store: Store, row: dict[str, Any]) -> None:
    sobject = str(row.get("SobjectType") or "")
    target = store.schema.get(sobject)
    if target is None or target.read_only:
        raise RecordError(
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            f"Object Name: bad value for restricted picklist field: {sobject}",
            ["SobjectType"],
        )
    name = str(row.get("Field") or "")
    prefix, _, field_name = name.partition(".")
    # Only fields an admin can grant are in the Field picklist: custom (protected) ones here.
    f = target.by_lower.get(field_name.lower())
    if prefix.lower() != target.name.lower() or f is None or not f.protected:
        raise RecordError(
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            f"Field Name: bad value for restricted picklist field: {name}",
            ["Field"],
        )
    row["SobjectType"], row["Field"] = target.name, f"{target.name}.{f.name}"
    if row.get("PermissionsEdit") and not row.get("PermissionsRead"):
        raise RecordError(
            "FIELD_INTEGRITY_EXCEPTION",
            f"Permission Edit {row['Field']} depends on permission(s): Read {row['Field']}",
            ["PermissionsEdit"],
        )
    for other in _live(store, "FieldPermissions"):
        if (
            other["Id"] != row["Id"]
            and other.get("ParentId") == row.get("ParentId")
            and str(other.get("Field", "")).lower() == row["Field"].lower()
        ):
            raise RecordError(
                "DUPLICATE_VALUE",
                f"duplicate value found: Field duplicates value on record with id: {other['Id']}",
                ["Field"],
            )

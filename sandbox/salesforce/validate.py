"""Validation of incoming record values, with Salesforce's error codes and messages.

Order follows the API: unknown fields and read-only fields first, then each value's type,
length and picklist, then references, then required fields and uniqueness after defaults.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.salesforce.errors import RecordError
from sandbox.salesforce.schema import Field, SObjectType
from sandbox.salesforce.values import coerce, normalize_id

if TYPE_CHECKING:
    from sandbox.salesforce.store import Store, Table

#: Fields a system (seeding) write may set although the API may not.
AUDIT_FIELDS = frozenset(
    {"Id", "CreatedDate", "LastModifiedDate", "SystemModstamp", "CreatedById", "LastModifiedById"}
)


def prepare(
    store: Store,
    obj: SObjectType,
    data: dict[str, Any],
    *,
    creating: bool,
    system: bool,
    lenient: bool,
) -> dict[str, Any]:
    """Return ``data`` as stored values keyed by canonical field names, or raise."""
    values: dict[str, Any] = {}
    read_only: list[str] = []
    for key, raw in data.items():
        if key == "attributes":
            continue
        f = obj.field(key)
        if f is None:
            raise RecordError(
                "INVALID_FIELD", f"No such column '{key}' on sobject of type {obj.name}", [key]
            )
        if f.name == "Id" and not creating:
            continue  # updates may repeat the Id they address
        allowed = f.createable if creating else f.updateable
        if not allowed and not system:
            read_only.append(f.name)
            continue
        value = coerce(f, raw, lenient=lenient)
        if f.type in ("reference", "id") and value is not None:
            value = check_reference(store, obj, f, value, check_exists=not lenient)
        if f.type == "junctionidlist" and value is not None:
            value = [check_reference(store, obj, f, v, check_exists=not lenient) for v in value]
        values[f.name] = value
    if read_only:
        verb = "create" if creating else "update"
        raise RecordError(
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            f"Unable to {verb} fields: {', '.join(read_only)}. Please check the security "
            "settings of this field and verify that it is read/write for your profile or "
            "permission set.",
            read_only,
        )
    return values


def check_reference(
    store: Store, obj: SObjectType, f: Any, value: Any, *, check_exists: bool
) -> str:
    """Return the 18-character id for a reference value, or raise as Salesforce does."""
    label = f.name[:-2] + " ID" if f.name.endswith("Id") else f.name
    rid = normalize_id(value)
    if rid is None:
        raise RecordError("MALFORMED_ID", f"{label}: id value of incorrect type: {value}", [f.name])
    if f.type == "id":
        return rid
    target = store.schema.by_prefix.get(rid[:3])
    if target is None and not check_exists:
        return rid  # loading: a lookup to an object the sandbox does not model (a Case)
    if target is None or target.name not in f.reference_to:
        raise RecordError(
            "FIELD_INTEGRITY_EXCEPTION",
            f"field integrity exception: unknown ({label}: id value of incorrect type: {value})",
            [f.name],
        )
    if check_exists:
        row = store.tables[target.name].rows.get(rid)
        if row is None or row.get("IsDeleted"):
            raise RecordError(
                "INVALID_CROSS_REFERENCE_KEY",
                f"invalid cross reference id: {value}",
                [f.name],
            )
    return rid


def check_required(obj: SObjectType, row: dict[str, Any]) -> None:
    """Raise REQUIRED_FIELD_MISSING listing every required field without a value."""
    missing = [name for name in obj.required if row.get(name) in (None, "")]
    if missing:
        raise RecordError(
            "REQUIRED_FIELD_MISSING",
            f"Required fields are missing: [{', '.join(missing)}]",
            missing,
        )


def unique_key(f: Field, value: Any) -> Any:
    """Return the index key of a unique field's value (case-insensitive unless stated)."""
    if isinstance(value, str) and not f.case_sensitive:
        return value.lower()
    return value


def check_unique(store: Store, table: Table, row: dict[str, Any], own_id: str | None) -> None:
    """Raise DUPLICATE_VALUE when a unique field's value is held by another live record."""
    for f in table.indexed_fields():
        if not f.unique or row.get(f.name) is None:
            continue
        holder = table.index_for(f).get(unique_key(f, row[f.name]))
        if holder is not None and holder != own_id:
            raise RecordError(
                "DUPLICATE_VALUE",
                f"duplicate value found: {f.name} duplicates value on record with id: {holder}",
                [f.name],
            )

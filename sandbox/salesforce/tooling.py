"""The slice of the Tooling API that ``syncd setup salesforce`` needs: CustomField create + query.

Creating ``Activity.Syncd_Key__c`` adds the field to both Task and Event in the org schema (custom
activity fields are defined once on Activity); the definition is kept as a CustomField row that
tooling queries such as ``SELECT Id, DeveloperName FROM CustomField WHERE …`` can find.
"""

from __future__ import annotations

import re
from typing import Any

from sandbox.salesforce.errors import ApiError
from sandbox.salesforce.schema import Field, Schema
from sandbox.salesforce.store import Store

_FULL_NAME = re.compile(r"^([A-Za-z][A-Za-z0-9_]*)\.([A-Za-z][A-Za-z0-9_]*?)__c$")
_TYPES = {
    "Text": "string",
    "Number": "double",
    "Checkbox": "boolean",
    "Date": "date",
    "DateTime": "datetime",
    "Email": "email",
    "Phone": "phone",
    "Url": "url",
    "LongTextArea": "textarea",
}


def create_custom_field(org: Schema, tooling: Store, body: Any) -> dict[str, Any]:
    """Handle POST /tooling/sobjects/CustomField; return the create result or raise ApiError."""
    if not isinstance(body, dict):
        raise ApiError(400, "JSON_PARSER_ERROR", "The request body must be a JSON object")
    full_name = str(body.get("FullName") or "")
    metadata = body.get("Metadata")
    m = _FULL_NAME.match(full_name)
    if m is None or not isinstance(metadata, dict):
        raise ApiError(
            400,
            "FIELD_INTEGRITY_EXCEPTION",
            "FullName must be Object.Field__c and Metadata must describe the field",
        )
    table, developer_name = m.group(1), m.group(2)
    canonical = "Activity" if table.lower() == "activity" else None
    obj = org.get(table)
    if canonical is None and obj is None:
        raise ApiError(400, "FIELD_INTEGRITY_EXCEPTION", f"Entity {table} does not exist")
    table = canonical or (obj.name if obj else table)
    type_name = str(metadata.get("type", ""))
    if type_name not in _TYPES:
        raise ApiError(400, "FIELD_INTEGRITY_EXCEPTION", f"Unsupported field type: {type_name}")
    length = int(metadata.get("length") or (255 if type_name == "Text" else 0))
    if type_name == "Text" and not 1 <= length <= 255:
        raise ApiError(
            400,
            "FIELD_INTEGRITY_EXCEPTION",
            "Length: Text fields must be between 1 and 255 characters",
        )
    if not metadata.get("label"):
        raise ApiError(400, "REQUIRED_FIELD_MISSING", "Required field is missing: label", ["label"])
    with tooling.lock:
        for row in tooling.tables["CustomField"].rows.values():
            if (
                row.get("TableEnumOrId", "").lower() == table.lower()
                and row.get("DeveloperName", "").lower() == developer_name.lower()
            ):
                raise ApiError(
                    400,
                    "DUPLICATE_DEVELOPER_NAME",
                    f"There is already a field named {developer_name} on {table}.",
                )
        row = tooling.create(
            "CustomField",
            {
                "DeveloperName": developer_name,
                "TableEnumOrId": table,
                "FullName": f"{table}.{developer_name}__c",
                "Description": metadata.get("description"),
            },
            system=True,
        )
        org.add_custom_field(
            table,
            Field(
                f"{developer_name}__c",
                _TYPES[type_name],
                length,
                external_id=bool(metadata.get("externalId")),
                unique=bool(metadata.get("unique")),
                case_sensitive=bool(metadata.get("caseSensitive")),
                custom=True,
                label=str(metadata["label"]),
                # Visible to nobody until a permission set grants it (field-level security).
                protected=True,
            ),
        )
    return {"id": row["Id"], "success": True, "errors": [], "warnings": [], "infos": []}

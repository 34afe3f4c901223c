"""``syncd setup salesforce``: the ``Syncd_Key__c`` field, and the grant that makes it visible.

:func:`run_setup` is the whole command: the field (here) and then the permission set that
grants it to the API user (:mod:`syncd.salesforce.grants`), since a field created through the
Tooling API is visible to nobody until field-level security grants it.

The key is defined once on the Activity object (so Task and Event share it) as Text(255),
External ID, Unique and not case-sensitive: the unique index is what makes two writers
upserting the same activity at the same instant end with one record. Creating it is idempotent:
an existing field is found by a Tooling query first, and a create that loses a race (duplicate
name) is reported as "exists".
"""

from __future__ import annotations

import logging
from typing import Literal

from syncd.errors import Permanent
from syncd.salesforce import soql
from syncd.salesforce.client import SalesforceClient
from syncd.salesforce.grants import Step, ensure_grants

log = logging.getLogger(__name__)

FIELD_NAME = "Syncd_Key"
FULL_NAME = "Activity.Syncd_Key__c"
_DUPLICATE_CODES = frozenset({"DUPLICATE_VALUE", "DUPLICATE_DEVELOPER_NAME", "DUPLICATE_NAME"})

#: What to do when the org refuses a setup step (the API user may not create metadata).
BY_HAND_FIX = (
    "the API user may lack the permissions setup needs (Customize Application, View Setup and "
    "Configuration, Manage Profiles and Permission Sets, Assign Permission Sets): grant them, "
    "or have an admin create the field and the permission set by hand (docs/salesforce-admin.md"
    ', "Doing it by hand"), then run `syncd setup salesforce` again'
)

FIELD_METADATA = {
    "label": "Syncd Key",
    "type": "Text",
    "length": 255,
    "externalId": True,
    "unique": True,
    "caseSensitive": False,
    "description": "Deterministic activity key written by syncd (email, meeting or call id).",
}


def key_field_exists(client: SalesforceClient) -> bool:
    """True when the Tooling API lists ``Activity.Syncd_Key__c``."""
    name = soql.where_eq("DeveloperName", FIELD_NAME)
    where = f"{name} AND {soql.where_eq('TableEnumOrId', 'Activity')}"
    return bool(client.tooling_query(soql.select(("Id", "DeveloperName"), "CustomField", where)))


def ensure_key_field(client: SalesforceClient) -> Literal["created", "exists"]:
    """Create ``Activity.Syncd_Key__c`` unless it is already there; say which."""
    if key_field_exists(client):
        log.info("salesforce key field exists", extra={"field": FULL_NAME})
        return "exists"
    try:
        client.restful(
            "tooling/sobjects/CustomField/",
            method="POST",
            json={"FullName": FULL_NAME, "Metadata": FIELD_METADATA},
        )
    except Permanent as exc:
        if exc.code in _DUPLICATE_CODES:
            log.info("salesforce key field created concurrently", extra={"field": FULL_NAME})
            return "exists"
        raise
    log.info("salesforce key field created", extra={"field": FULL_NAME})
    return "created"


def run_setup(client: SalesforceClient) -> list[Step]:
    """Create or repair everything syncd needs in the org; one step per thing checked."""
    outcome = ensure_key_field(client)
    field = Step(f"field {FULL_NAME} (Text 255, External ID, Unique) on Task and Event", outcome)
    return [field, *ensure_grants(client)]

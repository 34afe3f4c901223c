"""``syncd setup salesforce``: the ``Syncd_Key__c`` field, and the grant that makes it visible.

:func:`run_setup` is the whole command: the field (here) and then the permission set that
grants it to the API user (:mod:`syncd.salesforce.grants`), since a field created through the
Tooling API is visible to nobody until field-level security grants it.

EmailMessage (Enhanced Email) gets the same field of its own where the org has it.
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
from syncd.salesforce.org_features import enhanced_email

log = logging.getLogger(__name__)

FIELD_NAME = "Syncd_Key"
FULL_NAME = "Activity.Syncd_Key__c"
EMAIL_TABLE = "EmailMessage"
EMAIL_FULL_NAME = "EmailMessage.Syncd_Key__c"
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


def key_field_exists(client: SalesforceClient, table: str = "Activity") -> bool:
    """True when the Tooling API lists ``{table}.Syncd_Key__c``."""
    name = soql.where_eq("DeveloperName", FIELD_NAME)
    where = f"{name} AND {soql.where_eq('TableEnumOrId', table)}"
    return bool(client.tooling_query(soql.select(("Id", "DeveloperName"), "CustomField", where)))


def ensure_key_field(
    client: SalesforceClient, table: str = "Activity"
) -> Literal["created", "exists"]:
    """Create ``{table}.Syncd_Key__c`` unless it is already there; say which."""
    full_name = f"{table}.{FIELD_NAME}__c"
    if key_field_exists(client, table):
        log.info("salesforce key field exists", extra={"field": full_name})
        return "exists"
    try:
        client.restful(
            "tooling/sobjects/CustomField/",
            method="POST",
            json={"FullName": full_name, "Metadata": FIELD_METADATA},
        )
    except Permanent as exc:
        if exc.code in _DUPLICATE_CODES:
            log.info("salesforce key field created concurrently", extra={"field": full_name})
            return "exists"
        raise
    log.info("salesforce key field created", extra={"field": full_name})
    return "created"


def run_setup(client: SalesforceClient) -> list[Step]:
    """Create or repair everything syncd needs in the org; one step per thing checked.

    Where the org has Enhanced Email, EmailMessage gets its own ``Syncd_Key__c`` too (an
    EmailMessage is not an activity, so the Activity field does not reach it).
    """
    outcome = ensure_key_field(client)
    steps = [Step(f"field {FULL_NAME} (Text 255, External ID, Unique) on Task and Event", outcome)]
    if enhanced_email(client):
        outcome = ensure_key_field(client, EMAIL_TABLE)
        steps.append(Step(f"field {EMAIL_FULL_NAME} (Text 255, External ID, Unique)", outcome))
    return [*steps, *ensure_grants(client)]

"""Writing EmailMessages exactly once: created by their unique key, never updated.

A sent EmailMessage refuses updates to every standard field (only IsExternallyVisible and
custom fields change once it is not a draft), so the upsert the Task path uses cannot replay
safely: an upsert that finds the record would send its standard fields to it. Instead each
chunk of up to 200 messages is *created* (``POST /composite/sobjects``) with its
``Syncd_Key__c``, which is unique: a message already in the org (a crash between the write and
the ledger commit, or another worker at the same instant) fails alone with DUPLICATE_VALUE on
the key, nothing is sent to the existing record, and one query per such chunk
(``SELECT Id, Syncd_Key__c FROM EmailMessage WHERE Syncd_Key__c IN (…)``) finds its id.

The sender's FromAddress EmailMessageRelation needs the new message's id, so both go in one
``POST /composite`` (one API call): the relations reference ``@{msgs[i].id}``. When any message
of the chunk failed, that reference has no value and Salesforce refuses the relations
subrequest whole; the relations of the messages that were created are then sent in one more
call. A first pass costs one call per 200 messages. A record failing transiently
(UNABLE_TO_LOCK_ROW) is not written and comes back in ``deferred``: the cursor stays and the
next pass creates it (or finds it).

https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_emailmessage.htm
https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_composite.htm
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from syncd.errors import Permanent
from syncd.salesforce import soql
from syncd.salesforce.client import SalesforceClient
from syncd.salesforce.errors import RETRYABLE_CODES, org_wide_refusal
from syncd.salesforce.writer import CHUNK, KEY_FIELD, Failure, WriteResult, first_error

log = logging.getLogger(__name__)

SOBJECT = "EmailMessage"
RELATION = "EmailMessageRelation"
DUPLICATE = "DUPLICATE_VALUE"


def create_messages(
    client: SalesforceClient,
    rows: Sequence[dict[str, Any]],
    senders: Sequence[str | None],
    *,
    chunk_size: int = CHUNK,
) -> WriteResult:
    """Create EmailMessages by key; an existing one is found, never changed."""
    result = WriteResult()
    before = client.calls_made
    items = list(zip(rows, senders, strict=True))
    try:
        for start in range(0, len(items), chunk_size):
            _chunk(client, items[start : start + chunk_size], result)
    finally:
        result.calls = client.calls_made - before
    log.info(
        "salesforce write",
        extra={
            "sobject": SOBJECT,
            "written": len(result.written),
            "new": result.created,
            "failed": len(result.failed),
            "deferred": len(result.deferred),
            "calls": result.calls,
        },
    )
    return result


def _composite(client: SalesforceClient, items: list[tuple[dict[str, Any], str | None]]) -> Any:
    base = f"/services/data/v{client.options.api_version}/composite/sobjects"
    messages = [{"attributes": {"type": SOBJECT}, **row} for row, _ in items]
    subrequests = [
        {
            "method": "POST",
            "url": base,
            "referenceId": "msgs",
            "body": {"allOrNone": False, "records": messages},
        }
    ]
    senders = [
        {
            "attributes": {"type": RELATION},
            "EmailMessageId": f"@{{msgs[{i}].id}}",
            "RelationId": sender,
            "RelationType": "FromAddress",
        }
        for i, (_, sender) in enumerate(items)
        if sender
    ]
    if senders:
        subrequests.append(
            {
                "method": "POST",
                "url": base,
                "referenceId": "senders",
                "body": {"allOrNone": False, "records": senders},
            }
        )
    answer = client.restful("composite", method="POST", json={"compositeRequest": subrequests})
    return answer.get("compositeResponse") if isinstance(answer, dict) else None


def _chunk(
    client: SalesforceClient,
    items: list[tuple[dict[str, Any], str | None]],
    result: WriteResult,
) -> None:
    keys = [str(row[KEY_FIELD]) for row, _ in items]
    replies = _composite(client, items)
    if not isinstance(replies, list) or not replies:
        raise Permanent("composite answer without compositeResponse")
    body = replies[0].get("body")
    if int(replies[0].get("httpStatusCode", 500)) >= 400 or not isinstance(body, list):
        err = (body or [{}])[0] if isinstance(body, list) else {}
        code, message = str(err.get("errorCode", "UNKNOWN")), str(err.get("message", ""))
        fields = tuple(err.get("fields") or ())
        refusal = org_wide_refusal(SOBJECT, KEY_FIELD, code, message, fields)
        if refusal is not None:
            raise refusal
        result.failed.extend(Failure(k, code, message, fields) for k in keys)
        return
    existing: list[str] = []
    created: list[int] = []
    for i, (key, res) in enumerate(zip(keys, body, strict=True)):
        if res.get("success"):
            result.written[key] = (str(res.get("id")), True)
            created.append(i)
            continue
        code, message, fields = first_error(res)
        refusal = org_wide_refusal(SOBJECT, KEY_FIELD, code, message, fields)
        if refusal is not None:
            raise refusal
        if code == DUPLICATE and (KEY_FIELD in fields or KEY_FIELD in message):
            existing.append(key)  # already in the org: find it, send it nothing
        elif code in RETRYABLE_CODES:
            result.deferred.append(Failure(key, code, message, fields))
        else:
            result.failed.append(Failure(key, code, message, fields))
    if existing:
        _find(client, existing, result)
    senders_ok = len(replies) < 2 or int(replies[1].get("httpStatusCode", 500)) < 400
    late = [i for i in created if items[i][1]] if not senders_ok else []
    if late:
        rows = [
            {"EmailMessageId": result.written[keys[i]][0], "RelationId": items[i][1],
             "RelationType": "FromAddress"}
            for i in late
        ]  # fmt: skip
        _create_relations(client, rows)


def _find(client: SalesforceClient, keys: list[str], result: WriteResult) -> None:
    """Ids of messages that are already in the org (one query)."""
    where = soql.where_in(KEY_FIELD, keys)
    rows = client.query_all(soql.select(("Id", KEY_FIELD), SOBJECT, where))
    found = {str(r[KEY_FIELD]).lower(): str(r["Id"]) for r in rows}
    for key in keys:
        sf_id = found.get(key.lower())
        if sf_id is not None:
            result.written[key] = (sf_id, False)
        else:  # a simultaneous create that did not last: try again next pass
            result.deferred.append(Failure(key, DUPLICATE, "not found after DUPLICATE_VALUE"))


def _create_relations(client: SalesforceClient, rows: list[dict[str, Any]]) -> None:
    records = [{"attributes": {"type": RELATION}, **row} for row in rows]
    answer = client.restful(
        "composite/sobjects", method="POST", json={"allOrNone": False, "records": records}
    )
    failed = sum(1 for r in answer or [] if not r.get("success"))
    if failed:
        log.warning("sender relations not created", extra={"failed": failed})

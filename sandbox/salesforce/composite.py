"""POST /composite: up to 25 subrequests in one API call, with ``@{ref.field}`` references.

References reach into arrays (``@{newRecords[0].id}``, ``@{q.records[0].Id}``); one that names
no value (the id of a record that failed) fails its subrequest with INVALID_REFERENCE.
https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_composite.htm

Subrequests run through the same router as top-level requests (without counting or faults);
with ``allOrNone`` the first failure rolls back everything before it and halts the rest.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from sandbox.salesforce.errors import ApiError
from sandbox.salesforce.store import Store
from sandbox.salesforce.wire import DATA_PATH, NOT_FOUND, Request

COMPOSITE_LIMIT = 25
HALTED = {
    "errorCode": "PROCESSING_HALTED",
    "message": "The transaction was rolled back since another operation in the same "
    "transaction failed.",
}
Route = Callable[[Request, str], tuple[int, Any]]


def run_composite(store: Store, route: Route, body: Any) -> tuple[int, Any]:
    """POST /composite: up to 25 subrequests, one API call, optional allOrNone."""
    subs = body.get("compositeRequest") if isinstance(body, dict) else None
    if not isinstance(subs, list) or not subs:
        raise ApiError(400, "JSON_PARSER_ERROR", "compositeRequest is required")
    if len(subs) > COMPOSITE_LIMIT:
        raise ApiError(
            400,
            "INVALID_BATCH_REQUEST",
            f"Composite request is limited to {COMPOSITE_LIMIT} subrequests",
        )
    all_or_none = bool(body.get("allOrNone", False))
    results: dict[str, Any] = {}
    out: list[dict[str, Any]] = []
    with store.transaction() as rollback:
        failed = False
        for sub in subs:
            ref = str(sub.get("referenceId", ""))
            if failed and all_or_none:
                out.append(_sub_reply(ref, 400, [HALTED]))
                continue
            status, reply_body = _subrequest(route, sub, results)
            results[ref] = reply_body
            out.append(_sub_reply(ref, status, reply_body))
            failed = failed or status >= 400
        if failed and all_or_none:
            rollback()
    return 200, {"compositeResponse": out}


class _BadReference(Exception):
    """A ``@{…}`` reference that names no value (a failed record has no id)."""


_REF = re.compile(r"@\{([A-Za-z0-9_.\[\]]+)\}")
_PART = re.compile(r"([A-Za-z0-9_]*)((?:\[\d+\])*)$")


def _resolve(results: dict[str, Any], path: str) -> Any:
    """``ref.field``, ``ref[0].id`` or ``ref.records[0].Id`` in earlier subrequests' bodies."""
    value: Any = results
    for part in path.split("."):
        m = _PART.match(part)
        if m is None:
            raise _BadReference(path)
        if m.group(1):
            value = value.get(m.group(1)) if isinstance(value, dict) else None
        for index in re.findall(r"\[(\d+)\]", m.group(2)):
            i = int(index)
            value = value[i] if isinstance(value, list) and i < len(value) else None
        if value is None:
            raise _BadReference(path)
    return value


def _subrequest(route: Route, sub: dict[str, Any], results: dict[str, Any]) -> tuple[int, Any]:
    def substitute(text: str) -> str:
        return _REF.sub(lambda m: str(_resolve(results, m.group(1))), text)

    try:
        url = substitute(str(sub.get("url", "")))
        body = sub.get("body")
        raw = substitute(json.dumps(body)).encode() if body is not None else b""
    except _BadReference as bad:
        # Salesforce refuses the whole subrequest when a reference has no value.
        ref = str(bad).split(".")[0].split("[")[0]
        message = f"Invalid reference specified. No value for {bad} found in {ref}."
        return 400, [{"errorCode": "INVALID_REFERENCE", "message": message}]
    path, _, query = url.partition("?")
    m = DATA_PATH.match(path)
    if m is None:
        return 404, NOT_FOUND.body()
    req = Request(str(sub.get("method", "GET")).upper(), path, dict(parse_qsl(query)), {}, raw)
    try:
        return route(req, m.group(3) or "/")
    except ApiError as err:
        return err.status, err.body()


def _sub_reply(ref: str, status: int, body: Any) -> dict[str, Any]:
    return {"body": body, "httpHeaders": {}, "httpStatusCode": status, "referenceId": ref}

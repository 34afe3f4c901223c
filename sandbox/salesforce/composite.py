"""POST /composite: up to 25 subrequests in one API call, with ``@{ref.field}`` references.

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


def _subrequest(route: Route, sub: dict[str, Any], results: dict[str, Any]) -> tuple[int, Any]:
    def substitute(text: str) -> str:
        def one(m: re.Match[str]) -> str:
            value: Any = results
            for part in m.group(1).split("."):
                value = value.get(part) if isinstance(value, dict) else None
            return str(value)

        return re.sub(r"@\{([A-Za-z0-9_.]+)\}", one, text)

    url = substitute(str(sub.get("url", "")))
    path, _, query = url.partition("?")
    m = DATA_PATH.match(path)
    if m is None:
        return 404, NOT_FOUND.body()
    body = sub.get("body")
    raw = substitute(json.dumps(body)).encode() if body is not None else b""
    req = Request(str(sub.get("method", "GET")).upper(), path, dict(parse_qsl(query)), {}, raw)
    try:
        return route(req, m.group(3) or "/")
    except ApiError as err:
        return err.status, err.body()


def _sub_reply(ref: str, status: int, body: Any) -> dict[str, Any]:
    return {"body": body, "httpHeaders": {}, "httpStatusCode": status, "referenceId": ref}

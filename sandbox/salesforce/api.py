"""Routing of the sandbox org's HTTP API, with call counting, the API budget and faults.

Every request is counted per endpoint label (``calls``); API requests (not OAuth) also count
against the daily allocation, which ``Sforce-Limit-Info`` reports on every response. Faults are
applied before the handler runs, in the order a real org would fail: slow network first, then
server errors and limits, then the session check.
"""

from __future__ import annotations

import itertools
import logging
import re
import threading
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, unquote

from sandbox.salesforce import tooling
from sandbox.salesforce.auth import Auth, OAuthError
from sandbox.salesforce.bulk import BulkQueries
from sandbox.salesforce.composite import run_composite
from sandbox.salesforce.errors import ApiError
from sandbox.salesforce.faults import Faults
from sandbox.salesforce.permissions import FieldAccess
from sandbox.salesforce.query import Executor, Result
from sandbox.salesforce.records import RecordsApi
from sandbox.salesforce.schema import VIEWER
from sandbox.salesforce.store import Store
from sandbox.salesforce.wire import DATA_PATH, NOT_FOUND, Reply, Request

log = logging.getLogger(__name__)

API_VERSION = "60.0"
#: Versions the paths may name: collection upsert by external id needs v46; newer ones exist.
MIN_VERSION, MAX_VERSION = 46, 66
PAGE_SIZE = 2000
MAX_CURSORS = 200
USAGE_WINDOW = timedelta(hours=24)


@dataclass
class _Cursor:
    result: Result
    include_deleted: bool
    size: int


class Api:
    """The org's HTTP API over its stores."""

    def __init__(
        self,
        store: Store,
        tool_store: Store,
        auth: Auth,
        faults: Faults,
        api_limit: int,
        base_url: Callable[[], str],
    ) -> None:
        self.store = store
        self.tool_store = tool_store
        self.auth = auth
        self.faults = faults
        self.api_limit = api_limit
        self.base_url = base_url
        self.calls: Counter[str] = Counter()
        # When each counted call was made: the allocation is a rolling 24-hour window.
        self._usage: deque[datetime] = deque()
        self._lock = threading.Lock()
        self._cursors: dict[str, _Cursor] = {}
        self._locators = itertools.count(1)
        self.records = RecordsApi(store, self._data_base)
        self.executor = Executor(store, self._data_base)
        self.tool_executor = Executor(tool_store, lambda: self._data_base() + "/tooling")
        self.bulk = BulkQueries(self.executor, store.clock)
        # The version in the request path, per serving thread, for the URLs in responses.
        self._local = threading.local()

    def _data_base(self) -> str:
        return f"/services/data/v{getattr(self._local, 'version', API_VERSION)}"

    @property
    def api_calls_used(self) -> int:
        """Calls counted against the allocation in the last 24 hours (by the store's clock)."""
        horizon = self.store.clock() - USAGE_WINDOW
        with self._lock:
            while self._usage and self._usage[0] <= horizon:
                self._usage.popleft()
            return len(self._usage)

    def reset_usage(self) -> None:
        """Forget every counted call."""
        with self._lock:
            self._usage.clear()

    def usage_header(self) -> dict[str, str]:
        """Return the Sforce-Limit-Info header as of now."""
        return {"Sforce-Limit-Info": f"api-usage={self.api_calls_used}/{self.api_limit}"}

    # -- entry point ---------------------------------------------------------------------------

    def handle(self, req: Request) -> Reply:
        """Answer one HTTP request."""
        label = self.label(req)
        with self._lock:
            self.calls[label] += 1
        try:
            self._faults_before(req)
            if req.path == "/services/oauth2/token":
                return self._oauth(req)
            if req.path.startswith("/services/Soap/u/"):
                status, xml = self.auth.soap_login(
                    req.body, self.base_url(), req.path.rsplit("/", 1)[-1]
                )
                return Reply(status, xml, content_type="text/xml;charset=UTF-8")
            if req.path in ("/services/data", "/services/data/"):
                return Reply(
                    200,
                    [
                        {
                            "label": "Spring '24",
                            "url": f"/services/data/v{API_VERSION}",
                            "version": API_VERSION,
                        }
                    ],
                )
            m = DATA_PATH.match(req.path)
            if m is None or not MIN_VERSION <= int(m.group(1)) <= MAX_VERSION:
                raise NOT_FOUND
            user_id = self.auth.check(req.headers.get("authorization"))
            used = self.api_calls_used
            with self._lock:
                if used >= self.api_limit:
                    raise ApiError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
                self._usage.append(self.store.clock())
            self._local.version = f"{m.group(1)}.{m.group(2)}"
            # The request runs as its session's user: field-level security applies to it.
            viewer = VIEWER.set(FieldAccess(self.store, user_id))
            try:
                status, body = self.route(req, m.group(3) or "/")
            finally:
                VIEWER.reset(viewer)
            if isinstance(body, Reply):  # Bulk 2.0 results: CSV with their own headers
                body.headers.update(self.usage_header())
                return body
            return Reply(status, body, self.usage_header())
        except ApiError as err:
            headers = self.usage_header() if err.status != 401 else {}
            return Reply(err.status, err.body(), {**headers, **err.headers})
        except OAuthError as err:
            return Reply(err.status, {"error": err.error, "error_description": err.description})
        except Exception:
            # A bug in the sandbox: answer like Salesforce's 500 and keep serving.
            log.exception("sandbox error on %s %s", req.method, req.path)
            return Reply(
                500,
                [
                    {
                        "message": "An unexpected error occurred in the sandbox.",
                        "errorCode": "UNKNOWN_EXCEPTION",
                    }
                ],
            )

    def _faults_before(self, req: Request) -> None:
        slow = self.faults.take(req.path, req.method, {"slow"})
        if slow is not None:
            self.faults.stop.wait(float(slow.params.get("seconds", 1.0)))
        if self.faults.take(req.path, req.method, {"expire_sessions"}) is not None:
            self.auth.expire_all()
        fault = self.faults.take(req.path, req.method, {"status", "request_limit", "refuse"})
        if fault is None:
            return
        if fault.kind == "request_limit":
            raise ApiError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
        if fault.kind == "refuse":  # the user lacks a permission the request needs
            raise ApiError(
                int(fault.params.get("status", 403)),
                str(fault.params.get("code", "INSUFFICIENT_ACCESS_OR_READONLY")),
                str(fault.params.get("message", "insufficient access rights on object id")),
            )
        status = int(fault.params.get("status", 503))
        # A Retry-After, as a load balancer or proxy in front of the org may send with a 503.
        retry_after = fault.params.get("retry_after")
        extra = {"Retry-After": str(int(retry_after))} if retry_after is not None else None
        if status == 503:
            raise ApiError(
                503, "SERVER_UNAVAILABLE", "Server temporarily unavailable", headers=extra
            )
        raise ApiError(
            status,
            "UNKNOWN_EXCEPTION",
            "An unexpected error occurred. Please include this ErrorId if you contact support: "
            "1234567890-12345 (-123456789)",
            headers=extra,
        )

    def _oauth(self, req: Request) -> Reply:
        if req.method != "POST":
            raise OAuthError("invalid_request", "must use HTTP POST")
        refused = self.faults.take(req.path, req.method, {"oauth_error"})
        if refused is not None:
            raise OAuthError(
                str(refused.params.get("error", "invalid_grant")),
                str(refused.params.get("description", "expired access/refresh token")),
            )
        form = dict(parse_qsl(req.body.decode("utf-8", "replace"))) | req.args
        host = req.headers.get("host", "").rsplit(":", 1)[0].lower()
        login_host = host in self.auth.login_hosts
        return Reply(200, self.auth.token(form, self.base_url(), login_host=login_host))

    @staticmethod
    def label(req: Request) -> str:
        """Return the endpoint label a request is counted under."""
        path, method = req.path, req.method
        if path == "/services/oauth2/token":
            return "oauth"
        if path.startswith("/services/Soap/"):
            return "soap_login"
        m = DATA_PATH.match(path)
        rest = (m.group(3) or "/") if m else path
        parts = [p for p in rest.split("/") if p]
        if not parts:
            return "versions"
        head = parts[0]
        if head in ("query", "queryAll", "limits", "tooling"):
            return head
        if head == "jobs" and parts[1:2] == ["query"]:
            return "jobs/query"
        if head == "composite":
            if len(parts) > 1 and parts[1] == "sobjects":
                return f"composite/sobjects:{method}"
            return "composite"
        if head == "sobjects":
            if len(parts) == 1:
                return "describe_global"
            if parts[-1] == "describe":
                return "describe"
            return f"sobject:{method}"
        return head

    # -- routing -------------------------------------------------------------------------------

    def route(self, req: Request, rest: str) -> tuple[int, Any]:
        """Dispatch a data API path (after /services/data/vXX.X) to its handler."""
        parts = [unquote(p) for p in rest.split("/") if p]
        method = req.method
        if not parts:
            raise NOT_FOUND
        head = parts[0]
        if head == "limits" and method == "GET":
            return 200, self.limits()
        if head in ("query", "queryAll") and method == "GET":
            if len(parts) == 2:
                return 200, self.query_more(parts[1])
            return 200, self.query(req.args.get("q", ""), head == "queryAll", req)
        if head == "sobjects":
            return self._sobjects(req, parts[1:])
        if head == "composite":
            if len(parts) >= 2 and parts[1] == "sobjects":
                return self._collections(req, parts[2:])
            if len(parts) == 1 and method == "POST":
                return run_composite(self.store, self.route, req.json())
        if head == "tooling":
            return self._tooling(req, parts[1:])
        if head == "jobs" and parts[1:2] == ["query"]:
            answer = self.bulk.route(req, parts[2:], getattr(self._local, "version", API_VERSION))
            return answer if isinstance(answer, tuple) else (answer.status, answer)
        raise NOT_FOUND

    def _sobjects(self, req: Request, parts: list[str]) -> tuple[int, Any]:
        method, base = req.method, self._data_base()
        if not parts:
            return 200, {
                "encoding": "UTF-8",
                "maxBatchSize": 200,
                "sobjects": [o.summary(base) for o in self.store.schema.objects.values()],
            }
        obj = self.store.table(parts[0]).obj
        if len(parts) == 1:
            if method == "POST":
                return self.records.create(obj.name, req.json())
            if method == "GET":
                return 200, {"objectDescribe": obj.summary(base), "recentItems": []}
        elif len(parts) == 2 and parts[1] == "describe" and method == "GET":
            with self.store.lock:
                return 200, obj.describe(base)
        elif len(parts) == 2:
            if method == "GET":
                return self.records.read(obj.name, parts[1], req.args.get("fields"))
            if method == "PATCH":
                return self.records.update(obj.name, parts[1], req.json())
            if method == "DELETE":
                return self.records.delete(obj.name, parts[1])
        elif len(parts) == 3 and method in ("GET", "PATCH", "DELETE"):
            body = req.json() if method == "PATCH" else None
            return self.records.by_external_id(
                method, obj.name, parts[1], parts[2], body, req.args.get("fields")
            )
        raise ApiError(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{method}' not allowed.")

    def _collections(self, req: Request, parts: list[str]) -> tuple[int, Any]:
        method = req.method
        lock = None
        if method in ("POST", "PATCH"):
            lock = self.faults.take(req.path, method, {"lock_row"})
        if not parts:
            if method == "POST":
                return self.records.collection_create(req.json(), lock)
            if method == "PATCH":
                return self.records.collection_update(req.json(), lock)
            if method == "DELETE":
                all_or_none = req.args.get("allOrNone", "false").lower() == "true"
                return self.records.collection_delete(req.args.get("ids", ""), all_or_none)
        elif len(parts) == 1 and method == "GET":
            return self.records.collection_read(
                parts[0], req.args.get("ids", ""), req.args.get("fields", "Id")
            )
        elif len(parts) == 2 and method == "PATCH":
            return self.records.collection_upsert(parts[0], parts[1], req.json(), lock)
        raise ApiError(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{method}' not allowed.")

    def _tooling(self, req: Request, parts: list[str]) -> tuple[int, Any]:
        if parts[:1] == ["query"] and req.method == "GET":
            if len(parts) == 2:
                return 200, self.query_more(parts[1], tooling_api=True)
            return 200, self.query(req.args.get("q", ""), False, req, tooling_api=True)
        if parts[:2] == ["sobjects", "CustomField"] and len(parts) == 2 and req.method == "POST":
            return 201, tooling.create_custom_field(self.store.schema, self.tool_store, req.json())
        if parts[:2] == ["sobjects", "CustomField"] and len(parts) == 3 and req.method == "GET":
            row = self.tool_store.get("CustomField", parts[2])
            if row is None:
                raise NOT_FOUND
            return 200, {"attributes": {"type": "CustomField"}, **row}
        raise NOT_FOUND

    # -- query ---------------------------------------------------------------------------------

    def query(
        self, text: str, include_deleted: bool, req: Request, *, tooling_api: bool = False
    ) -> dict[str, Any]:
        """Run a query and return its first page."""
        executor = self.tool_executor if tooling_api else self.executor
        result = executor.run(text, include_deleted=include_deleted)
        return self._page(result, 0, include_deleted, _batch_size(req), tooling_api)

    def query_more(self, locator: str, *, tooling_api: bool = False) -> dict[str, Any]:
        """Return a later page of a query by its ``nextRecordsUrl`` locator."""
        key, _, offset = locator.rpartition("-")
        with self._lock:
            cursor = self._cursors.get(key)
        if cursor is None or not offset.isdigit():
            raise ApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        return self._page(
            cursor.result, int(offset), cursor.include_deleted, cursor.size, tooling_api, key=key
        )

    def _page(
        self,
        result: Result,
        start: int,
        include_deleted: bool,
        size: int,
        tooling_api: bool,
        key: str | None = None,
    ) -> dict[str, Any]:
        rows = result.rows[start : start + size]
        page: dict[str, Any] = {
            "totalSize": result.total,
            "done": start + size >= len(result.rows),
            "records": [result.render(r) for r in rows],
        }
        if tooling_api:
            # The Tooling API's query result carries these too, as a real org's recording shows
            # (https://developer.salesforce.com/docs/atlas.en-us.api_tooling.meta/api_tooling/intro_rest_resources.htm).
            records = page["records"]
            page = {
                "size": len(records),
                "totalSize": page["totalSize"],
                "done": page["done"],
                "queryLocator": None,
                "entityTypeName": records[0]["attributes"]["type"] if records else None,
                "records": records,
            }
        if not page["done"]:
            if key is None:
                key = f"01g8c{next(self._locators):010d}IAA"
                with self._lock:
                    self._cursors[key] = _Cursor(result, include_deleted, size)
                    # Like Salesforce, keep a bounded number of open cursors: oldest go first.
                    while len(self._cursors) > MAX_CURSORS:
                        self._cursors.pop(next(iter(self._cursors)))
            kind = "queryAll" if include_deleted else "query"
            prefix = "tooling/" if tooling_api else ""
            page["nextRecordsUrl"] = f"{self._data_base()}/{prefix}{kind}/{key}-{start + size}"
        elif key is not None:
            with self._lock:
                self._cursors.pop(key, None)
        return page

    def limits(self) -> dict[str, Any]:
        """Return the /limits document."""
        remaining = max(self.api_limit - self.api_calls_used, 0)

        def limit(n: int, left: int | None = None) -> dict[str, int]:
            return {"Max": n, "Remaining": n if left is None else left}

        return {
            "DailyApiRequests": limit(self.api_limit, remaining),
            "DailyBulkApiBatches": limit(15000),
            "DailyBulkV2QueryJobs": limit(10000),
            "DailyAsyncApexExecutions": limit(250000),
            "DataStorageMB": limit(1024),
            "FileStorageMB": limit(1024),
            "ConcurrentSyncApexLimit": limit(10),
        }


def _batch_size(req: Request) -> int:
    options = req.headers.get("sforce-query-options", "")
    m = re.search(r"batchSize=(\d+)", options)
    return max(200, min(int(m.group(1)), PAGE_SIZE)) if m else PAGE_SIZE

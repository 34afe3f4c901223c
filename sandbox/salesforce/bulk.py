"""Bulk API 2.0 query jobs for the sandbox org: create, poll, read CSV results by locator.

Mounted under ``/services/data/vXX.X/jobs/query`` (counted under the label ``jobs/query``,
each request against the API allocation, as Salesforce counts them):

- ``POST jobs/query`` ``{"operation": "query"|"queryAll", "query": SOQL}`` — the SOQL is
  parsed and checked with the REST query's parser; a syntax error answers 400
  ``MALFORMED_QUERY``, and what Bulk 2.0 refuses (aggregates, GROUP BY, OFFSET, child
  subqueries, an unknown operation or body key) answers 400 ``INVALIDJOB``. The job starts in
  ``UploadComplete``.
- ``GET jobs/query/{id}`` — job info. Each read advances the state one step
  (``UploadComplete`` → ``InProgress`` → ``JobComplete``; ``steps`` sets how many reads a job
  takes), so a client has to poll. A job marked by :meth:`BulkQueries.fail_next` ends
  ``Failed`` with an ``errorMessage``.
- ``GET jobs/query/{id}/results?locator=&maxRecords=`` — UTF-8 CSV served as a bare
  ``text/csv`` with no charset, as Salesforce serves it (every value quoted,
  nulls as empty, relationship fields as ``Owner.Email`` columns, LF line endings) with
  ``Sforce-NumberOfRecords`` and ``Sforce-Locator`` (``null`` on the last set). Before
  ``JobComplete`` it answers 400 ``INVALIDJOB``, like Salesforce.
- ``PATCH jobs/query/{id}`` ``{"state": "Aborted"}`` and ``DELETE jobs/query/{id}``.

Results: https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/query_get_job_results.htm
(CSV in UTF-8: https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/datafiles_prepare_csv.htm).

The query is evaluated when the job is created; the rows are kept until the job is deleted.
"""

from __future__ import annotations

import base64
import csv
import io
import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sandbox.salesforce import soql
from sandbox.salesforce.errors import ApiError
from sandbox.salesforce.query import Executor, Result
from sandbox.salesforce.wire import NOT_FOUND, Reply, Request

#: Salesforce's default when maxRecords is absent is "as many as fit"; we cap a set here.
DEFAULT_MAX_RECORDS = 100_000
STATES = ("UploadComplete", "InProgress", "JobComplete")
_JOB_KEYS = frozenset({"operation", "query", "contentType", "columnDelimiter", "lineEnding"})


def invalid_job(message: str) -> ApiError:
    """Return Bulk 2.0's INVALIDJOB error."""
    return ApiError(400, "INVALIDJOB", message)


@dataclass
class Job:
    """One query job and the rows its query selected."""

    id: str
    operation: str
    sobject: str
    columns: list[str]
    getters: list[Callable[[Any], Any]]
    result: Result
    created: str
    state: str = "UploadComplete"
    reads: int = 0
    fail: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def info(self, version: str) -> dict[str, Any]:
        """The job-info document."""
        body: dict[str, Any] = {
            "id": self.id,
            "operation": self.operation,
            "object": self.sobject,
            "createdById": "005000000000001AAA",
            "createdDate": self.created,
            "systemModstamp": self.created,
            "state": self.state,
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": float(version),
            "lineEnding": "LF",
            "columnDelimiter": "COMMA",
        }
        if self.state in ("JobComplete", "Failed"):
            body["numberRecordsProcessed"] = len(self.result.rows) if not self.fail else 0
            body["retries"] = 0
            body["totalProcessingTime"] = 0
        if self.state == "Failed":
            body["errorMessage"] = self.fail
        return body


class BulkQueries:
    """The org's Bulk API 2.0 query jobs."""

    def __init__(self, executor: Executor, clock: Any, steps: int = 2) -> None:
        self.executor = executor
        self.clock = clock
        #: How many job-info reads a job takes to reach JobComplete.
        self.steps = steps
        self.jobs: dict[str, Job] = {}
        self._ids = itertools.count(1)
        self._fail: list[str] = []
        self._lock = threading.Lock()

    def fail_next(self, message: str = "InternalServerError: the job failed") -> None:
        """Make the next job created end in state Failed with ``message``."""
        with self._lock:
            self._fail.append(message)

    def route(self, req: Request, parts: list[str], version: str) -> Any:
        """Dispatch ``jobs/query[/{id}[/results]]``; a :class:`Reply` or ``(status, body)``."""
        if not parts:
            if req.method == "POST":
                return 200, self.create(req.json()).info(version)
            raise ApiError(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{req.method}' not allowed.")
        with self._lock:
            job = self.jobs.get(parts[0])
        if job is None:
            raise NOT_FOUND
        if len(parts) == 1 and req.method == "GET":
            return 200, self.advance(job).info(version)
        if len(parts) == 1 and req.method == "PATCH":
            body = req.json() or {}
            if body.get("state") != "Aborted":
                raise invalid_job("Only the Aborted state can be set on a query job")
            job.state = "Aborted"
            return 200, job.info(version)
        if len(parts) == 1 and req.method == "DELETE":
            with self._lock:
                self.jobs.pop(job.id, None)
            return 204, None
        if len(parts) == 2 and parts[1] == "results" and req.method == "GET":
            return self.results(job, req.args)
        raise NOT_FOUND

    def create(self, body: Any) -> Job:
        """Validate and run the job's query."""
        if not isinstance(body, dict):
            raise invalid_job("The request body must be a JSON object")
        unknown = sorted(set(body) - _JOB_KEYS)
        if unknown:
            raise invalid_job(f"Unrecognized field: {unknown[0]}")
        operation = body.get("operation")
        if operation not in ("query", "queryAll"):
            raise invalid_job(f"Invalid operation: {operation}")
        if body.get("contentType", "CSV") != "CSV":
            raise invalid_job("Only CSV is supported for query jobs")
        text = body.get("query")
        if not isinstance(text, str) or not text.strip():
            raise invalid_job("The query is required")
        parsed = soql.parse(text)  # MALFORMED_QUERY on a syntax error, as the REST API
        if any(item.func for item in parsed.items) or parsed.group_by:
            raise invalid_job("Aggregate queries and GROUP BY are not supported by Bulk API 2.0")
        if any(item.subquery is not None for item in parsed.items):
            raise invalid_job("Nested (parent-to-child) queries are not supported by Bulk API 2.0")
        if parsed.offset is not None:
            raise invalid_job("OFFSET is not supported by Bulk API 2.0")
        result = self.executor.evaluate(parsed, text, include_deleted=operation == "queryAll")
        columns = [item.path for item in parsed.items if item.path]
        obj = self.executor.store.schema.get(parsed.sobject)
        assert obj is not None  # evaluate() raised INVALID_TYPE otherwise
        # Each column read straight off the stored row (parent fields by their id): the same
        # values the REST renderer gives, without building a JSON record per row.
        getters = [self.executor.resolve(obj, path, text).getter for path in columns]
        with self._lock:
            job_id = f"7508c{next(self._ids):010d}AAA"
            fail = self._fail.pop(0) if self._fail else None
            job = Job(
                job_id,
                operation,
                parsed.sobject,
                columns,
                getters,
                result,
                self.clock().strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
                fail=fail,
            )
            self.jobs[job_id] = job
        return job

    def advance(self, job: Job) -> Job:
        """One job-info read: move the job one state on (until it is done)."""
        with self._lock:
            if job.state in ("JobComplete", "Failed", "Aborted"):
                return job
            job.reads += 1
            if job.reads >= self.steps:
                job.state = "Failed" if job.fail else "JobComplete"
            else:
                job.state = STATES[min(job.reads, 1)]
        return job

    def results(self, job: Job, args: dict[str, str]) -> Reply:
        """One set of CSV results from ``locator`` (the start when absent)."""
        if job.state != "JobComplete":
            raise invalid_job(f"Job {job.id} is not in state JobComplete: {job.state}")
        unknown = sorted(set(args) - {"locator", "maxRecords"})
        if unknown:
            raise invalid_job(f"Unrecognized parameter: {unknown[0]}")
        size = DEFAULT_MAX_RECORDS
        if "maxRecords" in args:
            if not args["maxRecords"].isdigit() or int(args["maxRecords"]) < 1:
                raise invalid_job("maxRecords must be a positive integer")
            size = int(args["maxRecords"])
        start = _decode_locator(args["locator"]) if args.get("locator") else 0
        rows = job.result.rows[start : start + size]
        out = io.StringIO()
        writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
        writer.writerow(job.columns)
        getters = job.getters
        with self.executor.store.lock:
            for row in rows:
                writer.writerow([_csv_value(get(row)) for get in getters])
        end = start + len(rows)
        locator = _encode_locator(end) if end < len(job.result.rows) else "null"
        headers = {"Sforce-NumberOfRecords": str(len(rows)), "Sforce-Locator": locator}
        return Reply(200, out.getvalue(), headers, content_type="text/csv")


def _encode_locator(offset: int) -> str:
    return base64.urlsafe_b64encode(str(offset).encode()).decode().rstrip("=")


def _decode_locator(locator: str) -> int:
    try:
        text = base64.urlsafe_b64decode(locator + "=" * (-len(locator) % 4)).decode()
    except ValueError:
        text = ""
    if not text.isdigit():
        raise invalid_job(f"Invalid locator: {locator}")
    return int(text)


def _csv_value(value: Any) -> str:
    """A value as Bulk 2.0 writes it: empty for null, lowercase booleans, ISO datetimes in Z."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    if len(text) > 19 and text[10] == "T" and text.endswith("+0000"):
        return text[:-5] + "Z"
    return text

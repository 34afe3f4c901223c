"""Bulk API 2.0 queries: one job per query, polled, its CSV results read set by set.

Salesforce recommends Bulk 2.0 above a few thousand records: a REST query page holds at most
2,000 rows, a Bulk 2.0 result set as many as ``maxRecords`` asks. One query costs
``1 (create) + polls + ceil(rows / max_records)`` API calls:

1. ``POST jobs/query`` ``{"operation": "query"|"queryAll", "query": soql}``
2. ``GET jobs/query/{id}`` until ``state`` is ``JobComplete`` (``Failed`` / ``Aborted`` raise
   :class:`~syncd.errors.Permanent`), sleeping between polls with the client's injectable
   sleep, backing off from ``first_wait`` by ``factor`` up to ``max_wait``; past
   ``timeout`` seconds of waiting the job raises :class:`~syncd.errors.Transient`.
3. ``GET jobs/query/{id}/results?maxRecords=N[&locator=L]`` until ``Sforce-Locator`` is
   ``null``; each set is decoded as UTF-8 (the charset of every Bulk API 2.0 result, whatever
   the response's Content-Type says) and parsed with :mod:`csv`.

Rows come back shaped like REST records so callers need not care which path read them:
empty strings are null, and relationship columns (``Owner.Email``) become nested dicts
(``{"Owner": {"Email": …}}``, ``None`` when every column of the parent is empty). Values stay
strings (CSV has no types); callers parse numbers and dates as they already do.

Every request goes through the client's session, so it is counted, its errors are translated
like any REST call, each request is retried on transient failures, and an expired session
logs in again once.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from simple_salesforce import Salesforce

from syncd.errors import Permanent, Transient
from syncd.ports import SalesforceApi

__all__ = ["BulkOptions", "iter_csv", "parse_csv", "query_all", "query_pages", "query_rows"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BulkOptions:
    """How a bulk query pages and polls."""

    max_records: int = 50_000
    first_wait: float = 0.5
    factor: float = 2.0
    max_wait: float = 10.0
    timeout: float = 600.0


def parse_csv(text: str) -> list[dict[str, Any]]:
    """Rows of a Bulk 2.0 CSV result set, shaped like REST records (see module docstring)."""
    return list(iter_csv(text))


def iter_csv(text: str) -> Iterator[dict[str, Any]]:
    """Like :func:`parse_csv`, one row at a time (a 50,000-row set never sits in dicts)."""
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if not header:
        return
    plain = [(i, name) for i, name in enumerate(header) if "." not in name]
    nested: dict[str, list[tuple[int, list[str]]]] = {}
    for i, name in enumerate(header):
        if "." in name:
            rel, _, rest = name.partition(".")
            nested.setdefault(rel, []).append((i, rest.split(".")))
    for values in reader:
        if not values:
            continue
        row: dict[str, Any] = {name: values[i] or None for i, name in plain}
        for rel, cols in nested.items():
            row[rel] = _nest([(path, values[i] or None) for i, path in cols])
        yield row


def _nest(cols: list[tuple[list[str], Any]]) -> dict[str, Any] | None:
    """Nested dicts from ``(["Account", "Name"], value)`` pairs; None when all are null."""
    if all(value is None for _path, value in cols):
        return None
    out: dict[str, Any] = {}
    deeper: dict[str, list[tuple[list[str], Any]]] = {}
    for path, value in cols:
        if len(path) == 1:
            out[path[0]] = value
        else:
            deeper.setdefault(path[0], []).append((path[1:], value))
    for rel, sub in deeper.items():
        out[rel] = _nest(sub)
    return out


def _create(client: SalesforceApi, soql: str, include_deleted: bool) -> str:
    body = {"operation": "queryAll" if include_deleted else "query", "query": soql}
    # Creating a job only reads; it must not be refused by the write budget check.
    job = client.restful("jobs/query", method="POST", json=body, write=False) or {}
    job_id = job.get("id")
    if not job_id:
        raise Permanent("Salesforce bulk query job created without an id", code="INVALIDJOB")
    return str(job_id)


def _wait(client: SalesforceApi, job_id: str, options: BulkOptions) -> dict[str, Any]:
    waited, delay = 0.0, options.first_wait
    while True:
        info = client.restful(f"jobs/query/{job_id}") or {}
        state = info.get("state")
        if state == "JobComplete":
            return info
        if state in ("Failed", "Aborted"):
            # errorMessage describes the query, not the data: safe to surface.
            raise Permanent(
                f"Salesforce bulk query job {job_id} ended {state}: "
                f"{info.get('errorMessage') or 'no reason given'}",
                code=f"BULK_JOB_{str(state).upper()}",
            )
        if waited >= options.timeout:
            raise Transient(f"Salesforce bulk query job {job_id} still {state} after {waited:.0f}s")
        client.sleep(delay)
        waited += delay
        delay = min(delay * options.factor, options.max_wait)


def _results(
    client: SalesforceApi, job_id: str, locator: str | None, max_records: int
) -> tuple[str, str]:
    """One result set: its CSV text and the next locator (``"null"`` at the end)."""
    params: dict[str, Any] = {"maxRecords": max_records}
    if locator:
        params["locator"] = locator

    def fetch(sf: Salesforce) -> tuple[str, str]:
        headers = dict(sf.headers, Accept="text/csv")
        resp = sf.session.get(
            f"{sf.base_url}jobs/query/{job_id}/results", headers=headers, params=params
        )
        # Bulk 2.0 results are UTF-8 whatever the Content-Type names; ``resp.text`` would
        # decode a bare ``text/csv`` as ISO-8859-1 (RFC 2616's default) and garble "Zoë".
        return resp.content.decode("utf-8-sig"), resp.headers.get("Sforce-Locator") or "null"

    result: tuple[str, str] = client.call(fetch)
    return result


def query_pages(
    client: SalesforceApi,
    soql: str,
    *,
    include_deleted: bool = False,
    options: BulkOptions | None = None,
) -> Iterator[list[dict[str, Any]]]:
    """Every result set of a Bulk 2.0 query, lazily, as lists of REST-shaped rows."""
    for rows in _sets(client, soql, include_deleted, options or BulkOptions()):
        yield list(rows)


def query_rows(
    client: SalesforceApi,
    soql: str,
    *,
    include_deleted: bool = False,
    options: BulkOptions | None = None,
) -> Iterator[dict[str, Any]]:
    """Every row of a Bulk 2.0 query, lazily: only one set's CSV text is held at a time."""
    for rows in _sets(client, soql, include_deleted, options or BulkOptions()):
        yield from rows


def _sets(
    client: SalesforceApi, soql: str, include_deleted: bool, options: BulkOptions
) -> Iterator[Iterator[dict[str, Any]]]:
    job_id = _create(client, soql, include_deleted)
    info = _wait(client, job_id, options)
    log.info(
        "salesforce bulk query complete",
        extra={"job": job_id, "records": info.get("numberRecordsProcessed")},
    )
    locator: str | None = None
    while True:
        text, nxt = _results(client, job_id, locator, options.max_records)
        yield iter_csv(text)
        del text
        if nxt == "null":
            return
        locator = nxt


def query_all(
    client: SalesforceApi,
    soql: str,
    *,
    include_deleted: bool = False,
    options: BulkOptions | None = None,
) -> list[dict[str, Any]]:
    """Every row of a Bulk 2.0 query."""
    pages = query_pages(client, soql, include_deleted=include_deleted, options=options)
    return [row for page in pages for row in page]

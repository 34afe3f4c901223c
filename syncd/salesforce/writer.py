"""Writing activities: upserts by ``Syncd_Key__c`` through sObject Collections.

``PATCH /composite/sobjects/{Task|Event}/Syncd_Key__c`` takes up to 200 records a call and,
with ``allOrNone`` false, answers one result per record in request order. So:

- results are mapped back to keys by position;
- a per-record ``UNABLE_TO_LOCK_ROW`` or ``DUPLICATE_VALUE`` (two writers upserting the same
  new key at the same instant) is retried for those records only, under the client's retry
  policy; a whole-request transient failure (503, concurrency limit, timeout) repeats the
  chunk's pending records;
- a permanent per-record error (``STRING_TOO_LONG``, a validation rule) comes back in
  :attr:`WriteResult.failed` for the dead-letter table while the rest of the chunk lands;
- an upsert that hits an existing record carrying a create-only field (``TaskSubtype``:
  ``INVALID_FIELD_FOR_INSERT_UPDATE``) is sent again at once without the fields named; the
  record already has them, so rewriting costs one extra call per chunk;
- records still failing transiently when the policy gives up come back in
  :attr:`WriteResult.deferred`: not written, to be picked up by the next pass.

Repeating any of this is harmless because every write is an upsert by the activity's key.
An error no record is to blame for (the key field hidden by field-level security, no access
to Task: :func:`~syncd.salesforce.errors.org_wide_refusal`), per record or for the request,
raises :class:`~syncd.errors.WritesRefused` instead of dead-lettering the lot.
:class:`~syncd.errors.BudgetExhausted` and :class:`~syncd.errors.AuthExpired` propagate too:
chunks already written are in Salesforce and a later pass upserts them again without
duplicates.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from syncd.errors import Permanent, Transient
from syncd.salesforce.client import SalesforceClient
from syncd.salesforce.errors import RETRYABLE_CODES, org_wide_refusal

log = logging.getLogger(__name__)

KEY_FIELD = "Syncd_Key__c"
CHUNK = 200
ACTIVITY_OBJECTS = ("Task", "Event")
#: Upserting an existing record with a create-only field set (Task.TaskSubtype) fails with this.
CREATE_ONLY_CODE = "INVALID_FIELD_FOR_INSERT_UPDATE"


@dataclass(frozen=True)
class Failure:
    """A record Salesforce rejected: its key, the error code, message and fields named."""

    key: str
    code: str
    message: str
    fields: tuple[str, ...] = ()

    def __iter__(self) -> Iterator[Any]:
        """Lets callers unpack ``key, code, message, fields = failure``."""
        return iter((self.key, self.code, self.message, self.fields))


@dataclass
class WriteResult:
    """The outcome of one upsert or create: what landed, what failed, and what it cost."""

    #: key -> (Salesforce id, created) for every record that landed.
    written: dict[str, tuple[str, bool]] = field(default_factory=dict)
    #: Permanent per-record failures, for dead-lettering.
    failed: list[Failure] = field(default_factory=list)
    #: Records still failing transiently after the retries: not written, try next pass.
    deferred: list[Failure] = field(default_factory=list)
    #: Salesforce API calls spent (logins excluded).
    calls: int = 0

    @property
    def created(self) -> int:
        """How many records were new."""
        return sum(1 for _, new in self.written.values() if new)


class _Pending(Transient):
    """Some records of a chunk failed with a retryable per-record error."""


def first_error(result: dict[str, Any]) -> tuple[str, str, tuple[str, ...]]:
    """The first error of a per-record result: code, message and the fields it names."""
    errors = result.get("errors") or [{}]
    err = errors[0]
    code = str(err.get("statusCode") or err.get("errorCode") or "UNKNOWN")
    return code, str(err.get("message", "")), tuple(err.get("fields") or ())


class ActivityWriter:
    """Upserts and creates records in chunks, retrying only what failed transiently."""

    def __init__(self, client: SalesforceClient, *, chunk_size: int = CHUNK) -> None:
        if not 1 <= chunk_size <= CHUNK:
            raise ValueError(f"chunk_size must be 1..{CHUNK}")
        self.client = client
        self.chunk_size = chunk_size

    def upsert(self, sobject: str, rows: Sequence[dict[str, Any]]) -> WriteResult:
        """Upsert Task or Event rows by ``Syncd_Key__c``."""
        if sobject not in ACTIVITY_OBJECTS:
            raise ValueError(f"activities are Task or Event, not {sobject!r}")
        return self.upsert_records(sobject, KEY_FIELD, rows)

    def upsert_records(
        self, sobject: str, ext_field: str, rows: Sequence[dict[str, Any]]
    ) -> WriteResult:
        """Upsert any sObject's rows by an external-id field; each row must carry it."""
        by_key: dict[str, dict[str, Any]] = {}
        for row in rows:
            key = row.get(ext_field)
            if not key:
                raise ValueError(f"every row needs {ext_field}")
            # Collections reject one external id twice in a request; the last version wins.
            by_key[str(key)] = row
        path = f"composite/sobjects/{sobject}/{ext_field}"
        return self._run(sobject, path, "PATCH", list(by_key.items()), created_default=False)

    def create(self, sobject: str, rows: Sequence[dict[str, Any]]) -> WriteResult:
        """Create rows that have no external id (EventRelation); keys are row positions."""
        keyed = [(str(i), dict(row)) for i, row in enumerate(rows)]
        return self._run(sobject, "composite/sobjects", "POST", keyed, created_default=True)

    def create_messages(
        self, rows: Sequence[dict[str, Any]], senders: Sequence[str | None]
    ) -> WriteResult:
        """Create EmailMessages by key, each with its sender's relation (:mod:`.email_writer`)."""
        from syncd.salesforce.email_writer import create_messages

        return create_messages(self.client, rows, senders, chunk_size=self.chunk_size)

    def _run(
        self,
        sobject: str,
        path: str,
        method: str,
        keyed: list[tuple[str, dict[str, Any]]],
        *,
        created_default: bool,
    ) -> WriteResult:
        result = WriteResult()
        before = self.client.calls_made
        try:
            for start in range(0, len(keyed), self.chunk_size):
                chunk = keyed[start : start + self.chunk_size]
                self._chunk(sobject, path, method, chunk, result, created_default)
        finally:
            result.calls = self.client.calls_made - before
        log.info(
            "salesforce write",
            extra={
                "sobject": sobject,
                "written": len(result.written),
                "failed": len(result.failed),
                "deferred": len(result.deferred),
                "calls": result.calls,
            },
        )
        return result

    def _chunk(
        self,
        sobject: str,
        path: str,
        method: str,
        chunk: list[tuple[str, dict[str, Any]]],
        result: WriteResult,
        created_default: bool,
    ) -> None:
        pending = list(chunk)
        last: dict[str, tuple[str, str]] = {}
        stripped: set[str] = set()
        upsert = method == "PATCH"

        def send(batch: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
            records = [{"attributes": {"type": sobject}, **row} for _, row in batch]
            answer = self.client.restful(
                path,
                method=method,
                json={"allOrNone": False, "records": records},
                retry_transient=False,
            )
            if not isinstance(answer, list) or len(answer) != len(batch):
                raise Transient(f"collection answer does not match the {len(batch)} records")
            return answer

        def attempt() -> None:
            nonlocal pending
            retry_again: list[tuple[str, dict[str, Any]]] = []
            to_send = pending
            progressed = False
            try:
                while to_send:
                    answer = send(to_send)
                    resend = []
                    for (key, row), res in zip(to_send, answer, strict=True):
                        if res.get("success"):
                            created = bool(res.get("created", created_default))
                            result.written[key] = (str(res.get("id")), created)
                            progressed = True
                            continue
                        code, message, fields = first_error(res)
                        refusal = org_wide_refusal(sobject, KEY_FIELD, code, message, fields)
                        if refusal is not None:
                            raise refusal  # no record is to blame: they all stay pending
                        if upsert and code == CREATE_ONLY_CODE and fields and key not in stripped:
                            # The record exists and these fields are create-only (TaskSubtype):
                            # it already has them, so update it without them, at once.
                            stripped.add(key)
                            resend.append((key, {k: v for k, v in row.items() if k not in fields}))
                        elif code in RETRYABLE_CODES and (upsert or code != "DUPLICATE_VALUE"):
                            retry_again.append((key, row))
                            last[key] = (code, message)
                        else:
                            result.failed.append(Failure(key, code, message, fields))
                            progressed = True
                    to_send = resend
            finally:
                # Whatever did not land or fail for good is still pending, even mid-exception.
                pending = retry_again + to_send
            if pending and not progressed:
                codes = sorted({last[k][0] for k, _ in pending if k in last})
                raise _Pending(f"{len(pending)} records to retry ({', '.join(codes)})")

        try:
            # A round that lands some records starts a fresh retry budget for the rest, so a
            # few locked rows cannot use up the attempts a 503 burst already spent; every round
            # shrinks ``pending`` or ends in the policy giving up.
            while pending:
                self.client.retrying(attempt)
        except Transient as exc:
            for key, _ in pending:
                code, message = last.get(key, (type(exc).__name__, str(exc)))
                result.deferred.append(Failure(key, code, message))
        except Permanent as exc:
            refusal = org_wide_refusal(sobject, KEY_FIELD, exc.code or "", str(exc), exc.fields)
            if refusal is not None:
                raise refusal from None
            # The whole request was refused (malformed body): every pending record carries
            # that error to the dead-letter table.
            for key, _ in pending:
                result.failed.append(Failure(key, exc.code or "UNKNOWN", str(exc), exc.fields))

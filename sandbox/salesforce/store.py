"""The sandbox org's records: tables indexed by id and by unique/external-id fields.

Every write goes through :meth:`Store.create` / :meth:`Store.update` / :meth:`Store.delete`,
which validate like the API (see :mod:`sandbox.salesforce.validate`), apply Salesforce's own
side effects (:mod:`sandbox.salesforce.effects`) and keep an undo log while a transaction is open,
so ``allOrNone`` requests can roll back. One re-entrant lock serialises writers; it is also what
makes two concurrent upserts of one external id leave one record.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sandbox.salesforce import effects, email_rules, permissions, validate
from sandbox.salesforce.errors import ApiError, RecordError
from sandbox.salesforce.objects import org_schema
from sandbox.salesforce.schema import VIEWER, Field, Schema, SObjectType
from sandbox.salesforce.validate import unique_key
from sandbox.salesforce.values import format_datetime, make_id, normalize_id

Clock = Callable[[], datetime]


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Table:
    """The records of one object, by id, with an index per unique or external-id field."""

    obj: SObjectType
    rows: dict[str, dict[str, Any]] = field(default_factory=dict)
    indexes: dict[str, dict[Any, str]] = field(default_factory=dict)

    def indexed_fields(self) -> list[Field]:
        """Return the fields that carry a value index."""
        return self.obj.indexed

    def index_for(self, f: Field) -> dict[Any, str]:
        """Return (creating on first use) the index of field ``f``."""
        index = self.indexes.get(f.name)
        if index is None:
            index = {}
            for rid, row in self.rows.items():
                value = row.get(f.name)
                if value is not None and not row.get("IsDeleted"):
                    index[unique_key(f, value)] = rid
            self.indexes[f.name] = index
        return index


class Store:
    """All tables of one org plus the id counter, the clock and the undo log."""

    def __init__(self, schema: Schema | None = None, *, clock: Clock | None = None) -> None:
        self.schema = schema or org_schema()
        self.clock: Clock = clock or _utcnow
        self.lock = threading.RLock()
        self.tables: dict[str, Table] = {
            name: Table(obj) for name, obj in self.schema.objects.items()
        }
        self._counter = itertools.count(1)
        self._undo: list[Callable[[], None]] | None = None
        self.default_user_id: str | None = None
        # Seeding turns this off when it loads OpportunityHistory rows of its own.
        self.derive_history = True
        self._last_now: tuple[datetime | None, str] = (None, "")
        self.stage_cache: dict[str, dict[str, Any]] | None = None
        #: Org settings (:mod:`sandbox.salesforce.activity_rules`): Events over 24 hours.
        self.multiday_events = False
        #: True while a seed loads: what a real org exported is not validated again.
        self.loading = False

    # -- reading -------------------------------------------------------------------------------

    def table(self, sobject: str) -> Table:
        """Return the table of ``sobject`` (any case) or raise NOT_FOUND like the REST API."""
        obj = self.schema.get(sobject)
        if obj is None:
            raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
        return self.tables[obj.name]

    def get(self, sobject: str, record_id: str) -> dict[str, Any] | None:
        """Return the stored record (not a copy) or None."""
        rid = normalize_id(record_id)
        return self.table(sobject).rows.get(rid) if rid else None

    def find_by_id(self, record_id: str) -> tuple[str, dict[str, Any]] | None:
        """Return ``(object name, record)`` for any id, using its key prefix."""
        rid = normalize_id(record_id)
        obj = self.schema.by_prefix.get(rid[:3]) if rid else None
        if obj is None or rid is None:
            return None
        row = self.tables[obj.name].rows.get(rid)
        return (obj.name, row) if row is not None else None

    def find_by_key(self, sobject: str, field_name: str, value: Any) -> dict[str, Any] | None:
        """Return the live record whose unique field equals ``value``, or None."""
        table = self.table(sobject)
        f = table.obj.field(field_name)
        if f is None:
            return None
        rid = table.index_for(f).get(unique_key(f, value))
        return table.rows.get(rid) if rid else None

    def now(self) -> str:
        """Return the current time in Salesforce's datetime form."""
        current = self.clock()
        if current != self._last_now[0]:
            # Formatting is the hot spot of bulk inserts; the clock rarely moves between them.
            self._last_now = (current, format_datetime(current))
        return self._last_now[1]

    # -- transactions --------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[Callable[[], None]]:
        """Open an undo log; yield a ``rollback`` callable; nest by joining the outer log."""
        with self.lock:
            if self._undo is not None:
                outer = self._undo
                mark = len(outer)

                def rollback_nested() -> None:
                    while len(outer) > mark:
                        outer.pop()()

                yield rollback_nested
                return
            self._undo = []
            log = self._undo

            def rollback() -> None:
                while log:
                    log.pop()()

            try:
                yield rollback
            except BaseException:
                rollback()
                raise
            finally:
                self._undo = None

    def put(
        self, table: Table, rid: str, new: dict[str, Any] | None, *, undoing: bool = False
    ) -> None:
        """Replace a row without validation (None removes it), keeping indexes and undo log.

        Only for rows Salesforce maintains itself (history, roll-ups) and for rollback.
        """
        old = table.rows.get(rid)
        for f in table.indexed_fields():
            index = table.index_for(f)
            if old is not None and old.get(f.name) is not None and not old.get("IsDeleted"):
                index.pop(unique_key(f, old[f.name]), None)
            if new is not None and new.get(f.name) is not None and not new.get("IsDeleted"):
                index[unique_key(f, new[f.name])] = rid
        if table.obj.name == "OpportunityStage":
            self.stage_cache = None  # effects.stages() rebuilds it on next use
        if new is None:
            table.rows.pop(rid, None)
        else:
            table.rows[rid] = new
        if self._undo is not None and not undoing:
            self._undo.append(lambda: self.put(table, rid, old, undoing=True))

    # -- writing -------------------------------------------------------------------------------

    def new_id(self, obj: SObjectType) -> str:
        """Return a fresh id with the object's key prefix, skipping ids seeded from CSVs."""
        rows = self.tables[obj.name].rows
        while True:
            rid = make_id(obj.key_prefix, next(self._counter))
            if rid not in rows:
                return rid

    def create(
        self, sobject: str, data: dict[str, Any], *, system: bool = False, lenient: bool = False
    ) -> dict[str, Any]:
        """Validate and insert one record; return it.

        ``system`` allows audit fields, ids and Salesforce-maintained objects (seeding);
        ``lenient`` also accepts CSV strings for every type and skips reference existence checks.
        """
        with self.lock:
            table = self.table(sobject)
            obj = table.obj
            if obj.read_only and not system:
                raise RecordError(
                    "INVALID_TYPE_FOR_OPERATION", f"entity type {obj.name} does not support insert"
                )
            values = validate.prepare(
                self, obj, data, creating=True, system=system, lenient=lenient
            )
            rid = values.pop("Id", None) if system else None
            if rid is not None and rid[:3] != obj.key_prefix:
                raise RecordError(
                    "MALFORMED_ID", f"{obj.name} ID: id value of incorrect type: {rid}", ["Id"]
                )
            rid = rid or self.new_id(obj)
            if rid in table.rows:
                raise RecordError("DUPLICATE_VALUE", f"duplicate value found: Id {rid}", ["Id"])
            now = self.now()
            row: dict[str, Any] = {
                "Id": rid,
                "IsDeleted": False,
                "CreatedDate": now,
                "LastModifiedDate": now,
                "SystemModstamp": now,
                "CreatedById": self.acting_user_id(system),
                "LastModifiedById": self.acting_user_id(system),
            }
            row.update(values)
            effects.before_write(self, obj, row, None)
            validate.check_required(obj, row)
            if obj.name in permissions.PERMISSION_OBJECTS:
                permissions.before_write(self, obj, row)
            validate.check_unique(self, table, row, None)
            self.put(table, rid, row)
            effects.after_write(self, obj, row, None, system=system)
            return row

    def acting_user_id(self, system: bool = False) -> str | None:
        """Who a write is stamped with (CreatedById, LastModifiedById).

        The API request's session user, as Salesforce stamps the running user (system fields:
        https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/system_fields.htm);
        the org's admin for seeding and system writes.
        """
        viewer = None if system else VIEWER.get()
        return getattr(viewer, "user_id", None) or self.default_user_id

    def update(
        self, sobject: str, record_id: str, data: dict[str, Any], *, system: bool = False
    ) -> dict[str, Any]:
        """Validate and apply changes to one record; return it."""
        with self.lock:
            table = self.table(sobject)
            obj = table.obj
            if obj.read_only and not system:
                raise RecordError(
                    "INVALID_TYPE_FOR_OPERATION", f"entity type {obj.name} does not support update"
                )
            rid = normalize_id(record_id)
            old = table.rows.get(rid) if rid else None
            if rid is None or old is None or old.get("IsDeleted"):
                if rid is None or rid[:3] != obj.key_prefix:
                    raise RecordError(
                        "MALFORMED_ID",
                        f"{obj.name} ID: id value of incorrect type: {record_id}",
                        ["Id"],
                    )
                raise RecordError("ENTITY_IS_DELETED", "entity is deleted", [])
            values = validate.prepare(self, obj, data, creating=False, system=system, lenient=False)
            values.pop("Id", None)
            if obj.name == "EmailMessage" and not system:
                email_rules.check_update(obj, old, values)
            row = {**old, **values}
            now = self.now()
            if not (system and "LastModifiedDate" in values):
                row["LastModifiedDate"] = now
            if not (system and "SystemModstamp" in values):
                row["SystemModstamp"] = now
            if not (system and "LastModifiedById" in values):
                row["LastModifiedById"] = self.acting_user_id(system)
            effects.before_write(self, obj, row, old)
            validate.check_required(obj, row)
            if obj.name in permissions.PERMISSION_OBJECTS:
                permissions.before_write(self, obj, row)
            validate.check_unique(self, table, row, rid)
            self.put(table, rid, row)
            effects.after_write(self, obj, row, old, system=system)
            return row

    def delete(self, sobject: str | None, record_id: str) -> str:
        """Move a record to the recycle bin (IsDeleted, still visible to queryAll)."""
        with self.lock:
            rid = normalize_id(record_id)
            found = self.find_by_id(record_id) if rid else None
            if rid is None or found is None:
                raise RecordError(
                    "MALFORMED_ID" if rid is None else "INVALID_CROSS_REFERENCE_KEY",
                    f"invalid cross reference id: {record_id}",
                )
            name, old = found
            if sobject is not None and name.lower() != sobject.lower():
                raise RecordError("MALFORMED_ID", f"malformed id {record_id}")
            if old.get("IsDeleted"):
                raise RecordError("ENTITY_IS_DELETED", "entity is deleted")
            table = self.tables[name]
            if table.obj.read_only:
                raise RecordError(
                    "INVALID_TYPE_FOR_OPERATION", f"entity type {name} does not support delete"
                )
            self.put(table, old["Id"], {**old, "IsDeleted": True, "SystemModstamp": self.now()})
            return old["Id"]

    def system_set(self, sobject: str, record_id: str, values: dict[str, Any]) -> None:
        """Change fields Salesforce maintains itself (no validation, no modstamp, undoable)."""
        table = self.tables[sobject]
        old = table.rows.get(record_id)
        if old is not None and any(old.get(k) != v for k, v in values.items()):
            self.put(table, record_id, {**old, **values})

"""REST handlers for records: sObject CRUD and upsert, and sObject Collections.

Single-record calls fail the request (400 with the error array); collection calls answer 200 with
one result per record, roll everything back when ``allOrNone`` is set and any record fails, and
refuse more than 200 records. A ``lock_row`` fault fails chosen records with UNABLE_TO_LOCK_ROW.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sandbox.salesforce.errors import ApiError, RecordError
from sandbox.salesforce.faults import Fault, locked_positions
from sandbox.salesforce.schema import SObjectType
from sandbox.salesforce.store import Store
from sandbox.salesforce.values import normalize_id

Reply = tuple[int, Any]
COLLECTION_LIMIT = 200
_ROLLED_BACK = RecordError(
    "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "Record rolled back because not all records were valid and the request was using AllOrNone "
    "header",
)


def record_json(
    obj_name: str, row: dict[str, Any], base: str, fields: list[str] | None = None
) -> dict[str, Any]:
    """Return a record as GET /sobjects/{S}/{id} shows it."""
    out: dict[str, Any] = {
        "attributes": {"type": obj_name, "url": f"{base}/sobjects/{obj_name}/{row['Id']}"}
    }
    return out | {name: row.get(name) for name in (fields or [])}


class RecordsApi:
    """Record endpoints over one store."""

    def __init__(self, store: Store, base: Callable[[], str]) -> None:
        self.store = store
        self.base = base

    def _obj(self, sobject: str) -> SObjectType:
        return self.store.table(sobject).obj

    def _ext_field(self, obj: SObjectType, name: str) -> str:
        f = obj.field(name)
        if f is None:
            raise ApiError(
                404,
                "NOT_FOUND",
                f"Provided external ID field does not exist or is not accessible: {name}",
            )
        if not (f.external_id or f.name == "Id"):
            raise ApiError(
                400,
                "INVALID_FIELD",
                f"Field {f.name} is not an External ID or Id field",
                [f.name],
            )
        return f.name

    # -- single records ------------------------------------------------------------------------

    def create(self, sobject: str, body: Any) -> Reply:
        """POST /sobjects/{S}."""
        obj = self._obj(sobject)
        if not isinstance(body, dict):
            raise ApiError(400, "JSON_PARSER_ERROR", "The request body must be a JSON object")
        try:
            row = self.store.create(obj.name, body)
        except RecordError as err:
            raise ApiError.from_record(err) from None
        return 201, {"id": row["Id"], "success": True, "errors": []}

    def read(self, sobject: str, record_id: str, fields: str | None) -> Reply:
        """GET /sobjects/{S}/{id}."""
        obj = self._obj(sobject)
        row = self.store.get(obj.name, record_id)
        if row is None or row.get("IsDeleted"):
            raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
        names = [f.name for f in obj.visible_fields()]
        if fields:
            names = []
            for name in fields.split(","):
                f = obj.field(name.strip())
                if f is None:
                    raise ApiError(
                        400,
                        "INVALID_FIELD",
                        f"No such column '{name.strip()}' on sobject of type {obj.name}",
                    )
                names.append(f.name)
        return 200, record_json(obj.name, row, self.base(), names)

    def update(self, sobject: str, record_id: str, body: Any) -> Reply:
        """PATCH /sobjects/{S}/{id}."""
        obj = self._obj(sobject)
        if not isinstance(body, dict):
            raise ApiError(400, "JSON_PARSER_ERROR", "The request body must be a JSON object")
        if self.store.get(obj.name, record_id) is None:
            raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
        try:
            self.store.update(obj.name, record_id, body)
        except RecordError as err:
            raise ApiError.from_record(err) from None
        return 204, None

    def delete(self, sobject: str, record_id: str) -> Reply:
        """DELETE /sobjects/{S}/{id}."""
        obj = self._obj(sobject)
        row = self.store.get(obj.name, record_id)
        if row is None:
            raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
        try:
            self.store.delete(obj.name, record_id)
        except RecordError as err:
            status = 404 if err.code == "ENTITY_IS_DELETED" else 400
            raise ApiError.from_record(err, status) from None
        return 204, None

    def by_external_id(
        self, method: str, sobject: str, field: str, value: str, body: Any, fields: str | None
    ) -> Reply:
        """GET/PATCH/DELETE /sobjects/{S}/{ExternalIdField}/{value} (PATCH is an upsert)."""
        obj = self._obj(sobject)
        name = self._ext_field(obj, field)
        if name == "Id":
            row = self.store.get(obj.name, value)
        else:
            row = self.store.find_by_key(obj.name, name, value)
        if method == "GET":
            if row is None:
                raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
            return self.read(obj.name, row["Id"], fields)
        if method == "DELETE":
            if row is None:
                raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
            return self.delete(obj.name, row["Id"])
        if not isinstance(body, dict):
            raise ApiError(400, "JSON_PARSER_ERROR", "The request body must be a JSON object")
        try:
            with self.store.lock:
                if row is None:
                    created = self.store.create(obj.name, {**body, name: value})
                    return 201, {
                        "id": created["Id"],
                        "success": True,
                        "errors": [],
                        "created": True,
                    }
                self.store.update(obj.name, row["Id"], body)
                return 200, {"id": row["Id"], "success": True, "errors": [], "created": False}
        except RecordError as err:
            raise ApiError.from_record(err) from None

    # -- collections ---------------------------------------------------------------------------

    def _records(self, body: Any) -> tuple[list[dict[str, Any]], bool]:
        if not isinstance(body, dict) or not isinstance(body.get("records"), list):
            raise ApiError(400, "JSON_PARSER_ERROR", "Expected a JSON object with 'records'")
        records = body["records"]
        if len(records) > COLLECTION_LIMIT:
            raise ApiError(
                400,
                "EXCEEDED_ID_LIMIT",
                "record limit reached. cannot submit more than 200 records into this call",
            )
        if not all(isinstance(r, dict) for r in records):
            raise ApiError(400, "JSON_PARSER_ERROR", "Each record must be a JSON object")
        return records, bool(body.get("allOrNone", False))

    def _run(
        self,
        ops: list[Callable[[], dict[str, Any]]],
        all_or_none: bool,
        locked: set[int],
    ) -> list[dict[str, Any]]:
        """Apply ``ops`` one by one; each returns its success result or raises RecordError."""
        results: list[dict[str, Any]] = []
        with self.store.transaction() as rollback:
            for i, op in enumerate(ops):
                if i in locked:
                    results.append(
                        _failure(
                            RecordError(
                                "UNABLE_TO_LOCK_ROW",
                                "unable to obtain exclusive access to this record or 1 records",
                            )
                        )
                    )
                    continue
                with self.store.transaction() as undo_one:
                    try:
                        results.append(op())
                    except RecordError as err:
                        undo_one()
                        results.append(_failure(err))
            if all_or_none and not all(r["success"] for r in results):
                rollback()
                results = [r if not r["success"] else _failure(_ROLLED_BACK) for r in results]
        return results

    def _type_of(self, record: dict[str, Any]) -> str:
        attrs = record.get("attributes")
        if not isinstance(attrs, dict) or not attrs.get("type"):
            raise RecordError("INVALID_TYPE", "Must send a concrete entity type.")
        obj = self.store.schema.get(str(attrs["type"]))
        if obj is None:
            # An object the org does not have (EmailMessage without Enhanced Email).
            raise RecordError("INVALID_TYPE", f"sObject type '{attrs['type']}' is not supported.")
        return obj.name

    def collection_create(self, body: Any, lock: Fault | None) -> Reply:
        """POST /composite/sobjects."""
        records, all_or_none = self._records(body)

        def op(record: dict[str, Any]) -> Callable[[], dict[str, Any]]:
            def run() -> dict[str, Any]:
                if record.get("Id"):
                    raise RecordError(
                        "INVALID_FIELD", "cannot specify Id in an insert call", ["Id"]
                    )
                row = self.store.create(self._type_of(record), record)
                return {"id": row["Id"], "success": True, "errors": []}

            return run

        locked = locked_positions(lock, [None] * len(records)) if lock else set()
        return 200, self._run([op(r) for r in records], all_or_none, locked)

    def collection_update(self, body: Any, lock: Fault | None) -> Reply:
        """PATCH /composite/sobjects."""
        records, all_or_none = self._records(body)

        def op(record: dict[str, Any]) -> Callable[[], dict[str, Any]]:
            def run() -> dict[str, Any]:
                rid = record.get("Id")
                if not rid:
                    raise RecordError("MISSING_ARGUMENT", "Id not specified in an update call")
                sobject = self._type_of(record)
                if self.store.get(sobject, str(rid)) is None:
                    raise RecordError(
                        "INVALID_CROSS_REFERENCE_KEY", f"invalid cross reference id: {rid}"
                    )
                row = self.store.update(sobject, str(rid), record)
                return {"id": row["Id"], "success": True, "errors": []}

            return run

        keys = [r.get("Id") for r in records]
        locked = locked_positions(lock, keys) if lock else set()
        return 200, self._run([op(r) for r in records], all_or_none, locked)

    def collection_upsert(self, sobject: str, field: str, body: Any, lock: Fault | None) -> Reply:
        """PATCH /composite/sobjects/{S}/{ExternalIdField}."""
        obj = self._obj(sobject)
        name = self._ext_field(obj, field)
        records, all_or_none = self._records(body)

        def op(record: dict[str, Any]) -> Callable[[], dict[str, Any]]:
            def run() -> dict[str, Any]:
                if self._type_of(record) != obj.name:
                    raise RecordError(
                        "INVALID_FIELD", "Record type does not match the request's sObject type"
                    )
                value = _get_ci(record, name)
                if value in (None, ""):
                    raise RecordError("MISSING_ARGUMENT", f"{name} not specified", [name])
                existing = (
                    self.store.get(obj.name, str(value))
                    if name == "Id"
                    else self.store.find_by_key(obj.name, name, value)
                )
                if existing is None:
                    if name == "Id":
                        raise RecordError("NOT_FOUND", f"Id not found: {value}")
                    row = self.store.create(obj.name, record)
                    return {"id": row["Id"], "success": True, "errors": [], "created": True}
                self.store.update(obj.name, existing["Id"], record)
                return {"id": existing["Id"], "success": True, "errors": [], "created": False}

            return run

        keys = [_get_ci(r, name) for r in records]
        locked = locked_positions(lock, keys) if lock else set()
        return 200, self._run([op(r) for r in records], all_or_none, locked)

    def collection_delete(self, ids: str, all_or_none: bool) -> Reply:
        """DELETE /composite/sobjects?ids=…."""
        id_list = [i for i in ids.split(",") if i]
        if len(id_list) > COLLECTION_LIMIT:
            raise ApiError(
                400,
                "EXCEEDED_ID_LIMIT",
                "record limit reached. cannot submit more than 200 records into this call",
            )

        def op(rid: str) -> Callable[[], dict[str, Any]]:
            def run() -> dict[str, Any]:
                return {"id": self.store.delete(None, rid), "success": True, "errors": []}

            return run

        return 200, self._run([op(i) for i in id_list], all_or_none, set())

    def collection_read(self, sobject: str, ids: str, fields: str) -> Reply:
        """GET /composite/sobjects/{S}?ids=…&fields=…."""
        obj = self._obj(sobject)
        out: list[Any] = []
        for rid in [i for i in ids.split(",") if i]:
            row = self.store.get(obj.name, rid) if normalize_id(rid) else None
            out.append(self.read(obj.name, rid, fields)[1] if row else None)
        return 200, out


def _get_ci(record: dict[str, Any], name: str) -> Any:
    """Return ``record[name]`` matching the key case-insensitively, as the API does."""
    for key, value in record.items():
        if key.lower() == name.lower():
            return value
    return None


def _failure(err: RecordError) -> dict[str, Any]:
    return {"id": None, "success": False, "errors": [err.record_body()]}

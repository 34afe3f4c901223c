"""WHERE clauses compiled to predicates, and index look-ups for equality on indexed fields.

Literals are converted once to the stored form of the field they are compared with (ids to
18 characters, strings folded to lower case since SOQL compares text case-insensitively, date
literals to ranges on the sandbox clock); a type mismatch is a MALFORMED_QUERY as in Salesforce.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sandbox.salesforce import soql
from sandbox.salesforce.dates import date_range
from sandbox.salesforce.errors import ApiError
from sandbox.salesforce.schema import Field, SObjectType
from sandbox.salesforce.store import Store
from sandbox.salesforce.validate import unique_key
from sandbox.salesforce.values import format_datetime, normalize_id, parse_datetime

if TYPE_CHECKING:
    from sandbox.salesforce.query import Resolved

Row = dict[str, Any]
STRINGY = {
    "string",
    "textarea",
    "picklist",
    "combobox",
    "email",
    "phone",
    "url",
    "anyType",
    "multipicklist",
}
NUMERIC = {"int", "double", "currency", "percent"}


class Filters:
    """Compiles WHERE expressions against one store, resolving paths with ``resolve``."""

    def __init__(
        self,
        store: Store,
        resolve: Callable[[SObjectType, str, str], Resolved],
        semi_join: Callable[[soql.Query, str], set[Any]],
    ) -> None:
        self.store = store
        self.resolve = resolve
        self.semi_join = semi_join

    def compile(self, obj: SObjectType, expr: Any, text: str) -> Callable[[Row], bool]:
        """Compile a WHERE expression into a predicate."""
        if isinstance(expr, soql.BoolOp):
            parts = [self.compile(obj, a, text) for a in expr.args]
            if expr.op == "and":
                return lambda row: all(p(row) for p in parts)
            if expr.op == "or":
                return lambda row: any(p(row) for p in parts)
            inner = parts[0]
            return lambda row: not inner(row)
        return self._cond(obj, expr, text)

    def _literal(self, f: Field, lit: soql.Literal, text: str) -> Any:
        """Convert a literal to the stored form of ``f`` (a (start, end) pair for date literals)."""
        kind = f.type
        if lit.kind == "null":
            return None
        if kind in ("id", "reference"):
            if lit.kind != "string":
                raise _type_error(f, "id")
            rid = normalize_id(lit.value)
            if rid is None and kind == "id":
                raise ApiError(
                    400, "INVALID_QUERY_FILTER_OPERATOR", f"\n{text}\ninvalid ID field: {lit.value}"
                )
            return rid or lit.value
        if kind in STRINGY:
            if lit.kind != "string":
                raise _type_error(f, "string")
            return lit.value.lower()
        if kind in NUMERIC:
            if lit.kind != "number":
                raise _type_error(f, "number")
            return lit.value
        if kind == "boolean":
            if lit.kind != "boolean":
                raise _type_error(f, "boolean")
            return lit.value
        if kind in ("date", "datetime"):
            if lit.kind == "dateliteral":
                start, end = date_range(lit.value, lit.n, self.store.clock().date())
                if kind == "date":
                    return (start.isoformat(), end.isoformat())
                return (
                    f"{start.isoformat()}T00:00:00.000+0000",
                    f"{end.isoformat()}T00:00:00.000+0000",
                )
            if kind == "date" and lit.kind == "date":
                return lit.value
            if kind == "datetime" and lit.kind == "datetime":
                parsed = parse_datetime(lit.value)
                assert parsed is not None
                return format_datetime(parsed)
            raise _type_error(f, kind)
        return lit.value

    def _cond(self, obj: SObjectType, cond: soql.Cond, text: str) -> Callable[[Row], bool]:
        resolved = self.resolve(obj, cond.path, text)
        get, f, op = resolved.getter, resolved.field, cond.op
        fold = f.type in STRINGY

        def value(row: Row) -> Any:
            v = get(row)
            return v.lower() if fold and isinstance(v, str) else v

        if f.type == "textarea" and f.length > 255:
            raise ApiError(
                400,
                "INVALID_FIELD",
                f"\n{text}\nERROR at Row:1\nfield '{f.name}' can not be filtered in query call",
            )
        if op in ("IN", "NOT IN"):
            if isinstance(cond.value, soql.Query):
                found = self.semi_join(cond.value, text)
                wanted = {v.lower() if fold and isinstance(v, str) else v for v in found}
            else:
                wanted = {self._literal(f, lit, text) for lit in cond.value}
            if op == "IN":
                return lambda row: value(row) in wanted
            return lambda row: value(row) not in wanted
        assert isinstance(cond.value, soql.Literal)
        if op in ("LIKE", "NOT LIKE"):
            pattern = _like(cond.value.value)

            def hit(row: Row) -> bool:
                v = get(row)
                return v is not None and bool(pattern.match(str(v)))

            return hit if op == "LIKE" else (lambda row: not hit(row))
        target = self._literal(f, cond.value, text)
        if isinstance(target, tuple):
            return _range_predicate(value, op, target)
        if target is None:
            if op == "=":
                return lambda row: value(row) is None
            if op == "!=":
                return lambda row: value(row) is not None
            return lambda row: False
        compare: dict[str, Callable[[Any], bool]] = {
            "=": lambda v: v == target,
            "!=": lambda v: v != target,
            "<": lambda v: v is not None and v < target,
            ">": lambda v: v is not None and v > target,
            "<=": lambda v: v is not None and v <= target,
            ">=": lambda v: v is not None and v >= target,
        }
        test = compare[op]
        return lambda row: test(value(row))

    def candidates(self, obj: SObjectType, where: Any, text: str) -> list[Row] | None:
        """Return rows picked by an index for an equality on Id or a unique field, if any."""
        conds = where.args if isinstance(where, soql.BoolOp) and where.op == "and" else [where]
        table = self.store.tables[obj.name]
        for cond in conds:
            if not isinstance(cond, soql.Cond) or cond.op not in ("=", "IN"):
                continue
            f = obj.field(cond.path)
            if f is None or not (f.type == "id" or f.external_id or f.unique):
                continue
            if isinstance(cond.value, soql.Query):
                continue
            literals = cond.value if isinstance(cond.value, list) else [cond.value]
            keys = [self._literal(f, lit, text) for lit in literals]
            if f.type == "id":
                found = [table.rows.get(k) for k in keys if isinstance(k, str)]
            else:
                index = table.index_for(f)
                raw = [lit.value for lit in literals]
                found = [table.rows.get(index.get(unique_key(f, v), "")) for v in raw]
            return [row for row in found if row is not None]
        return None


def _type_error(f: Field, kind: str) -> ApiError:
    quoted = "should not be enclosed in quotes" if kind != "string" else "must be quoted"
    return ApiError(
        400,
        "INVALID_QUERY_FILTER_OPERATOR" if kind == "id" else "MALFORMED_QUERY",
        f"value of filter criterion for field '{f.name}' must be of type {kind} and {quoted}",
    )


def _like(pattern: str) -> re.Pattern[str]:
    """Translate a SOQL LIKE pattern (% and _, backslash escapes) to a case-insensitive regex."""
    out, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
        i += 1
    return re.compile("".join(out) + r"\Z", re.IGNORECASE | re.DOTALL)


def _range_predicate(
    value: Callable[[Row], Any], op: str, bounds: tuple[str, str]
) -> Callable[[Row], bool]:
    start, end = bounds
    tests: dict[str, Callable[[Any], bool]] = {
        "=": lambda v: v is not None and start <= v < end,
        "!=": lambda v: v is None or not (start <= v < end),
        "<": lambda v: v is not None and v < start,
        "<=": lambda v: v is not None and v < end,
        ">": lambda v: v is not None and v >= end,
        ">=": lambda v: v is not None and v >= start,
    }
    if op not in tests:
        raise soql.malformed(f"operator {op} cannot be used with a date literal")
    test = tests[op]
    return lambda row: test(value(row))

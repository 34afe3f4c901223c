"""Evaluation of parsed SOQL against the store: field resolution, filters, order, projection.

Paths are resolved against the schema once per query (unknown ones give INVALID_FIELD with
Salesforce's message), WHERE compiles to closures (:mod:`sandbox.salesforce.filters`), and
equality on Id or on an indexed external-id/unique field reads the index instead of scanning, so
a query over 100,000 rows stays well under a second. Records are rendered page by page, nested
the way Salesforce nests parent relationship fields and child-relationship subqueries.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sandbox.salesforce import soql
from sandbox.salesforce.errors import ApiError
from sandbox.salesforce.filters import Filters
from sandbox.salesforce.schema import CHILD_RELATIONSHIPS, Field, SObjectType
from sandbox.salesforce.store import Store

Row = dict[str, Any]
MAX_OFFSET = 2000
Getter = Callable[[Row], Any]


def invalid_field(name: str, obj: str, text: str) -> ApiError:
    """Return Salesforce's INVALID_FIELD error for an unknown column in a query."""
    column = max(text.find(name.split(".")[0]), 0) + 1
    return ApiError(
        400,
        "INVALID_FIELD",
        f"\n{text}\n{' ' * (column - 1)}^\nERROR at Row:1:Column:{column}\n"
        f"No such column '{name.split('.')[-1]}' on entity '{obj}'. If you are attempting to use "
        "a custom field, be sure to append the '__c' after the custom field name. Please "
        "reference your WSDL or the describe call for the appropriate names.",
    )


@dataclass
class Resolved:
    """A resolved field path: how to read it and the field it ends on."""

    getter: Getter
    field: Field
    direct: bool  # a field of the queried object itself (no relationship hop)


@dataclass
class Node:
    """The projection tree: leaf fields and parent relationships to nest."""

    leaves: list[str] = field(default_factory=list)
    rels: dict[str, tuple[str, Node]] = field(default_factory=dict)  # rel name -> (ref field, node)
    polymorphic: bool = False  # reached through Who/What: Type means the record's object


@dataclass
class Result:
    """The rows a query selected and how to render one of them."""

    rows: list[Any]
    render: Callable[[Any], dict[str, Any]]
    total: int


class Executor:
    """Runs SOQL against one store (the org's or the Tooling API's)."""

    def __init__(self, store: Store, base_url: Callable[[], str]) -> None:
        self.store = store
        self.base_url = base_url
        self.filters = Filters(store, self.resolve, self._semi_join)

    # -- resolution ----------------------------------------------------------------------------

    def resolve(self, obj: SObjectType, path: str, text: str) -> Resolved:
        """Resolve a dotted path from ``obj``; raise INVALID_FIELD when it does not exist."""
        parts = path.split(".")
        if (
            len(parts) > 1
            and parts[0].lower() == obj.name.lower()
            and not obj.relationships.get(parts[0].lower())
        ):
            parts = parts[1:]
        return self._resolve(obj, parts, path, text)

    def _resolve(self, obj: SObjectType, parts: list[str], path: str, text: str) -> Resolved:
        if len(parts) == 1:
            f = obj.field(parts[0])
            if f is None:
                raise invalid_field(path, obj.name, text)
            name = f.name
            return Resolved(lambda row: row.get(name), f, True)
        ref = obj.relationships.get(parts[0].lower())
        if ref is None:
            raise ApiError(
                400,
                "INVALID_FIELD",
                f"\n{text}\nERROR at Row:1\nDidn't understand relationship '{parts[0]}' in field "
                f"path. If you are attempting to use a custom relationship, be sure to append "
                f"the '__r' after the custom relationship name.",
            )
        find = self.store.find_by_id
        if len(ref.reference_to) > 1 and len(parts) == 2 and parts[1].lower() == "type":
            # On a polymorphic relationship (Who, What) Type is the related record's object.
            ref_field = ref.name

            def type_getter(row: Row) -> Any:
                rid = row.get(ref_field)
                found = find(rid) if rid else None
                return found[0] if found else None

            return Resolved(type_getter, Field("Type", "string", 255), False)
        per_target: dict[str, Resolved] = {}
        for target_name in ref.reference_to:
            target = self.store.schema.get(target_name)
            if target is None:
                continue
            try:
                per_target[target.name] = self._resolve(target, parts[1:], path, text)
            except ApiError:
                continue
        if not per_target:
            raise invalid_field(path, ref.reference_to[0], text)
        ref_name = ref.name

        def getter(row: Row) -> Any:
            rid = row.get(ref_name)
            found = find(rid) if rid else None
            if found is None:
                return None
            inner = per_target.get(found[0])
            return inner.getter(found[1]) if inner else None

        return Resolved(getter, next(iter(per_target.values())).field, False)

    # -- running -------------------------------------------------------------------------------

    def run(self, text: str, *, include_deleted: bool = False) -> Result:
        """Parse and evaluate ``text``."""
        return self.evaluate(soql.parse(text), text, include_deleted=include_deleted)

    def _semi_join(self, sub: soql.Query, text: str) -> set[Any]:
        """Return the values of the one field a ``WHERE x IN (SELECT y FROM …)`` selects."""
        if len(sub.items) != 1 or sub.items[0].path is None or sub.items[0].func:
            raise soql.malformed("a semi-join subquery must select exactly one field")
        result = self.evaluate(sub, text, include_deleted=False)
        obj = self.store.schema.get(sub.sobject)
        assert obj is not None
        get = self.resolve(obj, sub.items[0].path, text).getter
        return {v for v in (get(row) for row in result.rows) if v is not None}

    def evaluate(self, query: soql.Query, text: str, *, include_deleted: bool) -> Result:
        """Evaluate a parsed query; ``text`` is the whole query, for error messages."""
        if query.offset is not None and query.offset > MAX_OFFSET:
            raise ApiError(
                400,
                "NUMBER_OUTSIDE_VALID_RANGE",
                f"Maximum SOQL offset allowed is {MAX_OFFSET}",
            )
        obj = self.store.schema.get(query.sobject)
        if obj is None:
            raise ApiError(
                400,
                "INVALID_TYPE",
                f"\n{text}\nERROR at Row:1\nsObject type '{query.sobject}' is not supported. If "
                "you are attempting to use a custom object, be sure to append the '__c' after "
                "the entity name. Please reference your WSDL or the describe call for the "
                "appropriate names.",
            )
        children = [
            self._children(obj, item.subquery, include_deleted, text)
            for item in query.items
            if item.subquery is not None
        ]
        with self.store.lock:
            predicate = (
                self.filters.compile(obj, query.where, text) if query.where is not None else None
            )
            rows = (
                self.filters.candidates(obj, query.where, text) if query.where is not None else None
            )
            source = rows if rows is not None else list(self.store.tables[obj.name].rows.values())
            selected = [
                row
                for row in source
                if (include_deleted or not row.get("IsDeleted"))
                and (predicate is None or predicate(row))
            ]
        if any(item.func for item in query.items) or query.group_by:
            return self._aggregate(obj, query, selected, text)
        for order in reversed(query.order):
            self._sort(obj, selected, order, text)
        selected = selected[query.offset or 0 :]
        if query.limit is not None:
            selected = selected[: query.limit]
        return Result(selected, self._renderer(obj, query, text, children), len(selected))

    def _children(
        self, obj: SObjectType, sub: soql.Query, include_deleted: bool, text: str
    ) -> tuple[str, dict[str, list[Row]], Callable[[Row], dict]]:
        """Evaluate a child-relationship subquery for all parents at once, grouped by parent."""
        link = CHILD_RELATIONSHIPS.get(obj.name, {}).get(sub.sobject.lower())
        if link is None:
            raise ApiError(
                400,
                "INVALID_TYPE",
                f"\n{text}\nERROR at Row:1\nDidn't understand relationship '{sub.sobject}' in "
                "FROM part of query call. If you are attempting to use a custom relationship, "
                "be sure to append the '__r' after the custom relationship name.",
            )
        rel_name, child_name, parent_field = link
        child = self.store.schema.objects[child_name]
        if any(item.subquery or item.func for item in sub.items):
            raise soql.malformed("nested subqueries and aggregates are not allowed in a subquery")
        predicate = self.filters.compile(child, sub.where, text) if sub.where is not None else None
        groups: dict[str, list[Row]] = {}
        with self.store.lock:
            for row in self.store.tables[child_name].rows.values():
                parent = row.get(parent_field)
                if parent is None or (row.get("IsDeleted") and not include_deleted):
                    continue
                if predicate is None or predicate(row):
                    groups.setdefault(parent, []).append(row)
        for rows in groups.values():
            for order in reversed(sub.order):
                self._sort(child, rows, order, text)
            if sub.limit is not None:
                del rows[sub.limit :]
        return rel_name, groups, self._renderer(child, sub, text)

    def _sort(self, obj: SObjectType, rows: list[Row], order: soql.Order, text: str) -> None:
        get = self.resolve(obj, order.path, text).getter
        # Salesforce puts nulls first for ascending and last for descending unless told.
        nulls_first = order.nulls_first if order.nulls_first is not None else not order.descending

        def key(row: Row) -> tuple[int, Any]:
            v = get(row)
            if v is None:
                return (0 if nulls_first != order.descending else 2, "")
            return (1, v.lower() if isinstance(v, str) else v)

        rows.sort(key=key, reverse=order.descending)

    def _renderer(
        self,
        obj: SObjectType,
        query: soql.Query,
        text: str,
        children: list[tuple[str, dict[str, list[Row]], Callable[[Row], dict]]] | None = None,
    ) -> Callable[[Row], dict]:
        root = Node()
        for item in query.items:
            if item.subquery is not None:
                continue
            assert item.path is not None
            self.resolve(obj, item.path, text)  # validates the path
            parts = item.path.split(".")
            if (
                len(parts) > 1
                and parts[0].lower() == obj.name.lower()
                and not obj.relationships.get(parts[0].lower())
            ):
                parts = parts[1:]
            node, here = root, obj
            for part in parts[:-1]:
                ref = here.relationships[part.lower()] if here else None
                assert ref is not None and ref.relationship_name
                entry = node.rels.setdefault(ref.relationship_name, (ref.name, Node()))
                node = entry[1]
                node.polymorphic = len(ref.reference_to) > 1
                here = (
                    self.store.schema.get(ref.reference_to[0])
                    if len(ref.reference_to) == 1
                    else None
                )
            leaf = here.field(parts[-1]) if here else None
            name = leaf.name if leaf else parts[-1]
            if name in node.leaves:
                raise soql.malformed(f"duplicate field selected: {item.path}")
            node.leaves.append(name)
        base = self.base_url()
        find = self.store.find_by_id

        def render(obj_name: str, row: Row, node: Node) -> dict[str, Any]:
            target = self.store.schema.get(obj_name)
            out: dict[str, Any] = {
                "attributes": {"type": obj_name, "url": f"{base}/sobjects/{obj_name}/{row['Id']}"}
            }
            for leaf in node.leaves:
                if node.polymorphic and leaf.lower() == "type":
                    out["Type"] = obj_name
                    continue
                f = target.field(leaf) if target else None
                out[f.name if f else leaf] = row.get(f.name) if f else None
            for rel_name, (ref_field, child) in node.rels.items():
                rid = row.get(ref_field)
                found = find(rid) if rid else None
                out[rel_name] = render(found[0], found[1], child) if found else None
            return out

        def render_with_children(row: Row) -> dict[str, Any]:
            out = render(obj.name, row, root)
            for rel_name, groups, render_child in children or []:
                rows = groups.get(row["Id"])
                # Salesforce gives null, not an empty list, for a parent without children.
                out[rel_name] = (
                    {
                        "totalSize": len(rows),
                        "done": True,
                        "records": [render_child(r) for r in rows],
                    }
                    if rows
                    else None
                )
            return out

        return render_with_children

    def _aggregate(self, obj: SObjectType, query: soql.Query, rows: list[Row], text: str) -> Result:
        if query.is_count:
            return Result([], lambda r: r, len(rows))
        getters = {g: self.resolve(obj, g, text).getter for g in query.group_by}
        groups: dict[tuple, list[Row]] = {}
        for row in rows:
            groups.setdefault(tuple(get(row) for get in getters.values()), []).append(row)
        if not query.group_by:
            groups = {(): rows}
        out: list[dict[str, Any]] = []
        for key, members in groups.items():
            record: dict[str, Any] = {"attributes": {"type": "AggregateResult"}}
            expr = 0
            for item in query.items:
                if item.func is None:
                    assert item.path is not None
                    idx = list(getters).index(item.path) if item.path in getters else None
                    if idx is None:
                        raise soql.malformed(f"Field must be grouped or aggregated: {item.path}")
                    record[item.alias or item.path.split(".")[-1]] = key[idx]
                    continue
                label = item.alias or f"expr{expr}"
                expr += 0 if item.alias else 1
                record[label] = _aggregate_value(item, members, self, obj, text)
            out.append(record)
        for order in reversed(query.order):
            out.sort(
                key=lambda r, p=order.path: (r.get(p) is None, r.get(p)), reverse=order.descending
            )
        if query.limit is not None:
            out = out[: query.limit]
        return Result(out, lambda r: r, len(out))


def _aggregate_value(
    item: soql.Item, rows: list[Row], ex: Executor, obj: SObjectType, text: str
) -> Any:
    if item.path is None:
        return len(rows)
    get = ex.resolve(obj, item.path, text).getter
    values = [v for v in (get(r) for r in rows) if v is not None]
    func = item.func
    if func == "count":
        return len(values)
    if func == "count_distinct":
        return len(set(values))
    if not values:
        return None
    if func == "max":
        return max(values)
    if func == "min":
        return min(values)
    if func == "sum":
        return sum(values)
    return sum(values) / len(values)

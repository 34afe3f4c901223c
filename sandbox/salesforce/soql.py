"""A small recursive-descent parser for the SOQL that syncd and ordinary admin queries use.

Grammar (case-insensitive keywords)::

    query     := SELECT items FROM name [WHERE expr] [GROUP BY paths] [ORDER BY order {, order}]
                 [LIMIT n] [OFFSET n]
    items     := item {, item}
    item      := path | COUNT() | func(path) [alias] | ( query )       -- subquery: child rows
    expr      := term {OR term};  term := factor {AND factor}
    factor    := NOT factor | ( expr ) | cond
    cond      := path op value | path [NOT] LIKE string
               | path [NOT] IN ( value {, value} ) | path [NOT] IN ( query )  -- semi-join
    value     := string | number | TRUE | FALSE | NULL | date | datetime | DATE_LITERAL[:n]

Errors are :class:`~sandbox.salesforce.errors.ApiError` with MALFORMED_QUERY, like Salesforce.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sandbox.salesforce.errors import ApiError

_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<string>'(?:[^'\\]|\\.)*')
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2}))
  | (?P<date>\d{4}-\d{2}-\d{2})
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<op>!=|<>|<=|>=|=|<|>)
  | (?P<punct>[(),:])
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
    """,
    re.VERBOSE,
)
_ESCAPES = {
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "b": "\b",
    "f": "\f",
    '"': '"',
    "'": "'",
    "\\": "\\",
    "%": "\\%",
    "_": "\\_",
}
KEYWORDS = frozenset(
    [
        "select",
        "from",
        "where",
        "and",
        "or",
        "not",
        "in",
        "like",
        "order",
        "by",
        "asc",
        "desc",
        "nulls",
        "first",
        "last",
        "limit",
        "offset",
        "group",
        "having",
        "true",
        "false",
        "null",
    ]
)
AGGREGATES = frozenset({"count", "count_distinct", "max", "min", "sum", "avg"})


@dataclass(frozen=True)
class Token:
    """One lexical token: its kind, text and offset in the query."""

    kind: str
    text: str
    pos: int


@dataclass
class Literal:
    """A literal value: kind is string, number, boolean, null, date, datetime or dateliteral."""

    kind: str
    value: Any
    n: int | None = None  # the N of LAST_N_DAYS:N and friends


@dataclass
class Cond:
    """``path op value``; op is one of = != < > <= >= IN NOT IN LIKE (IN may take a semi-join)."""

    path: str
    op: str
    value: Literal | list[Literal] | Query


@dataclass
class BoolOp:
    """AND / OR of two or more expressions, or NOT of one."""

    op: str
    args: list[Any]


@dataclass
class Item:
    """A selected field path, aggregate function or child-relationship subquery."""

    path: str | None = None
    func: str | None = None
    alias: str | None = None
    subquery: Query | None = None


@dataclass
class Order:
    """One ORDER BY key."""

    path: str
    descending: bool = False
    nulls_first: bool | None = None


@dataclass
class Query:
    """A parsed SOQL query."""

    items: list[Item]
    sobject: str
    where: Any = None
    group_by: list[str] = field(default_factory=list)
    order: list[Order] = field(default_factory=list)
    limit: int | None = None
    offset: int | None = None
    text: str = ""

    @property
    def is_count(self) -> bool:
        """Whether this is ``SELECT COUNT() FROM …`` (a count without rows)."""
        return len(self.items) == 1 and self.items[0].func == "count" and not self.items[0].path


def malformed(message: str) -> ApiError:
    """Return a MALFORMED_QUERY error."""
    return ApiError(400, "MALFORMED_QUERY", message)


def tokenize(text: str) -> list[Token]:
    """Split SOQL text into tokens; raise MALFORMED_QUERY on characters SOQL does not have."""
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if m is None:
            raise malformed(f"unexpected token: '{text[pos : pos + 10]}'")
        kind = m.lastgroup or ""
        if kind != "ws":
            tokens.append(Token(kind, m.group(), pos))
        pos = m.end()
    return tokens


def _unquote(token: str) -> str:
    body = token[1:-1]
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), body)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0

    # -- token helpers --
    def peek(self, offset: int = 0) -> Token | None:
        j = self.i + offset
        return self.tokens[j] if j < len(self.tokens) else None

    def at(self, *words: str) -> bool:
        tok = self.peek()
        return tok is not None and tok.text.lower() in words

    def take(self) -> Token:
        tok = self.peek()
        if tok is None:
            raise malformed("unexpected end of query")
        self.i += 1
        return tok

    def expect(self, word: str) -> Token:
        tok = self.peek()
        if tok is None or tok.text.lower() != word:
            found = tok.text if tok else "EOF"
            raise malformed(f"unexpected token: '{found}' (expecting '{word.upper()}')")
        self.i += 1
        return tok

    def name(self) -> str:
        tok = self.take()
        if tok.kind != "name" or tok.text.lower() in KEYWORDS:
            raise malformed(f"unexpected token: '{tok.text}'")
        return tok.text

    def integer(self) -> int:
        tok = self.take()
        if tok.kind != "number" or not tok.text.isdigit():
            raise malformed(f"unexpected token: '{tok.text}' (expecting a non-negative integer)")
        return int(tok.text)

    # -- grammar --
    def query(self, *, nested: bool = False) -> Query:
        self.expect("select")
        items = [self.item()]
        while self.at(","):
            self.take()
            items.append(self.item())
        self.expect("from")
        q = Query(items, self.name(), text=self.text)
        if self.at("where"):
            self.take()
            q.where = self.expr()
        if self.at("group"):
            self.take()
            self.expect("by")
            q.group_by.append(self.name())
            while self.at(","):
                self.take()
                q.group_by.append(self.name())
        if self.at("order"):
            self.take()
            self.expect("by")
            q.order.append(self.order())
            while self.at(","):
                self.take()
                q.order.append(self.order())
        if self.at("limit"):
            self.take()
            q.limit = self.integer()
        if self.at("offset"):
            self.take()
            q.offset = self.integer()
        tok = self.peek()
        if tok is not None and not (nested and tok.text == ")"):
            raise malformed(f"unexpected token: '{tok.text}'")
        return q

    def item(self) -> Item:
        if self.at("("):
            self.take()
            sub = self.query(nested=True)
            self.expect(")")
            return Item(subquery=sub)
        word = self.name()
        if self.at("(") and word.lower() in AGGREGATES:
            self.take()
            path = None if self.at(")") else self.name()
            self.expect(")")
            if path is None and word.lower() != "count":
                raise malformed(f"unexpected token: ')' in {word}()")
            alias = None
            tok = self.peek()
            if tok is not None and tok.kind == "name" and tok.text.lower() not in KEYWORDS:
                alias = self.name()
            return Item(path=path, func=word.lower(), alias=alias)
        return Item(path=word)

    def order(self) -> Order:
        o = Order(self.name())
        if self.at("asc", "desc"):
            o.descending = self.take().text.lower() == "desc"
        if self.at("nulls"):
            self.take()
            if not self.at("first", "last"):
                raise malformed("unexpected token after NULLS (expecting FIRST or LAST)")
            o.nulls_first = self.take().text.lower() == "first"
        return o

    def expr(self) -> Any:
        args = [self.term()]
        while self.at("or"):
            self.take()
            args.append(self.term())
        return args[0] if len(args) == 1 else BoolOp("or", args)

    def term(self) -> Any:
        args = [self.factor()]
        while self.at("and"):
            self.take()
            args.append(self.factor())
        return args[0] if len(args) == 1 else BoolOp("and", args)

    def factor(self) -> Any:
        if self.at("not"):
            self.take()
            return BoolOp("not", [self.factor()])
        if self.at("("):
            self.take()
            inner = self.expr()
            self.expect(")")
            return inner
        return self.cond()

    def cond(self) -> Cond:
        path = self.name()
        tok = self.take()
        word = tok.text.lower()
        if word == "not" and self.at("in", "like"):
            word = "not " + self.take().text.lower()
        if word in ("in", "not in"):
            self.expect("(")
            if self.at("select"):
                semi_join = self.query(nested=True)
                self.expect(")")
                return Cond(path, word.upper(), semi_join)
            values = [self.value()]
            while self.at(","):
                self.take()
                values.append(self.value())
            self.expect(")")
            return Cond(path, word.upper(), values)
        if word in ("like", "not like"):
            value = self.value()
            if value.kind != "string":
                raise malformed("LIKE needs a string value")
            return Cond(path, word.upper(), value)
        if tok.kind != "op":
            raise malformed(f"unexpected token: '{tok.text}'")
        op = "!=" if tok.text == "<>" else tok.text
        return Cond(path, op, self.value())

    def value(self) -> Literal:
        tok = self.take()
        low = tok.text.lower()
        if tok.kind == "string":
            return Literal("string", _unquote(tok.text))
        if tok.kind == "number":
            return Literal("number", float(tok.text) if "." in tok.text else int(tok.text))
        if tok.kind == "date":
            return Literal("date", tok.text)
        if tok.kind == "datetime":
            return Literal("datetime", tok.text)
        if low in ("true", "false"):
            return Literal("boolean", low == "true")
        if low == "null":
            return Literal("null", None)
        if tok.kind == "name":
            n = None
            if self.at(":"):
                self.take()
                n = self.integer()
            return Literal("dateliteral", tok.text.upper(), n)
        raise malformed(f"unexpected token: '{tok.text}'")


def parse(text: str) -> Query:
    """Parse a SOQL query or raise MALFORMED_QUERY."""
    if not text or not text.strip():
        raise malformed("empty query")
    return _Parser(text).query()

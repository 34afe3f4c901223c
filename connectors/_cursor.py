"""One cursor encoding for the connectors that make their own, and the high-water mark with ids.

Encoding. A cursor is ``<prefix>:<version>:<field>:<field>…``: the prefix names the connector
(``ac``, ``rc``, ``zp``, ``cf``, ``mbox``), the version is ``1`` and every field is
percent-quoted, so a field may hold any text (a file name with a colon, an id with a comma).
:class:`CursorFormat` writes and reads it; a cursor of another connector, another version, the
wrong number of fields or a field that is not what it should be raises
:class:`~syncd.errors.CursorExpired`, so the runner restarts that mailbox from a full sync
instead of guessing. Cursors already in a state store read as before: unquoting leaves the
characters they were written with (digits, hex, ids) unchanged.

High-water mark. A phone system lists calls by start time, and many calls may start in the same
second (or millisecond). :class:`HighWater` is "the newest start taken, and the ids taken at
exactly that start": the next pull lists from that start again and drops the ids already taken,
so a call sharing the newest start is neither lost nor written twice, whatever the page size.
:class:`HighWaterFormat` is its cursor ``<prefix>:1:<start>:<id>,<id>…`` (seconds or
milliseconds, as the connector counts).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import quote, unquote

from syncd.errors import CursorExpired

__all__ = ["CursorFormat", "HighWater", "HighWaterFormat"]

VERSION = "1"
T = TypeVar("T")


Field = type[int] | type[str] | type[frozenset[str]]


@dataclass(frozen=True, slots=True)
class CursorFormat:
    """A version-1 cursor of ``prefix`` with one entry of ``fields`` per field.

    ``fields`` says what each field is: ``int`` (a non-negative integer), ``str`` (any text) or
    ``frozenset`` (a set of texts, written sorted and comma-separated). ``what`` names the
    cursor in errors ("an Aircall cursor").
    """

    prefix: str
    what: str
    fields: tuple[Field, ...]

    def encode(self, *values: int | str | frozenset[str]) -> str:
        """The cursor holding ``values``, one per field."""
        assert len(values) == len(self.fields), (self.prefix, values)
        return ":".join([self.prefix, VERSION, *map(_write, values)])

    def decode(self, cursor: str) -> tuple[int | str | frozenset[str], ...]:
        """The fields of ``cursor``; CursorExpired when it is not one of this format."""
        parts = cursor.split(":")
        if len(parts) != 2 + len(self.fields) or parts[:2] != [self.prefix, VERSION]:
            raise CursorExpired(f"not {self.what}: {cursor[:40]!r}")
        values: list[int | str | frozenset[str]] = []
        for kind, raw in zip(self.fields, parts[2:], strict=True):
            if kind is frozenset:
                values.append(frozenset(unquote(i) for i in raw.split(",") if i))
                continue
            text = unquote(raw)
            if kind is int:
                if not text.isascii() or not text.isdigit():
                    raise CursorExpired(f"not {self.what}: {cursor[:40]!r}")
                values.append(int(text))
            else:
                values.append(text)
        return tuple(values)


def _write(value: int | str | frozenset[str]) -> str:
    if isinstance(value, frozenset):
        return ",".join(quote(i, safe="") for i in sorted(value))
    return quote(str(value), safe="")


@dataclass(frozen=True, slots=True)
class HighWater:
    """The newest start taken (``at``) and the ids taken at exactly that start."""

    at: int
    ids: frozenset[str] = frozenset()

    def is_new(self, at: int, ident: str) -> bool:
        """Whether a record starting at ``at`` with id ``ident`` is still to be taken."""
        return at > self.at or (at == self.at and ident not in self.ids)

    def newer(self, records: Iterable[T], key: Callable[[T], tuple[int, str]]) -> list[T]:
        """The records not taken yet, oldest first (``key`` gives a record's start and id)."""
        return sorted((r for r in records if self.is_new(*key(r))), key=key)

    def after(self, taken: Sequence[tuple[int, str]]) -> HighWater:
        """The mark once ``taken`` (start, id pairs, oldest first) are taken too."""
        if not taken:
            return self
        last = max(at for at, _ in taken)
        same = {ident for at, ident in taken if at == last}
        return HighWater(last, frozenset(same | self.ids if last == self.at else same))


class HighWaterFormat:
    """The cursor of a :class:`HighWater`: ``<prefix>:1:<start>:<id>,<id>…`` (ids sorted)."""

    def __init__(self, prefix: str, what: str) -> None:
        self.format = CursorFormat(prefix, what, (int, frozenset))

    def encode(self, mark: HighWater) -> str:
        """The cursor of ``mark``."""
        return self.format.encode(mark.at, mark.ids)

    def decode(self, cursor: str) -> HighWater:
        """The mark in ``cursor``; CursorExpired when it is not one of this format."""
        at, ids = self.format.decode(cursor)
        assert isinstance(at, int) and isinstance(ids, frozenset)
        return HighWater(at, ids)

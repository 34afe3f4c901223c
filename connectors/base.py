"""The Connector interface and the registry that maps a config ``type`` to one class.

A connector declares its facts as class attributes (``type``, ``kinds``, ``settings_model``,
page size, cursor kind, quota cost) and implements the two methods the capture runner calls:

- :meth:`Connector.mailboxes` — the mailboxes (internal users' addresses) it captures;
- :meth:`Connector.pull` — one :class:`~syncd.model.Batch` from a cursor.

The pull contract (checked for every connector by ``tests/connectors/contract.py``):

- ``cursor=None`` is a full sync of the bounded backfill window (``capture.backfill_days``
  back from the injected clock); the starting cursor of the next incremental pull is taken
  before the full listing begins.
- ``next_cursor`` resumes exactly after the batch. The runner persists it only after the
  batch's records are written, so a crash re-pulls the batch; pulling again from an old cursor
  returns the same keys.
- An expired, foreign or garbled cursor raises :class:`~syncd.errors.CursorExpired`; the runner
  answers with a full sync.
- A malformed raw item becomes a :class:`~syncd.model.Skip`, never an exception.
- Vendor errors are translated here, at the edge, into syncd's error tree.

``type = "gmail"`` in the TOML resolves to exactly one class through the :class:`Registry` the
wiring layer builds (:func:`builtins` in production) and hands to the config loader.
"""

from __future__ import annotations

import importlib
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar

from syncd.capture.addresses import InternalParties
from syncd.capture.normalize import Origin
from syncd.config import CaptureConfig, ConnectorSettings

if TYPE_CHECKING:
    from syncd.model import Batch


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class ConnectorContext:
    """What a connector needs at run time, injected so tests control it.

    ``capture`` is the ``[capture]`` section (its defaults when not given).
    ``internal_addresses`` are the Salesforce users' emails when known; ``users``, when given,
    reads them on first use instead (the daemon builds its connectors before Salesforce has
    necessarily answered; it forgets :attr:`internal` when the directory changes).
    ``since`` overrides the start of a full sync's window (``syncd backfill --since``); None
    means the usual ``backfill_days``.
    """

    clock: Callable[[], datetime] = _utc_now
    capture: CaptureConfig = field(default_factory=CaptureConfig)
    logger: logging.Logger = field(default_factory=lambda: logging.getLogger("syncd.connectors"))
    internal_addresses: frozenset[str] = frozenset()
    users: Callable[[], Iterable[str]] | None = None
    since: datetime | None = None
    #: How connectors wait (backoff, rate limiters): the daemon's stops a wait that would hold
    #: up a shutdown (:meth:`syncd.service.drain.Drain.sleep`).
    sleep: Callable[[float], None] = time.sleep

    def now(self) -> datetime:
        """The injected clock's time, checked to be aware."""
        now = self.clock()
        if now.tzinfo is None:
            raise ValueError("the connector clock must return aware datetimes")
        return now.astimezone(UTC)

    def backfill_start(self) -> datetime:
        """The oldest time a full sync reaches back to."""
        if self.since is not None:
            if self.since.tzinfo is None:
                raise ValueError("ConnectorContext.since must be timezone-aware")
            return self.since.astimezone(UTC)
        return self.now() - timedelta(days=self.capture.backfill_days)

    def user_addresses(self) -> frozenset[str]:
        """The org's users' addresses: ``internal_addresses`` and what ``users`` reads now."""
        if self.users is None:
            return self.internal_addresses
        return self.internal_addresses | frozenset(self.users())

    @cached_property
    def internal(self) -> InternalParties:
        """The configured internal domains and the org's users, normalised once."""
        return InternalParties.build(self.capture.internal_domains, self.user_addresses())

    def users_changed(self) -> None:
        """The org's users changed: read them again (``users``) on the next use."""
        vars(self).pop("internal", None)

    def origin(self, source: str, mailbox: str) -> Origin:
        """The normaliser's view of an item captured by ``source`` from ``mailbox``."""
        return Origin(
            source=source,
            mailbox=mailbox,
            internal=self.internal,
            capture_body=self.capture.capture_body,
            default_region=self.capture.default_region,
            now=self.now(),
        )


#: Modules holding the built-in connectors; each registers its classes when imported.
BUILTIN_MODULES: tuple[str, ...] = (
    "connectors.mbox",
    "connectors.ics_file",
    "connectors.outlook_mail",
    "connectors.outlook_calendar",
    "connectors.call_files",
    "connectors.gmail",
    "connectors.google_calendar",
    "connectors.ringcentral",
    "connectors.aircall",
    "connectors.zoom_phone",
)

_REGISTRY: dict[str, type[Connector]] = {}
_loaded = False


class Connector(ABC):
    """Base of every connector. Subclasses set the class attributes and register themselves."""

    #: The ``type`` operators write in ``[[connectors]]``.
    type: ClassVar[str]
    #: Which activity kinds it produces: {"email"}, {"meeting"}, {"call"}.
    kinds: ClassVar[frozenset[str]]
    #: The pydantic model validating this connector's ``[[connectors]]`` table.
    settings_model: ClassVar[type[ConnectorSettings]]
    #: Items fetched per page or batch from the vendor.
    page_size: ClassVar[int] = 100
    #: What the opaque cursor string holds (for status and docs).
    cursor_kind: ClassVar[str] = "opaque"
    #: Vendor quota units one page costs (Gmail messages.list is 5), 0 where there is none.
    quota_cost_per_call: ClassVar[int] = 0

    def __init__(self, settings: ConnectorSettings, context: ConnectorContext | None = None):
        self.settings = settings
        self.context = context or ConnectorContext()
        self.log = self.context.logger

    @property
    def name(self) -> str:
        """The configured connector name (``Activity.source``)."""
        return self.settings.name

    @abstractmethod
    def mailboxes(self) -> list[str]:
        """The mailboxes this connector captures, as internal users' addresses."""

    def webhook_receiver(self) -> Callable[..., Any] | None:
        """A WSGI app taking this connector's webhooks when configured; None (the default) else.

        The daemon mounts it at ``/webhooks/<name>``.
        """
        return None

    @abstractmethod
    def pull(self, mailbox: str, cursor: str | None, *, limit: int | None = None) -> Batch:
        """One batch of at most ``limit`` items (activities + skips) after ``cursor``.

        ``limit`` None means the connector's ``page_size``. Raises ``CursorExpired`` for a
        cursor it cannot resume from.
        """


def register(cls: type[Connector]) -> type[Connector]:
    """Class decorator for the built-in modules: make ``cls`` a production type ``cls.type``."""
    existing = _REGISTRY.get(cls.type)
    if existing is not None and existing is not cls:
        raise RuntimeError(f"connector type {cls.type!r} registered twice")
    _REGISTRY[cls.type] = cls
    return cls


class Registry(Mapping[str, "type[Connector]"]):
    """The connector types one run knows: ``type`` → class (vdirsyncer's storage index).

    The wiring layer (``syncd.app``, ``syncd.cli``) builds it and hands the config loader its
    :meth:`settings_models`, so ``syncd.config`` imports nothing of the connectors. Production
    runs use :func:`builtins`; tests add their own types with :meth:`with_types` (the in-memory
    connector exists only there).
    """

    def __init__(self, classes: Iterable[type[Connector]]) -> None:
        self._classes: dict[str, type[Connector]] = {}
        for cls in classes:
            if self._classes.setdefault(cls.type, cls) is not cls:
                raise RuntimeError(f"connector type {cls.type!r} given twice")

    def __getitem__(self, type_name: str) -> type[Connector]:
        return self._classes[type_name]

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._classes))

    def __len__(self) -> int:
        return len(self._classes)

    def with_types(self, *classes: type[Connector]) -> Registry:
        """This registry plus ``classes`` (a new one; this one is unchanged)."""
        return Registry([*self._classes.values(), *classes])

    def settings_models(self) -> Mapping[str, type[ConnectorSettings]]:
        """Each type's settings model: what the config loader validates a table with."""
        return MappingProxyType({name: cls.settings_model for name, cls in self.items()})


def builtins() -> Registry:
    """The production connector types (every module of :data:`BUILTIN_MODULES`)."""
    global _loaded
    if not _loaded:
        for module in BUILTIN_MODULES:
            importlib.import_module(module)
        _loaded = True
    return Registry(_REGISTRY.values())


def types() -> list[str]:
    """Every production connector type, sorted."""
    return list(builtins())


def get(type_name: str) -> type[Connector]:
    """The production connector class for ``type_name``; ``KeyError`` when there is none."""
    return builtins()[type_name]

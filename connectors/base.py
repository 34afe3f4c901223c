"""The Connector interface and the registry that maps a config ``type`` to one class.

A connector declares its facts as class attributes (``type``, ``kinds``, ``settings_model``,
page size, cursor kind, quota cost) and implements the few methods the capture runner calls.
``type = "gmail"`` in the TOML resolves to exactly one class through :func:`get`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from syncd.config import ConnectorSettings

#: Modules holding the built-in connectors; each registers its classes when imported.
BUILTIN_MODULES: tuple[str, ...] = ("connectors.memory",)

_REGISTRY: dict[str, type[Connector]] = {}
_loaded = False


class Connector:
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


def register(cls: type[Connector]) -> type[Connector]:
    """Class decorator: make ``cls`` available under ``cls.type``."""
    existing = _REGISTRY.get(cls.type)
    if existing is not None and existing is not cls:
        raise RuntimeError(f"connector type {cls.type!r} registered twice")
    _REGISTRY[cls.type] = cls
    return cls


def _load_builtins() -> None:
    global _loaded
    if not _loaded:
        for module in BUILTIN_MODULES:
            importlib.import_module(module)
        _loaded = True


def types() -> list[str]:
    """Every registered connector type, sorted."""
    _load_builtins()
    return sorted(_REGISTRY)


def get(type_name: str) -> type[Connector]:
    """The connector class for ``type_name``; ``KeyError`` when there is none."""
    _load_builtins()
    return _REGISTRY[type_name]

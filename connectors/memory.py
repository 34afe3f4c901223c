"""An in-memory connector for tests and the demo: items are handed to it in code."""

from __future__ import annotations

from typing import ClassVar

from connectors.base import Connector, register
from syncd.config import ConnectorSettings


class MemorySettings(ConnectorSettings):
    """The memory connector has no keys beyond the common ones."""


@register
class MemoryConnector(Connector):
    """Serves items added with :meth:`add`, per mailbox, in insertion order."""

    type: ClassVar[str] = "memory"
    kinds: ClassVar[frozenset[str]] = frozenset({"email", "meeting", "call"})
    settings_model: ClassVar[type[ConnectorSettings]] = MemorySettings
    page_size: ClassVar[int] = 100

"""syncd's state store, on SQLite (embedded default) or PostgreSQL (several workers).

Cursors, ledger, outcome counters, unmatched items, dead letters, flags, alerts, runs, leases.

``Store.open(url)`` migrates and opens; ``upgrade(url)`` is ``syncd db upgrade``;
``store.status()`` returns the dataclasses exported here.
"""

from syncd.state.alerts import Alert
from syncd.state.cursors import DEFAULT_STREAM, CursorState
from syncd.state.dead_letters import DeadLetter
from syncd.state.flags import Flag
from syncd.state.leases import Lease, unit_key
from syncd.state.ledger import LedgerEntry, Sighting
from syncd.state.migrate import head_revision, upgrade
from syncd.state.runs import Run
from syncd.state.status import RunSummary, StatusReport, StreamStatus, UnitStatus
from syncd.state.store import Store, Transaction
from syncd.state.unmatched import UnmatchedItem

__all__ = [
    "DEFAULT_STREAM",
    "Alert",
    "CursorState",
    "DeadLetter",
    "Flag",
    "Lease",
    "LedgerEntry",
    "Run",
    "RunSummary",
    "Sighting",
    "StatusReport",
    "Store",
    "StreamStatus",
    "Transaction",
    "UnitStatus",
    "UnmatchedItem",
    "head_revision",
    "unit_key",
    "upgrade",
]

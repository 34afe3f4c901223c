"""Seeding the sandbox org: the default stages and users, and Data Loader CSV exports.

A seed directory holds ``<SObject>.csv`` files with a header row of API field names, as Data
Loader exports them; Salesforce ids in the ``Id`` column are kept so references between files
hold. Files load in dependency order (users before accounts before contacts …).
"""

from __future__ import annotations

import csv
import logging
from pathlib import Path
from typing import Any

from sandbox.salesforce.store import Store

log = logging.getLogger(__name__)

#: (label, closed, won, probability, forecast category) of a new org's opportunity stages.
DEFAULT_STAGES: tuple[tuple[str, bool, bool, int, str], ...] = (
    ("Prospecting", False, False, 10, "Pipeline"),
    ("Qualification", False, False, 10, "Pipeline"),
    ("Needs Analysis", False, False, 20, "Pipeline"),
    ("Value Proposition", False, False, 50, "Pipeline"),
    ("Id. Decision Makers", False, False, 60, "Pipeline"),
    ("Perception Analysis", False, False, 70, "Pipeline"),
    ("Proposal/Price Quote", False, False, 75, "Pipeline"),
    ("Negotiation/Review", False, False, 90, "Pipeline"),
    ("Closed Won", True, True, 100, "Closed"),
    ("Closed Lost", True, False, 0, "Omitted"),
)

#: Load order: referenced objects before the objects that reference them.
LOAD_ORDER = (
    "User",
    "OpportunityStage",
    "Account",
    "Contact",
    "Lead",
    "Opportunity",
    "OpportunityContactRole",
    "OpportunityHistory",
    "OpportunityFieldHistory",
    "Task",
    "Event",
    "EventRelation",
    "EmailMessage",
    "EmailMessageRelation",
)


def stage_rows(stages: tuple[tuple[str, bool, bool, int, str], ...]) -> list[dict[str, Any]]:
    """Return OpportunityStage records for (label, closed, won, probability, forecast) tuples."""
    return [
        {
            "MasterLabel": label,
            "ApiName": label,
            "IsActive": True,
            "IsClosed": closed,
            "IsWon": won,
            "SortOrder": order,
            "DefaultProbability": probability,
            "ForecastCategoryName": forecast,
            "ForecastCategory": forecast,
        }
        for order, (label, closed, won, probability, forecast) in enumerate(stages, start=1)
    ]


def replace_stages(store: Store, rows: list[dict[str, Any]]) -> None:
    """Replace the org's OpportunityStage set."""
    with store.lock:
        table = store.tables["OpportunityStage"]
        table.rows.clear()
        table.indexes.clear()
        store.stage_cache = None
        for row in rows:
            store.create("OpportunityStage", row, system=True, lenient=True)


def seed_csv(store: Store, directory: str | Path) -> dict[str, int]:
    """Load every ``<SObject>.csv`` in ``directory``; return the record count per object."""
    folder = Path(directory)
    files = {p.stem: p for p in folder.glob("*.csv")}
    unknown = [name for name in files if store.schema.get(name) is None]
    if unknown:
        raise ValueError(f"no such sObject for seed file(s): {', '.join(sorted(unknown))}")
    order = [n for n in LOAD_ORDER if n in files] + sorted(set(files) - set(LOAD_ORDER))
    counts: dict[str, int] = {}
    with store.lock:
        # Loaded history replaces the rows the store would otherwise derive from each insert.
        store.derive_history = "OpportunityHistory" not in files
        try:
            for name in order:
                with files[name].open(newline="", encoding="utf-8-sig") as handle:
                    rows = [
                        {k: v for k, v in row.items() if k and v != ""}
                        for row in csv.DictReader(handle)
                    ]
                if name == "OpportunityStage":
                    replace_stages(store, rows)
                else:
                    for row in rows:
                        store.create(name, row, system=True, lenient=True)
                counts[name] = len(rows)
        finally:
            store.derive_history = True
    log.info("seeded sandbox org from CSV: %s", counts)
    return counts

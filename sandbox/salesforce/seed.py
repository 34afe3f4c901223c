"""Seeding the sandbox org: the default stages and users, and Data Loader CSV exports.

A seed directory holds ``<SObject>.csv`` files with a header row of API field names, as Data
Loader exports them; Salesforce ids in the ``Id`` column are kept so references between files
hold. Files load in dependency order (users before accounts before contacts …).

Seeding is loading, not validation: what a real org exported always loads, because Salesforce
already accepted it. So, unlike an API write:

- columns the sandbox does not model (a real export has dozens per object, e.g.
  ``User.CompanyName``, ``Account.BillingLatitude``) are ignored and counted per object
  (:attr:`SeedReport.ignored_columns`);
- the null reference id Data Loader writes for an empty lookup, ``000000000000000AAA``, is null
  (https://help.salesforce.com/s/articleView?id=sf.faq_import_general_what_does_the_id.htm);
- date-times are read in Data Loader's and the weekly export's forms (``2023-10-28T20:45:25.000Z``
  and ``2023-10-28 20:45:25``, both UTC:
  https://developer.salesforce.com/docs/atlas.en-us.dataLoader.meta/dataLoader/supported_data_types.htm);
- values the API would refuse but Salesforce stores itself load as they are: the org's
  Automated Process user's ``noreply@00d…`` address (no dot in its domain), picklist values
  this org added, lookups to objects the sandbox does not model (a Task's ``WhatId`` on a Case).
"""

from __future__ import annotations

import csv
import logging
from pathlib import Path
from typing import Any

from sandbox.salesforce.schema import SObjectType
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


#: The id Data Loader exports for an empty lookup (15 and 18 characters).
NULL_IDS = frozenset({"000000000000000", "000000000000000AAA"})


class SeedReport(dict[str, int]):
    """Records loaded per object; ``ignored_columns`` names the columns left out, per object."""

    def __init__(self) -> None:
        super().__init__()
        self.ignored_columns: dict[str, list[str]] = {}


def _loadable(obj: SObjectType, header: list[str]) -> tuple[list[str], list[str], set[str]]:
    """The header's modelled columns, the ignored ones, and the reference columns."""
    kept, ignored, references = [], [], set()
    for name in header:
        f = obj.field(name) if name else None
        if f is None:
            if name:
                ignored.append(name)
            continue
        kept.append(name)
        if f.type in ("reference", "id"):
            references.add(name)
    return kept, ignored, references


def _read(obj: SObjectType, path: Path) -> tuple[list[dict[str, Any]], list[str]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        kept, ignored, references = _loadable(obj, list(reader.fieldnames or []))
        rows = []
        for raw in reader:
            row = {}
            for name in kept:
                value = raw.get(name)
                if value in (None, "") or (name in references and value in NULL_IDS):
                    continue
                row[name] = value
            rows.append(row)
    return rows, ignored


def seed_csv(store: Store, directory: str | Path) -> SeedReport:
    """Load every ``<SObject>.csv`` in ``directory``; return the record count per object."""
    folder = Path(directory)
    files = {p.stem: p for p in folder.glob("*.csv")}
    unknown = [name for name in files if store.schema.get(name) is None]
    if unknown:
        raise ValueError(f"no such sObject for seed file(s): {', '.join(sorted(unknown))}")
    order = [n for n in LOAD_ORDER if n in files] + sorted(set(files) - set(LOAD_ORDER))
    counts = SeedReport()
    with store.lock:
        # Loaded history replaces the rows the store would otherwise derive from each insert.
        store.derive_history = "OpportunityHistory" not in files
        store.loading = True
        try:
            for name in order:
                obj = store.schema.get(name)
                assert obj is not None  # unknown objects were refused above
                rows, ignored = _read(obj, files[name])
                if ignored:
                    counts.ignored_columns[name] = ignored
                if name == "OpportunityStage":
                    replace_stages(store, rows)
                else:
                    for row in rows:
                        store.create(name, row, system=True, lenient=True)
                counts[name] = len(rows)
        finally:
            store.derive_history = True
            store.loading = False
    log.info(
        "seeded sandbox org from CSV: %s; columns not modelled, ignored: %s",
        dict(counts),
        {name: len(cols) for name, cols in counts.ignored_columns.items()},
    )
    return counts

"""Load the Maven Analytics "CRM Sales Opportunities" sample into a Salesforce sandbox.

The folder (``../shared/data/crm/maven_sales_pipeline``) holds ``sales_pipeline.csv`` (8,800
deals), ``accounts.csv``, ``products.csv`` and ``sales_teams.csv``. They become:

- User: every sales agent and manager (``first.last@maven-sales.example``), agents' ManagerId
  pointing at their manager, Department = regional office;
- Account: every account, with a Website derived from its name;
- Opportunity: every deal, owned by its agent, StageName mapped to the org's stages
  (:data:`STAGE_MAP`), Amount = close_value for won deals and the product's list price otherwise
  (``GTXPro`` in the pipeline is ``GTX Pro`` in products.csv), CreatedDate = engage_date,
  CloseDate = close_date; open deals get a projected CloseDate (engage date plus the median won
  cycle) and Prospecting deals, which have no engage date, are created on the data set's last day;
- OpportunityHistory: the stage the deal entered on its engage date and, for closed deals, the
  closing row on its close date, so stage conversion can be computed from history.
"""

from __future__ import annotations

import csv
import re
import statistics
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sandbox.salesforce import SalesforceSandbox
from sandbox.salesforce.seed import stage_rows

DEFAULT_DIR = (
    Path(__file__).resolve().parents[2] / "shared" / "data" / "crm" / "maven_sales_pipeline"
)

#: Maven deal_stage → the org's StageName.
STAGE_MAP = {
    "Prospecting": "Prospecting",
    "Engaging": "Needs Analysis",
    "Won": "Closed Won",
    "Lost": "Closed Lost",
}

#: The org's stages for this data set: (label, closed, won, probability, forecast category).
MAVEN_STAGES: tuple[tuple[str, bool, bool, int, str], ...] = (
    ("Prospecting", False, False, 10, "Pipeline"),
    ("Qualification", False, False, 20, "Pipeline"),
    ("Needs Analysis", False, False, 40, "Pipeline"),
    ("Proposal/Price Quote", False, False, 75, "Best Case"),
    ("Negotiation/Review", False, False, 90, "Commit"),
    ("Closed Won", True, True, 100, "Closed"),
    ("Closed Lost", True, False, 0, "Omitted"),
)

#: Product names as the pipeline spells them → the name in products.csv.
PRODUCT_ALIASES = {"GTXPro": "GTX Pro"}


def _read(folder: Path, name: str) -> list[dict[str, str]]:
    with (folder / name).open(newline="", encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle))


def _email(person: str) -> str:
    return ".".join(re.findall(r"[a-z]+", person.lower())) + "@maven-sales.example"


def _website(account: str) -> str:
    return "www." + "".join(re.findall(r"[a-z0-9]+", account.lower())) + ".com"


def _midnight(day: str) -> str:
    return f"{day}T00:00:00.000+0000"


def load_maven(sandbox: SalesforceSandbox, data_dir: str | Path = DEFAULT_DIR) -> dict[str, Any]:
    """Load the data set into ``sandbox``; return counts and the dates used for open deals."""
    folder = Path(data_dir)
    pipeline = _read(folder, "sales_pipeline.csv")
    accounts = _read(folder, "accounts.csv")
    prices = {row["product"]: float(row["sales_price"]) for row in _read(folder, "products.csv")}
    teams = _read(folder, "sales_teams.csv")

    sandbox.set_stages(stage_rows(MAVEN_STAGES))
    probability = {label: p for label, _c, _w, p, _f in MAVEN_STAGES}

    # Users: managers first so agents can point at them.
    managers = sorted({row["manager"] for row in teams})
    user_ids: dict[str, str] = {}
    office = {row["manager"]: row["regional_office"] for row in teams}
    office |= {row["sales_agent"]: row["regional_office"] for row in teams}
    manager_of = {row["sales_agent"]: row["manager"] for row in teams}
    people = managers + sorted(set(manager_of) | {r["sales_agent"] for r in pipeline})
    for person in people:
        first, _, last = person.partition(" ")
        record = {
            "Username": _email(person),
            "Email": _email(person),
            "FirstName": first,
            "LastName": last or first,
            "Alias": (first[:1] + last[:4]).lower(),
            "Department": office.get(person),
            "Title": "Sales Manager" if person in managers else "Account Executive",
        }
        if person in manager_of:
            record["ManagerId"] = user_ids[manager_of[person]]
        user_ids[person] = sandbox.insert("User", [record])[0]

    account_ids: dict[str, str] = {}
    for row in accounts:
        record = {
            "Name": row["account"],
            "Website": _website(row["account"]),
            "Industry": row["sector"].title() or None,
            "BillingCountry": row["office_location"] or None,
            "NumberOfEmployees": int(row["employees"]) if row["employees"] else None,
            # accounts.csv gives revenue in millions.
            "AnnualRevenue": float(row["revenue"]) * 1_000_000 if row["revenue"] else None,
        }
        account_ids[row["account"]] = sandbox.insert("Account", [record])[0]

    as_of = max(row["close_date"] for row in pipeline if row["close_date"])
    cycles = [
        (date.fromisoformat(r["close_date"]) - date.fromisoformat(r["engage_date"])).days
        for r in pipeline
        if r["deal_stage"] == "Won"
    ]
    median_cycle = int(statistics.median(cycles)) if cycles else 30

    opportunities: list[dict[str, Any]] = []
    for row in pipeline:
        stage = STAGE_MAP[row["deal_stage"]]
        product = PRODUCT_ALIASES.get(row["product"], row["product"])
        created = row["engage_date"] or as_of
        if row["close_date"]:
            close = row["close_date"]
        else:
            close = (date.fromisoformat(created) + timedelta(days=median_cycle)).isoformat()
        won = row["deal_stage"] == "Won"
        record: dict[str, Any] = {
            "Name": f"{row['account'] or 'Unassigned'} - {product} ({row['opportunity_id']})",
            "StageName": stage,
            "Amount": float(row["close_value"]) if won else prices[product],
            "CloseDate": close,
            "OwnerId": user_ids[row["sales_agent"]],
            "CreatedDate": _midnight(created),
            "LastModifiedDate": _midnight(row["close_date"] or created),
            "SystemModstamp": _midnight(row["close_date"] or created),
            "Description": f"Maven opportunity {row['opportunity_id']}; product {product}",
        }
        if row["account"]:
            record["AccountId"] = account_ids[row["account"]]
        opportunities.append(record)

    store = sandbox.store
    history = 0
    with store.lock:
        store.derive_history = False  # the history below follows the CSV's own dates
        try:
            opp_ids = sandbox.insert("Opportunity", opportunities)
            rows: list[dict[str, Any]] = []
            for opp_id, row, record in zip(opp_ids, pipeline, opportunities, strict=True):
                first_stage = (
                    "Prospecting" if row["deal_stage"] == "Prospecting" else ("Needs Analysis")
                )
                entry = {
                    "OpportunityId": opp_id,
                    "StageName": first_stage,
                    "Amount": record["Amount"],
                    "CloseDate": record["CloseDate"],
                    "Probability": probability[first_stage],
                    "CreatedDate": record["CreatedDate"],
                }
                rows.append(entry)
                if row["close_date"]:
                    rows.append(
                        entry
                        | {
                            "StageName": record["StageName"],
                            "Probability": probability[record["StageName"]],
                            "PrevAmount": record["Amount"],
                            "PrevCloseDate": record["CloseDate"],
                            "CreatedDate": _midnight(row["close_date"]),
                        }
                    )
            history = len(sandbox.insert("OpportunityHistory", rows))
        finally:
            store.derive_history = True

    return {
        "users": len(user_ids),
        "accounts": len(account_ids),
        "opportunities": len(opportunities),
        "opportunity_history": history,
        "by_stage": dict(Counter(o["StageName"] for o in opportunities)),
        "as_of": as_of,
        "median_won_cycle_days": median_cycle,
    }

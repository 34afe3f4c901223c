"""What the rules and the pipeline metrics read: a few paged queries, never one per deal.

``load`` issues six SOQL queries (stages, opportunities with Owner.Email, OpportunityHistory,
OpportunityFieldHistory on CloseDate, contact roles, recent Tasks/Events) through
``query_many`` — five to a composite call, further pages by ``query_more`` — and joins them in
memory. Last activity is the later of Salesforce's LastActivityDate and syncd's own ledger
(what a capture pass just wrote counts at once); dates after today are not activity.

The two queries that grow with the org (opportunities, OpportunityHistory) are streamed. Each
starts as a REST query; its first page's ``totalSize`` decides the rest: up to
``BULK_THRESHOLD`` rows it pages on by REST (2,000 rows a call), above it the page is dropped
and the query runs as a Bulk API 2.0 job (:mod:`syncd.salesforce.bulk`: create, poll, 50,000
rows a call). Small orgs so cost exactly what they did; a large one pays one extra call per
big query instead of one per 2,000 rows. OpportunityFieldHistory stays in the composite call
(it is usually small: only tracked CloseDate edits).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import chain
from typing import Any

from syncd.ports import SalesforceApi
from syncd.salesforce import bulk
from syncd.state.ledger import Ledger

log = logging.getLogger(__name__)

#: Queries whose rows are streamed rather than collected (they grow with the org).
STREAMED = ("opportunities", "history")
#: Above this many rows (a REST query's totalSize) a streamed query switches to Bulk API 2.0:
#: five REST pages cost about what a bulk job does (create, polls, results).
BULK_THRESHOLD = 10_000
#: Record fields every deal keeps (what missing_fields checks by default).
DEAL_FIELDS = ("Amount", "NextStep", "CloseDate")

#: How far back activities are read (engagement_drop compares two 14-day windows).
ACTIVITY_WINDOW_DAYS = 60


@dataclass(frozen=True, slots=True)
class Stage:
    """One OpportunityStage of the org."""

    name: str
    sort_order: int
    is_closed: bool
    is_won: bool


@dataclass(frozen=True, slots=True)
class Change:
    """One OpportunityHistory row: the deal's stage and close date from ``at`` on."""

    at: datetime
    stage: str
    close_date: date | None
    prev_close_date: date | None


@dataclass(frozen=True, slots=True)
class Touch:
    """One activity on a deal: when, who (WhoId) and its subject."""

    on: date
    who_id: str | None
    subject: str


@dataclass(slots=True)
class Deal:
    """An opportunity with everything the rules look at."""

    id: str
    name: str
    stage: str
    amount: float | None
    close_date: date | None
    created: datetime
    owner_email: str | None = None
    #: The owning rep's User Id (their zone decides quiet hours).
    owner_id: str | None = None
    next_step: str | None = None
    last_activity: date | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    history: list[Change] = field(default_factory=list)
    close_date_changes: list[tuple[date | None, date | None]] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)
    touches: list[Touch] = field(default_factory=list)


@dataclass
class Pipeline:
    """The org's stages and deals, as of ``today``."""

    today: date
    stages: dict[str, Stage]
    deals: list[Deal]

    def stage(self, name: str) -> Stage | None:
        """The stage called ``name`` (None for a stage the org no longer has)."""
        return self.stages.get(name)

    def open_deals(self) -> list[Deal]:
        """Deals in a stage that is not closed."""
        return [d for d in self.deals if not self._closed(d.stage)]

    def _closed(self, name: str) -> bool:
        stage = self.stages.get(name)
        return bool(stage and stage.is_closed)


def parse_date(value: Any) -> date | None:
    """A Salesforce date or datetime string as a date."""
    if not value:
        return None
    return date.fromisoformat(str(value)[:10])


def parse_datetime(value: Any) -> datetime:
    """A Salesforce datetime (``2024-01-31T10:00:00.000+0000``) as an aware UTC datetime."""
    text = str(value)
    if len(text) == 10:
        return datetime.fromisoformat(text).replace(tzinfo=UTC)
    text = text.replace("Z", "+00:00")
    if text[-5] in "+-" and ":" not in text[-5:]:
        text = text[:-2] + ":" + text[-2:]
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def queries(today: date, extra_fields: tuple[str, ...] = ()) -> dict[str, tuple[str, bool]]:
    """The SOQL for one load, by name (all paged; none per opportunity)."""
    base = ["Id", "Name", "StageName", "Amount", "CloseDate", "CreatedDate", "NextStep"]
    base += ["LastActivityDate", "OwnerId", "Owner.Email"]
    wanted = base + [f for f in extra_fields if f not in base]
    since = (today - timedelta(days=ACTIVITY_WINDOW_DAYS)).isoformat()
    return {
        "stages": (
            "SELECT ApiName, MasterLabel, SortOrder, IsClosed, IsWon FROM OpportunityStage "
            "WHERE IsActive = true",
            False,
        ),
        "opportunities": (f"SELECT {', '.join(wanted)} FROM Opportunity", False),  # noqa: S608
        "history": (
            "SELECT OpportunityId, StageName, CloseDate, PrevCloseDate, CreatedDate "
            "FROM OpportunityHistory",
            False,
        ),
        "field_history": (
            "SELECT OpportunityId, OldValue, NewValue, CreatedDate FROM OpportunityFieldHistory "
            "WHERE Field = 'CloseDate'",
            False,
        ),
        "roles": ("SELECT OpportunityId, Role FROM OpportunityContactRole", False),
        "tasks": (
            f"SELECT WhatId, WhoId, ActivityDate, Subject FROM Task WHERE ActivityDate >= {since} "  # noqa: S608
            "AND WhatId != null",
            False,
        ),
        "events": (
            f"SELECT WhatId, WhoId, ActivityDate, Subject FROM Event WHERE ActivityDate >= {since} "  # noqa: S608
            "AND WhatId != null",
            False,
        ),
    }


def stream(
    client: SalesforceApi, soql: str, bulk_threshold: int | None = BULK_THRESHOLD
) -> Iterator[dict]:
    """The rows of ``soql``, lazily: REST pages, or a Bulk 2.0 job above ``bulk_threshold``.

    ``None`` never switches to bulk; ``0`` always does (after the first REST page).
    """
    page = client.query_page(soql)
    if bulk_threshold is not None and int(page.get("totalSize") or 0) > bulk_threshold:
        log.info(
            "large query, reading it with bulk api 2.0",
            extra={"rows": page.get("totalSize"), "threshold": bulk_threshold},
        )
        del page  # the REST page is dropped: the job returns every row
        yield from bulk.query_rows(client, soql)
        return
    while True:
        yield from page.get("records", [])
        if page.get("done", True) or not page.get("nextRecordsUrl"):
            return
        page = client.query_more(page["nextRecordsUrl"])


def load(
    client: SalesforceApi,
    today: date,
    *,
    ledger: Ledger | None = None,
    extra_fields: tuple[str, ...] = (),
    bulk_threshold: int | None = BULK_THRESHOLD,
) -> Pipeline:
    """Read the pipeline from Salesforce (and the ledger) in a handful of calls."""
    soql = queries(today, extra_fields)
    # The small result sets share composite calls; the two big ones are streamed page by page
    # into the deals, so raw records never pile up in memory.
    rows: dict[str, Iterable[dict]] = dict(
        client.query_many({k: v for k, v in soql.items() if k not in STREAMED})
    )
    for name in STREAMED:
        rows[name] = stream(client, soql[name][0], bulk_threshold)
    pipeline = assemble(rows, today, keep=DEAL_FIELDS + tuple(extra_fields))
    if ledger is not None:
        # Only what happened by now: a forged date in the future silences no rule.
        ours = ledger.last_activity(
            (d.id for d in pipeline.deals),
            until=datetime.combine(today, datetime.max.time(), tzinfo=UTC),
        )
        for deal in pipeline.deals:
            when = ours.get(deal.id)
            if when is not None and (
                deal.last_activity is None or when.date() > deal.last_activity
            ):
                deal.last_activity = when.date()
    return pipeline


def assemble(
    rows: Mapping[str, Iterable[dict]], today: date, keep: tuple[str, ...] | None = None
) -> Pipeline:
    """Join the query results into deals (pure: tests call it directly).

    ``rows`` is read once per name, opportunities before history, so iterators stream.
    ``keep`` names the record fields a deal keeps for missing_fields (all when None).
    """
    stages = {
        r.get("ApiName") or r["MasterLabel"]: Stage(
            name=r.get("ApiName") or r["MasterLabel"],
            sort_order=int(r.get("SortOrder") or 0),
            is_closed=bool(r.get("IsClosed")),
            is_won=bool(r.get("IsWon")),
        )
        for r in rows.get("stages", [])
    }
    deals: dict[str, Deal] = {}
    for r in rows.get("opportunities", []):
        owner = r.get("Owner") or {}
        amount = r.get("Amount")
        deals[r["Id"]] = Deal(
            id=r["Id"],
            name=r.get("Name") or "",
            stage=r.get("StageName") or "",
            amount=float(amount) if amount is not None else None,
            close_date=parse_date(r.get("CloseDate")),
            created=parse_datetime(r["CreatedDate"]),
            owner_email=owner.get("Email") if isinstance(owner, dict) else None,
            owner_id=r.get("OwnerId"),
            next_step=r.get("NextStep"),
            last_activity=parse_date(r.get("LastActivityDate")),
            fields={k: r.get(k) for k in keep} if keep is not None else dict(r),
        )
    for r in rows.get("history", []):
        deal = deals.get(r.get("OpportunityId", ""))
        if deal is not None:
            deal.history.append(
                Change(
                    at=parse_datetime(r["CreatedDate"]),
                    stage=r.get("StageName") or "",
                    close_date=parse_date(r.get("CloseDate")),
                    prev_close_date=parse_date(r.get("PrevCloseDate")),
                )
            )
    field_changes: dict[str, list[tuple[datetime, date | None, date | None]]] = defaultdict(list)
    for r in rows.get("field_history", []):
        field_changes[r.get("OpportunityId", "")].append(
            (
                parse_datetime(r["CreatedDate"]),
                parse_date(r.get("OldValue")),
                parse_date(r.get("NewValue")),
            )
        )
    for deal in deals.values():
        deal.history.sort(key=lambda c: c.at)
        tracked = sorted(field_changes.get(deal.id, []), key=lambda t: t[0])
        if tracked:
            # Field history is the precise record of CloseDate edits; prefer it when tracked.
            deal.close_date_changes = [(old, new) for _at, old, new in tracked]
        else:
            # OpportunityHistory: each row's CloseDate against the row before (PrevCloseDate
            # is empty in data migrated into Salesforce after the fact), else PrevCloseDate.
            changes: list[tuple[date | None, date | None]] = []
            before: date | None = None
            for c in deal.history:
                prev = c.prev_close_date or before
                if prev is not None and c.close_date is not None and prev != c.close_date:
                    changes.append((prev, c.close_date))
                before = c.close_date or before
            deal.close_date_changes = changes
    for r in rows.get("roles", []):
        deal = deals.get(r.get("OpportunityId", ""))
        if deal is not None and r.get("Role"):
            deal.roles.append(r["Role"])
    for r in chain(rows.get("tasks", []), rows.get("events", [])):
        deal = deals.get(r.get("WhatId") or "")
        on = parse_date(r.get("ActivityDate"))
        if deal is not None and on is not None and on <= today:
            deal.touches.append(Touch(on, r.get("WhoId"), r.get("Subject") or ""))
    for deal in deals.values():
        if deal.last_activity is not None and deal.last_activity > today:
            # LastActivityDate in the future (a forged Date header, year 9999) says nothing
            # about the deal's real activity: fall back to the latest activity up to today.
            deal.last_activity = max((t.on for t in deal.touches), default=None)
    return Pipeline(today=today, stages=stages, deals=list(deals.values()))

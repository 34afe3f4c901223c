"""``syncd explain`` for people: one section per step of the data flow, from the JSON report.

:func:`syncd.explain.explain_eml` and :func:`syncd.explain.explain_key` build the report;
``--json`` prints it as is, and :func:`render` prints it as labelled lines and tables.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table


def render(report: dict[str, Any], console: Console) -> None:
    """Print an explain report for people, one section per step of the data flow."""
    _line(console, "outcome", report.get("outcome", "-"), style="bold")
    if "source" in report:
        src = report["source"]
        _line(console, "file", f"{src['file']} (as captured from {src['mailbox']})")
    if "normalize" in report:
        norm = report["normalize"]
        _line(console, "normalise", f"skipped: {norm['skipped']} {norm['detail']}".strip())
    if "activity" in report:
        act = report["activity"]
        table = Table(title="Activity", title_justify="left", show_header=False)
        names = ("kind", "occurred_at", "direction", "subject", "mailbox", "message_id", "ical_uid")
        for name in (*names, "cancelled"):
            if act.get(name):
                table.add_row(name, str(act[name]))
        for role, people in act["participants"].items():
            table.add_row(role, ", ".join(people))
        console.print(table)
    if report.get("parse_notes"):
        _line(console, "parser notes", ", ".join(report["parse_notes"]))
    if "key" in report:
        _line(console, "key", report["key"])
    if "privacy" in report:
        table = Table(title="Privacy rules", title_justify="left")
        for column in ("rule", "skips", "verdict"):
            table.add_column(column)
        for row in report["privacy"]["rules"]:
            verdict = row["verdict"]
            if "reason" in row:
                verdict += f": {row['reason']}" + (f" ({row['detail']})" if row["detail"] else "")
            table.add_row(row["rule"], row["skips"], verdict)
        console.print(table)
        decision = report["privacy"]["decision"]
        text = "kept" if decision["keep"] else f"skipped: {decision['reason']}"
        _line(console, "privacy decision", text)
    if "body" in report:
        body = report["body"]
        text = f"not written ({body['why']})"
        if body["captured"]:
            text = f"written, {body['redactions']} redaction(s):\n{body['text'] or ''}"
        _line(console, "body", text)
    if "ledger" in report:
        _render_ledger(report["ledger"], console)
    if "match" in report:
        _render_match(report["match"], console)
    if "record" in report:
        record = report["record"]
        table = Table(
            title=f"{record['sobject']} fields that would be written", title_justify="left"
        )
        table.add_column("field")
        table.add_column("value")
        for name, value in record["fields"].items():
            table.add_row(name, str(value))
        console.print(table)
        for rel in record.get("relations", ()):
            _line(console, "relation", f"{rel['RelationType']} {rel['RelationId']}")
        if not record["complete"]:
            _line(console, "note", "WhoId, WhatId and OwnerId come from the directory")


def _render_ledger(state: dict[str, Any], console: Console) -> None:
    if state["written"]:
        text = (
            f"written as {state['sobject']} {state['salesforce_id']} by {state['connector']} "
            f"from {state['first_mailbox']} at {state['written_at']}"
        )
    else:
        text = "not written"
    _line(console, "ledger", text)
    for sighting in state["seen_by"]:
        _line(console, "  seen by", f"{sighting['connector']} {sighting['mailbox']}")
    if "unmatched" in state:
        item = state["unmatched"]
        _line(console, "unmatched queue", f"{item['reason']} ({item['attempts']} attempt(s))")
    for letter in state["dead_letters"]:
        status = "resolved" if letter["resolved"] else "open"
        _line(console, "dead letter", f"#{letter['id']} {status}: {letter['error']}")
    trace = state.get("match_trace")
    if isinstance(trace, dict):
        for step in trace.get("trace", []):
            _line(console, "  match when written", step)


def _render_match(found: dict[str, Any], console: Console) -> None:
    if not found["available"]:
        _line(console, "match", found["reason"])
        return
    if not found["reached"]:
        _line(console, "match", "not reached: the privacy rules skipped the item")
        return
    _line(console, "match policy", found["policy"])
    _line(console, "candidates", ", ".join(found["people"]) or "none")
    who = f"{found['who_type']} {found['who_id']}" if found["who_id"] else "none"
    what = f"{found['what_type']} {found['what_id']}" if found["what_id"] else "none"
    _line(console, "chosen", f"WhoId {who}; WhatId {what}; OwnerId {found['owner_id'] or 'none'}")
    for step in found["trace"]:
        _line(console, "  why", step)


def _line(console: Console, label: str, text: str, style: str | None = None) -> None:
    console.print(f"{label}: {text}", markup=False, highlight=False, style=style)

"""``syncd explain``: how one item is (or would be) captured and matched, and why.

An operator hands in a message file (``--eml``) or an activity key (``--key``) and sees each
step of the data flow for it: the normalised activity, the verdict of every privacy rule, the
key, what the ledger, unmatched queue and dead letters know of that key, the match candidates
with the chosen Who/What and the trace, and the exact fields that would be written.

The report is a JSON-safe dict (``--json`` prints it as is); :func:`render` prints it for
people. Nothing is written anywhere. Salesforce is optional: without a ``[salesforce]`` table,
or when it cannot be reached, the match step says no directory is available and everything
else is still shown, so privacy rules can be tried offline.

Addresses appear here because this is the operator's own diagnostic on a file they hold; the
body appears only when ``capture.capture_body`` is on, and then redacted as it would be
written.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from syncd.capture.addresses import InternalParties
from syncd.capture.match import Match, match
from syncd.capture.normalize import Origin
from syncd.capture.normalize_email import normalize_email
from syncd.capture.plan import Known, plan
from syncd.capture.privacy import PrivacyRules, apply_body, decide
from syncd.capture.records import fields_for, sobject_for
from syncd.errors import SyncdError
from syncd.model import Activity, Skip, activity_from_dict
from syncd.state.schema import DeadLetterRow

#: Every optional privacy rule off: what remains are the checks that always apply.
_RULES_OFF: dict[str, Any] = {
    "exclude_addresses": frozenset(),
    "exclude_domains": frozenset(),
    "exclude_subject_patterns": (),
    "skip_bulk_mail": False,
    "skip_role_senders": False,
    "skip_internal_only": False,
}

#: The privacy rules in the order ``privacy.decide`` applies them: (setting, what it skips).
_RULES: tuple[tuple[str | None, str], ...] = (
    (None, "drafts, spam and trash, private or declined events (always on)"),
    ("exclude_addresses", "configured excluded addresses"),
    ("exclude_domains", "configured excluded domains"),
    ("exclude_subject_patterns", "configured subject patterns"),
    ("skip_bulk_mail", "list mail, bulk precedence, auto-submitted, no-reply senders"),
    ("skip_role_senders", "inbound mail from role addresses (info@, sales@ …)"),
    ("skip_internal_only", "items whose every participant is internal"),
)


def default_mailbox(config: Any) -> str:
    """The first mailbox a connector names, else a placeholder in the first internal domain."""
    for settings in config.connectors:
        boxes = getattr(settings, "mailboxes", None)
        if isinstance(boxes, tuple | list) and boxes:
            return str(boxes[0])
        single = getattr(settings, "mailbox", None)
        if isinstance(single, str) and single:
            return single
    domains = tuple(getattr(config.capture, "internal_domains", ()) or ())
    return f"mailbox@{domains[0]}" if domains else "mailbox@internal.invalid"


def directory_or_reason(app: Any) -> tuple[Any | None, str | None]:
    """The Salesforce directory, or None and why there is none (never raises syncd errors)."""
    if app.config.salesforce is None:
        return None, "no directory available: the configuration has no [salesforce] table"
    try:
        return app.directory, None
    except SyncdError as exc:
        return None, f"no directory available: Salesforce could not be used ({type(exc).__name__})"


def explain_eml(app: Any, path: Path, *, mailbox: str | None = None) -> dict[str, Any]:
    """Explain the message file at ``path`` as if captured from ``mailbox``."""
    config = app.config
    directory, no_directory = directory_or_reason(app)
    users = app.user_emails() if directory is not None else []
    rules = PrivacyRules.from_capture(config.capture, users)
    box = mailbox or (users[0] if users and not config.connectors else default_mailbox(config))
    origin = Origin(
        source="explain",
        mailbox=box,
        internal=InternalParties.build(rules.internal_domains, rules.internal_addresses),
        capture_body=rules.capture_body,
        default_region=getattr(config.capture, "default_region", None),
    )
    result = normalize_email(path.read_bytes(), origin, source_id=path.name)
    report: dict[str, Any] = {"source": {"file": str(path), "mailbox": box}}
    if isinstance(result, Skip):
        report["normalize"] = {"skipped": str(result.reason), "detail": result.detail}
        report["outcome"] = f"skipped before privacy rules: {result.reason}"
        return report
    activity = result
    report["activity"] = activity_summary(activity)
    report["parse_notes"] = list(getattr(activity, "parse_notes", ()))
    report["key"] = activity.key
    report["privacy"] = privacy_report(activity, rules)
    report["body"] = body_report(activity, rules)
    report["ledger"] = ledger_state(app.store, activity.key)
    kept = report["privacy"]["decision"]["keep"]
    found: Match | None = None
    if directory is None:
        report["match"] = {"available": False, "reason": no_directory}
    else:
        internal = InternalParties(rules.internal_domains, rules.internal_addresses)
        policy = config.capture.opportunity_policy
        found = match(activity, directory, internal=internal, policy=policy)
        report["match"] = {"available": True, "policy": policy, **found.as_dict()}
    screened = apply_body(activity, rules)
    report["record"] = {
        "sobject": sobject_for(activity),
        "fields": fields_for(screened, found or Match()),
        "complete": found is not None,
    }
    report["outcome"] = _outcome(app.store, screened, kept, report, found)
    return report


def _outcome(
    store: Any, activity: Activity, kept: bool, report: dict[str, Any], found: Match | None
) -> str:
    if not kept:
        return f"skipped by privacy rule: {report['privacy']['decision']['reason']}"
    if found is None:
        return "kept by privacy rules; matching needs Salesforce (no directory available)"
    entry = store.ledger.get(activity.key)
    known = {} if entry is None else {entry.key: Known(entry.sobject, entry.salesforce_id)}
    the_plan = plan([activity], known, {activity.key: found})
    if the_plan.writes:
        write = the_plan.writes[0]
        report["record"]["fields"] = write.fields
        return f"would upsert a {write.sobject} by Syncd_Key__c"
    if the_plan.seen and entry is not None:
        return (
            f"already written as {entry.sobject} {entry.salesforce_id}: "
            "this mailbox would only be recorded as a sighting"
        )
    if the_plan.unmatched:
        return f"unmatched ({found.unmatched_reason}): queued and re-matched when the CRM changes"
    if the_plan.skips:
        return f"skipped: {the_plan.skips[0].reason}"
    return "nothing to do"


def activity_summary(activity: Activity) -> dict[str, Any]:
    """Kind, time, direction, subject and participants by role; never the body."""
    roles: dict[str, list[str]] = {}
    for p in activity.participants:
        who = p.address or p.phone or "?"
        roles.setdefault(str(p.role), []).append(f"{p.name} <{who}>" if p.name else who)
    out: dict[str, Any] = {
        "kind": str(activity.kind),
        "occurred_at": activity.occurred_at.isoformat(),
        "direction": str(activity.direction),
        "subject": activity.subject,
        "mailbox": activity.mailbox,
        "participants": roles,
    }
    message_id = getattr(activity, "message_id", None)
    if message_id:
        out["message_id"] = message_id
    return out


def privacy_report(activity: Activity, rules: PrivacyRules) -> dict[str, Any]:
    """Each rule's verdict on ``activity`` (in the filter's order) and the final decision."""
    base = decide(activity, dataclasses.replace(rules, **_RULES_OFF))
    verdicts: list[dict[str, Any]] = []
    for setting, what in _RULES:
        row: dict[str, Any] = {"rule": setting or "always", "skips": what}
        if setting is None:
            verdict = base
        elif not getattr(rules, setting):
            row["verdict"] = "not configured"
            verdicts.append(row)
            continue
        elif not base.keep:
            row["verdict"] = "not reached (already skipped)"
            verdicts.append(row)
            continue
        else:
            verdict = decide(
                activity,
                dataclasses.replace(rules, **{**_RULES_OFF, setting: getattr(rules, setting)}),
            )
        row["verdict"] = "pass" if verdict.keep else "skip"
        if not verdict.keep:
            row["reason"] = str(verdict.reason)
            row["detail"] = verdict.detail
        verdicts.append(row)
    final = decide(activity, rules)
    decision: dict[str, Any] = {"keep": final.keep}
    if not final.keep:
        decision["reason"] = str(final.reason)
        decision["detail"] = final.detail
        decision["rule"] = next(
            (v["rule"] for v in verdicts if v.get("reason") == str(final.reason)), None
        )
    return {"rules": verdicts, "decision": decision}


def body_report(activity: Activity, rules: PrivacyRules) -> dict[str, Any]:
    """Whether a body would be written; its redacted text only when bodies are captured."""
    if not rules.capture_body:
        return {"captured": False, "why": "capture.capture_body is false"}
    original = activity.body or ""
    redactions = sum(len(p.findall(original)) for p in rules.redact_patterns)
    return {"captured": True, "redactions": redactions, "text": apply_body(activity, rules).body}


def ledger_state(store: Any, key: str) -> dict[str, Any]:
    """What the state store knows of ``key``: ledger row, sightings, queue and dead letters."""
    state: dict[str, Any] = {"written": False}
    entry = store.ledger.get(key)
    if entry is not None:
        state.update(
            written=True,
            sobject=entry.sobject,
            salesforce_id=entry.salesforce_id,
            connector=entry.connector,
            first_mailbox=entry.mailbox,
            what_id=entry.what_id,
            occurred_at=entry.occurred_at.isoformat(),
            written_at=entry.written_at.isoformat() if entry.written_at else None,
            match_trace=entry.match_trace,
        )
    state["seen_by"] = [
        {"connector": s.connector, "mailbox": s.mailbox, "seen_at": s.seen_at.isoformat()}
        for s in store.ledger.sightings(key)
    ]
    item = store.unmatched.get(key)
    if item is not None:
        state["unmatched"] = {
            "connector": item.connector,
            "mailbox": item.mailbox,
            "reason": item.reason,
            "attempts": item.attempts,
            "first_seen": item.first_seen.isoformat(),
        }
    with Session(store.engine) as session:
        rows = session.scalars(
            select(DeadLetterRow).where(DeadLetterRow.key == key).order_by(DeadLetterRow.id)
        ).all()
        state["dead_letters"] = [
            {
                "id": row.id,
                "error": f"{row.error_code}: {row.error_message}",
                "attempts": row.attempts,
                "resolved": bool(row.resolved),
            }
            for row in rows
        ]
    return state


def explain_key(app: Any, key: str) -> dict[str, Any]:
    """Everything the state store knows of one activity key."""
    state = ledger_state(app.store, key)
    report: dict[str, Any] = {"key": key, "ledger": state}
    item = app.store.unmatched.get(key)
    if item is not None and isinstance(item.payload, dict):
        report["activity"] = activity_summary(activity_from_dict(item.payload))
    if state["written"]:
        report["outcome"] = f"written as {state['sobject']} {state['salesforce_id']}"
    elif "unmatched" in state:
        report["outcome"] = f"unmatched: {state['unmatched']['reason']}"
    elif any(not d["resolved"] for d in state["dead_letters"]):
        report["outcome"] = "dead letter: Salesforce refused the record"
    else:
        report["outcome"] = "unknown key: never written, queued or refused"
    return report


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
        for name in ("kind", "occurred_at", "direction", "subject", "mailbox", "message_id"):
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
    _line(console, "match policy", found["policy"])
    _line(console, "candidates", ", ".join(found["people"]) or "none")
    who = f"{found['who_type']} {found['who_id']}" if found["who_id"] else "none"
    what = f"{found['what_type']} {found['what_id']}" if found["what_id"] else "none"
    _line(console, "chosen", f"WhoId {who}; WhatId {what}; OwnerId {found['owner_id'] or 'none'}")
    for step in found["trace"]:
        _line(console, "  why", step)


def _line(console: Console, label: str, text: str, style: str | None = None) -> None:
    console.print(f"{label}: {text}", markup=False, highlight=False, style=style)

"""``syncd explain``: how one item is (or would be) captured and matched, and why.

An operator hands in a message file (``--eml``) or an activity key (``--key``) and sees each
step of the data flow for it: the normalised activity, the verdict of every privacy rule, the
key, what the ledger, unmatched queue and dead letters know of that key, the match candidates
with the chosen Who/What and the trace, and the exact fields that would be written. The
decisions are the capture runner's own (:meth:`syncd.capture.runner.Runner.decide`): one
pipeline serves ``sync`` and ``explain``.

The report is a JSON-safe dict (``--json`` prints it as is); :mod:`syncd.explain_render`
prints it for people. Nothing is written anywhere. Salesforce is optional: without a
``[salesforce]`` table, or when it cannot be reached, the match step says no directory is
available and everything else is still shown, so privacy rules can be tried offline.

Addresses appear here because this is the operator's own diagnostic on a file they hold; the
body appears only when ``capture.capture_body`` is on, and then redacted as it would be
written.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from connectors.base import ConnectorContext
from syncd.capture.email_message import email_message_fields
from syncd.capture.invitations import meetings, normalize_mail, parse_calendar
from syncd.capture.match import Match
from syncd.capture.org_rules import EMAIL_AS_DEFAULT, MULTIDAY_DEFAULT, OrgRules, rep_zones
from syncd.capture.plan import EMAIL_MESSAGE, Decisions, Plan
from syncd.capture.privacy import PrivacyRules, apply_body, decide
from syncd.capture.records import fields_for, sobject_for
from syncd.capture.runner import Runner
from syncd.config import Config
from syncd.errors import SyncdError
from syncd.model import Activity, Email, Skip, SkipReason, activity_from_dict
from syncd.ports import StateStore
from syncd.salesforce.org_features import email_as

if TYPE_CHECKING:
    from syncd.app import App

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


def default_mailbox(config: Config) -> str:
    """The first mailbox a connector names, else a placeholder in the first internal domain."""
    for settings in config.connectors:
        if named := settings.named_mailboxes():
            return named[0]
    domains = config.capture.internal_domains
    return f"mailbox@{domains[0]}" if domains else "mailbox@internal.invalid"


def directory_or_reason(app: App) -> tuple[Any | None, str | None]:
    """The Salesforce directory, or None and why there is none (never raises syncd errors)."""
    if app.config.salesforce is None:
        return None, "no directory available: the configuration has no [salesforce] table"
    try:
        return app.directory, None
    except SyncdError as exc:
        return None, f"no directory available: Salesforce could not be used ({type(exc).__name__})"


def explain_eml(app: App, path: Path, *, mailbox: str | None = None) -> dict[str, Any]:
    """Explain the message file at ``path`` as if captured from ``mailbox``.

    The message is normalised the way a mail connector does (the connector context's origin;
    an invitation, a ``text/calendar`` part with METHOD:REQUEST or CANCEL, is a meeting), then
    handed to the capture runner's own :meth:`~syncd.capture.runner.Runner.decide`:
    privacy screening, ledger look-up, match and plan, in the pass's order. The report prints
    that trace; nothing is written.
    """
    return _explain_file(
        app,
        path,
        mailbox,
        lambda origin: normalize_mail(path.read_bytes(), origin, source_id=path.name),
    )


def explain_ics(app: App, path: Path, *, mailbox: str | None = None) -> dict[str, Any]:
    """Explain the first VEVENT of the iCalendar file at ``path`` as the ics import takes it."""

    def first(origin: Any) -> Activity | Skip:
        try:
            calendar = parse_calendar(path.read_bytes())
        except ValueError as exc:
            return Skip(path.name, SkipReason.UNPARSEABLE, str(exc))
        found = meetings(calendar, origin, source_id=path.name)
        return next(found, Skip(path.name, SkipReason.UNPARSEABLE, "no VEVENT in the file"))

    return _explain_file(app, path, mailbox, first)


def _explain_file(
    app: App, path: Path, mailbox: str | None, normalise: Callable[[Any], Activity | Skip]
) -> dict[str, Any]:
    config = app.config
    directory, no_directory = directory_or_reason(app)
    users = app.user_emails() if directory is not None else []
    rules = PrivacyRules.from_capture(config.capture, users)
    box = mailbox or (users[0] if users and not config.connectors else default_mailbox(config))
    context = ConnectorContext(
        clock=app.clock, capture=config.capture, internal_addresses=frozenset(users)
    )
    result = normalise(context.origin("explain", box))
    report: dict[str, Any] = {"source": {"file": str(path), "mailbox": box}}
    if isinstance(result, Skip):
        report["normalize"] = {"skipped": str(result.reason), "detail": result.detail}
        report["outcome"] = f"skipped before privacy rules: {result.reason}"
        return report
    activity = result
    # The org's rules as a pass applies them (the rep's day, multi-day events), read offline.
    org = OrgRules(
        zone_of=rep_zones(directory, timezone=config.service.timezone),
        multiday_events=(
            config.salesforce.multiday_events if config.salesforce else MULTIDAY_DEFAULT
        ),
        email_as=_email_as(app, directory is not None),
    )
    runner = Runner(
        app.store, None, directory, rules, policy=config.capture.opportunity_policy, org=org
    )
    decided = runner.decide(box, [activity])
    key = activity.key
    report["activity"] = activity_summary(activity)
    report["parse_notes"] = list(getattr(activity, "parse_notes", ()))
    report["key"] = key
    report["privacy"] = privacy_report(activity, rules, decided)
    report["body"] = body_report(activity, rules)
    report["ledger"] = ledger_state(app.store, key)
    report["decision"] = decided.outcome(key)
    kept = next((a for a in decided.screened.kept if a.key == key), None)
    the_plan = decided.plan
    if the_plan is None:
        report["match"] = {"available": False, "reason": no_directory}
    elif kept is None:
        report["match"] = {"available": True, "reached": False}
    else:
        found = the_plan.matches[key]
        report["match"] = {"available": True, "reached": True, "policy": runner.policy}
        report["match"] |= found.as_dict()
    report["record"] = _record(activity, kept, the_plan, org)
    report["outcome"] = _outcome(app.store, decided, report)
    return report


def _record(
    activity: Activity, kept: Activity | None, the_plan: Plan | None, org: OrgRules
) -> dict[str, Any]:
    """The fields the plan writes; else those the activity would have once matched."""
    write = (
        next((w for w in the_plan.writes if w.activity.key == activity.key), None)
        if the_plan
        else None
    )
    if write is not None:
        record = {"sobject": write.sobject, "fields": write.fields, "complete": True}
        if write.sobject == EMAIL_MESSAGE:
            record["relations"] = message_relations(write.fields, write.sender_id)
        return record
    found = the_plan.matches.get(activity.key) if the_plan is not None else None
    screened = kept or activity
    if org.email_as == EMAIL_MESSAGE and isinstance(screened, Email):
        fields = email_message_fields(screened, found or Match(), ())
        return {"sobject": EMAIL_MESSAGE, "fields": fields, "complete": found is not None}
    return {
        "sobject": sobject_for(screened),
        "fields": fields_for(screened, found or Match(), org),
        "complete": found is not None,
    }


def _email_as(app: App, online: bool) -> str:
    """What an email becomes, as a pass decides it; "auto" asks the org only when online."""
    setting = app.config.salesforce.email_as if app.config.salesforce else EMAIL_AS_DEFAULT
    if not online or setting == "Task":
        return "Task" if setting == "auto" else setting
    try:
        return email_as(setting, app.salesforce)
    except SyncdError:
        return "Task"


def message_relations(fields: dict[str, Any], sender: str | None) -> list[dict[str, str]]:
    """The EmailMessageRelation rows an EmailMessage gets: its sender, ToIds and CcIds."""
    rows = [{"RelationId": sender, "RelationType": "FromAddress"}] if sender else []
    for junction, kind in (("ToIds", "ToAddress"), ("CcIds", "CcAddress")):
        rows += [{"RelationId": rid, "RelationType": kind} for rid in fields.get(junction, ())]
    return rows


def _outcome(store: StateStore, decided: Decisions, report: dict[str, Any]) -> str:
    decision = report["decision"]
    if decision is None:
        return "kept by privacy rules; matching needs Salesforce (no directory available)"
    if decision == "written":
        sobject = report["record"]["sobject"]
        if sobject == EMAIL_MESSAGE:
            n = len(report["record"].get("relations", ()))
            return f"would create an EmailMessage by Syncd_Key__c, with {n} relation(s)"
        return f"would upsert a {sobject} by Syncd_Key__c"
    if decision == "already_written":
        entry = store.ledger.get(report["key"])
        return (
            f"already written as {entry.sobject} {entry.salesforce_id}: "
            "this mailbox would only be recorded as a sighting"
        )
    if decision == "unmatched":
        reason = report["match"].get("unmatched_reason")
        return f"unmatched ({reason}): queued and re-matched when the CRM changes"
    reason = decision.removeprefix("skipped:")
    if any(skip.key == report["key"] for skip in decided.screened.skips):
        return f"skipped by privacy rule: {reason}"
    return f"skipped: {reason}"


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
    ical_uid = getattr(activity, "ical_uid", None)
    if ical_uid:
        out["ical_uid"] = ical_uid
        out["cancelled"] = bool(getattr(activity, "cancelled", False))
    return out


def privacy_report(activity: Activity, rules: PrivacyRules, decided: Decisions) -> dict[str, Any]:
    """Each rule's verdict on ``activity`` (in the filter's order) and the runner's decision.

    The verdicts try each configured rule on its own, so the operator sees every rule that
    would skip the item; the decision is the screening the runner made.
    """
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
    final = next((skip for skip in decided.screened.skips if skip.key == activity.key), None)
    decision: dict[str, Any] = {"keep": final is None}
    if final is not None:
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


def ledger_state(store: StateStore, key: str) -> dict[str, Any]:
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
    state["dead_letters"] = [
        {
            "id": letter.id,
            "error": f"{letter.error_code}: {letter.error_message}",
            "attempts": letter.attempts,
            "resolved": letter.resolved,
        }
        for letter in store.dead_letters.list(include_resolved=True, key=key)
    ]
    return state


def explain_key(app: App, key: str) -> dict[str, Any]:
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

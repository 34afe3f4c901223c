"""The HTML status page: every connector and mailbox at a glance, rendered on the server.

One table row per (connector, mailbox): its state (ok / lagging / error / waiting), last
success, lag, the latest error's class and time, its counts and who holds its lease; then the
unmatched and dead-letter totals and the open deal flags. An outage (Salesforce refuses the
sign-in or every write, the API budget is spent, a connector's credentials or a mailbox are
refused: :mod:`syncd.service.outage_notes`) is a banner at the top naming the cause and the fix,
and every unit it stops shows "error". Inline CSS, no JavaScript, every value
escaped. Only names, counts, times and error class names are shown: never message content,
participants or secrets (error *messages* can quote a record, so they stay in ``syncd status``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from html import escape
from typing import Any

from syncd.rules.builtin import SEVERITY_NAME
from syncd.service.outage_notes import OutageNote, stopped_unit

#: A unit is "lagging" when its last success is older than this many intervals.
LAG_FACTOR = 3

_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;background:#fafafa}
h1{font-size:20px;margin:0 0 .2em} h2{font-size:16px;margin:1.4em 0 .4em}
.meta{color:#666;margin-bottom:1em}
table{border-collapse:collapse;background:#fff;min-width:60%}
th,td{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f0f0f0} td.num{text-align:right}
.state{font-weight:600;padding:1px 6px;border-radius:3px}
.ok{background:#d8f3dc;color:#1b5e20} .lagging{background:#fff3cd;color:#7a5b00}
.error{background:#f8d7da;color:#842029} .waiting{background:#e2e3e5;color:#41464b}
.totals span{display:inline-block;margin-right:2em;font-size:15px}
.bad{color:#842029;font-weight:600}
#outages{background:#f8d7da;border:1px solid #842029;color:#842029;padding:.5em 1em;margin:1em 0}
#outages p{margin:.3em 0}
"""


@dataclass(frozen=True)
class PageInfo:
    """What the daemon adds to the store's status: who is serving and whether it is ready."""

    worker_id: str = ""
    ready: bool = True
    ready_reason: str = ""
    #: The Slack alert queue: waiting, given up on, and why the waiting ones wait.
    alerts_queued: int = 0
    alerts_failed: int = 0
    alerts_problem: str = ""
    #: This process's rules runs: flags by what became of them (sent, merged, suppressed, …).
    flag_accounts: Mapping[str, int] = field(default_factory=dict)


def unit_state(
    unit: Any, now: datetime, interval: timedelta | None, *, stopped: bool = False
) -> str:
    """ok, lagging, error or waiting (never succeeded and never failed yet).

    ``stopped``: an outage stops the unit (it shows "error" even if its last pass was fine).
    """
    last = unit.last_run
    if stopped or (last is not None and last.status == "error"):
        return "error"
    if unit.last_success is None:
        return "waiting"
    if interval is not None and now - unit.last_success > LAG_FACTOR * interval:
        return "lagging"
    return "ok"


def _ago(delta: timedelta | None) -> str:
    if delta is None:
        return "—"
    seconds = int(max(delta.total_seconds(), 0))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    if seconds < 172800:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} d"


def _time(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value is not None else "never"


def _counts(counts: Mapping[str, int]) -> str:
    skipped = sum(n for k, n in counts.items() if k.startswith("skipped:"))
    parts = [
        f"written {counts.get('written', 0)}",
        f"already {counts.get('already_written', 0)}",
        f"unmatched {counts.get('unmatched', 0)}",
        f"skipped {skipped}",
    ]
    if counts.get("dead_letter"):
        parts.append(f"dead letters {counts['dead_letter']}")
    return ", ".join(parts)


def _unit_row(unit: Any, now: datetime, interval: timedelta | None, stopped: bool) -> str:
    state = unit_state(unit, now, interval, stopped=stopped)
    lag = now - unit.last_success if unit.last_success is not None else None
    error = "—"
    if unit.last_error is not None:
        error = f"{unit.last_error.error_class or 'error'} at {_time(unit.last_error.started_at)}"
    resyncs = sum(c.resync_count for c in unit.cursors)
    cells = [
        escape(unit.connector),
        escape(unit.mailbox),
        f'<span class="state {state}">{state}</span>',
        escape(_time(unit.last_success)),
        escape(_ago(lag)),
        escape(error),
        escape(_counts(unit.counts)),
        str(resyncs),
        escape(unit.lease_holder or "—"),
    ]
    return "<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"


def _flags(flags: Sequence[Any]) -> str:
    if not flags:
        return "<p>No open deal flags.</p>"
    rows = "".join(
        "<tr>"
        + "".join(
            f"<td>{escape(str(v))}</td>"
            for v in (
                f.rule,
                f.opportunity_id,
                SEVERITY_NAME.get(f.severity, f.severity),
                f.state,
                _time(f.updated_at),
            )
        )
        + "</tr>"
        for f in flags[:50]
    )
    head = "".join(f"<th>{h}</th>" for h in ("rule", "opportunity", "severity", "state", "updated"))
    return f"<table><tr>{head}</tr>{rows}</table>"


def _alerts(info: PageInfo) -> str:
    """The alert queue: queued and failed Slack messages, and what holds the queued ones."""
    bad = ' class="bad"' if info.alerts_problem or info.alerts_failed else ""
    why = f" (waiting: {escape(info.alerts_problem)})" if info.alerts_problem else ""
    accounts = ", ".join(f"{escape(k)} {v}" for k, v in info.flag_accounts.items() if v)
    flags = f' <span id="flag-accounts">flags: {accounts}</span>' if accounts else ""
    return (
        f'<span id="alerts"{bad}>Slack alerts queued: <b>{info.alerts_queued}</b>, '
        f"failed: <b>{info.alerts_failed}</b>{why}</span>{flags}"
    )


def _outages(outages: Sequence[OutageNote]) -> str:
    """The banner: what stopped, why, and the fix (nothing when all runs)."""
    if not outages:
        return ""
    lines = "".join(
        f"<p><b>Stopped: {escape(n.cause)}</b> ({escape(n.error_class)}). Fix: {escape(n.fix)}</p>"
        for n in outages
    )
    return f'<div id="outages" role="alert">{lines}</div>'


def render_page(
    report: Any,
    *,
    intervals: Mapping[str, timedelta] | None = None,
    flags: Sequence[Any] = (),
    info: PageInfo | None = None,
    outages: Sequence[OutageNote] = (),
) -> str:
    """The whole page for a ``StatusReport``; ``outages`` stop the units they cover."""
    info = info or PageInfo()
    intervals = intervals or {}
    now = report.generated_at
    stopped = [stopped_unit(outages, u.connector, u.mailbox) for u in report.units]
    states = [
        unit_state(u, now, intervals.get(u.connector), stopped=s)
        for u, s in zip(report.units, stopped, strict=True)
    ]
    summary = ", ".join(
        f"{states.count(s)} {s}" for s in ("ok", "lagging", "error", "waiting") if states.count(s)
    )
    head = "".join(
        f"<th>{h}</th>"
        for h in (
            "connector", "mailbox", "state", "last success", "lag", "latest error",
            "counts", "resyncs", "lease",
        )
    )  # fmt: skip
    rows = (
        "".join(
            _unit_row(u, now, intervals.get(u.connector), s)
            for u, s in zip(report.units, stopped, strict=True)
        )
        or '<tr><td colspan="9">No connector has run yet.</td></tr>'
    )
    ready = (
        "ready"
        if info.ready
        else f'<span class="bad">not ready: {escape(info.ready_reason or "unknown")}</span>'
    )
    dead_class = ' class="bad"' if report.dead_letters_open else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>syncd status</title>
<style>{_CSS}</style></head><body>
<h1>syncd status</h1>
<div class="meta">generated {escape(_time(now))} · worker {escape(info.worker_id or "—")} ·
{ready} · {escape(summary or "no units yet")}</div>
{_outages(outages)}
<div class="totals"><span id="unmatched">unmatched: <b>{report.unmatched_total}</b></span>
<span id="dead-letters"{dead_class}>open dead letters: <b>{report.dead_letters_open}</b></span>
<span>units: <b>{len(report.units)}</b></span>
{_alerts(info)}</div>
<h2>Connectors and mailboxes</h2>
<table id="units"><tr>{head}</tr>{rows}</table>
<h2>Open deal flags</h2>
{_flags(flags)}
</body></html>
"""

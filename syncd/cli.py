"""The ``syncd`` command line: the product's interface for operators.

Each sub-command is a small function taking the parsed arguments and returning an exit code.
Exit codes: 0 success, 1 the command ran and found a problem or an operational failure
stopped it, 2 bad configuration or usage, 130 interrupted. A failure prints one line with its
cause and fix (:mod:`syncd.cli_errors`); ``syncd --debug …`` adds the traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import traceback
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from syncd import __version__
from syncd.cli_errors import describe
from syncd.errors import ConfigError, Problem

log = logging.getLogger("syncd.cli")

EXIT_OK = 0
EXIT_PROBLEM = 1
EXIT_CONFIG = 2

Handler = Callable[[argparse.Namespace], int]


def _out() -> Console:
    return Console(soft_wrap=True)


def _err() -> Console:
    return Console(stderr=True, soft_wrap=True)


def _print_config_error(err: ConfigError) -> None:
    console = _err()
    console.print(str(err), markup=False, highlight=False)


def _load(args: argparse.Namespace, *, secrets: bool = True, runnable: bool = False) -> Any:
    """Load and validate the config named by ``-c``, setting up logging from it.

    ``secrets=False`` for commands that read only the local store; ``runnable=True`` for those
    that capture (checked before anything, a state file included, is created).
    """
    from syncd.app import check_config
    from syncd.logs import setup_logging

    config, warnings = check_config(Path(args.config), secrets=secrets, runnable=runnable)
    setup_logging(
        log_format=config.service.log_format,
        level=config.service.log_level,
        secrets=config.secret_values(),
    )
    for warning in warnings:
        log.warning("config: %s", warning)
    return config


# --- commands -----------------------------------------------------------------------------


def cmd_check_config(args: argparse.Namespace) -> int:
    """Validate the configuration; every problem is listed with its key path."""
    from syncd.app import check_config

    config, warnings = check_config(Path(args.config), runnable=True)
    err = _err()
    for warning in warnings:
        err.print(f"warning: {warning}", markup=False, highlight=False)
    connectors = len(config.connectors)
    _out().print(
        f"{args.config}: ok ({connectors} connector{'s' if connectors != 1 else ''})",
        markup=False,
        highlight=False,
    )
    return EXIT_OK


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    """Apply the state store's migrations up to the newest."""
    from syncd.state import upgrade

    config = _load(args)
    upgrade(config.state.url)
    _out().print("state store is at the newest schema", markup=False)
    return EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    """Show, per connector and mailbox, the cursor, last run, last success and counts."""
    from syncd.service.outage_notes import from_report
    from syncd.state import Store

    config = _load(args, secrets=False)
    store = Store.open(config.state.url)
    try:
        status = store.status()
    finally:
        store.close()
    data = status.as_dict()
    # Units whose latest pass an outage stopped: the cause and the fix, as the status page.
    data["outages"] = [n.as_dict() for n in from_report(status)]
    if args.json:
        sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
        return EXIT_OK
    render_status(data, _out())
    return EXIT_OK


def render_status(data: dict[str, Any], console: Console) -> None:
    """Print a status dict (``StatusReport.as_dict()``) as tables an operator can scan."""
    units = data.get("units", [])
    table = Table(title="Connectors and mailboxes", title_justify="left")
    for column in ("connector", "mailbox", "last success", "last run", "cursor", "counts"):
        table.add_column(column)
    for unit in units:
        counts = ", ".join(f"{k}={v}" for k, v in sorted((unit.get("counts") or {}).items()))
        cursors = (
            ", ".join(
                f"{c['stream']}"
                + (f" (resynced {c['resync_count']}x)" if c.get("resync_count") else "")
                for c in unit.get("cursors") or []
            )
            or "-"
        )
        last_run = unit.get("last_run") or {}
        run_text = "-"
        if last_run:
            run_text = f"{last_run.get('status', '?')} {last_run.get('finished_at') or ''}".strip()
            if last_run.get("error_class"):
                run_text += f" ({last_run['error_class']})"
            quota = (last_run.get("counts") or {}).get("quota_units")
            if quota is not None:
                run_text += f", {quota} quota units"
        table.add_row(
            str(unit.get("connector")),
            str(unit.get("mailbox")),
            str(unit.get("last_success") or "never"),
            run_text,
            cursors,
            counts or "-",
        )
    for outage in data.get("outages", []):
        console.print(
            f"STOPPED: {outage['cause']} ({outage['error_class']}); fix: {outage['fix']}",
            markup=False,
            highlight=False,
        )
    if not units:
        console.print("No connector has run yet.")
    else:
        console.print(table)
    console.print(
        f"unmatched: {data.get('unmatched_total', 0)}   "
        f"open dead letters: {data.get('dead_letters_open', 0)}"
    )


def _app(args: argparse.Namespace, *, writes: bool = True, captures: bool = False) -> Any:
    """The App for ``args``; a writing command holds a SQLite store against a second process."""
    from syncd.app import App

    config = _load(args, secrets=writes, runnable=captures)
    return App(config, hold=f"syncd {args.command}" if writes else None)


def cmd_sync(args: argparse.Namespace) -> int:
    """One capture pass over every connector and mailbox (or the chosen ones), then exit."""
    from syncd.service.outages import with_fix

    stopped: list[tuple[str, Exception]] = []
    with _app(args, captures=True) as app:
        results = app.sync(args.connector, args.mailbox, stopped=stopped)
        failed = [r for r in results if not r.complete]
        rows = [
            {
                "connector": r.connector,
                "mailbox": r.mailbox,
                "outcomes": dict(r.outcomes),
                "salesforce_calls": r.salesforce_calls,
                "resynced": r.resynced,
                "complete": r.complete,
            }
            for r in results
        ]
    if args.json:
        paused = [{"scope": scope, "error_class": type(e).__name__} for scope, e in stopped]
        sys.stdout.write(json.dumps({"passes": rows, "paused": paused}) + "\n")
    else:
        table = Table(title="Sync pass", title_justify="left")
        for column in ("connector", "mailbox", "outcomes", "salesforce calls"):
            table.add_column(column)
        for row in rows:
            outcomes = ", ".join(f"{k}={v}" for k, v in sorted(row["outcomes"].items()))
            note = "" if row["complete"] else " (incomplete: retried next pass)"
            table.add_row(
                row["connector"], row["mailbox"], (outcomes or "-") + note,
                str(row["salesforce_calls"]),
            )  # fmt: skip
        _out().print(table)
    for scope, exc in stopped:  # one mailbox or connector refused; the others were synced
        _err().print(f"error: {scope} paused: {with_fix(exc)}", markup=False, highlight=False)
    return EXIT_PROBLEM if failed or stopped else EXIT_OK


def cmd_setup_salesforce(args: argparse.Namespace) -> int:
    """Create or repair Activity.Syncd_Key__c and the permission set granting it (idempotent)."""
    from syncd.errors import Permanent
    from syncd.salesforce.setup import BY_HAND_FIX, run_setup

    with _app(args) as app:
        try:
            steps = run_setup(app.salesforce)
        except Permanent as exc:  # refused by the org: say how to get past it, by hand if need be
            _err().print(f"error: {exc}\nfix: {BY_HAND_FIX}", markup=False, highlight=False)
            return EXIT_PROBLEM
    console = _out()
    for step in steps:
        console.print(str(step), markup=False, highlight=False)
    return EXIT_OK


def cmd_doctor(args: argparse.Namespace) -> int:
    """Reach Salesforce, sign in, check the key field, permissions and the API budget."""
    from syncd.salesforce.client import SalesforceClient
    from syncd.salesforce.doctor import run_doctor

    config = _load(args)
    if config.salesforce is None:
        raise ConfigError([Problem("salesforce", "doctor needs a [salesforce] table")])
    checks = run_doctor(lambda: SalesforceClient.from_config(config.salesforce), config.salesforce)
    console = _out()
    for check in checks:
        mark = "ok     " if check.ok else "problem"
        console.print(f"{mark}  {check.name}: {check.detail}", markup=False, highlight=False)
        if not check.ok and check.fix:
            console.print(f"         fix: {check.fix}", markup=False, highlight=False)
    return EXIT_OK if all(c.ok for c in checks) else EXIT_PROBLEM


def cmd_unmatched(args: argparse.Namespace) -> int:
    """List the unmatched queue, or match it again against a fresh directory."""
    with _app(args, writes=args.action != "list") as app:
        if args.action == "rematch":
            outcomes = app.rematch(limit=args.limit)
            _out().print(
                "re-matched the unmatched queue: "
                + (", ".join(f"{k}={v}" for k, v in sorted(outcomes.items())) or "nothing to do"),
                markup=False,
            )
            return EXIT_OK
        items = app.store.unmatched.list(limit=args.limit)
        rows = [
            {"key": i.key, "connector": i.connector, "mailbox": i.mailbox, "reason": i.reason,
             "first_seen": i.first_seen.isoformat(), "attempts": i.attempts}
            for i in items
        ]  # fmt: skip
    return _print_rows(args, rows, "Unmatched items")


def cmd_deadletter(args: argparse.Namespace) -> int:
    """List dead letters (with file and line where the source was a file), or retry them."""
    with _app(args, writes=args.action != "list") as app:
        letters = app.store.dead_letters.list(limit=args.limit)
        if args.action == "retry":
            outcomes = app.runner.retry_dead_letters(letters)
            _out().print(
                f"retried {len(letters)} dead letter(s): "
                + (", ".join(f"{k}={v}" for k, v in sorted(outcomes.items())) or "nothing to do"),
                markup=False,
            )
            return EXIT_OK
        rows = [
            {"id": d.id, "key": d.key, "connector": d.connector, "mailbox": d.mailbox,
             "error": f"{d.error_code}: {d.error_message}", "attempts": d.attempts,
             "source": f"{d.source_file}:{d.source_line}" if d.source_file else None}
            for d in letters
        ]  # fmt: skip
    return _print_rows(args, rows, "Dead letters")


def _print_rows(args: argparse.Namespace, rows: list[dict[str, Any]], title: str) -> int:
    if getattr(args, "json", False):
        sys.stdout.write(json.dumps(rows, default=str) + "\n")
        return EXIT_OK
    if not rows:
        _out().print(f"{title}: none")
        return EXIT_OK
    table = Table(title=title, title_justify="left")
    for column in rows[0]:
        table.add_column(column)
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row.values()))
    _out().print(table)
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    """Run syncd once against the sandbox world and print a summary."""
    from syncd.demo.run import run_demo

    return run_demo(json_output=args.json, serve=args.serve)


def cmd_explain(args: argparse.Namespace) -> int:
    """Show how one message file or activity key is (or would be) captured, and why."""
    from syncd.explain import explain_eml, explain_ics, explain_key
    from syncd.explain_render import render

    with _app(args, writes=False) as app:
        if args.eml is not None or args.ics is not None:
            flag, path = ("--eml", Path(args.eml)) if args.eml else ("--ics", Path(args.ics))
            if not path.is_file():
                raise ConfigError([Problem(flag, f"no such file: {path}")])
            explain = explain_eml if flag == "--eml" else explain_ics
            report = explain(app, path, mailbox=args.mailbox)
        else:
            report = explain_key(app, args.key)
    if args.json:
        sys.stdout.write(json.dumps(report, default=str) + "\n")
    else:
        render(report, _out())
    return EXIT_OK


def cmd_backfill(args: argparse.Namespace) -> int:
    """Capture history from --since for each unit, resumably, with progress and API calls."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from syncd.app import App
    from syncd.backfill import Backfill, UnitReport, parse_since

    since = parse_since(args.since, datetime.now(UTC).date())  # a usage error comes first
    config = _load(args, runnable=True)
    with App(config, hold="syncd backfill") as app:
        tasks: dict[tuple[str, str], Any] = {}
        columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
        with Progress(*columns, console=_err(), disable=args.json) as bar:

            def show(report: UnitReport) -> None:
                unit = (report.connector, report.mailbox)
                text = (
                    f"{report.connector} {report.mailbox}: {report.batches} batch(es), "
                    f"{report.items} item(s), {report.outcomes.get('written', 0)} written"
                )
                if unit not in tasks:
                    tasks[unit] = bar.add_task(text, total=None)
                bar.update(tasks[unit], description=text)

            backfill = Backfill(app, since, max_batches=args.max_batches, progress=show)
            before = app.salesforce.calls_made
            reports = [
                backfill.run_unit(c, m) for c, m in backfill.units(args.connector, args.mailbox)
            ]
            total_calls = app.salesforce.calls_made - before
            for task in tasks.values():
                bar.update(task, completed=1, total=1)
    rows = [r.as_dict() for r in reports]
    write_calls = sum(r.salesforce_calls for r in reports)
    if args.json:
        sys.stdout.write(
            json.dumps(
                {"since": since.isoformat(), "units": rows, "write_calls": write_calls,
                 "salesforce_calls": total_calls}
            )
            + "\n"
        )  # fmt: skip
    else:
        table = Table(title=f"Backfill since {since.isoformat()}", title_justify="left")
        for column in ("connector", "mailbox", "state", "outcomes", "salesforce calls"):
            table.add_column(column)
        for row in rows:
            outcomes = ", ".join(f"{k}={v}" for k, v in sorted(row["outcomes"].items()))
            table.add_row(
                row["connector"], row["mailbox"], row["state"], outcomes or "-",
                str(row["salesforce_calls"]),
            )  # fmt: skip
        console = _out()
        console.print(table)
        console.print(
            f"Salesforce API calls spent: {total_calls} "
            f"({write_calls} for collection writes, the rest reading the directory)",
            markup=False,
        )
    unfinished = [r for r in reports if r.state == "incomplete"]
    return EXIT_PROBLEM if unfinished else EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    """The daemon: scheduled passes, endpoints on service.listen; SIGTERM/SIGINT drain."""
    from syncd.app import App
    from syncd.service.drain import Drain
    from syncd.service.scheduler import Service

    config = _load(args, runnable=True)
    drain = Drain()  # backoff waits end early when a stop would otherwise wait for them
    with App(config, sleep=drain.sleep, hold="syncd run") as app:
        service = Service(app, drain=drain)
        if args.once:
            reports = service.run_once()
            stopped = service.outages.scopes()  # e.g. Salesforce refused the sign-in
            return EXIT_PROBLEM if stopped or any(r.failed for r in reports) else EXIT_OK
        return service.run()


def _add_explain_backfill(sub: Any) -> None:
    p = sub.add_parser("explain", help="how an item is (or would be) captured and matched, and why")
    _add_config(p)
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--eml", metavar="FILE", help="an RFC 822 message file")
    what.add_argument("--ics", metavar="FILE", help="an iCalendar file (its first VEVENT)")
    what.add_argument("--key", metavar="KEY", help="an activity key (em:…, mt:…, cl:…)")
    p.add_argument("--mailbox", metavar="ADDRESS", help="explain as if captured from this mailbox")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=cmd_explain)

    p = sub.add_parser("backfill", help="capture history from a date, resumably")
    _add_config(p)
    p.add_argument("--since", required=True, metavar="DATE", help="ISO date, e.g. 2024-01-31")
    p.add_argument("--connector", metavar="NAME", help="only this connector")
    p.add_argument("--mailbox", metavar="ADDRESS", help="only this mailbox")
    p.add_argument(
        "--max-batches",
        type=int,
        metavar="N",
        help="stop each mailbox after N batches (resume later)",
    )
    p.add_argument("--json", action="store_true", help="print the report as one JSON object")
    p.set_defaults(handler=cmd_backfill)


# --- parser -------------------------------------------------------------------------------


def _add_config(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-c", "--config", required=True, metavar="FILE", help="the syncd TOML configuration"
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; only commands that work are listed."""
    parser = argparse.ArgumentParser(
        prog="syncd",
        description="Capture sales activity into Salesforce and flag deals at risk.",
    )
    parser.add_argument("--version", action="version", version=f"syncd {__version__}")
    parser.add_argument(
        "--debug", action="store_true", help="print the traceback of a failure (for bug reports)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("demo", help="run the whole product once against the sandbox world")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    p.add_argument(
        "--serve",
        action="store_true",
        help="keep the emulators running afterwards, to read the Slack alerts (Ctrl-C stops)",
    )
    p.set_defaults(handler=cmd_demo)

    p = sub.add_parser("check-config", help="validate a configuration; exit 2 on problems")
    _add_config(p)
    p.set_defaults(handler=cmd_check_config)

    p = sub.add_parser("status", help="per connector and mailbox: last success, cursor, counts")
    _add_config(p)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_status)

    p = sub.add_parser("sync", help="one capture pass, then exit")
    _add_config(p)
    p.add_argument("--connector", metavar="NAME", help="only this connector")
    p.add_argument("--mailbox", metavar="ADDRESS", help="only this mailbox")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_sync)

    p = sub.add_parser("doctor", help="check Salesforce: reachable, auth, key field, budget")
    _add_config(p)
    p.set_defaults(handler=cmd_doctor)

    setup = sub.add_parser("setup", help="one-time set-up of a service")
    setup_sub = setup.add_subparsers(dest="setup_target", metavar="SERVICE", required=True)
    p = setup_sub.add_parser("salesforce", help="create Activity.Syncd_Key__c (idempotent)")
    _add_config(p)
    p.set_defaults(handler=cmd_setup_salesforce)

    for name, handler, actions, what in (
        ("unmatched", cmd_unmatched, ("list", "rematch"), "items no Contact/Lead/Account matched"),
        ("deadletter", cmd_deadletter, ("list", "retry"), "records Salesforce rejected"),
    ):
        p = sub.add_parser(name, help=f"{what}: {' or '.join(actions)}")
        p.add_argument("action", choices=actions)
        _add_config(p)
        p.add_argument("--limit", type=int, default=500, help="at most this many (default 500)")
        p.add_argument("--json", action="store_true", help="print JSON (list)")
        p.set_defaults(handler=handler)

    db = sub.add_parser("db", help="state store maintenance")
    db_sub = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    p = db_sub.add_parser("upgrade", help="apply migrations up to the newest schema")
    _add_config(p)
    p.set_defaults(handler=cmd_db_upgrade)
    _add_explain_backfill(sub)
    p = sub.add_parser("run", help="the daemon (foreground; SIGTERM drains and exits)")
    _add_config(p)
    p.add_argument("--once", action="store_true", help="one round of every job, then exit")
    p.set_defaults(handler=cmd_run)
    _add_rules_commands(sub)
    return parser


# --- deal rules, flags, pipeline -------------------------------------------------------------


def _as_of(value: str | None) -> datetime:
    """Now, or the start of ``value`` (an ISO date) in UTC, for reproducible runs."""
    if not value:
        return datetime.now(UTC)
    return datetime.combine(date.fromisoformat(value), time(12), tzinfo=UTC)


def cmd_rules_run(args: argparse.Namespace) -> int:
    """Evaluate the deal rules; update flags and send alerts unless --dry-run."""
    from syncd.rules.run import rep_zone_of, run_rules

    with _app(args) as app:
        delivery = None if args.dry_run else app.slack_delivery
        summary = run_rules(
            app.config,
            app.salesforce,
            app.store,
            now=_as_of(args.as_of),
            dry_run=args.dry_run,
            delivery=delivery,
            progress=_delivery_progress,
            zone_of=rep_zone_of(app),
        )
    stuck = _undelivered(summary) if delivery is not None else None
    if args.json:
        # Plain write: thousands of flags are too many for rich's JSON highlighter.
        sys.stdout.write(json.dumps(summary, default=str) + "\n")
        return EXIT_PROBLEM if stuck else EXIT_OK
    out = _out()
    for flag in summary["flags"]:
        out.print(
            f"{flag['opportunity']} [{flag['rule']}] {flag['why']} -> {flag['action']}",
            markup=False,
            highlight=False,
        )
    acc = summary["alerts"]
    why = ", ".join(f"{k} {v}" for k, v in acc["suppressed_by"].items())
    out.print(
        f"{summary['open_deals']} open deals, {summary['flagged_deals']} flagged, "
        f"{len(summary['flags'])} flags ({summary['raised']} new, "
        f"{summary['resolved']} resolved); flags sent {acc['sent']}, merged {acc['merged']}, "
        f"suppressed {acc['suppressed']}{f' ({why})' if why else ''}, failed {acc['failed']}, "
        f"queued {acc['queued']}; messages queued {summary['alerts_queued']}, "
        f"sent {summary['alerts_sent']}; {summary['salesforce_calls']} Salesforce calls",
        markup=False,
        highlight=False,
    )
    if stuck:
        _err().print(f"error: {stuck}", markup=False, highlight=False)
        return EXIT_PROBLEM
    return EXIT_OK


def _delivery_progress(done: int, of: int) -> None:
    """``rules run`` on stderr while Slack takes the messages (every 25, at Slack's pace)."""
    if done % 25 == 0:
        _err().print(f"delivering to Slack: {done}/{of}", markup=False, highlight=False)


def _undelivered(summary: dict[str, Any]) -> str | None:
    """Why nothing could be delivered although messages were due (None: fine)."""
    tried = summary["alerts_requeued"] + summary["alerts_failed"] + summary["alerts_paused"]
    tried += summary.get("alerts_held", 0)
    if summary["alerts_sent"] or not tried:
        return None
    why = summary.get("delivery_paused") or "Slack refused or could not take them"
    return (
        f"no alert could be delivered ({why}); they stay queued: fix it, then `syncd alerts retry`"
    )


def cmd_alerts(args: argparse.Namespace) -> int:
    """List the alert queue, or queue failed alerts again and deliver what is due."""
    with _app(args) as app:
        if args.alerts_command == "list":
            rows = [
                {
                    "id": a.id,
                    "status": a.status,
                    "to": a.channel,
                    "key": a.digest_key,
                    "attempts": a.attempts,
                    "created_at": a.created_at.isoformat(),
                    "sent_at": a.sent_at.isoformat() if a.sent_at else None,
                    "error": a.last_error,
                }
                for a in app.store.alerts.latest(args.status, args.limit)
            ]
            if args.json:
                sys.stdout.write(json.dumps(rows) + "\n")
            else:
                out = _out()
                for r in rows:
                    line = f"{r['id']} {r['status']} {r['to']} {r['key'] or ''} x{r['attempts']}"
                    out.print(line + (f" {r['error']}" if r["error"] else ""), markup=False)
            return EXIT_OK
        requeued = app.store.alerts.requeue(args.ids)
        delivery = app.slack_delivery
        counts = delivery.deliver(app.store.alerts, now=app.clock) if delivery else {}
    sent = counts.get("sent", 0)
    _out().print(f"{requeued} queued again, {sent} sent", markup=False, highlight=False)
    stuck = counts.get("requeued", 0) + counts.get("failed", 0) + counts.get("paused", 0)
    return EXIT_PROBLEM if stuck and not sent else EXIT_OK


def cmd_flags_snooze(args: argparse.Namespace) -> int:
    """Silence one open flag until a date."""
    from syncd.rules.lifecycle import snooze

    until = datetime.combine(date.fromisoformat(args.until), time(0), tzinfo=UTC)
    with _app(args) as app:
        try:
            flag = snooze(app.store.flags, args.opportunity_id, args.rule, until)
        except KeyError as err:
            _err().print(f"error: {err.args[0]}", markup=False, highlight=False)
            return EXIT_PROBLEM
    _out().print(f"snoozed {flag.rule} on {flag.opportunity_id} until {args.until}", markup=False)
    return EXIT_OK


def cmd_pipeline_report(args: argparse.Namespace) -> int:
    """Print the pipeline metrics."""
    from syncd.rules.run import load, pipeline_report

    now = _as_of(args.as_of)
    with _app(args) as app:
        pipeline = load(app.config, app.salesforce, app.store, now.date())
        start = date.fromisoformat(args.since) if args.since else None
        end = date.fromisoformat(args.until) if args.until else None
        data = pipeline_report(app.config, pipeline, start=start, end=end).as_dict()
    if args.json:
        sys.stdout.write(json.dumps(data) + "\n")
        return EXIT_OK
    out = _out()
    for key, value in data.items():
        out.print(f"{key}: {value}", markup=False, highlight=False)
    return EXIT_OK


def _add_rules_commands(sub: Any) -> None:
    p = sub.add_parser("rules", help="deal rules")
    rules_sub = p.add_subparsers(dest="rules_command", metavar="ACTION", required=True)
    p = rules_sub.add_parser("run", help="evaluate the rules, update flags, send alerts")
    _add_config(p)
    p.add_argument(
        "--dry-run", action="store_true", help="print what would be flagged; change nothing"
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--as-of", metavar="DATE", help="evaluate as of this ISO date (default today)")
    p.set_defaults(handler=cmd_rules_run)

    p = sub.add_parser("alerts", help="the Slack alert queue")
    alerts_sub = p.add_subparsers(dest="alerts_command", metavar="ACTION", required=True)
    p = alerts_sub.add_parser("list", help="alerts, newest first")
    _add_config(p)
    p.add_argument("--status", choices=("queued", "sent", "failed"), help="only this status")
    p.add_argument("--limit", type=int, default=100, help="at most this many (default 100)")
    p.add_argument("--json", action="store_true", help="print one JSON array")
    p.set_defaults(handler=cmd_alerts)
    p = alerts_sub.add_parser("retry", help="queue failed alerts again and deliver what is due")
    _add_config(p)
    p.add_argument(
        "ids", nargs="*", type=int, metavar="ID", help="these alerts (default: all failed)"
    )
    p.set_defaults(handler=cmd_alerts)

    p = sub.add_parser("flags", help="deal-risk flags")
    flags_sub = p.add_subparsers(dest="flags_command", metavar="ACTION", required=True)
    p = flags_sub.add_parser("snooze", help="silence one flag until a date")
    p.add_argument("opportunity_id", metavar="OPP_ID")
    p.add_argument("rule", metavar="RULE")
    p.add_argument("--until", required=True, metavar="DATE", help="ISO date")
    _add_config(p)
    p.set_defaults(handler=cmd_flags_snooze)

    p = sub.add_parser("pipeline", help="pipeline metrics")
    pipe_sub = p.add_subparsers(dest="pipeline_command", metavar="ACTION", required=True)
    p = pipe_sub.add_parser("report", help="velocity, win rate, coverage, conversion, aging")
    _add_config(p)
    p.add_argument("--since", metavar="DATE", help="period start (default: period_days ago)")
    p.add_argument("--until", metavar="DATE", help="period end (default: today)")
    p.add_argument("--as-of", metavar="DATE", help="today, for aging and time in stage")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=cmd_pipeline_report)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``syncd`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except KeyboardInterrupt:
        return 130
    except Exception as err:  # noqa: BLE001 - every failure ends as one line (--debug: traceback)
        if args.debug:
            traceback.print_exc()
        line, code = describe(err)
        if isinstance(err, ConfigError):
            _print_config_error(err)
        else:
            _err().print(line, markup=False, highlight=False)
        return code


if __name__ == "__main__":
    sys.exit(main())

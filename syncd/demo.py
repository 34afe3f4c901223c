"""``syncd demo``: the whole product once, against a seeded world of emulators.

Everything happens in a temporary directory that is removed afterwards. The Salesforce,
Google, Microsoft Graph, RingCentral and Slack emulators start in-process on loopback (one test
CA; their secrets only in environment variables of this process, restored afterwards; see
:mod:`sandbox.world.emulators`). :func:`sandbox.world.build_world` fills the Northwind org and
splits the 20 reps between Google Workspace (gmail + google_calendar), Microsoft 365
(outlook_mail + outlook_calendar) and an mbox import, with threads and meetings shared across
providers, and seeds the reps' calls to contacts in RingCentral. A syncd.toml naming all of
them is written and loaded like an operator's file, the key field is created, one capture pass
runs over every unit (``App.sync``), then the built-in deal rules run the way
``syncd rules run`` runs them, DMing alerts through the Slack sandbox.

The summary counts what was written by kind (emails and calls → Tasks, meetings → Events),
per connector type, skipped by reason, left unmatched or dead-lettered, the Salesforce calls
and vendor requests and quota units it cost, and the flags by rule and alerts sent: counts
only, never addresses or subjects. Logs go to stderr at WARNING (``SYNCD_DEMO_LOG_LEVEL=INFO``
for more); ``--json`` prints the summary as one JSON object on stdout.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import tempfile
import threading
import tomllib
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

EXAMPLE_CONFIG = Path(__file__).resolve().parent.parent / "config.example.toml"

#: The environment variable the demo config names for the Salesforce client secret.
SECRET_ENV = "SYNCD_DEMO_SF_CLIENT_SECRET"  # noqa: S105 - a variable name, not a secret

#: Connector name → (type, kind) for the provider connectors; mbox ones are ``mail-<rep>``.
CONNECTORS = {
    "gmail": ("gmail", "email"),
    "google-calendar": ("google_calendar", "meeting"),
    "outlook-mail": ("outlook_mail", "email"),
    "outlook-calendar": ("outlook_calendar", "meeting"),
    "phones": ("ringcentral", "call"),
}
KINDS = ("email", "meeting", "call")


def connector_type(name: str) -> tuple[str, str]:
    """(type, kind) of a demo connector by its name."""
    return CONNECTORS.get(name, ("mbox", "email"))


def _env_names(node: Any) -> Iterator[str]:
    """Every value of a ``*_env`` key in a parsed TOML document."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key.endswith("_env") and isinstance(value, str):
                yield value
            else:
                yield from _env_names(value)
    elif isinstance(node, list):
        for item in node:
            yield from _env_names(item)


def dummy_environment(config_path: Path) -> dict[str, str]:
    """Dummy values for the environment variables a config names, where they are unset."""
    with config_path.open("rb") as fh:
        document = tomllib.load(fh)
    names = {name for name in _env_names(document) if not os.environ.get(name)}
    return {name: f"demo-{name.lower()}" for name in sorted(names)}


def _q(value: object) -> str:
    """A TOML basic string (JSON's escaping is valid TOML for these values)."""
    return json.dumps(str(value))


def _list(values: list[str]) -> str:
    return "[" + ", ".join(_q(v) for v in values) + "]"


def _provider_connectors(emulators: Any, world: Any) -> list[str]:
    """The Google, Microsoft and RingCentral ``[[connectors]]`` tables."""
    from sandbox.world.emulators import ENV
    from sandbox.world.providers import GOOGLE, MBOX, MICROSOFT

    reps = {
        p: sorted(r for r, q in world.providers.items() if q == p)
        for p in (GOOGLE, MICROSOFT, MBOX)
    }
    google, graph, rc = emulators.google, emulators.graph, emulators.ringcentral
    google_keys = [
        f"service_account_key_env = {_q(ENV['google_key'])}",
        f"ca_bundle = {_q(google.ca_bundle)}",
    ]
    graph_keys = [
        f"tenant_id = {_q(graph.tenant)}",
        f"client_id = {_q(graph.client_id)}",
        f"client_secret_env = {_q(ENV['graph'])}",
        f"authority_host = {_q(graph.url)}",
        f"graph_url = {_q(graph.graph_url)}",
        f"ca_bundle = {_q(graph.ca_bundle)}",
        f"mailboxes = {_list(reps[MICROSOFT])}",
    ]
    return [
        "# Google Workspace reps (mbox reps keep their calendar in Google too).",
        "[[connectors]]", 'type = "gmail"', 'name = "gmail"',
        f"api_endpoint = {_q(google.url + '/')}", f"mailboxes = {_list(reps[GOOGLE])}",
        *google_keys, "",
        "[[connectors]]", 'type = "google_calendar"', 'name = "google-calendar"',
        f"api_endpoint = {_q(google.url + '/calendar/v3/')}",
        f"mailboxes = {_list(reps[GOOGLE] + reps[MBOX])}", *google_keys, "",
        "# Microsoft 365 reps.",
        "[[connectors]]", 'type = "outlook_mail"', 'name = "outlook-mail"',
        "fetch_headers = true", *graph_keys, "",
        "[[connectors]]", 'type = "outlook_calendar"', 'name = "outlook-calendar"',
        *graph_keys, "",
        "# The phone system: the company-wide call log.",
        "[[connectors]]", 'type = "ringcentral"', 'name = "phones"',
        f"server_url = {_q(rc.url)}", f"client_id = {_q(rc.client_id)}",
        f"client_secret_env = {_q(ENV['ringcentral'])}",
        f"jwt_env = {_q(ENV['ringcentral_jwt'])}", f"ca_bundle = {_q(rc.ca_bundle)}", "",
    ]  # fmt: skip


def write_config(folder: Path, emulators: Any, world: Any) -> Path:
    """The demo's syncd.toml: state in ``folder``, the sandbox org, every rep's provider."""
    from sandbox.world.emulators import ENV

    sandbox = emulators.salesforce
    lines = [
        "# Written by `syncd demo`: the sandbox org and the demo world's providers.",
        "[state]",
        f"url = {_q('sqlite:///' + str(folder / 'syncd.db'))}",
        "",
        "[service]",
        'log_level = "WARNING"',
        "",
        "[salesforce]",
        f"login_url = {_q(sandbox.url)}",
        'auth = "client_credentials"',
        f"client_id = {_q(sandbox.client_id)}",
        f"client_secret_env = {_q(SECRET_ENV)}",
        f"ca_bundle = {_q(sandbox.ca_bundle)}",
        "",
        "[capture]",
        f"internal_domains = [{_q(world.domain)}]",
        "",
    ]
    for mailbox, path in sorted(world.mailboxes.items()):
        lines += [
            "[[connectors]]",
            'type = "mbox"',
            f"name = {_q('mail-' + mailbox.partition('@')[0])}",
            f"path = {_q(path)}",
            f"mailbox = {_q(mailbox)}",
            "",
        ]
    lines += _provider_connectors(emulators, world)
    lines += [
        "# Deal alerts: the built-in rules, DMs to the owning rep in the Slack sandbox.",
        "[alerts.slack]",
        f"token_env = {_q(ENV['slack'])}",
        'fallback_channel = "#deals"',
        f"api_url = {_q(emulators.slack.api_url)}",
        "",
    ]
    path = folder / "syncd.toml"
    path.write_text("\n".join(lines))
    return path


def _calls(counter: Counter[str]) -> dict[str, Any]:
    collections = sum(n for label, n in counter.items() if label.startswith("composite/sobjects"))
    # The directory sends its queries five to a ``composite`` call: those are queries too.
    queries = sum(n for label, n in counter.items() if label in ("query", "queryAll", "composite"))
    total = sum(counter.values())
    return {
        "collections": collections,
        "queries": queries,
        "other": total - collections - queries,
        "total": total,
        "by_endpoint": dict(sorted(counter.items())),
    }


def summarize(world: Any, emulators: Any, passes: list[Any]) -> dict[str, Any]:
    """The demo's result as plain data (counts only: no addresses, no subjects)."""
    sandbox = emulators.salesforce
    written: Counter[str] = Counter()
    seen: Counter[str] = Counter()
    skipped: Counter[str] = Counter()
    providers: dict[str, Counter[str]] = {}
    unmatched_by: Counter[str] = Counter()
    unmatched = dead = spent = gmail_units = 0
    for result in passes:
        ctype, kind = connector_type(result.connector)
        row = providers.setdefault(ctype, Counter())
        written[kind] += result.outcomes.get("written", 0)
        seen[kind] += result.outcomes.get("already_written", 0)
        unmatched += result.outcomes.get("unmatched", 0)
        unmatched_by[kind] += result.outcomes.get("unmatched", 0)
        dead += result.outcomes.get("dead_letter", 0)
        spent += result.salesforce_calls
        if ctype == "gmail":
            gmail_units += result.quota_units or 0
        for outcome, n in result.outcomes.items():
            if outcome.startswith("skipped:"):
                skipped[outcome.partition(":")[2]] += n
                row["skipped"] += n
            elif outcome in ("written", "already_written", "unmatched"):
                row[outcome] += n
    return {
        "world": world.summary(),
        "passes": len(passes),
        "written": {
            "email": written["email"],
            "meeting": written["meeting"],
            "call": written["call"],
            "event_relations": sandbox.count("EventRelation"),
        },
        "already_written": {k: seen[k] for k in KINDS},
        "skipped": dict(sorted(skipped.items())),
        "unmatched": unmatched,
        "unmatched_by_kind": {k: unmatched_by[k] for k in KINDS},
        "dead_letters": dead,
        "by_connector_type": {
            ctype: {k: row[k] for k in ("written", "already_written", "skipped", "unmatched")}
            for ctype, row in sorted(providers.items())
        },
        "vendors": {
            "gmail_quota_units": gmail_units,
            "google_quota_units": emulators.google_units(),
            "requests": emulators.request_counts(),
        },
        "salesforce": {
            "calls": _calls(sandbox.calls),
            "calls_by_capture": spent,
            "api_usage": sandbox.api_calls_used,
            "records": {name: sandbox.count(name) for name in ("Task", "Event", "EventRelation")},
        },
    }


def capture_world(folder: Path, emulators: Any, world: Any) -> list[Any]:
    """Load the demo config, create the key field, and run one pass over every mailbox."""
    from syncd.app import App, check_config
    from syncd.salesforce.setup import run_setup

    config, _warnings = check_config(write_config(folder, emulators, world))
    with App(config) as app:
        run_setup(app.salesforce)
        return app.sync()


def run_rules_once(folder: Path, emulators: Any) -> dict[str, Any]:
    """``syncd rules run`` over the demo org, alerts to the Slack sandbox; counts only.

    The same code path as the command (``syncd.cli``'s Slack delivery and
    ``syncd.rules.run.run_rules``), with the Slack sleep on the emulators' simulated time.
    """
    from syncd.app import App, check_config
    from syncd.rules.run import run_rules

    config, _warnings = check_config(folder / "syncd.toml")
    with App(config, sleep=emulators.time.sleep) as app:
        result = run_rules(
            app.config,
            app.salesforce,
            app.store,
            now=datetime.now(UTC),
            delivery=app.slack_delivery,
        )
    return {
        "open_deals": result["open_deals"],
        "flagged_deals": result["flagged_deals"],
        "flags": len(result["flags"]),
        "flags_by_rule": result["flags_by_rule"],
        "first_run": result["first_run"],
        "alerts": result["alerts"],
        "alerts_sent": result["alerts_sent"],
        "alerts_requeued": result["alerts_requeued"],
        "slack_messages": len(emulators.slack.messages),
        "slack_wait_seconds_simulated": round(emulators.time.slept),
        "salesforce_calls": result["salesforce_calls"],
    }


def run_world(emulators: Any, folder: Path) -> tuple[Any, dict[str, Any]]:
    """Seed the world into running ``emulators``, capture it, run the rules; the summary."""
    from sandbox.world import build_world

    world = build_world(
        emulators.salesforce,
        folder / "mail",
        google=emulators.google,
        graph=emulators.graph,
        phone=emulators.ringcentral,
    )
    for rep in world.providers:
        emulators.slack.add_user(rep)  # every rep is in the workspace: alerts are DMs
    passes = capture_world(folder, emulators, world)
    summary = summarize(world, emulators, passes)
    summary["rules"] = run_rules_once(folder, emulators)
    summary["vendors"]["requests"] = emulators.request_counts()  # Slack's requests too
    return world, summary


def run_demo(*, json_output: bool = False, serve: bool = False) -> int:
    """Run the demo and print its summary; returns the exit code.

    With ``serve``, the emulators stay up after the summary, so a person can open the Slack
    sandbox's page and read the alerts the rules sent, until Ctrl-C.
    """
    from sandbox.world.emulators import DemoEmulators
    from syncd.logs import setup_logging

    emulators = DemoEmulators()
    with tempfile.TemporaryDirectory(prefix="syncd-demo-") as tmp, emulators:
        setup_logging(
            level=os.environ.get("SYNCD_DEMO_LOG_LEVEL", "WARNING").upper(),
            secrets=emulators.redact(),
        )
        _world, summary = run_world(emulators, Path(tmp))
        if json_output:
            sys.stdout.write(json.dumps(summary) + "\n")
        else:
            render(summary, Console())
        if serve:
            _serve_until_interrupted(emulators)
    return 0


def _serve_until_interrupted(emulators: Any) -> None:
    console = Console(stderr=True)
    console.print(
        f"\nThe alerts Slack received: [bold]{emulators.slack.url}/[/bold]\n"
        "The emulators keep running until Ctrl-C."
    )
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)


def _table(title: str, rows: dict[str, Any]) -> Table:
    table = Table(title=title, title_justify="left", show_header=False, box=None, min_width=50)
    table.add_column(style="cyan")
    table.add_column(justify="right")
    for name, value in rows.items():
        table.add_row(name.replace("_", " "), f"{value:,}")
    return table


def render(summary: dict[str, Any], console: Console) -> None:
    """The summary for people."""
    world, sf = summary["world"], summary["salesforce"]
    console.print(
        "[bold]syncd demo[/bold]: one capture pass over the Northwind sandbox world,"
        " then the deal rules\n"
    )
    org = {k: v for k, v in world["org"].items() if k != "opportunity_updates"}
    console.print(_table("The org (Salesforce sandbox)", org))
    console.print(
        f"\n{world['mailboxes']} mailboxes, {world['messages_delivered']:,} messages "
        f"({world['messages_distinct']:,} distinct, {world['messages_in_several_mailboxes']} "
        f"in several mailboxes); {world['calendars']} calendars, "
        f"{world['meeting_copies']:,} events ({world['meetings_distinct']} distinct)\n"
    )
    providers = world.get("providers") or {}
    if providers:
        console.print(
            "Reps by provider: "
            + ", ".join(f"{name} {row['reps']}" for name, row in providers.items())
            + f"; {world.get('calls', 0)} calls in the phone system\n"
        )
    written = summary["written"]
    console.print(
        _table(
            "Written to Salesforce",
            {
                "emails → Tasks": written["email"],
                "meetings → Events": written["meeting"],
                "calls → Tasks": written.get("call", 0),
                "invitees → EventRelations": written["event_relations"],
                "already written (seen in another mailbox)": sum(
                    summary["already_written"].values()
                ),
            },
        )
    )
    by_type = summary.get("by_connector_type") or {}
    if by_type:
        table = Table(title="\nBy connector type", title_justify="left", box=None, min_width=50)
        table.add_column("connector", style="cyan")
        for column in ("written", "already", "skipped", "unmatched"):
            table.add_column(column, justify="right")
        for ctype, row in by_type.items():
            table.add_row(
                ctype,
                *(f"{row[k]:,}" for k in ("written", "already_written", "skipped", "unmatched")),
            )
        console.print(table)
    console.print()
    console.print(_table("Skipped, by reason", summary["skipped"]))
    console.print()
    console.print(
        _table(
            "Needs attention",
            {"unmatched (queued for re-match)": summary["unmatched"],
             "dead letters": summary["dead_letters"]},
        )
    )  # fmt: skip
    calls = sf["calls"]
    console.print()
    console.print(
        _table(
            "Salesforce API calls spent",
            {
                "collections (≤200 records each)": calls["collections"],
                "queries (directory, 5 to a composite call)": calls["queries"],
                "other (sign-in, tooling)": calls["other"],
                "total": calls["total"],
            },
        )
    )
    vendors = summary.get("vendors")
    if vendors:
        console.print()
        console.print(
            _table(
                "Vendor APIs spent",
                {
                    "Gmail quota units (connector's count)": vendors["gmail_quota_units"],
                    "Google quota units (emulator's count)": vendors["google_quota_units"],
                    **{f"{name} requests": n for name, n in vendors["requests"].items()},
                },
            )
        )
    rules = summary.get("rules")
    if rules:
        console.print()
        console.print(
            _table(
                f"Deal rules over {rules['open_deals']:,} open deals: flags by rule",
                rules["flags_by_rule"],
            )
        )
        acc = rules["alerts"]
        console.print(
            f"\n{rules['flags']:,} flags on {rules['flagged_deals']:,} deals: "
            f"{acc['sent']:,} sent, {acc['merged']:,} merged, {acc['suppressed']:,} suppressed "
            f"{acc['suppressed_by']}, {acc['failed']:,} failed, {acc['queued']:,} queued; "
            f"{rules['alerts_sent']:,} Slack messages "
            f"({'one digest per rep on this first run; ' if rules['first_run'] else ''}"
            f"{rules['alerts_requeued']} requeued; Slack's rate limit cost "
            f"{rules['slack_wait_seconds_simulated']:,} s of simulated waiting)"
        )

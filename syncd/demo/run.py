"""The demo's run: seed the world into the emulators, capture it, run the rules, summarise.

The same code paths as the commands: the config is loaded like an operator's file,
``App.sync`` runs one capture pass over every unit, and ``syncd.rules.run.run_rules`` runs the
deal rules with alerts to the Slack sandbox. The summary is counts only.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import tempfile
import threading
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from syncd.demo.render import render
from syncd.demo.world import KINDS, connector_type, write_config

#: The sObjects whose record counts the summary reports.
RECORDS = ("Task", "EmailMessage", "Event", "EventRelation")


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
            # salesforce.email_as "auto" (the default): the demo org has Enhanced Email.
            "email_messages": sandbox.count("EmailMessage"),
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
            "records": {name: sandbox.count(name) for name in RECORDS},
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
    from syncd.rules.run import rep_zone_of, run_rules

    config, _warnings = check_config(folder / "syncd.toml")
    with App(config, sleep=emulators.time.sleep) as app:
        result = run_rules(
            app.config,
            app.salesforce,
            app.store,
            now=datetime.now(UTC),
            delivery=app.slack_delivery,
            zone_of=rep_zone_of(app),
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

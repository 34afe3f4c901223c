"""``syncd demo``: the whole capture pipeline once, against a seeded sandbox world.

Everything happens in a temporary directory that is removed afterwards: the Salesforce sandbox
is started in-process on loopback, :func:`sandbox.world.build_world` fills it with the
Northwind demo org and writes one mbox file per rep, a syncd configuration is written next to
them and loaded like an operator's file would be, the key field is created, and one capture
pass runs over every mailbox (``App.sync``) and over every rep's calendar (fed through a
MemoryConnector until a calendar emulator exists). The summary counts what was written by
kind, skipped by reason, left unmatched or dead-lettered, and the Salesforce calls it cost, as
the sandbox counted them.

Logs go to stderr at WARNING (``SYNCD_DEMO_LOG_LEVEL=INFO`` for more); ``--json`` prints the
summary as one JSON object on stdout.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import tomllib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

EXAMPLE_CONFIG = Path(__file__).resolve().parent.parent / "config.example.toml"

#: The environment variable the demo config names for the sandbox's client secret.
SECRET_ENV = "SYNCD_DEMO_SF_CLIENT_SECRET"  # noqa: S105 - a variable name, not a secret
#: The connector the demo feeds calendar events through.
CALENDAR = "calendar"


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


def write_config(folder: Path, sandbox: Any, world: Any) -> Path:
    """The demo's syncd.toml: state in ``folder``, the sandbox org, one mbox per rep."""
    lines = [
        "# Written by `syncd demo`: the sandbox org and the demo world's mailboxes.",
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
    lines += [
        "# Calendars: fed in code by the demo (no calendar emulator yet), so not part of a sync.",
        "[[connectors]]",
        'type = "memory"',
        f"name = {_q(CALENDAR)}",
        "enabled = false",
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


def summarize(world: Any, sandbox: Any, passes: list[Any]) -> dict[str, Any]:
    """The demo's result as plain data (counts only: no addresses, no subjects)."""
    written: Counter[str] = Counter()
    seen: Counter[str] = Counter()
    skipped: Counter[str] = Counter()
    unmatched = dead = spent = 0
    for result in passes:
        kind = "meeting" if result.connector == CALENDAR else "email"
        written[kind] += result.outcomes.get("written", 0)
        seen[kind] += result.outcomes.get("already_written", 0)
        unmatched += result.outcomes.get("unmatched", 0)
        dead += result.outcomes.get("dead_letter", 0)
        spent += result.salesforce_calls
        for outcome, n in result.outcomes.items():
            if outcome.startswith("skipped:"):
                skipped[outcome.partition(":")[2]] += n
    return {
        "world": world.summary(),
        "passes": len(passes),
        "written": {
            "email": written["email"],
            "meeting": written["meeting"],
            "event_relations": sandbox.count("EventRelation"),
        },
        "already_written": {"email": seen["email"], "meeting": seen["meeting"]},
        "skipped": dict(sorted(skipped.items())),
        "unmatched": unmatched,
        "dead_letters": dead,
        "salesforce": {
            "calls": _calls(sandbox.calls),
            "calls_by_capture": spent,
            "api_usage": sandbox.api_calls_used,
            "records": {name: sandbox.count(name) for name in ("Task", "Event", "EventRelation")},
        },
    }


def capture_world(folder: Path, sandbox: Any, world: Any) -> list[Any]:
    """Load the demo config, create the key field, and run one pass over every mailbox."""
    from syncd.app import App
    from syncd.config import check_config
    from syncd.salesforce.setup import ensure_key_field

    config, _warnings = check_config(write_config(folder, sandbox, world))
    with App(config) as app:
        ensure_key_field(app.salesforce)
        passes = app.sync()
        calendar = app.connector(CALENDAR)
        for mailbox, events in sorted(world.meetings.items()):
            for event in events:
                calendar.add(mailbox, "meeting", event, source_id=event["id"])
            passes.append(app.runner.run(calendar, mailbox))
    return passes


def run_demo(*, json_output: bool = False) -> int:
    """Run the demo and print its summary; returns the exit code."""
    from sandbox.salesforce import SalesforceSandbox
    from sandbox.world import build_world
    from syncd.logs import setup_logging

    sandbox = SalesforceSandbox()
    setup_logging(
        level=os.environ.get("SYNCD_DEMO_LOG_LEVEL", "WARNING").upper(),
        secrets=[sandbox.client_secret],
    )
    previous = os.environ.get(SECRET_ENV)
    os.environ[SECRET_ENV] = sandbox.client_secret  # this process only, removed below
    try:
        with tempfile.TemporaryDirectory(prefix="syncd-demo-") as tmp, sandbox:
            world = build_world(sandbox, Path(tmp) / "mail")
            passes = capture_world(Path(tmp), sandbox, world)
            summary = summarize(world, sandbox, passes)
    finally:
        if previous is None:
            os.environ.pop(SECRET_ENV, None)
        else:
            os.environ[SECRET_ENV] = previous
    if json_output:
        sys.stdout.write(json.dumps(summary) + "\n")
    else:
        render(summary, Console())
    return 0


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
    console.print("[bold]syncd demo[/bold]: one capture pass over the Northwind sandbox world\n")
    org = {k: v for k, v in world["org"].items() if k != "opportunity_updates"}
    console.print(_table("The org (Salesforce sandbox)", org))
    console.print(
        f"\n{world['mailboxes']} mailboxes, {world['messages_delivered']:,} messages "
        f"({world['messages_distinct']:,} distinct, {world['messages_in_several_mailboxes']} "
        f"in several mailboxes); {world['calendars']} calendars, "
        f"{world['meeting_copies']:,} events ({world['meetings_distinct']} distinct)\n"
    )
    written = summary["written"]
    console.print(
        _table(
            "Written to Salesforce",
            {
                "emails → Tasks": written["email"],
                "meetings → Events": written["meeting"],
                "invitees → EventRelations": written["event_relations"],
                "already written (seen in another mailbox)": sum(
                    summary["already_written"].values()
                ),
            },
        )
    )
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

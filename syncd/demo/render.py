"""The demo's summary for people: tables of what was written, skipped, spent and flagged."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table


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
                "emails → EmailMessages": written.get("email_messages", 0),
                "emails → Tasks": written["email"] - written.get("email_messages", 0),
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
            f"{acc['sent']:,} sent, {acc['merged']:,} merged, {acc['suppressed']:,} suppressed"
            f"{_reasons(acc['suppressed_by'])}, "
            f"{acc['failed']:,} failed, {acc['queued']:,} queued; "
            f"{rules['alerts_sent']:,} Slack messages "
            f"({'one digest per rep on this first run; ' if rules['first_run'] else ''}"
            f"{rules['alerts_requeued']} requeued; Slack's rate limit cost "
            f"{rules['slack_wait_seconds_simulated']:,} s of simulated waiting)"
        )


def _reasons(by_reason: dict[str, int]) -> str:
    """`` (first run digest 1,064, cool-down 3)``: the reasons in words, most first."""
    if not by_reason:
        return ""
    parts = sorted(by_reason.items(), key=lambda kv: (-kv[1], kv[0]))
    return " (" + ", ".join(f"{reason.replace('_', ' ')} {n:,}" for reason, n in parts) + ")"

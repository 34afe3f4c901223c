"""The demo world: what build_world puts in the sandbox org, the mailboxes and the calendars."""

from __future__ import annotations

import mailbox
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors import base
from sandbox.maven import MAVEN_STAGES
from sandbox.salesforce import SalesforceSandbox
from sandbox.salesforce.seed import stage_rows
from sandbox.world import DOMAIN, World, build_world
from syncd.demo.world import CONNECTORS, connector_type

NOW = datetime(2025, 3, 14, 12, 0, tzinfo=UTC)


def _build(
    tmp: Path, seed: int = 7, sb: SalesforceSandbox | None = None
) -> tuple[World, SalesforceSandbox]:
    sb = sb or SalesforceSandbox()  # never started: the world is inserted through Python
    return build_world(sb, tmp, seed=seed, now=NOW), sb


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[World, SalesforceSandbox]:
    return _build(tmp_path_factory.mktemp("world"))


def _messages(world: World) -> dict[str, list[mailbox.mboxMessage]]:
    return {box: list(mailbox.mbox(path)) for box, path in world.mailboxes.items()}


def test_same_seed_same_world_other_seed_other_mail(tmp_path: Path) -> None:
    first, _ = _build(tmp_path / "a")
    second, _ = _build(tmp_path / "b")
    other, _ = _build(tmp_path / "c", seed=8)
    assert first.summary() == second.summary()
    assert first.expected() == second.expected()
    assert first.meetings == second.meetings
    for box, path in first.mailboxes.items():
        assert path.read_bytes() == second.mailboxes[box].read_bytes()
    assert {p.read_bytes() for p in first.mailboxes.values()} != {
        p.read_bytes() for p in other.mailboxes.values()
    }


def test_org_sizes_in_the_sandbox(world: tuple[World, SalesforceSandbox]) -> None:
    w, sb = world
    users = [u for u in sb.records("User") if u["Email"].endswith("@" + DOMAIN)]
    assert len(users) == w.org["users"] == 22
    assert sum(1 for u in users if u.get("ManagerId")) == 20  # reps report to a manager
    assert sb.count("Account") == 200
    assert all(a["Website"] for a in sb.records("Account"))
    assert sb.count("Contact") == 600
    assert sb.count("Lead") == 30
    assert sum(1 for c in sb.records("Contact") if c.get("Phone")) > 0
    opps = sb.records("Opportunity")
    assert Counter(o["IsClosed"] for o in opps) == {False: 300, True: 300}
    assert sb.count("OpportunityContactRole") == w.org["contact_roles"] >= 600
    # every deal has its creation row plus one per stage move: history exists
    assert sb.count("OpportunityHistory") == 600 + w.org["opportunity_updates"]
    assert sb.count("OpportunityFieldHistory") > 0


def test_stage_names_come_from_the_org(tmp_path: Path) -> None:
    sb = SalesforceSandbox()
    sb.set_stages(stage_rows(MAVEN_STAGES))
    _build(tmp_path, sb=sb)
    labels = {s[0] for s in MAVEN_STAGES}
    used = {o["StageName"] for o in sb.records("Opportunity")}
    assert used <= labels
    assert {"Closed Won", "Closed Lost"} <= used
    history = {h["StageName"] for h in sb.records("OpportunityHistory")}
    assert len(history) > 3  # deals walked through several stages


def test_mailboxes_hold_every_kind_of_mail(world: tuple[World, SalesforceSandbox]) -> None:
    w, sb = world
    boxes = _messages(w)
    assert len(boxes) == 20
    assert sum(len(m) for m in boxes.values()) == w.messages_delivered > 300
    holders: dict[str, set[str]] = {}
    for box, messages in boxes.items():
        for msg in messages:
            holders.setdefault(msg["Message-ID"], set()).add(box)
    assert len(holders) == sum(w.mail_distinct.values())
    shared = [mid for mid, b in holders.items() if len(b) > 1]
    assert sorted(shared) == sorted(w.shared_message_ids) and shared
    every = [msg for messages in boxes.values() for msg in messages]
    replies = [m for m in every if m["In-Reply-To"]]
    assert replies and all(m["In-Reply-To"] in holders for m in replies)
    assert all(m["References"].split()[-1] == m["In-Reply-To"] for m in replies)
    senders = [m["From"] for m in every]
    assert any(m["List-Unsubscribe"] for m in every)
    assert any(m["Auto-Submitted"] for m in every)
    assert any("@gmail.com" in s for s in senders)
    lead_addresses = {lead["Email"] for lead in sb.records("Lead")}
    assert any(a in (m["To"] or "") for m in every for a in lead_addresses)
    contacts = {c["Email"] for c in sb.records("Contact")}
    known = contacts | lead_addresses | {u["Email"] for u in sb.records("User")}
    strangers = {s.rpartition("<")[2].rstrip(">") for s in senders} - known
    assert any(a.endswith(".example") and "info@" not in a for a in strangers)


def test_meetings_are_shared_across_calendars(world: tuple[World, SalesforceSandbox]) -> None:
    w, _ = world
    uids = Counter(e["uid"] for events in w.meetings.values() for e in events)
    assert len(uids) == sum(w.meetings_distinct.values())
    assert max(uids.values()) >= 3  # one meeting in several reps' calendars
    event = next(iter(w.meetings.values()))[0]
    assert {"uid", "start", "end", "summary", "organizer", "attendees"} <= event.keys()
    assert all("partstat" in a for a in event["attendees"])


def test_reps_split_between_providers_hold_the_same_world(
    tmp_path: Path, world: tuple[World, SalesforceSandbox]
) -> None:
    from sandbox.dialers.ringcentral import RingCentralSandbox
    from sandbox.google.server import GoogleSandbox
    from sandbox.graph.server import GraphSandbox

    google, graph, phone = GoogleSandbox(), GraphSandbox(), RingCentralSandbox()  # not served
    split = build_world(
        SalesforceSandbox(), tmp_path / "split", now=NOW, google=google, graph=graph, phone=phone
    )
    plain, _ = world  # the same seed and NOW, every rep on mbox
    # Filing with providers changes where items are, never what the world is.
    assert split.expected() == plain.expected()
    assert Counter(split.providers.values()) == {"google": 8, "microsoft": 8, "mbox": 4}
    assert set(split.mailboxes) == {r for r, p in split.providers.items() if p == "mbox"}
    held = Counter(b for boxes in split.mail_copies.values() for b in boxes)
    for rep, provider in split.providers.items():
        if provider == "google":
            messages = google.gmail.mailbox(rep).messages.values()
            assert len(messages) == held[rep]
            for m in messages:  # SENT exactly when the rep is the sender
                sender = next(v for k, v in m.headers if k == "From")
                assert ("SENT" in m.labels) == (f"<{rep}>" in sender)
        elif provider == "microsoft":
            assert len(graph.mailbox(rep).messages) == held[rep]
            assert len(graph.mailbox(rep).events) == len(split.meetings.get(rep, []))
        if provider != "microsoft":  # mbox reps keep their calendar in Google
            assert len(google.calendar.calendar(rep).events) == len(split.meetings.get(rep, []))
    assert split.calls == len(phone.calls) > 0


def test_the_demo_config_names_only_production_connector_types() -> None:
    for name in (*CONNECTORS, "mail-ana"):
        ctype, kind = connector_type(name)
        assert ctype in base.types(), name
        assert kind in base.get(ctype).kinds, name

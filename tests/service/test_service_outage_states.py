"""The outage tracker on its own: scopes, once-per-change logging, pauses that double; notes."""

from __future__ import annotations

import logging

import pytest

from syncd.errors import AuthExpired, BudgetExhausted, MailboxDenied, Transient, WritesRefused
from syncd.salesforce.errors import LoginRefused
from syncd.service.metrics import Metrics
from syncd.service.outage_notes import from_tracker, merge, note
from syncd.service.outages import (
    MAX_PAUSE,
    SALESFORCE,
    Outages,
    fix_for,
    fix_for_class,
    scope_of,
    stops,
)


def test_scope_is_salesforce_for_org_wide_causes_and_the_unit_for_a_connectors_credentials() -> (
    None
):
    unit = "gmail/ana@ourco.com"
    refused = WritesRefused("no", code="NOT_FOUND", fix="run setup")
    assert scope_of(refused, unit) == SALESFORCE
    assert scope_of(LoginRefused("invalid_grant"), unit) == SALESFORCE
    assert scope_of(BudgetExhausted(90, 100, 0.2), unit) == SALESFORCE
    assert scope_of(AuthExpired("google refused the credentials (401)"), unit) == unit
    assert stops(AuthExpired("x")) and not stops(Transient("503"))


def test_each_change_is_logged_once_and_the_pause_doubles_to_its_cap(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [0.0]
    metrics = Metrics()
    outages = Outages(metrics, clock=lambda: now[0])
    unit = "gmail/ana@ourco.com"
    caplog.set_level(logging.DEBUG, logger="syncd.service.outages")
    pauses = []
    for _ in range(12):
        outages.failed(unit, AuthExpired("google token refresh refused (invalid_grant)"))
        start = now[0]
        while not outages.due(unit):
            now[0] += 0.5
        pauses.append(now[0] - start)
    assert pauses[:4] == [1.0, 2.0, 4.0, 8.0] and pauses[-1] == MAX_PAUSE
    assert outages.scopes() == [unit] and outages.due(SALESFORCE)
    loud = [r for r in caplog.records if r.levelno >= logging.INFO]
    assert [r.levelno for r in loud] == [logging.ERROR]
    assert "fix:" in loud[0].getMessage() and "Traceback" not in caplog.text
    assert metrics.ops_alerts.labels(unit, "AuthExpired")._value.get() == 1
    assert metrics.outage.labels(unit)._value.get() == 1

    assert outages.recovered(unit) and not outages.recovered(unit)
    assert outages.scopes() == [] and outages.due(unit)
    assert metrics.outage.labels(unit)._value.get() == 0
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.INFO] == [
        f"{unit} recovered"
    ]


def test_a_refused_app_stops_its_connector_and_a_refused_mailbox_only_itself() -> None:
    unit = "outlook/ana@ourco.com"
    app = AuthExpired("Graph refused the app credentials: invalid_client", connector_wide=True)
    denied = MailboxDenied("Graph refuses the app this mailbox", mailbox="ana@ourco.com")
    assert scope_of(app, unit) == "outlook"
    assert stops(denied) and scope_of(denied, unit) == unit
    assert "ApplicationAccessPolicy" in fix_for(denied)
    assert fix_for_class("SessionExpired") == fix_for(LoginRefused("x")) != fix_for(app)
    assert fix_for_class("Transient") == "see `syncd doctor`"


def test_notes_merge_the_tracker_and_the_store_and_cover_the_units_they_stop() -> None:
    live = from_tracker([("outlook", "AuthExpired", "check the credentials")])
    stored = [
        note("outlook/ana@ourco.com", "AuthExpired", "check the credentials"),
        note("gmail/ben@ourco.com", "MailboxDenied", "add it"),
    ]
    merged = merge(live, stored)
    assert [n.scope for n in merged] == ["outlook", "gmail/ben@ourco.com"]
    assert merged[0].cause == "outlook: the vendor refuses the connector's credentials"
    assert merged[0].covers("outlook", "cal@ourco.com")
    assert not merged[1].covers("gmail", "ana@ourco.com")
    salesforce = note(SALESFORCE, "WritesRefused", "run setup")
    assert salesforce.covers("gmail", "ana@ourco.com")
    assert salesforce.cause == "Salesforce refuses every write for one org-wide cause"

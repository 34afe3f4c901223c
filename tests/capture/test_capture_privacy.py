"""The privacy filter: one row per skip reason, plus what must be kept, and body redaction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from connectors.base import ConnectorContext
from syncd.capture.privacy import REDACTED, PrivacyRules, apply_body, decide, screen
from syncd.config import CaptureConfig
from syncd.model import (
    Activity,
    Call,
    Direction,
    Email,
    Meeting,
    Participant,
    Role,
    SkipReason,
)

T = datetime(2026, 3, 3, 10, tzinfo=UTC)
MAILBOX = "rep@acme.example"

CAPTURE = CaptureConfig(
    internal_domains=["acme.example"],
    capture_body=True,
    redact_patterns=[r"\b\d{4}-\d{4}-\d{4}-\d{4}\b", r"(?i)password:\s*\S+"],
    exclude_addresses=["Lawyer+deals@Counsel.example"],
    exclude_domains=["hr-provider.example"],
    exclude_subject_patterns=[r"(?i)\bpersonal\b"],
    skip_internal_only=True,
    skip_bulk_mail=True,
    skip_role_senders=True,
)
RULES = PrivacyRules.from_capture(CAPTURE, internal_addresses=["ceo@acme-holdings.example"])


def email(
    sender: str = "buyer@customer.example",
    to: tuple[str, ...] = (MAILBOX,),
    direction: Direction = Direction.INBOUND,
    **kw: Any,
) -> Email:
    parts = [Participant(address=sender, role=Role.FROM)]
    parts += [Participant(address=a, role=Role.TO) for a in to]
    fields: dict[str, Any] = {"subject": "Renewal"} | kw
    return Email(
        source="gmail",
        source_id="1",
        key="em:1",
        occurred_at=T,
        direction=direction,
        participants=tuple(parts),
        mailbox=MAILBOX,
        **fields,
    )


def meeting(attendees: dict[str, str | None], **kw: Any) -> Meeting:
    parts = [Participant(address=MAILBOX, role=Role.ORGANIZER)]
    parts += [Participant(address=a, role=Role.ATTENDEE, response=r) for a, r in attendees.items()]
    return Meeting(
        source="gcal",
        source_id="e1",
        key="mt:1",
        occurred_at=T,
        direction=Direction.OUTBOUND,
        participants=tuple(parts),
        mailbox=kw.pop("mailbox", MAILBOX),
        start=T,
        end=T + timedelta(hours=1),
        ical_uid="u1",
        **kw,
    )


def call(address: str | None, phone: str | None) -> Call:
    return Call(
        source="aircall",
        source_id="c1",
        key="cl:aircall:1",
        occurred_at=T,
        direction=Direction.OUTBOUND,
        participants=(
            Participant(address=MAILBOX, phone="+14155550100", role=Role.CALLER),
            Participant(address=address, phone=phone, role=Role.CALLEE),
        ),
        mailbox=MAILBOX,
        provider="aircall",
        call_id="1",
    )


SKIPS: list[tuple[str, Activity, SkipReason]] = [
    ("gmail draft label", email(labels=("DRAFT",)), SkipReason.DRAFT),
    ("graph junk folder", email(labels=("JunkEmail",)), SkipReason.SPAM_OR_TRASH),
    (
        "excluded address, plus-tag and case",
        email(sender="lawyer@counsel.example"),
        SkipReason.EXCLUDED_ADDRESS,
    ),
    (
        "excluded domain, subdomain",
        email(sender="a@eu.hr-provider.example"),
        SkipReason.EXCLUDED_DOMAIN,
    ),
    ("excluded subject", email(subject="Personal: dinner"), SkipReason.EXCLUDED_SUBJECT),
    ("list-unsubscribe", email(list_unsubscribe="<mailto:u@x>"), SkipReason.BULK_MAIL),
    ("list-id", email(list_id="<news.customer.example>"), SkipReason.BULK_MAIL),
    ("precedence bulk", email(precedence="Bulk"), SkipReason.BULK_MAIL),
    ("precedence junk", email(precedence="junk"), SkipReason.BULK_MAIL),
    ("auto-submitted", email(auto_submitted="auto-replied"), SkipReason.AUTOMATED),
    ("no-reply sender", email(sender="no-reply@customer.example"), SkipReason.AUTOMATED),
    ("mailer-daemon", email(sender="MAILER-DAEMON@customer.example"), SkipReason.AUTOMATED),
    ("role sender inbound", email(sender="support@customer.example"), SkipReason.ROLE_SENDER),
    ("internal only by domain", email(sender="se@acme.example"), SkipReason.INTERNAL_ONLY),
    (
        "internal via salesforce user",
        email(sender="ceo@acme-holdings.example"),
        SkipReason.INTERNAL_ONLY,
    ),
    (
        "private event",
        meeting({"cto@customer.example": None}, visibility="private"),
        SkipReason.PRIVATE_EVENT,
    ),
    (
        "confidential event",
        meeting({"cto@customer.example": None}, visibility="confidential"),
        SkipReason.PRIVATE_EVENT,
    ),
    (
        "owner declined",
        meeting(
            {"cto@customer.example": "accepted", "se@acme.example": "declined"},
            mailbox="se@acme.example",
        ),
        SkipReason.DECLINED,
    ),
    (
        "no external attendee",
        meeting({"se@acme.example": "accepted"}),
        SkipReason.NO_EXTERNAL_ATTENDEE,
    ),
    ("internal call", call("se@acme.example", None), SkipReason.INTERNAL_ONLY),
]

KEEPS: list[tuple[str, Activity]] = [
    ("customer mail", email()),
    ("auto-submitted no", email(auto_submitted="no")),
    ("sales@ is a real buyer", email(sender="sales@customer.example")),
    ("procurement@ is a real buyer", email(sender="procurement@customer.example")),
    (
        "outbound to a role address",
        email(sender=MAILBOX, to=("support@customer.example",), direction=Direction.OUTBOUND),
    ),
    ("meeting with a customer", meeting({"cto@customer.example": "accepted"})),
    ("another attendee declined", meeting({"cto@customer.example": "declined"})),
    ("call to a phone number", call(None, "+442079460000")),
]


@pytest.mark.parametrize(
    ("activity", "reason"), [(a, r) for _, a, r in SKIPS], ids=[n for n, _, _ in SKIPS]
)
def test_each_skip_reason(activity: Activity, reason: SkipReason) -> None:
    decision = decide(activity, RULES)
    assert not decision.keep
    assert decision.reason is reason


@pytest.mark.parametrize("activity", [a for _, a in KEEPS], ids=[n for n, _ in KEEPS])
def test_kept(activity: Activity) -> None:
    assert decide(activity, RULES).keep


def test_every_filter_reason_has_a_row() -> None:
    covered = {r for _, _, r in SKIPS}
    not_privacy = {
        SkipReason.UNPARSEABLE,
        SkipReason.NO_DATE,
        SkipReason.NO_SENDER,
        SkipReason.NO_PARTICIPANTS,
        SkipReason.NO_UID,
        SkipReason.NO_CALL_ID,
        SkipReason.OUTSIDE_WINDOW,
        SkipReason.CANCELLED_UNWRITTEN,
        SkipReason.MISSED_CALL,
        SkipReason.FUTURE_DATE,
        SkipReason.ITEM_ERROR,
        SkipReason.TOO_LARGE,
        SkipReason.EVENT_TOO_LONG,
    }
    assert covered | not_privacy == set(SkipReason)


def test_switches_turn_checks_off() -> None:
    lenient = PrivacyRules.from_capture(
        CaptureConfig(
            internal_domains=["acme.example"],
            skip_internal_only=False,
            skip_bulk_mail=False,
            skip_role_senders=False,
        )
    )
    for activity in (
        email(sender="se@acme.example"),
        email(precedence="bulk"),
        email(sender="noreply@customer.example"),
        email(sender="info@customer.example"),
        meeting({"se@acme.example": None}),
    ):
        assert decide(activity, lenient).keep, activity


def test_bodies_dropped_unless_captured_and_redacted_when_they_are() -> None:
    body = "Card 4111-1111-1111-1111, Password: hunter2. Call me."
    kept = apply_body(email(body=body), RULES)
    assert kept.body == f"Card {REDACTED}, {REDACTED} Call me."
    off = PrivacyRules.from_capture(CaptureConfig(capture_body=False))
    assert apply_body(email(body=body), off).body is None


def test_screen_counts_by_reason_and_keeps_keys_on_skips() -> None:
    result = screen(
        [email(), email(precedence="bulk"), email(list_id="x"), email(sender="se@acme.example")],
        RULES,
    )
    assert len(result.kept) == 1
    assert result.counts == {"bulk_mail": 2, "internal_only": 1}
    assert all(s.key == "em:1" for s in result.skips)


def test_bad_regexes_are_all_reported_with_their_paths() -> None:
    # The [capture] section refuses them, so the filter only ever compiles valid patterns.
    with pytest.raises(ValidationError) as caught:
        CaptureConfig(redact_patterns=["ok", "("], exclude_subject_patterns=["[", "fine"])
    assert [e["loc"] for e in caught.value.errors()] == [
        ("redact_patterns", 1),
        ("exclude_subject_patterns", 0),
    ]


def test_the_mailbox_is_internal_without_copying_the_orgs_users_per_message() -> None:
    users = [f"rep{i}@ourco.com" for i in range(5000)]
    rules = PrivacyRules.from_capture(CaptureConfig(internal_domains=[]), users)
    internal = rules.internal_for("Owner@Elsewhere.example")
    assert internal.is_internal("owner@elsewhere.example")  # the mailbox, added per item
    assert internal.is_internal("rep4999@ourco.com")
    assert not internal.is_internal("someone@elsewhere.example")
    # the 5,000 users are shared, not normalised and copied again for each item
    assert internal.addresses is rules.internal_addresses
    context = ConnectorContext(internal_addresses=frozenset(users))
    first, second = context.origin("gmail", "a@ourco.com"), context.origin("gmail", "b@x.example")
    assert first.internal is second.internal
    assert second.internal_parties().is_internal("b@x.example")


def test_a_connector_reads_the_orgs_users_again_once_they_changed() -> None:
    users = ["ana@ourco.example"]
    context = ConnectorContext(users=lambda: list(users))
    assert context.origin("gmail", "x@y.example").internal.is_internal("ana@ourco.example")
    users.append("new.rep@ourco.example")
    assert not context.internal.is_internal("new.rep@ourco.example")  # read once, kept
    context.users_changed()
    assert context.internal.is_internal("new.rep@ourco.example")

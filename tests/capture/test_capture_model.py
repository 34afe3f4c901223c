"""The model: aware UTC only, JSON round trip for the unmatched queue and dead letters."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from syncd.capture.addresses import InternalParties, domain_of, is_personal_domain
from syncd.email_address import matching_address, normalize_address
from syncd.model import (
    Batch,
    Call,
    Direction,
    Email,
    Meeting,
    Participant,
    Role,
    Skip,
    SkipReason,
    activity_from_dict,
)

T = datetime(2026, 3, 3, 10, tzinfo=timezone(timedelta(hours=2)))


def sample() -> list[Email | Meeting | Call]:
    people = (
        Participant(address="buyer@customer.example", name="Bü", role=Role.FROM),
        Participant(address="rep@acme.example", role=Role.TO, response="accepted"),
    )
    common = {
        "source": "s",
        "occurred_at": T,
        "direction": Direction.INBOUND,
        "participants": people,
        "mailbox": "rep@acme.example",
    }
    return [
        Email(
            source_id="1",
            key="em:1",
            message_id="m@x",
            references=("a@x", "b@x"),
            labels=("INBOX",),
            body="hi",
            **common,
        ),
        Meeting(
            source_id="2",
            key="mt:1",
            start=T,
            end=T + timedelta(hours=1),
            ical_uid="u",
            recurrence_instance=T,
            visibility="public",
            **common,
        ),
        Call(source_id="3", key="cl:x:1", provider="x", call_id="1", duration_seconds=60, **common),
    ]


@pytest.mark.parametrize("activity", sample(), ids=["email", "meeting", "call"])
def test_json_round_trip(activity: Email | Meeting | Call) -> None:
    text = json.dumps(activity.to_dict())
    back = activity_from_dict(json.loads(text))
    assert back == activity
    assert type(back) is type(activity)


def test_times_are_converted_to_utc() -> None:
    email = sample()[0]
    assert email.occurred_at.tzinfo is UTC
    assert email.occurred_at == datetime(2026, 3, 3, 8, tzinfo=UTC)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        sample()[0].replace(occurred_at=datetime(2026, 3, 3))  # noqa: DTZ001
    with pytest.raises(ValueError, match="timezone-aware"):
        sample()[1].replace(recurrence_instance=datetime(2026, 3, 3))  # noqa: DTZ001


def test_meeting_cannot_end_before_start() -> None:
    with pytest.raises(ValueError):
        sample()[1].replace(end=T - timedelta(minutes=1))


def test_skip_and_batch() -> None:
    skip = Skip("9", SkipReason.BULK_MAIL, "list headers", "em:9")
    assert Skip.from_dict(json.loads(json.dumps(skip.to_dict()))) == skip
    batch = Batch(activities=sample(), skips=[skip], next_cursor="c", more=True)
    assert len(batch) == 4 and isinstance(batch.activities, tuple)


def test_address_forms() -> None:
    assert normalize_address(" <John.Doe@Example.COM> ") == "john.doe@example.com"
    assert normalize_address("MAILER-DAEMON") is None
    assert matching_address("John.Doe+crm@GoogleMail.com") == "johndoe@gmail.com"
    assert matching_address("john.doe+crm@customer.example") == "john.doe@customer.example"
    assert domain_of("a@Sub.Customer.Example") == "sub.customer.example"
    assert is_personal_domain("yahoo.co.uk") and is_personal_domain("gmx.de")
    assert is_personal_domain("gmail.com") and not is_personal_domain("customer.example")
    internal = InternalParties.build(["acme.example"], ["Boss+x@Holding.example"])
    assert internal.is_internal("a@eu.acme.example")
    assert internal.is_internal("boss@holding.example")
    assert not internal.is_internal("a@notacme.example")

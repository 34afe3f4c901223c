"""Email normalisation: header oddities, fallbacks, direction, and never raising."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from syncd.capture.addresses import InternalParties
from syncd.capture.keys import email_fallback_key, message_key
from syncd.capture.normalize import Origin
from syncd.capture.normalize_email import normalize_email, parse_email
from syncd.model import Direction, Email, Role, Skip, SkipReason

ORIGIN = Origin(
    source="gmail",
    mailbox="rep@acme.example",
    internal=InternalParties.build(["acme.example"], ["ceo@acme-holdings.example"]),
)


def raw(headers: str, body: str = "hi") -> bytes:
    return (headers.strip().replace("\n", "\r\n") + "\r\n\r\n" + body).encode()


BASE = """
From: Buyer <buyer@customer.example>
To: rep@acme.example
Date: Tue, 03 Mar 2026 10:00:00 +0100
Message-ID: <abc@customer.example>
Subject: Pricing
"""


def normalized(data: bytes | dict, **kw: object) -> Email:
    result = normalize_email(data, ORIGIN, source_id="s1", **kw)
    assert isinstance(result, Email), result
    return result


def test_plain_message() -> None:
    email = normalized(raw(BASE))
    assert email.occurred_at == datetime(2026, 3, 3, 9, tzinfo=UTC)
    assert email.key == message_key("abc@customer.example")
    assert email.direction is Direction.INBOUND
    assert [(p.role, p.address) for p in email.participants] == [
        (Role.FROM, "buyer@customer.example"),
        (Role.TO, "rep@acme.example"),
    ]
    assert email.body is None  # bodies are not kept unless capture_body is on


def test_rfc2047_and_folded_quoted_addresses() -> None:
    headers = """
From: =?utf-8?q?J=C3=B6rg_M=C3=BCller?= <Joerg@Customer.EXAMPLE>
To: "Smith,
 Anna" <anna@customer.example>, "Rep" <rep@acme.example>
Cc: undisclosed-recipients:;
Date: Tue, 03 Mar 2026 10:00:00 +0000
Subject: =?iso-8859-1?q?R=E9union?=
Message-ID: <x1@customer.example>
"""
    email = normalized(raw(headers))
    assert email.subject == "Réunion"
    assert email.participants[0].name == "Jörg Müller"
    assert email.participants[0].address == "joerg@customer.example"
    assert email.addresses() == (
        "joerg@customer.example",
        "anna@customer.example",
        "rep@acme.example",
    )
    assert email.participants[1].name == "Smith, Anna"


def test_header_policy_default_cannot_parse_falls_back_and_is_noted() -> None:
    headers = BASE + 'Cc: other@customer.example, "x" <a@[1.2.3>\n'
    email = normalized(raw(headers))
    assert "compat32:cc" in email.parse_notes
    assert "other@customer.example" in email.addresses()


def test_missing_message_id_uses_the_fallback_key() -> None:
    headers = BASE.replace("Message-ID: <abc@customer.example>\n", "")
    email = normalized(raw(headers))
    assert email.message_id is None
    assert email.key.startswith("em:h:")
    assert email.key == email_fallback_key(
        "buyer@customer.example", datetime(2026, 3, 3, 9, tzinfo=UTC), "pricing"
    )
    assert "no_message_id" in email.parse_notes


def test_missing_date_is_a_named_skip_unless_the_connector_knows_when() -> None:
    headers = BASE.replace("Date: Tue, 03 Mar 2026 10:00:00 +0100\n", "")
    skip = normalize_email(raw(headers), ORIGIN, source_id="s1")
    assert isinstance(skip, Skip) and skip.reason is SkipReason.NO_DATE
    when = datetime(2026, 3, 4, tzinfo=UTC)
    assert normalized(raw(headers), received_at=when).occurred_at == when


def test_missing_sender_is_a_named_skip() -> None:
    headers = BASE.replace("From: Buyer <buyer@customer.example>\n", "")
    skip = normalize_email(raw(headers), ORIGIN, source_id="s1")
    assert isinstance(skip, Skip) and skip.reason is SkipReason.NO_SENDER


def test_header_mapping_gives_the_same_activity_as_bytes() -> None:
    mapping = {
        "From": "Buyer <buyer@customer.example>",
        "To": ["rep@acme.example"],
        "Date": "Tue, 03 Mar 2026 10:00:00 +0100",
        "Message-ID": "<abc@customer.example>",
        "Subject": "Pricing",
        "Bad Name": "dropped",
    }
    from_map = normalized(mapping)
    from_bytes = normalized(raw(BASE))
    assert from_map.key == from_bytes.key
    assert from_map.participants == from_bytes.participants
    assert from_map.subject == from_bytes.subject


def test_utf8_header_mapping_values() -> None:
    mapping = {"From": "Jöhn <jdoe@customer.example>", "Date": "Tue, 03 Mar 2026 10:00:00 +0000"}
    email = normalized(mapping)
    assert email.participants[0].name == "Jöhn"


def test_direction_outbound_internal_and_inbound() -> None:
    out = BASE.replace("From: Buyer <buyer@customer.example>", "From: rep@acme.example").replace(
        "To: rep@acme.example", "To: buyer@customer.example"
    )
    assert normalized(raw(out)).direction is Direction.OUTBOUND
    internal = BASE.replace("buyer@customer.example", "ceo@acme-holdings.example")
    assert normalized(raw(internal)).direction is Direction.INTERNAL
    colleague = BASE.replace("buyer@customer.example", "se@eu.acme.example").replace(
        "To: rep@acme.example", "To: buyer@customer.example"
    )
    assert normalized(raw(colleague)).direction is Direction.OUTBOUND


def test_body_kept_only_when_asked() -> None:
    origin = Origin(source="gmail", mailbox="rep@acme.example", capture_body=True)
    html = BASE + "Content-Type: text/html\n"
    result = normalize_email(raw(html, "<p>Call me <b>tomorrow</b></p>"), origin, source_id="1")
    assert isinstance(result, Email)
    assert result.body is not None and "tomorrow" in result.body and "<b>" not in result.body


def test_parse_email_reads_bulk_headers() -> None:
    headers = (
        BASE + "List-Unsubscribe: <mailto:u@x>\nPrecedence: bulk\nAuto-Submitted: auto-generated\n"
    )
    parsed = parse_email(raw(headers))
    assert parsed.list_unsubscribe == "<mailto:u@x>"
    assert parsed.precedence == "bulk"
    assert parsed.auto_submitted == "auto-generated"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    result = normalize_email(data, ORIGIN, source_id="fuzz")
    assert isinstance(result, Email | Skip)


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["From", "To", "Cc", "Date", "Subject", "Message-ID", "References"]),
        st.text(max_size=80),
    )
)
def test_arbitrary_header_mappings_never_raise(headers: dict[str, str]) -> None:
    result = normalize_email(headers, ORIGIN, source_id="fuzz")
    assert isinstance(result, Email | Skip)

"""Well-formed and malformed test messages shared by connector tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

BASE = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def message(i: int, *, mailbox: str = "rep@acme.example", body: str = "Hello.") -> bytes:
    """The i-th test email: from a customer to the mailbox, one per hour from BASE."""
    when = BASE + timedelta(hours=i)
    return (
        f"From: Customer {i} <buyer{i}@customer.example>\r\n"
        f"To: Rep <{mailbox}>\r\n"
        f"Subject: Proposal round {i}\r\n"
        f"Date: {when.strftime('%a, %d %b %Y %H:%M:%S +0000')}\r\n"
        f"Message-ID: <msg-{i}@customer.example>\r\n"
        "\r\n"
        f"{body}\r\n"
    ).encode()


MALFORMED = b"\x00\x01 this is not a message\r\n\r\nno headers at all\r\n"

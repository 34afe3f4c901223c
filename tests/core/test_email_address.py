"""One address key: what a message says and what a Salesforce record holds meet on both sides."""

from __future__ import annotations

from typing import Any

import pytest

from syncd.capture.addresses import InternalParties
from syncd.email_address import matching_address, normalize_address
from syncd.salesforce.directory import Directory

#: (as a message or calendar writes it, as a Salesforce record holds it, the one matching key)
TABLE = [
    ("mailto:Jo@Customer.example", "jo@customer.example", "jo@customer.example"),
    ("MAILTO:<jo@customer.example>", "jo@customer.example", "jo@customer.example"),
    ("jo@customer.example.", "jo@customer.example", "jo@customer.example"),
    ("JO.Smith@CUSTOMER.Example", "jo.smith@customer.example", "jo.smith@customer.example"),
    ("jo+crm@customer.example", "jo@customer.example", "jo@customer.example"),
    ("jo+a+b@customer.example", "jo+news@customer.example", "jo@customer.example"),
    ("+1555@sms.customer.example", "+1555@sms.customer.example", "+1555@sms.customer.example"),
    ("jo @ customer.example", "jo@customer.example", "jo@customer.example"),
    (" jo@custo mer.example\t", "jo@customer.example", "jo@customer.example"),
    ("  O'Brien@customer.example ", "o'brien@customer.example", "o'brien@customer.example"),
    ("J.O.Smith+x@GoogleMail.com", "jo.smith@gmail.com", "josmith@gmail.com"),
    ("jo@Bücher.example", "jo@xn--bcher-kva.example", "jo@xn--bcher-kva.example"),
    ("jo@BÜCHER.example", "jo@bücher.example", "jo@xn--bcher-kva.example"),
    ("info@例え.jp", "info@xn--r8jz45g.jp", "info@xn--r8jz45g.jp"),
]


class _Org:
    """The directory's one collaborator: ``query_many`` answering with the rows given."""

    def __init__(self, rows: dict[str, list[dict[str, Any]]]) -> None:
        self.rows = rows

    def query_many(self, queries: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
        return {name: self.rows.get(name, []) for name in queries}


@pytest.mark.parametrize(("written", "stored", "key"), TABLE)
def test_capture_and_the_directory_agree_on_the_key(written: str, stored: str, key: str) -> None:
    assert matching_address(written) == key
    assert matching_address(stored) == key
    org = _Org(
        {
            "Contact": [{"Id": "003C", "Email": stored}],
            "Lead": [{"Id": "00QL", "Email": stored, "IsConverted": False}],
            "User": [{"Id": "005U", "Email": stored, "IsActive": True}],
        }
    )
    directory = Directory.load(org)
    assert [c.id for c in directory.contacts_by_email(written)] == ["003C"]
    assert [lead.id for lead in directory.leads_by_email(written)] == ["00QL"]
    user = directory.user_by_email(written)
    assert user is not None and user.id == "005U"
    assert InternalParties.build((), [stored]).is_internal(written)


@pytest.mark.parametrize(
    "value", [None, "", "MAILER-DAEMON", "@customer.example", "jo@", "mailto:", "jo@."]
)
def test_what_is_not_an_address_has_no_key(value: str | None) -> None:
    assert normalize_address(value) is None
    assert matching_address(value) is None


def test_the_stored_form_keeps_tags_dots_and_the_domain_as_written() -> None:
    assert normalize_address("mailto:<J.O+crm@Bücher.example.>") == "j.o+crm@bücher.example"
    assert matching_address("jo@xn--zz--invalid.example") == "jo@xn--zz--invalid.example"

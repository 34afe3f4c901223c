"""The matching rules of design.md, one behaviour per test, on a directory loaded from rows."""

from __future__ import annotations

import json

import pytest
from test_match_world import (
    INTERNAL,
    MAILBOX,
    call,
    directory,
    email,
    meeting,
    org,
    person,
)

from syncd.capture.match import match
from syncd.model import Direction, Role

ACME = ("001A", "https://www.acme.com/about")


def _contact(cid: str, address: str | None, account: str | None = "001A", **more: str) -> dict:
    return {"Id": cid, "Name": cid, "Email": address, "AccountId": account, **more}


# -- Who: contacts by email -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("on_record", "on_mail"),
    [
        ("Jo.Smith@Acme.com", "jo.smith@acme.com"),
        ("jo@acme.com", "jo+deals@acme.com"),
        ("jo.smith@gmail.com", "josmith@googlemail.com"),
        ("JoSmith+x@gmail.com", "j.o.s.m.i.t.h@gmail.com"),
    ],
)
def test_contact_by_email_ignores_case_plus_tags_and_gmail_dots(on_record: str, on_mail: str):
    d = directory(org(contacts=[_contact("003A", on_record)], accounts=[ACME]))
    m = match(email(person(Role.TO, on_mail)), d, internal=INTERNAL)
    assert (m.who_id, m.who_type) == ("003A", "Contact")


def test_dots_matter_outside_gmail() -> None:
    d = directory(org(contacts=[_contact("003A", "jo.smith@acme.com")]))
    m = match(email(person(Role.TO, "josmith@acme.com")), d, internal=INTERNAL)
    assert m.who_id is None and not m.matched


def test_contact_wins_over_lead_with_the_same_address() -> None:
    rows = org(
        contacts=[_contact("003A", "jo@acme.com")],
        leads=[{"Id": "00QA", "Email": "jo@acme.com", "Company": "Acme"}],
        accounts=[ACME],
    )
    m = match(email(person(Role.TO, "jo@acme.com")), directory(rows), internal=INTERNAL)
    assert (m.who_id, m.who_type) == ("003A", "Contact")
    assert "00QA" not in m.people


def test_unconverted_lead_when_no_contact_and_it_gets_no_what() -> None:
    rows = org(
        leads=[{"Id": "00QA", "Email": "new@prospect.io", "Company": "P"}],
        accounts=[("001P", "prospect.io")],
    )
    m = match(email(person(Role.TO, "NEW@prospect.io")), directory(rows), internal=INTERNAL)
    assert (m.who_id, m.who_type) == ("00QA", "Lead")
    # Salesforce refuses a WhatId beside a Lead WhoId, even when the domain has an account.
    assert m.what_id is None and m.what_type is None


def test_converted_lead_is_not_matched() -> None:
    rows = org(leads=[{"Id": "00QA", "Email": "old@prospect.io", "IsConverted": True}])
    m = match(email(person(Role.TO, "old@prospect.io")), directory(rows), internal=INTERNAL)
    assert not m.matched and m.unmatched_reason


# -- Who: phones ------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["Phone", "MobilePhone"])
def test_phone_matches_a_contact_by_e164_across_fields(field: str) -> None:
    rows = org(contacts=[_contact("003A", None, **{field: "(415) 555-0100"})], accounts=[ACME])
    m = match(call("+14155550100"), directory(rows), internal=INTERNAL)
    assert (m.who_id, m.who_type, m.what_id) == ("003A", "Contact", "001A")


def test_phone_matches_a_lead_when_no_contact_has_it() -> None:
    rows = org(
        contacts=[_contact("003A", None, Phone="+1 415 555 0199")],
        leads=[{"Id": "00QA", "MobilePhone": "415.555.0100"}],
    )
    m = match(call("+14155550100", call_direction="inbound"), directory(rows), internal=INTERNAL)
    assert (m.who_id, m.who_type) == ("00QA", "Lead")


def test_phone_in_another_country_is_not_the_same_number() -> None:
    # 020 7946 0958 read in the GB region is +44..., not a US number with the same digits.
    rows = org(contacts=[_contact("003A", None, Phone="+1 207 946 0958")])
    m = match(call("+442079460958"), directory(rows), internal=INTERNAL)
    assert m.who_id is None


# -- internal participants ---------------------------------------------------------------------


def test_internal_participants_are_never_matched_even_if_a_contact_has_their_address() -> None:
    # Orgs do keep contacts for their own staff and users; syncd must not log rep-to-rep mail
    # against them.
    rows = org(
        users=[("005R", MAILBOX), ("005U", "boss@elsewhere.com")],
        contacts=[
            _contact("003M", MAILBOX),
            _contact("003I", "colleague@ourco.com"),
            _contact("003S", "eng@eu.ourco.eu"),
            _contact("003U", "boss@elsewhere.com"),
        ],
    )
    m = match(
        email(
            person(Role.TO, "colleague@ourco.com"),
            person(Role.TO, "eng@eu.ourco.eu"),
            person(Role.CC, "Boss@Elsewhere.com"),
        ),
        directory(rows),
        internal=INTERNAL,
    )
    assert not m.matched and m.people == ()
    assert m.unmatched_reason == "no external participant"


def test_the_mailbox_is_internal_without_being_a_user_or_an_internal_domain() -> None:
    mailbox = "rep@freelance.example"
    rows = org(users=[], contacts=[_contact("003M", mailbox)])
    m = match(
        email(person(Role.TO, "x@nowhere.example"), mailbox=mailbox),
        directory(rows),
        internal=INTERNAL,
    )
    assert m.who_id is None and "003M" not in m.people


def test_owner_is_the_mailboxs_user() -> None:
    rows = org(users=[("005R", "Rep@OurCo.com")], contacts=[_contact("003A", "a@acme.com")])
    m = match(email(person(Role.TO, "a@acme.com")), directory(rows), internal=INTERNAL)
    assert m.owner_id == "005R"
    m = match(
        email(person(Role.TO, "a@acme.com"), mailbox="gone@ourco.com"),
        directory(rows),
        internal=INTERNAL,
    )
    assert m.owner_id is None and m.who_id == "003A"


# -- ambiguity --------------------------------------------------------------------------------


def test_ambiguous_address_is_reported_not_guessed() -> None:
    rows = org(contacts=[_contact("003A", "shared@acme.com"), _contact("003B", "Shared@acme.com")])
    m = match(email(person(Role.TO, "shared@acme.com")), directory(rows), internal=INTERNAL)
    assert not m.matched
    assert m.unmatched_reason is not None and m.unmatched_reason.startswith("ambiguous")
    assert "003A" in m.unmatched_reason and "003B" in m.unmatched_reason
    assert any("ambiguous" in line for line in m.trace)


def test_ambiguous_phone_is_reported_and_another_participant_is_used() -> None:
    rows = org(
        contacts=[
            _contact("003A", None, Phone="+14155550100"),
            _contact("003B", None, MobilePhone="(415) 555-0100"),
            _contact("003C", "c@acme.com"),
        ],
        accounts=[ACME],
    )
    m = match(
        meeting(person(Role.ATTENDEE, phone="+14155550100"), person(Role.ATTENDEE, "c@acme.com")),
        directory(rows),
        internal=INTERNAL,
    )
    assert m.who_id == "003C" and m.people == ("003C",)
    assert any("ambiguous" in line and "phone" in line for line in m.trace)


def test_ambiguous_contact_with_the_domain_account_keeps_the_ambiguity_in_the_trace() -> None:
    rows = org(
        contacts=[_contact("003A", "x@acme.com"), _contact("003B", "x@acme.com")],
        accounts=[ACME],
    )
    m = match(email(person(Role.TO, "x@acme.com")), directory(rows), internal=INTERNAL)
    assert m.who_id is None
    assert (m.what_id, m.what_type) == ("001A", "Account")
    assert any("ambiguous" in line for line in m.trace)


# -- WhoId: the most relevant person -----------------------------------------------------------


def _two_contacts() -> dict:
    return org(
        contacts=[_contact("003S", "sender@acme.com"), _contact("003T", "target@acme.com")],
        accounts=[ACME],
    )


def test_who_is_the_recipient_of_outbound_mail() -> None:
    m = match(
        email(person(Role.CC, "sender@acme.com"), person(Role.TO, "target@acme.com")),
        directory(_two_contacts()),
        internal=INTERNAL,
    )
    assert m.who_id == "003T" and m.people == ("003T", "003S")


def test_who_is_the_sender_of_inbound_mail() -> None:
    m = match(
        email(
            person(Role.CC, "target@acme.com"),
            person(Role.FROM, "sender@acme.com"),
            direction=Direction.INBOUND,
        ),
        directory(_two_contacts()),
        internal=INTERNAL,
    )
    assert m.who_id == "003S" and m.people == ("003S", "003T")


def test_who_is_the_caller_of_an_inbound_call() -> None:
    rows = org(contacts=[_contact("003A", None, Phone="+14155550100")], accounts=[ACME])
    m = match(call("+14155550100", call_direction="inbound"), directory(rows), internal=INTERNAL)
    assert m.who_id == "003A"


# -- WhatId policies ---------------------------------------------------------------------------


def _deal_org(roles: list[tuple[str, str, str, bool]], opps: list[tuple[str, str]]) -> dict:
    return org(
        contacts=[_contact("003A", "a@acme.com"), _contact("003B", "b@acme.com")],
        accounts=[ACME, ("001Z", "zeta.com")],
        opportunities=opps,
        roles=roles,
    )


def _what(rows: dict, policy: str, *addresses: str) -> tuple[str | None, str | None]:
    people = [person(Role.TO, a) for a in addresses or ("a@acme.com",)]
    m = match(email(*people), directory(rows), internal=INTERNAL, policy=policy)
    return m.what_id, m.what_type


DEFAULT = "contact_role_then_single_open"


def test_one_contact_role_gives_that_opportunity_under_both_role_policies() -> None:
    # The role's opportunity is on another account, and Acme has one open opportunity of its own:
    # the contact role is the stronger signal.
    rows = _deal_org([("00K1", "006Z", "003A", False)], [("006Z", "001Z"), ("006A", "001A")])
    assert _what(rows, DEFAULT) == ("006Z", "Opportunity")
    assert _what(rows, "contact_role_only") == ("006Z", "Opportunity")
    assert _what(rows, "account_only") == ("001A", "Account")


def test_several_roles_choose_the_primary_one() -> None:
    roles = [("00K1", "0061", "003A", False), ("00K2", "0062", "003A", True)]
    rows = _deal_org(roles, [("0061", "001A"), ("0062", "001A")])
    assert _what(rows, DEFAULT) == ("0062", "Opportunity")
    assert _what(rows, "contact_role_only") == ("0062", "Opportunity")


def test_roles_of_several_matched_contacts_count_together() -> None:
    roles = [("00K1", "0061", "003A", False), ("00K2", "0062", "003B", True)]
    rows = _deal_org(roles, [("0061", "001A"), ("0062", "001A")])
    assert _what(rows, DEFAULT, "a@acme.com", "b@acme.com") == ("0062", "Opportunity")


def test_several_roles_without_a_single_primary_fall_back_to_the_account() -> None:
    roles = [("00K1", "0061", "003A", True), ("00K2", "0062", "003A", True)]
    # Acme has one open opportunity of its own besides the role's other one: still the account,
    # as the trace says, because the roles left it ambiguous.
    rows = _deal_org(roles, [("0061", "001A"), ("0062", "001Z")])
    assert _what(rows, DEFAULT) == ("001A", "Account")
    assert _what(rows, "contact_role_only") == ("001A", "Account")


def test_no_role_gives_the_accounts_only_open_opportunity() -> None:
    rows = _deal_org([], [("006A", "001A")])
    assert _what(rows, DEFAULT) == ("006A", "Opportunity")
    assert _what(rows, "contact_role_only") == ("001A", "Account")
    assert _what(rows, "account_only") == ("001A", "Account")


def test_no_role_and_several_open_opportunities_give_the_account() -> None:
    rows = _deal_org([], [("0061", "001A"), ("0062", "001A")])
    m = match(email(person(Role.TO, "a@acme.com")), directory(rows), internal=INTERNAL)
    assert (m.what_id, m.what_type) == ("001A", "Account")
    assert any("2 open opportunities" in line for line in m.trace)


def test_a_closed_opportunity_is_never_chosen_even_when_a_role_points_at_it() -> None:
    rows = _deal_org([("00K1", "006C", "003A", True)], [])
    rows["Opportunity"].append(
        {"Id": "006C", "AccountId": "001A", "StageName": "Closed Won", "IsClosed": True}
    )
    for policy in ("contact_role_then_single_open", "contact_role_only", "account_only"):
        m = match(email(person(Role.TO, "a@acme.com")), directory(rows), internal=INTERNAL,
                  policy=policy)  # fmt: skip
        assert m.what_id == "001A", policy
        assert "006C" not in json.dumps(m.as_dict())


def test_contact_without_an_account_gets_no_what() -> None:
    rows = org(contacts=[_contact("003A", "a@acme.com", account=None)], accounts=[ACME])
    m = match(email(person(Role.TO, "a@acme.com")), directory(rows), internal=INTERNAL)
    assert m.who_id == "003A" and m.what_id is None and m.matched


def test_unknown_policy_is_refused() -> None:
    with pytest.raises(ValueError, match="policy"):
        match(email(), directory(org()), internal=INTERNAL, policy="first_opportunity")


# -- no contact: account by website domain -------------------------------------------------


def test_no_contact_finds_the_account_by_website_domain() -> None:
    rows = org(accounts=[ACME], opportunities=[("006A", "001A")])
    m = match(email(person(Role.TO, "new.person@ACME.com")), directory(rows), internal=INTERNAL)
    assert (m.who_id, m.what_id, m.what_type) == (None, "001A", "Account")
    assert m.matched and m.people == ()


@pytest.mark.parametrize(
    "domain", ["gmail.com", "googlemail.com", "yahoo.co.uk", "hotmail.fr", "outlook.com", "gmx.de"]
)
def test_personal_domains_never_find_an_account(domain: str) -> None:
    # Someone did put a personal domain in an account's Website; it must still not match.
    rows = org(accounts=[("001G", f"https://www.{domain}")])
    m = match(email(person(Role.TO, f"someone@{domain}")), directory(rows), internal=INTERNAL)
    assert not m.matched and m.what_id is None
    assert any("personal mail domain" in line for line in m.trace)


def test_two_accounts_on_one_domain_are_not_guessed() -> None:
    rows = org(accounts=[ACME, ("001B", "acme.com")])
    m = match(email(person(Role.TO, "x@acme.com")), directory(rows), internal=INTERNAL)
    assert not m.matched


def test_nothing_matches_gives_a_reason() -> None:
    m = match(email(person(Role.TO, "x@unknown.example")), directory(org()), internal=INTERNAL)
    assert not m.matched
    assert m.unmatched_reason == "no Contact, Lead or Account for 1 external participant(s)"
    assert m.trace[-1] == f"unmatched: {m.unmatched_reason}"


# -- the trace is safe to store and show ------------------------------------------------------


def test_trace_and_reason_never_hold_an_address_or_a_phone_number() -> None:
    rows = org(
        contacts=[
            _contact("003A", "alice@acme.com"),
            _contact("003B", "dup@acme.com"),
            _contact("003C", "dup@acme.com"),
            _contact("003D", None, Phone="+14155550100"),
            _contact("003E", None, Phone="+14155550100"),
        ],
        leads=[{"Id": "00QA", "Email": "lead@prospect.io"}],
        accounts=[ACME, ("001G", "gmail.com")],
    )
    secrets = [
        *("alice@acme.com", "dup@acme.com", "lead@prospect.io", "p@gmail.com"),
        *("nobody@nowhere.example", "+14155550100", "4155550100", "555-0100", MAILBOX),
    ]
    activities = [
        email(*(person(Role.TO, a) for a in secrets if "@" in a)),
        email(person(Role.FROM, "dup@acme.com"), direction=Direction.INBOUND),
        email(person(Role.TO, "p@gmail.com"), person(Role.TO, "nobody@nowhere.example")),
        call("+14155550100"),
        call("(415) 555-0100", call_direction="inbound"),
    ]
    for activity in activities:
        text = json.dumps(match(activity, directory(rows), internal=INTERNAL).as_dict())
        for secret in secrets:
            assert secret not in text, (secret, text)
        assert "@" not in text

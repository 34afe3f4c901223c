"""Hypothesis: matching is a deterministic function of the activity and the directory.

Random small orgs (contacts and leads sharing addresses and phones, accounts sharing domains,
open and closed opportunities, roles on both) and random activities over the same pool of
people, so collisions, ambiguity and internal parties come up often.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from test_match_world import INTERNAL, MAILBOX, WHEN, directory

from syncd.capture.match import POLICIES, Match, match
from syncd.model import Call, Direction, Email, Meeting, Participant, Role
from syncd.salesforce.directory import Directory

LOCALS = ("ann", "bo", "cy", "jo.smith")
DOMAINS = ("acme.com", "zeta.io", "gmail.com", "ourco.com", "yahoo.co.uk")
PHONES = ("+14155550100", "+14155550101", "+442079460958")
#: How the same phone appears in a CRM field.
PHONE_SPELLINGS = {
    "+14155550100": ("(415) 555-0100", "+1 415 555 0100", "415.555.0100"),
    "+14155550101": ("415-555-0101", "+14155550101"),
    "+442079460958": ("+44 20 7946 0958", "+44 (0)20 7946 0958"),
}


def _address(local: str, tag: str, domain: str, upper: bool) -> str:
    text = f"{local}{tag}@{domain}"
    return text.upper() if upper else text


# Strategies are built once: building them inside draws made generation the slow part.
BOOL = st.booleans()
PICK = st.integers(0, 11)  # an index into a short, data-dependent list, taken modulo its length
ADDRESS = st.builds(
    _address,
    st.sampled_from(LOCALS),
    st.sampled_from(("", "+x", "+deals")),
    st.sampled_from(DOMAINS),
    BOOL,
)
MAYBE_ADDRESS = st.none() | ADDRESS
WEBSITE = st.sampled_from((*DOMAINS, "www.acme.com", "https://acme.com/en"))
SPELLING = st.sampled_from([(p, s) for p, spellings in PHONE_SPELLINGS.items() for s in spellings])
PHONE_FIELD = st.sampled_from((None, "Phone", "MobilePhone"))
MAYBE_PHONE = st.none() | st.sampled_from(PHONES)


def _pick(draw: st.DrawFn, items: list[Any]) -> Any:
    return items[draw(PICK) % len(items)]


@st.composite
def orgs(draw: st.DrawFn) -> dict[str, list[dict[str, Any]]]:
    account_ids = [f"001{i}" for i in range(draw(st.integers(0, 3)))]
    accounts = [{"Id": a, "Name": a, "Website": draw(WEBSITE)} for a in account_ids]
    opps = [
        {"Id": f"006{i}", "AccountId": _pick(draw, account_ids),
         "StageName": "X", "IsClosed": draw(BOOL)}
        for i in range(draw(st.integers(0, 4)) if account_ids else 0)
    ]  # fmt: skip
    contacts = []
    for i in range(draw(st.integers(0, 6))):
        row: dict[str, Any] = {"Id": f"003{i}", "Name": "c"}
        row["AccountId"] = _pick(draw, [None, *account_ids])
        row["Email"] = draw(MAYBE_ADDRESS)
        field = draw(PHONE_FIELD)
        if field:
            row[field] = draw(SPELLING)[1]
        contacts.append(row)
    leads = [
        {
            "Id": f"00Q{i}",
            "Email": draw(MAYBE_ADDRESS),
            "IsConverted": draw(BOOL),
            "Phone": draw(MAYBE_PHONE),
        }
        for i in range(draw(st.integers(0, 3)))
    ]
    roles = []
    if contacts and opps:
        for i in range(draw(st.integers(0, 4))):
            roles.append(
                {"Id": f"00K{i}", "OpportunityId": _pick(draw, [o["Id"] for o in opps]),
                 "ContactId": _pick(draw, [c["Id"] for c in contacts]),
                 "Role": "Buyer", "IsPrimary": draw(BOOL)}
            )  # fmt: skip
    users = [{"Id": "005R", "Name": "rep", "Email": MAILBOX, "IsActive": True}]
    if draw(BOOL):
        users.append({"Id": "005U", "Name": "u", "Email": "ann@zeta.io", "IsActive": True})
    return {
        "User": users,
        "Contact": contacts,
        "Lead": leads,
        "Account": accounts,
        "Opportunity": opps,
        "OpportunityContactRole": roles,
    }


PARTICIPANT = st.builds(
    Participant,
    address=ADDRESS | st.sampled_from((MAILBOX, None)),
    phone=st.none() | st.sampled_from(PHONES),
    role=st.sampled_from(list(Role)),
)


PARTICIPANTS = st.lists(PARTICIPANT, min_size=0, max_size=6)
DIRECTION = st.sampled_from(list(Direction))
KIND = st.sampled_from(("email", "meeting", "call"))


@st.composite
def activities(draw: st.DrawFn) -> Email | Meeting | Call:
    people = tuple(p for p in draw(PARTICIPANTS) if p.address or p.phone)
    common: dict[str, Any] = {
        "source": "s", "source_id": "1", "key": "k:1", "occurred_at": WHEN,
        "direction": draw(DIRECTION), "participants": people,
        "mailbox": MAILBOX,
    }  # fmt: skip
    kind = draw(KIND)
    if kind == "email":
        return Email(**common)
    if kind == "meeting":
        return Meeting(**common, start=WHEN, end=WHEN, ical_uid="u")
    return Call(**common, provider="p", call_id="1")


def _shuffled(rows: dict[str, list[dict]], rnd: Any) -> dict[str, list[dict]]:
    out = {}
    for name, items in rows.items():
        copy = list(items)
        rnd.shuffle(copy)
        out[name] = copy
    return out


def _shuffle_within_roles(activity: Any, rnd: Any) -> Any:
    by_role: dict[Role, list[Participant]] = {}
    for p in activity.participants:
        by_role.setdefault(p.role, []).append(p)
    for group in by_role.values():
        rnd.shuffle(group)
    # Roles keep their relative order of first appearance; within a role, any order.
    order = list(dict.fromkeys(p.role for p in activity.participants))
    return activity.replace(participants=tuple(p for r in order for p in by_role[r]))


def _ids_exist(m: Match, d: Directory) -> None:
    if m.owner_id is not None:
        assert m.owner_id in d.users
    if m.who_type == "Contact":
        assert m.who_id in d.contacts
    elif m.who_type == "Lead":
        assert m.who_id in d.leads
        assert m.what_id is None
    else:
        assert m.who_id is None
    if m.what_type == "Opportunity":
        assert m.what_id in d.opportunities  # the directory holds open opportunities only
    elif m.what_type == "Account":
        assert m.what_id in d.accounts
    else:
        assert m.what_id is None
    assert set(m.people) <= set(d.contacts) | set(d.leads)
    assert len(set(m.people)) == len(m.people)
    if m.who_id is not None:
        assert m.people[0] == m.who_id
    assert m.matched == (m.unmatched_reason is None)


@settings(max_examples=120, deadline=None)
@given(orgs(), activities(), st.sampled_from(POLICIES), st.randoms(use_true_random=False))
def test_matching_is_deterministic_and_order_free(
    rows: dict, activity: Any, policy: str, rnd: Any
) -> None:
    first = match(activity, directory(rows), internal=INTERNAL, policy=policy)
    assert match(activity, directory(rows), internal=INTERNAL, policy=policy) == first
    other = directory(_shuffled(rows, rnd))
    assert match(activity, other, internal=INTERNAL, policy=policy) == first
    reordered = _shuffle_within_roles(activity, rnd)
    assert match(reordered, other, internal=INTERNAL, policy=policy) == first


@settings(max_examples=150, deadline=None)
@given(orgs(), activities(), st.sampled_from(POLICIES))
def test_match_ids_exist_and_closed_opportunities_never_appear(
    rows: dict, activity: Any, policy: str
) -> None:
    d = directory(rows)
    m = match(activity, d, internal=INTERNAL, policy=policy)
    _ids_exist(m, d)
    closed = {o["Id"] for o in rows["Opportunity"] if o["IsClosed"]}
    assert m.what_id not in closed
    text = json.dumps(m.as_dict())
    # The trace is stored and shown in status: no address, no phone number in any spelling.
    assert "@" not in text and "+" not in text
    assert not any(p[-7:] in text for p in PHONES)


@settings(max_examples=100, deadline=None)
@given(orgs(), activities())
def test_internal_participants_never_become_people(rows: dict, activity: Any) -> None:
    d = directory(rows)
    internal_only = activity.replace(
        participants=tuple(
            p for p in activity.participants
            if p.address and (INTERNAL.is_internal(p.address) or d.user_by_email(p.address)
                              or p.address == MAILBOX)
        )
    )  # fmt: skip
    assert match(internal_only, d, internal=INTERNAL).people == ()
    assert match(internal_only, d, internal=INTERNAL).what_id is None

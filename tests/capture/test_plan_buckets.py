"""Planning: every activity in exactly one bucket, sightings, relations, cancellations."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from test_match_world import call, email, meeting

from syncd.capture.match import Match
from syncd.capture.plan import Known, Relation, plan, relations_for_new_event
from syncd.capture.records import KEY_FIELD
from syncd.model import Meeting, SkipReason

WHO = Match(owner_id="005R", who_id="003A", who_type="Contact", what_id="001A",
            what_type="Account", people=("003A", "003B", "003C"))  # fmt: skip
NONE = Match(owner_id="005R", unmatched_reason="no Contact, Lead or Account")


def test_new_matched_activities_are_written_by_sobject() -> None:
    batch = [email(key="em:1"), meeting(key="mt:1"), call("+1", key="cl:a:1")]
    out = plan(batch, {}, {a.key: WHO for a in batch})
    assert [w.activity.key for w in out.writes] == ["em:1", "mt:1", "cl:a:1"]
    assert [w.activity.key for w in out.writes_for("Task")] == ["em:1", "cl:a:1"]
    assert [w.activity.key for w in out.writes_for("Event")] == ["mt:1"]
    assert all(w.fields[KEY_FIELD] == w.activity.key for w in out.writes)
    assert all(w.match is WHO for w in out.writes)
    assert out.seen == [] and out.unmatched == [] and out.skips == [] and out.relations == []


def test_unmatched_goes_to_the_queue_with_its_match() -> None:
    activity = email(key="em:1")
    out = plan([activity], {}, {"em:1": NONE})
    assert out.unmatched == [(activity, NONE)] and out.writes == []


def test_duplicate_keys_in_a_batch_are_planned_once() -> None:
    first, again = email(key="em:1", mailbox="rep@ourco.com"), email(key="em:1", mailbox="b@x.com")
    out = plan([first, again, email(key="em:2")], {}, {"em:1": WHO, "em:2": WHO})
    assert [w.activity for w in out.writes] == [first, out.writes[1].activity]
    assert [w.activity.key for w in out.writes] == ["em:1", "em:2"]


def test_known_keys_are_sightings_without_a_write() -> None:
    known = {"em:1": Known("Task", "00T1"), "mt:1": Known("Event", "00U1", frozenset(WHO.people))}
    batch = [email(key="em:1"), meeting(key="mt:1")]
    out = plan(batch, known, {a.key: WHO for a in batch})
    assert out.writes == [] and out.seen == batch
    assert out.relations == []  # everyone is related already
    # Known but unmatched now (a contact was deleted): still only a sighting, not unmatched.
    out = plan(batch, known, {a.key: NONE for a in batch})
    assert out.seen == batch and out.unmatched == [] and out.writes == []


def test_newly_matched_invitees_become_relations_but_not_the_who() -> None:
    known = {"mt:1": Known("Event", "00U1", frozenset({"003B"}))}
    out = plan([meeting(key="mt:1")], known, {"mt:1": WHO})
    assert out.relations == [Relation("mt:1", "00U1", "003C")]


def test_the_written_who_gets_no_relation_even_if_the_who_changed() -> None:
    # Written with 003C as Who; today 003A matches first. 003A needs a relation, 003C does not.
    known = {"mt:1": Known("Event", "00U1", frozenset(), who_id="003C")}
    out = plan([meeting(key="mt:1")], known, {"mt:1": WHO})
    assert sorted(r.relation_id for r in out.relations) == ["003A", "003B"]


def test_tasks_get_no_relations() -> None:
    out = plan([email(key="em:1")], {"em:1": Known("Task", "00T1")}, {"em:1": WHO})
    assert out.relations == []


def test_cancelled_meeting_never_written_is_skipped() -> None:
    out = plan([meeting(key="mt:1", cancelled=True)], {}, {"mt:1": WHO})
    assert out.writes == [] and out.seen == []
    assert [(s.reason, s.key) for s in out.skips] == [(SkipReason.CANCELLED_UNWRITTEN, "mt:1")]


def test_cancelled_meeting_already_written_is_rewritten_as_cancelled() -> None:
    known = {"mt:1": Known("Event", "00U1")}
    for found in (WHO, NONE):  # even when nobody matches any more: the calendar must be true
        out = plan([meeting(key="mt:1", cancelled=True)], known, {"mt:1": found})
        (write,) = out.writes
        assert write.sobject == "Event" and write.fields[KEY_FIELD] == "mt:1"
        assert write.fields["Subject"].startswith("Canceled: ")
        assert write.fields["ShowAs"] == "Free"
        assert out.seen == [] and out.skips == [] and out.unmatched == []


def test_relations_for_a_new_event_are_everyone_but_the_who() -> None:
    out = plan([meeting(key="mt:1")], {}, {"mt:1": WHO})
    relations = relations_for_new_event(out.writes[0], "00U9")
    assert relations == [Relation("mt:1", "00U9", "003B"), Relation("mt:1", "00U9", "003C")]


# -- Hypothesis: the buckets partition the batch -----------------------------------------------

KEYS = [f"k{i}" for i in range(6)]
PEOPLE = ["003A", "003B", "003C", "00QA"]


# Strategies built once: building them inside draws dominated the run time.
BOOL = st.booleans()
PEOPLE_LIST = st.lists(st.sampled_from(PEOPLE), max_size=4)
KEY_LIST = st.lists(st.sampled_from(KEYS), max_size=12)
KNOWN_KEYS = st.lists(st.sampled_from(KEYS), unique=True)
MAYBE_PERSON = st.none() | st.sampled_from(PEOPLE)


def _match(people: list[str], account: bool) -> Match:
    unique = tuple(dict.fromkeys(people))
    if unique:
        return Match(who_id=unique[0], who_type="Contact", people=unique)
    if account:
        return Match(what_id="001A", what_type="Account")
    return Match(unmatched_reason="nothing")


MATCH = st.builds(_match, PEOPLE_LIST, BOOL)


def _kind(key: str) -> int:
    return sum(map(ord, key)) % 3  # one kind per key, as keys are per kind


@st.composite
def batches(draw: st.DrawFn) -> tuple[list[Any], dict[str, Known], dict[str, Match]]:
    activities = []
    for key in draw(KEY_LIST):
        if _kind(key) == 0:
            activities.append(email(key=key, subject="b" if draw(BOOL) else "a"))
        elif _kind(key) == 1:
            activities.append(meeting(key=key, cancelled=draw(BOOL)))
        else:
            activities.append(call("+1", key=key))
    known = {}
    for key in draw(KNOWN_KEYS):
        sobject = "Event" if _kind(key) == 1 else "Task"
        related = frozenset(draw(PEOPLE_LIST))
        known[key] = Known(sobject, f"id-{key}", related, draw(MAYBE_PERSON))
    return activities, known, {k: draw(MATCH) for k in KEYS}


@settings(max_examples=200, deadline=None)
@given(batches())
def test_every_key_lands_in_exactly_one_bucket(data: Any) -> None:
    activities, known, found = data
    out = plan(activities, known, found)
    buckets = [
        [w.activity.key for w in out.writes],
        [a.key for a in out.seen],
        [a.key for a, _ in out.unmatched],
        [s.key for s in out.skips],
    ]
    flat = [k for bucket in buckets for k in bucket]
    first_seen = list(dict.fromkeys(a.key for a in activities))
    assert sorted(flat) == sorted(first_seen)  # each distinct key once, none lost
    firsts = {}
    for a in activities:
        firsts.setdefault(a.key, a)
    for w in out.writes:
        assert w.activity is firsts[w.activity.key]
        cancelled = isinstance(w.activity, Meeting) and w.activity.cancelled
        assert w.activity.key not in known or cancelled
        assert w.match.matched or w.activity.key in known
    for a in out.seen:
        assert a.key in known and not (isinstance(a, Meeting) and a.cancelled)
    for s in out.skips:
        assert s.key not in known and s.reason is SkipReason.CANCELLED_UNWRITTEN
    for a, m in out.unmatched:
        assert a.key not in known and not m.matched
    seen_events = {a.key for a in out.seen if known[a.key].sobject == "Event"}
    pairs = [(r.key, r.relation_id) for r in out.relations]
    assert len(pairs) == len(set(pairs))
    for r in out.relations:
        k = known[r.key]
        assert r.key in seen_events and r.event_id == k.salesforce_id
        assert r.relation_id in found[r.key].people and r.relation_id not in k.related
        assert r.relation_id != (k.who_id or found[r.key].who_id)
    for key in seen_events:
        k, m = known[key], found[key]
        who = k.who_id or m.who_id
        # Only contacts are related, and none beside a lead Who (one lead per Event).
        expected = {
            p
            for p in m.people
            if p.startswith("003") and p not in k.related and p != who
            and not (who or "").startswith("00Q")
        }  # fmt: skip
        assert {r.relation_id for r in out.relations if r.key == key} == expected

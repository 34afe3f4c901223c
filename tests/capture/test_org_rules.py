"""The rep's day: the owner's zone, then service.timezone, then the org's, then UTC. Pure."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from test_match_world import email

from syncd.capture.match import Match
from syncd.capture.org_rules import OrgRules, rep_zones
from syncd.capture.records import fields_for


@dataclass
class _Zones:
    """The directory's two zone look-ups, as data."""

    users: dict[str, str] = field(default_factory=dict)
    org_time_zone: str | None = None

    def time_zone_of(self, user_id: str | None) -> str | None:
        return self.users.get(user_id or "")


def test_the_owners_zone_wins_then_the_service_zone_then_the_orgs() -> None:
    directory = _Zones({"005CHI": "America/Chicago", "005BAD": "Not/AZone"}, "Asia/Tokyo")
    zone_of = rep_zones(directory, timezone="Europe/Paris")
    assert zone_of("005CHI") == ZoneInfo("America/Chicago")
    assert zone_of("005BAD") == ZoneInfo("Europe/Paris")  # unreadable zone: the service's
    assert zone_of(None) == ZoneInfo("Europe/Paris")
    assert rep_zones(directory)("005NONE") == ZoneInfo("Asia/Tokyo")
    assert rep_zones(_Zones())("005NONE") is UTC


def test_activity_date_is_the_owners_local_day() -> None:
    # 02:30 UTC on the 19th: still the 18th in Chicago, already the 19th in Tokyo.
    sent = email(key="em:1", when=datetime(2026, 11, 19, 2, 30, tzinfo=UTC))
    org = OrgRules(zone_of=rep_zones(_Zones({"005CHI": "America/Chicago"}, "Asia/Tokyo")))
    days = {
        owner: fields_for(sent, Match(owner_id=owner, who_id="003A"), org)["ActivityDate"]
        for owner in ("005CHI", "005TOKYO")
    }
    assert days == {"005CHI": "2026-11-18", "005TOKYO": "2026-11-19"}


def test_offline_the_service_zone_or_utc() -> None:
    """``syncd explain`` without Salesforce has no directory: service.timezone, else UTC."""
    assert rep_zones(None, timezone="Europe/Paris")("005X") == ZoneInfo("Europe/Paris")
    assert rep_zones(None)("005X") is UTC

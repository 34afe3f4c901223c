"""Phone numbers as people write them → one E.164 form; the rep and the missed-call rule."""

from __future__ import annotations

import pytest

from connectors._phone import PhoneSettings, is_missed, rep_address, to_e164


@pytest.mark.parametrize(
    ("written", "region", "e164"),
    [
        ("(512) 757-6000", "US", "+15127576000"),
        ("+1 512-757-6000", "GB", "+15127576000"),
        ("512.757.6000 x12", "US", "+15127576000"),
        ("00 44 20 7946 0958", "US", "+442079460958"),
        ("011 44 20 7946 0958", "US", "+442079460958"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("0049 30 1234567", "DE", "+49301234567"),
    ],
)
def test_every_way_of_writing_a_number_gives_one_e164(written: str, region: str, e164: str) -> None:
    assert to_e164(written, region) == e164


@pytest.mark.parametrize("junk", [None, "", "   ", "n/a", "12", "anonymous"])
def test_what_is_not_a_number_is_none(junk: str | None) -> None:
    assert to_e164(junk, "US") is None


def test_the_users_mapping_wins_over_the_phone_systems_email() -> None:
    settings = PhoneSettings(type="x", name="x", users={"42": "Ana@OurCo.com"})
    assert rep_address(settings, 42, "ana.personal@gmail.com") == "ana@ourco.com"
    assert rep_address(settings, 7, "Bo@OurCo.com") == "bo@ourco.com"
    assert rep_address(settings, None, None) is None
    assert is_missed(" No Answer ") and is_missed("Missed") and not is_missed("answered")

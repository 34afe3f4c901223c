"""Property tests: no dialer record or call-file row raises, whatever its times and fields.

Aircall (epoch seconds), RingCentral and Zoom Phone (ISO 8601) records and call-file rows get
start times of years 1 to 9999 at offsets up to ±23:59, beyond the ``datetime`` range, missing,
huge and empty values. Each record ends a Call or a named Skip; a file row may instead be a
reject (dead-lettered with its file and line). A call dated over a day ahead is ``future_date``.
"""

from __future__ import annotations

import json
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "capture"))

from hostile_strategies import epochs, iso_times, texts

from connectors.aircall import AircallConnector, AircallSettings
from connectors.call_files import CallFilesConnector, CallFilesSettings
from connectors.ringcentral import RingCentralConnector, RingCentralSettings
from connectors.zoom_phone import ZoomPhoneConnector, ZoomPhoneSettings
from syncd.config import CaptureConfig
from syncd.model import Activity, Skip, SkipReason

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
REP = "rep@acme.example"
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def context() -> Any:
    from connectors.base import ConnectorContext

    capture = CaptureConfig(default_region="US", backfill_days=90)
    return ConnectorContext(clock=lambda: NOW, capture=capture)


numbers = st.one_of(st.sampled_from(["+1 512 757 6000", "00 44 20 7946 0000", ""]), texts)
directions = st.sampled_from(["inbound", "outbound", "Inbound", "sideways", ""])


def ended(result: Any) -> bool:
    return isinstance(result, Activity | Skip)


@SETTINGS
@given(
    st.fixed_dictionaries(
        {"id": st.one_of(st.integers(), texts), "started_at": st.one_of(epochs, texts),
         "duration": st.one_of(st.integers(), st.floats(), texts), "direction": directions,
         "raw_digits": numbers, "number": st.fixed_dictionaries({"digits": numbers}),
         "user": st.fixed_dictionaries({"id": st.just(1)}), "recording": texts}
    )
)  # fmt: skip
def test_aircall_calls_never_raise(call: dict[str, Any]) -> None:
    aircall = AircallConnector(
        AircallSettings(type="aircall", name="ac", api_id="a", api_token_env="UNUSED",
                        users={"1": REP}), context(),
    )  # fmt: skip
    activities, skips = aircall._convert([call, {"user": "not a mapping"}], "phone-system")
    assert len(activities) + len(skips) == 2


@SETTINGS
@given(
    st.fixed_dictionaries(
        {"id": texts, "startTime": iso_times(), "duration": st.one_of(st.integers(), texts),
         "direction": directions, "type": st.sampled_from(["Voice", "Fax"]),
         "extension": st.fixed_dictionaries({"id": st.just("7")}),
         "from": st.fixed_dictionaries({"phoneNumber": numbers, "name": texts}),
         "to": st.fixed_dictionaries({"phoneNumber": numbers}), "result": texts}
    )
)  # fmt: skip
def test_ringcentral_records_never_raise(record: dict[str, Any]) -> None:
    rc = RingCentralConnector(
        RingCentralSettings(type="ringcentral", name="rc", client_id="c",
                            client_secret_env="UNUSED",
                            jwt_env="UNUSED", users={"7": REP}), context(),
    )  # fmt: skip
    assert ended(rc._call(record, "phone-system"))


@SETTINGS
@given(
    st.fixed_dictionaries(
        {"id": texts, "call_id": texts, "start_time": iso_times(), "direction": directions,
         "duration": st.one_of(st.integers(), texts), "callee_ext_id": st.just("7"),
         "caller_ext_id": st.one_of(st.none(), st.just("8")), "caller_number": numbers,
         "callee_number": numbers, "result": texts}
    )
)  # fmt: skip
def test_zoom_phone_records_never_raise(record: dict[str, Any]) -> None:
    zoom = ZoomPhoneConnector(
        ZoomPhoneSettings(type="zoom_phone", name="zp", account_id="a", client_id="c",
                          client_secret_env="UNUSED", users={"7": REP, "8": REP}), context(),
    )  # fmt: skip
    assert ended(zoom._call(record, "phone-system"))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.fixed_dictionaries(
            {"call_id": texts, "started_at": st.one_of(iso_times(), epochs, texts),
             "direction": directions, "from": numbers, "to": numbers, "user_address": texts,
             "duration_seconds": st.one_of(st.integers(), texts)}
        ),
        min_size=1, max_size=5,
    )
)  # fmt: skip
def test_every_call_file_row_ends_a_call_a_skip_or_a_reject(rows: list[dict[str, Any]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "calls.jsonl"
        path.write_text("\n".join(json.dumps(r, allow_nan=True) for r in rows))
        files = CallFilesConnector(
            CallFilesSettings(type="call_files", name="pbx", path=folder, mailbox=REP), context()
        )
        batch = files.pull(REP, None, limit=100)
        assert len(batch.activities) + len(batch.skips) + len(batch.rejects) == len(rows)


def test_a_call_dated_beyond_a_day_of_clock_skew_is_a_named_skip() -> None:
    aircall = AircallConnector(
        AircallSettings(type="aircall", name="ac", api_id="a", api_token_env="UNUSED",
                        users={"1": REP}), context(),
    )  # fmt: skip
    calls = [
        {"id": i, "started_at": int((NOW + ahead).timestamp()), "direction": "inbound",
         "user": {"id": 1}, "raw_digits": "+1 512 757 6000"}
        for i, ahead in enumerate([timedelta(hours=23), timedelta(hours=25)], start=1)
    ]  # fmt: skip
    activities, skips = aircall._convert(calls, "phone-system")
    assert [a.call_id for a in activities] == ["1"]  # type: ignore[attr-defined]
    assert [(s.source_id, s.reason) for s in skips] == [("2", SkipReason.FUTURE_DATE)]

"""Call backfill cost per dialer: requests, rate-limit breaches and simulated waiting.

Each dialer emulator (RingCentral, Aircall, Zoom Phone) is seeded with ``--calls`` calls over
the last 60 days; the real connector backfills them over HTTPS on loopback with a simulated
clock that moves only when the connector waits. Counted by the emulators: API requests (token
requests apart) and requests over the vendor's limit (must be 0). Prints one JSON line and
appends a row to docs/benchmarks.md under "## Call backfill" (created when missing).

    .venv/bin/python benchmarks/calls_backfill.py [--calls 2000] [--no-append]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from _report import append_row, stamp

from connectors.aircall import AircallConnector, AircallSettings
from connectors.base import Connector, ConnectorContext
from connectors.ringcentral import RingCentralConnector, RingCentralSettings
from connectors.zoom_phone import ZoomPhoneConnector, ZoomPhoneSettings
from sandbox.dialers.aircall import AircallSandbox
from sandbox.dialers.ringcentral import RingCentralSandbox
from sandbox.dialers.zoom import ZoomPhoneSandbox
from syncd.config import CaptureConfig

SECTION = "## Call backfill"
HEADER = (
    "| date | commit | calls | RingCentral requests | RingCentral breaches | Aircall requests |"
    " Aircall breaches | Zoom requests | Zoom breaches | simulated seconds waited |\n"
    "|---|---|---|---|---|---|---|---|---|---|\n"
)
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
REP = "rep@ourco.com"


class SimClock:
    """Simulated time: moves only when someone sleeps."""

    def __init__(self) -> None:
        self.at = NOW
        self.waited = 0.0

    def now(self) -> datetime:
        return self.at

    def monotonic(self) -> float:
        return self.at.timestamp()

    def sleep(self, seconds: float) -> None:
        self.waited += seconds
        self.at += timedelta(seconds=seconds)


def _context(clock: SimClock) -> ConnectorContext:
    return ConnectorContext(clock=clock.now, capture=CaptureConfig(default_region="US"))


def _drain(connector: Connector) -> int:
    cursor, total = None, 0
    while True:
        batch = connector.pull(REP, cursor)
        total += len(batch.activities)
        cursor = batch.next_cursor
        if not batch.more:
            return total


def _start(i: int, n: int) -> datetime:
    return NOW - timedelta(days=60) + timedelta(seconds=i * (59 * 86400 // n))


def ringcentral(n: int, clock: SimClock) -> tuple[int, int]:
    with RingCentralSandbox(clock=clock.now) as sb:
        ext = sb.add_user(REP)
        for i in range(n):
            sb.add_call(ext, start=_start(i, n), direction="Outbound", other=f"+1512757{i:04d}")
        os.environ["BENCH_RC_SECRET"], os.environ["BENCH_RC_JWT"] = sb.client_secret, sb.jwt
        settings = RingCentralSettings(
            type="ringcentral",
            name="rc",
            server_url=sb.url,
            client_id=sb.client_id,
            client_secret_env="BENCH_RC_SECRET",  # noqa: S106 (a variable name)
            jwt_env="BENCH_RC_JWT",
            ca_bundle=sb.ca_bundle,
            per_page=100,
        )
        connector = RingCentralConnector(
            settings, _context(clock), sleep=clock.sleep, monotonic=clock.monotonic
        )
        assert _drain(connector) == n
        return sb.count("GET /restapi/v1.0/"), len(sb.breaches)


def aircall(n: int, clock: SimClock) -> tuple[int, int]:
    with AircallSandbox(clock=clock.now) as sb:
        user = sb.add_user(REP)
        for i in range(n):
            sb.add_call(user, start=_start(i, n), direction="outbound", other=f"+1512757{i:04d}")
        os.environ["BENCH_AC_TOKEN"] = sb.api_token
        settings = AircallSettings(
            type="aircall",
            name="ac",
            api_url=sb.url,
            api_id=sb.api_id,
            api_token_env="BENCH_AC_TOKEN",  # noqa: S106 (a variable name)
            ca_bundle=sb.ca_bundle,
        )
        assert _drain(AircallConnector(settings, _context(clock), sleep=clock.sleep)) == n
        return sb.count("GET /v1/"), len(sb.breaches)


def zoom(n: int, clock: SimClock) -> tuple[int, int]:
    with ZoomPhoneSandbox(clock=clock.now) as sb:
        ext = sb.add_user(REP)
        for i in range(n):
            sb.add_call(ext, start=_start(i, n), direction="outbound", other=f"+1512757{i:04d}")
        os.environ["BENCH_ZOOM_SECRET"] = sb.client_secret
        settings = ZoomPhoneSettings(
            type="zoom_phone",
            name="zoom",
            oauth_url=sb.url,
            api_url=sb.url,
            account_id=sb.account_id,
            client_id=sb.client_id,
            client_secret_env="BENCH_ZOOM_SECRET",  # noqa: S106 (a variable name)
            ca_bundle=sb.ca_bundle,
        )
        connector = ZoomPhoneConnector(
            settings, _context(clock), sleep=clock.sleep, monotonic=clock.monotonic
        )
        assert _drain(connector) == n
        return sb.count("GET /v2/"), len(sb.breaches)


def measure(n: int) -> dict[str, Any]:
    """Backfill ``n`` calls from each dialer; the counts."""
    clock = SimClock()
    rc_requests, rc_breaches = ringcentral(n, clock)
    ac_requests, ac_breaches = aircall(n, clock)
    zoom_requests, zoom_breaches = zoom(n, clock)
    return {
        "calls": n,
        "ringcentral_requests": rc_requests,
        "ringcentral_breaches": rc_breaches,
        "aircall_requests": ac_requests,
        "aircall_breaches": ac_breaches,
        "zoom_requests": zoom_requests,
        "zoom_breaches": zoom_breaches,
        "seconds_waited_simulated": round(clock.waited),
    }


def append(f: dict[str, Any]) -> None:
    """Append one row under this benchmark's section of docs/benchmarks.md."""
    row = (
        f"{stamp()} {f['calls']} | "
        f"{f['ringcentral_requests']} | {f['ringcentral_breaches']} | {f['aircall_requests']} | "
        f"{f['aircall_breaches']} | {f['zoom_requests']} | {f['zoom_breaches']} | "
        f"{f['seconds_waited_simulated']} |\n"
    )
    note = (
        "\nAPI requests counted by the dialer emulators (token requests apart), backfilling"
        " the same calls from each; RingCentral with 100 records a page so its Heavy limit"
        " (10 a minute) binds; breaches are requests the emulators refused for a limit and"
        " must be 0.\n\n"
    )
    append_row(SECTION, HEADER, row, note=note)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--no-append", action="store_true")
    args = parser.parse_args(argv)
    figures = measure(args.calls)
    sys.stdout.write(json.dumps(figures) + "\n")
    if not args.no_append:
        append(figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

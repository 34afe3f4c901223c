"""Every emulator serves through the one base: a free loopback port, its scheme, a quick stop."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import pytest
import requests

from sandbox.dialers.aircall import AircallSandbox
from sandbox.dialers.ringcentral import RingCentralSandbox
from sandbox.dialers.zoom import ZoomPhoneSandbox
from sandbox.google.server import GoogleSandbox
from sandbox.graph.server import GraphSandbox
from sandbox.salesforce.server import SalesforceSandbox
from sandbox.serving import Emulator
from sandbox.slack import SlackSandbox

EMULATORS: list[tuple[Callable[[], Emulator], str]] = [
    (SalesforceSandbox, "https"),
    (GoogleSandbox, "https"),
    (GraphSandbox, "https"),
    (SlackSandbox, "http"),
    (AircallSandbox, "https"),
    (RingCentralSandbox, "https"),
    (ZoomPhoneSandbox, "https"),
]


@pytest.mark.parametrize(("make", "scheme"), EMULATORS, ids=lambda v: getattr(v, "__name__", v))
def test_each_emulator_serves_on_a_free_port_answers_quietly_and_stops(
    make: Callable[[], Emulator], scheme: str, capfd: pytest.CaptureFixture[str]
) -> None:
    emulator = make()
    with emulator:
        url = urlsplit(emulator.url)
        assert (url.scheme, url.hostname) == (scheme, "127.0.0.1") and url.port
        verify = getattr(emulator, "ca_bundle", True)
        answer = requests.get(f"{emulator.url}/no-such-path", verify=verify, timeout=10)
        assert answer.status_code >= 400  # an answer from the app, whatever the route
        assert emulator.__enter__() is emulator  # already serving: the same server
    began = time.monotonic()
    emulator.stop()  # a second stop is harmless
    assert time.monotonic() - began < 1
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", url.port), timeout=2):
        pass  # the port is released
    assert "no-such-path" not in capfd.readouterr().err  # request lines go to logging

"""Every emulator the demo world needs, started together on loopback and stopped together.

``DemoEmulators()`` is a context manager: on entry it starts the Salesforce, Google, Graph,
RingCentral and Slack emulators (one test CA for all) and puts their secrets in environment
variables of this process only (the names in :data:`ENV`), which the demo's syncd.toml names
by ``*_env``; on exit it stops them and restores the environment as it was.

Slack allows about one message per second per channel and answers faster posts with 429 and
Retry-After. The demo's Slack runs on :class:`SimulatedTime`: the emulator's clock and the
alert sender's sleep share it, so the rate limit is enforced and honoured in full without the
demo waiting for real.
"""

from __future__ import annotations

import json
import os
import threading
import time
from typing import Any

from sandbox import tls

#: What each environment variable carries (the values are secrets; the names are not).
ENV = {
    "salesforce": "SYNCD_DEMO_SF_CLIENT_SECRET",
    "google_key": "SYNCD_DEMO_GOOGLE_KEY",
    "graph": "SYNCD_DEMO_GRAPH_CLIENT_SECRET",
    "ringcentral": "SYNCD_DEMO_RC_CLIENT_SECRET",
    "ringcentral_jwt": "SYNCD_DEMO_RC_JWT",
    "slack": "SYNCD_DEMO_SLACK_TOKEN",
}


class SimulatedTime:
    """A monotonic clock that ``sleep`` moves forward instead of waiting."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()
        self.slept = 0.0

    def clock(self) -> float:
        """Seconds, monotonic: real time plus every simulated sleep so far."""
        with self._lock:
            return time.monotonic() + self._offset

    def sleep(self, seconds: float) -> None:
        """Move the clock on by ``seconds`` at once."""
        with self._lock:
            self._offset += max(seconds, 0.0)
            self.slept += max(seconds, 0.0)


class DemoEmulators:
    """The demo's emulators: ``salesforce``, ``google``, ``graph``, ``ringcentral``, ``slack``."""

    def __init__(self) -> None:
        from sandbox.dialers.ringcentral import RingCentralSandbox
        from sandbox.google.server import GoogleSandbox
        from sandbox.graph.server import GraphSandbox
        from sandbox.salesforce import SalesforceSandbox
        from sandbox.slack import SlackSandbox

        ca = tls.default_ca()
        self.ca_bundle = ca.ca_bundle_path
        self.salesforce = SalesforceSandbox(ca=ca)
        self.google = GoogleSandbox(ca=ca)
        self.graph = GraphSandbox(ca=ca)
        self.ringcentral = RingCentralSandbox(ca=ca)
        self.time = SimulatedTime()
        self.slack = SlackSandbox(clock=self.time.clock)
        # Minted once the Google emulator serves (its token URI names the port): one per run.
        self._google_key = ""
        self._saved: dict[str, str | None] = {}
        self._started: list[Any] = []

    def __repr__(self) -> str:
        return f"DemoEmulators(started={len(self._started)})"

    def secrets(self) -> dict[str, str]:
        """Environment variable → secret value, for the environment and the log redactor."""
        return {
            ENV["salesforce"]: self.salesforce.client_secret,
            ENV["google_key"]: self._google_key,
            ENV["graph"]: self.graph.client_secret,
            ENV["ringcentral"]: self.ringcentral.client_secret,
            ENV["ringcentral_jwt"]: self.ringcentral.jwt,
            ENV["slack"]: self.slack.token,
        }

    def redact(self) -> list[str]:
        """Strings the logs must never show (the private key inside the Google key too)."""
        values = list(self.secrets().values())
        if self._google_key:
            key = json.loads(self._google_key)
            values += [str(key.get("private_key", "")), str(key.get("private_key_id", ""))]
        return [v for v in values if v]

    def __enter__(self) -> DemoEmulators:
        try:
            for server in (
                self.salesforce,
                self.google,
                self.graph,
                self.ringcentral,
                self.slack,
            ):
                server.start()
                self._started.append(server)
            self._google_key = json.dumps(self.google.service_account())
            for name, value in self.secrets().items():
                self._saved[name] = os.environ.get(name)
                os.environ[name] = value  # this process only, restored on exit
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        for name, previous in self._saved.items():
            if previous is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = previous
        self._saved.clear()
        while self._started:
            self._started.pop().stop()

    def request_counts(self) -> dict[str, int]:
        """HTTP requests each vendor emulator served (Salesforce is counted by endpoint)."""
        return {
            "google": sum(self.google.methods.values()),
            "graph": self.graph.requests.get("total", 0),
            "ringcentral": sum(self.ringcentral.requests.values()),
            "slack": sum(self.slack.calls.values()),
        }

    def google_units(self) -> int:
        """Quota units the Google emulator charged (Gmail and Calendar)."""
        return sum(self.google.quota.used.values())

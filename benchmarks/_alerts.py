"""Alerts flowing while the freshness benchmark measures capture (``freshness.py --alerts N``).

The Slack sandbox runs in the benchmark's process with a per-request latency (Slack's Web
API answers in a few hundred milliseconds) and its per-channel rate limit. The daemon gets
``[rules]`` on a one-minute cron and ``[alerts.slack]`` with ``immediate = "warning"``; its
state already holds one delivered alert, so its first rules run is not the first after
installation (that one would be a digest per rep). At the start of the measured window N open
deals past their close date appear in the org, owned by a few reps; the next rules run queues
one message per deal, and delivery sends them on its own thread while capture goes on.

Reported: messages Slack received during the window, seconds from the first to the last, and
whether every one arrived; the capture figures are freshness.py's.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sandbox.slack import SlackSandbox
from syncd.state import Store

SLACK_ENV = "SYNCD_BENCH_FRESHNESS_SLACK_TOKEN"
#: Seconds Slack takes to answer a Web API call in the benchmark.
SLACK_LATENCY = 0.2
#: Owners of the alerting deals (each gets its share of the DMs).
OWNERS = 25


class AlertFlow:
    """The Slack side of the benchmark: N deal alerts delivered during the window."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.slack = SlackSandbox().start()
        self.slack.latency.seconds = SLACK_LATENCY
        self._seen: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def config(self) -> str:
        """The TOML tables the daemon needs for rules and Slack."""
        return (
            '\n[rules]\nschedule = "* * * * *"\n'
            f'\n[alerts.slack]\ntoken_env = "{SLACK_ENV}"\napi_url = "{self.slack.api_url}"\n'
            'fallback_channel = "#deals"\nimmediate = "warning"\n'
        )

    def env(self) -> dict[str, str]:
        """The daemon's environment additions."""
        return {SLACK_ENV: self.slack.token}

    def prime(self, state_url: str) -> None:
        """One delivered alert in the state: the daemon has alerted before."""
        with Store.open(state_url) as store:
            store.alerts.mark_sent(store.alerts.enqueue("channel:#deals", {}, digest_key="x"))

    def seed(self, sf: Any, reps: list[str]) -> None:
        """N open deals past their close date, owned by the first reps; start watching."""
        owners = reps[:OWNERS]
        for rep in owners:
            self.slack.add_user(rep)
        users = {u["Email"]: u["Id"] for u in sf.records("User")}
        past = (datetime.now(UTC).date() - timedelta(days=5)).isoformat()
        sf.insert(
            "Opportunity",
            [
                {
                    "Name": f"Alerting deal {i}",
                    "StageName": "Prospecting",
                    "CloseDate": past,
                    "OwnerId": users[owners[i % len(owners)]],
                    "NextStep": "call",
                    "Amount": 1000 + i,
                }
                for i in range(self.count)
            ],
        )
        self._thread = threading.Thread(target=self._watch, name="alert-watch", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.wait(0.25):
            self._seen.append((time.time(), len(self.slack.messages)))

    def figures(self, window_start: float, window_end: float) -> dict[str, Any]:
        """Messages received, when delivery ran, whether all arrived."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        inside = [(t, n) for t, n in self._seen if window_start <= t <= window_end]
        first = next((t for t, n in inside if n > 0), None)
        last = next((t for t, n in inside if n >= self.count), None)
        return {
            "alerts": self.count,
            "alerts_delivered_in_window": inside[-1][1] if inside else 0,
            "alerts_all_delivered": bool(last),
            "alert_delivery_s": round(last - first, 1) if first and last else None,
            "alert_delivery_started_s_into_window": round(first - window_start, 1)
            if first
            else None,
            "slack_requests": sum(self.slack.calls.values()),
        }

    def close(self) -> None:
        """Stop the Slack sandbox."""
        self._stop.set()
        self.slack.stop()

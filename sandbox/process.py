"""A Salesforce sandbox in its own process (``python -m sandbox serve``), and a REST client of it.

For tests and benchmarks that must keep the org's records out of the measured process (memory
figures) or that kill and restart syncd around it (crash tests): the org outlives them all.
Reads go through the org's own REST API with a client-credentials token, as any client would.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import requests


class SandboxProcess:
    """``python -m sandbox serve --seed DIR`` in a child process; ``info`` describes the org."""

    def __init__(self, seed: Path, *, timeout: float = 30, cwd: Path | None = None) -> None:
        self.timeout = timeout
        self.proc = subprocess.Popen(  # noqa: S603 - this interpreter, the sandbox module
            [sys.executable, "-m", "sandbox", "serve", "--seed", str(seed)],
            stdout=subprocess.PIPE,
            text=True,
            cwd=cwd,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the sandbox did not start (exit {self.proc.wait(10)})")
        described = json.loads(line)
        self.info: dict[str, Any] = described["salesforce"] | {"ca_bundle": described["ca_bundle"]}
        self.session = requests.Session()
        self.session.trust_env = False
        self.session.verify = self.info["ca_bundle"]
        self._token: str | None = None
        #: API requests made through this client (to take off the org's usage counter).
        self.own_calls = 0

    @property
    def api_base(self) -> str:
        """``/services/data/vNN.N``."""
        return f"/services/data/v{self.info['api_version']}"

    def _auth(self) -> dict[str, str]:
        if self._token is None:
            reply = self.session.post(
                f"{self.info['url']}/services/oauth2/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": self.info["client_id"],
                    "client_secret": self.info["client_secret"],
                },
                timeout=self.timeout,
            )
            reply.raise_for_status()
            self._token = reply.json()["access_token"]
        return {"Authorization": f"Bearer {self._token}"}

    def get(self, path: str, **params: str) -> dict[str, Any]:
        """GET ``path`` (from the instance root) as JSON."""
        reply = self.session.get(
            f"{self.info['url']}{path}", params=params, headers=self._auth(), timeout=self.timeout
        )
        reply.raise_for_status()
        self.own_calls += 1
        body: dict[str, Any] = reply.json()
        return body

    def query(self, soql: str) -> tuple[int, list[dict[str, Any]]]:
        """Run SOQL, following every page; return (totalSize, records)."""
        page = self.get(f"{self.api_base}/query", q=soql)
        records = list(page["records"])
        while not page.get("done", True):
            page = self.get(page["nextRecordsUrl"])
            records.extend(page["records"])
        return int(page["totalSize"]), records

    def api_used(self) -> int:
        """API calls the org has counted so far (this ``/limits`` request included)."""
        limit = self.get(f"{self.api_base}/limits")["DailyApiRequests"]
        return int(limit["Max"]) - int(limit["Remaining"])

    def task_count(self) -> int:
        """``SELECT COUNT() FROM Task``."""
        return self.query("SELECT COUNT() FROM Task")[0]

    def tasks(self) -> list[tuple[str, str]]:
        """Every Task as (``Syncd_Key__c``, Id), duplicates kept."""
        records = self.query("SELECT Id, Syncd_Key__c FROM Task")[1]
        return [(r["Syncd_Key__c"], r["Id"]) for r in records]

    def stop(self) -> None:
        """SIGTERM (it exits 0), then wait; kill if it does not."""
        self.session.close()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(self.timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(self.timeout)
        if self.proc.stdout is not None:
            self.proc.stdout.close()

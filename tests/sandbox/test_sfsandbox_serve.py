"""``python -m sandbox serve`` as a subprocess: one JSON line, a working org, clean SIGTERM."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import requests
from simple_salesforce import Salesforce

ROOT = Path(__file__).resolve().parents[2]


def _session(ca_bundle: str) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.verify = ca_bundle
    return session


def test_serve_prints_credentials_serves_seed_and_stops_on_sigterm(tmp_path: Path) -> None:
    (tmp_path / "Account.csv").write_text(
        "Id,Name,Website\n001000000000001AAA,Seeded Account,https://seeded.example\n"
    )
    (tmp_path / "Contact.csv").write_text(
        "FirstName,LastName,Email,AccountId\nSam,Seed,sam@seeded.example,001000000000001AAA\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "serve", "--seed", str(tmp_path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = json.loads(proc.stdout.readline())
        sf_info = line["salesforce"]
        assert sf_info["url"].startswith("https://127.0.0.1:")
        key_file = Path(sf_info["jwt_private_key_file"])
        assert key_file.read_text().startswith("-----BEGIN PRIVATE KEY-----")
        assert key_file.stat().st_mode & 0o077 == 0
        session = _session(line["ca_bundle"])
        token = session.post(
            f"{sf_info['url']}/services/oauth2/token",
            data={
                "grant_type": "client_credentials",
                "client_id": sf_info["client_id"],
                "client_secret": sf_info["client_secret"],
            },
            timeout=10,
        ).json()
        sf = Salesforce(
            instance_url=token["instance_url"], session_id=token["access_token"], session=session
        )
        result = sf.query("SELECT Email, Account.Name FROM Contact")
        assert [(r["Email"], r["Account"]["Name"]) for r in result["records"]] == [
            ("sam@seeded.example", "Seeded Account")
        ]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout:
            proc.stdout.close()
        if proc.stderr:
            proc.stderr.close()

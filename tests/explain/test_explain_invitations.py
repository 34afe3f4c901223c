"""``syncd explain --eml`` on an invitation and ``--ics`` on a calendar file say "meeting"."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from explain_helpers import REP, write_config

from syncd.capture.keys import meeting_key
from syncd.cli import main

UID = "quarterly-review-42@globex.com"
VCALENDAR = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Globex//EN\r\nMETHOD:{method}\r\n"
    "BEGIN:VEVENT\r\nUID:" + UID + "\r\nDTSTAMP:20260301T090000Z\r\n"
    "DTSTART:20260312T140000Z\r\nDTEND:20260312T150000Z\r\nSUMMARY:Quarterly review\r\n"
    "ORGANIZER;CN=Alice:mailto:alice@globex.com\r\n"
    "ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:" + REP + "\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)


def _eml(method: str) -> str:
    return (
        f"From: alice@globex.com\nTo: {REP}\nSubject: Invitation: Quarterly review\n"
        "Message-ID: <inv-1@globex.com>\nDate: Sun, 01 Mar 2026 09:00:00 +0000\n"
        'MIME-Version: 1.0\nContent-Type: multipart/alternative; boundary="b"\n\n'
        "--b\nContent-Type: text/plain\n\nJoin us.\n"
        f"--b\nContent-Type: text/calendar; charset=utf-8; method={method}\n\n"
        + VCALENDAR.format(method=method).replace("\r\n", "\n")
        + "--b--\n"
    )


@pytest.mark.parametrize(("flag", "method"), [("--eml", "REQUEST"), ("--eml", "CANCEL"),
                                               ("--ics", "REQUEST")])  # fmt: skip
def test_explain_says_meeting_and_prints_the_ical_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flag: str, method: str
) -> None:
    config = write_config(tmp_path, None, tmp_path / "none.mbox", backfill_days=3650)
    path = tmp_path / ("invite.eml" if flag == "--eml" else "invite.ics")
    path.write_text(_eml(method) if flag == "--eml" else VCALENDAR.format(method=method))
    key = meeting_key(UID)
    assert main(["explain", "-c", str(config), flag, str(path)]) == 0
    text = capsys.readouterr().out
    assert "meeting" in text and key in text
    assert main(["explain", "-c", str(config), flag, str(path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["activity"]["kind"] == "meeting" and report["key"] == key
    assert report["activity"]["ical_uid"] == UID
    assert report["activity"]["cancelled"] is (method == "CANCEL")

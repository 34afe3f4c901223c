"""Gmail responses recorded from the real API: the connector reads them, the emulator speaks them.

Every recorded ``users.messages.get`` answer goes through the Gmail connector's normaliser into
an activity or a named skip. Then the Google sandbox is seeded with the same messages (their
MIME rebuilt from the recorded ``payload`` tree) and asked the recorded requests; every key
path of each recorded answer must be in the emulator's answer with the same JSON type.
"""

from __future__ import annotations

import base64
import quopri
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from recorded_shapes import recordings, shape_gaps

from connectors.base import ConnectorContext
from connectors.gmail import NEVER_CAPTURED, normalize_message
from sandbox.google import GoogleSandbox
from syncd.config import CaptureConfig
from syncd.model import Activity, Skip, SkipReason

READONLY = "https://www.googleapis.com/auth/gmail.readonly"
OWNER = "hassanwari254@gmail.com"  # the recorded mailbox


def _messages() -> list[dict[str, Any]]:
    return [
        data["response"]
        for _, data in recordings("google-mail")
        if data["endpoint"].startswith("gmail/v1/users/me/messages/")
    ]


def test_every_recorded_message_becomes_an_activity_or_a_named_skip() -> None:
    context = ConnectorContext(
        clock=lambda: datetime(2025, 8, 14, tzinfo=UTC),
        capture=CaptureConfig(internal_domains=["gmail.com"]),
    )
    origin = context.origin("gmail", OWNER)
    messages = _messages()
    assert messages, "no recorded messages.get answers"
    activities = 0
    for message in messages:
        result = normalize_message(message, origin, message["id"])
        if result is None:
            assert NEVER_CAPTURED & set(message["labelIds"]), message["id"]
        elif isinstance(result, Skip):
            assert isinstance(result.reason, SkipReason) and result.source_id == message["id"]
        else:
            assert isinstance(result, Activity) and result.key.startswith("em:")
            assert result.occurred_at.tzinfo is not None and result.subject
            activities += 1
    assert activities >= len(messages) // 2


def _mime(part: dict[str, Any]) -> bytes:
    """The MIME text of a recorded ``payload`` part (attachment bytes stand in for the data)."""
    head = "".join(f"{h['name']}: {h['value']}\r\n" for h in part.get("headers", []))
    if part["mimeType"].startswith("multipart/"):
        kind = next(h["value"] for h in part["headers"] if h["name"].lower() == "content-type")
        boundary = kind.split("boundary=")[1].split(";")[0].strip('"')
        inner = b"".join(f"--{boundary}\r\n".encode() + _mime(p) + b"\r\n" for p in part["parts"])
        return head.encode() + b"\r\n" + inner + f"--{boundary}--\r\n".encode()
    body = part.get("body", {})
    data = base64.urlsafe_b64decode(body["data"]) if "data" in body else b"\x89PNG stand-in"
    encoding = next(
        (h["value"].lower() for h in part.get("headers", [])
         if h["name"].lower() == "content-transfer-encoding"), "",
    )  # fmt: skip
    if encoding == "base64":
        data = base64.encodebytes(data)
    elif encoding == "quoted-printable":
        data = quopri.encodestring(data)
    return head.encode() + b"\r\n" + data


@pytest.fixture
def seeded() -> Any:
    with GoogleSandbox() as sb:
        sb.add_user(OWNER)
        for message in _messages():
            sb.gmail.deliver(
                OWNER,
                [],
                when=datetime.fromtimestamp(int(message["internalDate"]) / 1000, UTC),
                labels=list(message["labelIds"]),
                thread_id=message["threadId"],
                raw=_mime(message["payload"]),
                message_id=message["id"],
            )
        yield sb


def _token(sb: GoogleSandbox, session: requests.Session) -> str:
    info = sb.auth.authorized_user(OWNER, [READONLY])
    form = {k: info[k] for k in ("client_id", "client_secret", "refresh_token")}
    answer = session.post(f"{sb.url}/token", data=form | {"grant_type": "refresh_token"})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def test_the_emulator_answers_the_recorded_requests_in_the_recorded_shape(
    seeded: GoogleSandbox,
) -> None:
    session = requests.Session()
    session.trust_env = False  # REQUESTS_CA_BUNDLE would override verify
    session.verify = seeded.ca_bundle
    auth = {"Authorization": f"Bearer {_token(seeded, session)}"}
    checked: list[str] = []
    gaps: dict[str, list[str]] = {}
    for path, data in recordings("google-mail"):
        identity = data["requestIdentity"]
        params = [(k, v) for k, v in identity["params"]]
        answer = session.request(
            identity["method"].upper(), f"{seeded.url}/{data['endpoint']}", params=params,
            headers=auth,
        )  # fmt: skip
        assert answer.status_code == data.get("status", 200), (data["endpoint"], answer.text)
        found = shape_gaps(data["response"], answer.json())
        if found:
            gaps[str(Path(path).relative_to(path.parents[5]))] = found
        checked.append(data["endpoint"])
    assert not gaps, gaps
    assert any(e.endswith("/labels") for e in checked) and len(checked) >= 9

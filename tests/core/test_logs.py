"""Log redaction: configured secrets and credential-looking values never reach the output."""

from __future__ import annotations

import io
import json
import logging
import sys

import pytest

from syncd.logs import REDACTED, Redactor, setup_logging


@pytest.fixture
def capture() -> io.StringIO:
    return io.StringIO()


@pytest.fixture(autouse=True)
def _restore_root_logger() -> object:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_configured_secret_is_removed_from_message_args_and_traceback(
    capture: io.StringIO,
) -> None:
    secret = "s3cr3t-Value-9f8e7d"
    setup_logging(secrets=[secret], stream=capture)
    log = logging.getLogger("syncd.test")
    log.info("connecting with %s", secret)
    try:
        raise RuntimeError(f"login failed for secret {secret}")
    except RuntimeError:
        log.exception("boom")
    out = capture.getvalue()
    assert secret not in out
    assert out.count(REDACTED) >= 2
    assert "login failed for secret" in out  # the context stays


@pytest.mark.parametrize(
    ("text", "leak"),
    [
        ("Authorization: Bearer ya29.a0AfH6SMBx7-abcdefghijkl", "ya29.a0AfH6SMBx7-abcdefghijkl"),
        ('{"access_token": "00Dxx0000001gPL!AR8AQJXg5oj8jXSgxJfA0lBog.39AsX"}', "AR8AQJXg5oj8"),
        ("grant_type=password&password=hunter2hunter2&user=x", "hunter2hunter2"),
        ("client_secret=abcDEF123456", "abcDEF123456"),
        ("token xoxb-1234567890-abcdefghij", "xoxb-1234567890-abcdefghij"),
        ("jwt eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl", "eyJzdWIiOiJ4In0"),
        ("postgresql://syncd:pa55word@db:5432/syncd", "pa55word"),
        ("session 00D5e000000abcd!ARgAQH.xyzxyzxyzxyzxyzxyzxyz", "ARgAQH.xyzxyzxyz"),
    ],
)
def test_credential_shapes_are_redacted_without_configuration(text: str, leak: str) -> None:
    out = Redactor()(text)
    assert leak not in out
    assert REDACTED in out


def test_ordinary_text_is_left_alone() -> None:
    text = "wrote 200 activities for mailbox 3 in 1 call; tokens=4 quota units"
    assert Redactor()(text) == text


def test_short_secrets_are_not_used_to_redact_ordinary_words() -> None:
    r = Redactor(["abc", "longer-secret-value"])
    assert r("abc longer-secret-value") == f"abc {REDACTED}"


def test_json_format_is_one_object_per_line_and_redacted(capture: io.StringIO) -> None:
    setup_logging(log_format="json", secrets=["topsecret-123"], stream=capture)
    logging.getLogger("syncd.x").warning("using topsecret-123", extra={"mailbox": "m1"})
    lines = capture.getvalue().strip().splitlines()
    assert len(lines) == 1
    entry = json.loads(lines[0])
    assert entry["level"] == "WARNING"
    assert entry["mailbox"] == "m1"
    assert "topsecret-123" not in lines[0]
    assert entry["ts"].endswith("+00:00")


def test_a_broken_format_string_does_not_lose_the_record(capture: io.StringIO) -> None:
    setup_logging(stream=capture)
    root = logging.getLogger()
    # Only syncd's handler: pytest's own capture handler would format the record first.
    root.handlers[:] = [h for h in root.handlers if getattr(h, "_syncd", False)]
    logging.getLogger("syncd.x").error("count %d", "not-a-number")
    assert "count %d" in capture.getvalue()


def test_the_default_handler_writes_to_stderr_as_it_is_now(monkeypatch: pytest.MonkeyPatch) -> None:
    # An in-process CLI call under captured output set logging up on a stream pytest then
    # closed; every later record (the crash tests' own logs) failed with "I/O operation on
    # closed file". The handler follows sys.stderr instead of keeping the old object.
    first = io.StringIO()
    monkeypatch.setattr(sys, "stderr", first)
    setup_logging()
    logging.getLogger("syncd.x").warning("one")
    assert "WARNING syncd.x: one" in first.getvalue()
    first.close()
    second = io.StringIO()
    monkeypatch.setattr(sys, "stderr", second)
    logging.getLogger("syncd.x").warning("two")
    assert "WARNING syncd.x: two" in second.getvalue()
    assert "Logging error" not in second.getvalue()

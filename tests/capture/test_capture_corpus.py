"""The real .eml corpus: every message becomes an activity or a named skip, never an exception,
and the addresses we extract agree with Python's email package under policy.default."""

from __future__ import annotations

import email
import email.errors
import email.header
import email.utils
from collections import Counter
from datetime import UTC, datetime
from email import policy
from pathlib import Path

import pytest

from syncd.capture.normalize import Origin
from syncd.capture.normalize_email import normalize_email, parse_email
from syncd.model import Email, Skip, SkipReason

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "data" / "email" / "imap_tools_corpus"


def _messages() -> list[Path]:
    if not CORPUS.is_dir():
        return []
    return sorted(CORPUS.rglob("*.eml"))


MESSAGES = _messages()


@pytest.fixture(scope="module")
def corpus() -> list[Path]:
    if not MESSAGES:
        pytest.skip(f"real email corpus not present at {CORPUS}")
    return MESSAGES


def expected_addresses(raw: bytes) -> dict[str, set[str]]:
    """Addresses per header as policy.default reads them, with the same documented fallback
    (compat32 + getaddresses for a header policy.default cannot parse) and the same filter:
    only strings with an '@', lower-cased."""
    msg = email.message_from_bytes(raw, policy=policy.default)
    compat = email.message_from_bytes(raw, policy=policy.compat32)
    out: dict[str, set[str]] = {}
    for name in ("from", "to", "cc", "bcc"):
        try:
            specs = [a.addr_spec for h in msg.get_all(name) or [] for a in h.addresses]
        except (email.errors.MessageError, ValueError, TypeError, IndexError, AttributeError):
            values = []
            for v in compat.get_all(name) or []:
                try:
                    values.append(str(email.header.make_header(email.header.decode_header(v))))
                except (email.errors.MessageError, ValueError, LookupError):
                    values.append(str(v))
            specs = [addr for _, addr in email.utils.getaddresses(values)]
        out[name] = {"".join(s.split()).lower() for s in specs if "@" in s}
    return out


def test_corpus_is_the_expected_size(corpus: list[Path]) -> None:
    # The README promises 113 messages; fewer means the test would silently cover less.
    assert len(corpus) == 113


def test_every_message_becomes_an_activity_or_a_named_skip(corpus: list[Path]) -> None:
    origin = Origin(source="corpus", mailbox="rep@acme.example", capture_body=True)
    outcomes: Counter[str] = Counter()
    for path in corpus:
        result = normalize_email(path.read_bytes(), origin, source_id=path.name)
        if isinstance(result, Skip):
            assert isinstance(result.reason, SkipReason), path
            outcomes[str(result.reason)] += 1
        else:
            assert isinstance(result, Email), path
            assert (
                result.occurred_at.tzinfo is UTC
                or result.occurred_at.utcoffset().total_seconds() == 0
            )
            assert result.key.startswith("em:"), path
            assert len(result.key) <= 255
            assert result.sender is not None
            outcomes["captured"] += 1
    assert sum(outcomes.values()) == len(corpus)
    # Most of the corpus is ordinary mail: a normaliser that skipped everything would pass the
    # loop above, so require a clear majority captured.
    assert outcomes["captured"] >= len(corpus) * 3 // 4, outcomes


@pytest.mark.parametrize("path", MESSAGES, ids=[str(p.relative_to(CORPUS)) for p in MESSAGES])
def test_addresses_agree_with_policy_default(path: Path) -> None:
    raw = path.read_bytes()
    parsed = parse_email(raw)
    ours: dict[str, set[str]] = {"from": set(), "to": set(), "cc": set(), "bcc": set()}
    for role, address, _ in parsed.addresses:
        ours[str(role)].add(address)
    assert ours == expected_addresses(raw)


def test_activity_participants_are_the_parsed_addresses(corpus: list[Path]) -> None:
    origin = Origin(source="corpus", mailbox="rep@acme.example")
    fallback = datetime(2020, 1, 1, tzinfo=UTC)
    for path in corpus:
        raw = path.read_bytes()
        result = normalize_email(raw, origin, source_id=path.name, received_at=fallback)
        if isinstance(result, Skip):
            continue
        expected = set().union(*expected_addresses(raw).values())
        assert set(result.addresses()) == expected, path

"""What every phone connector shares: numbers in E.164, the rep on the call, the missed-call rule.

Numbers. :func:`to_e164` reuses the normaliser's ``to_e164`` (``phonenumbers`` with the
configured ``capture.default_region``) and adds one rule it lacks: a number written with the
ITU ``00`` international prefix ("00 44 20 7946 0958") is read as ``+44…`` even when the
default region dials abroad with another prefix (011 in the US). Extensions ("512.757.6000
x12") are dropped: a contact's number is stored without them, so matching ignores them.
Connectors hand the normaliser numbers already in E.164, so every format matches the same way
the directory indexes Contact Phone, MobilePhone, HomePhone, OtherPhone and Lead Phone,
MobilePhone.

The rep. A phone system knows its users by its own ids; :func:`rep_address` turns the user into
the rep's email (the ``users`` mapping in the settings wins, then the email the phone system
reports). That email is the call's mailbox, so matching makes the Salesforce User with that
email the Task's owner. A company-wide call log is pulled once per connector under the
settings' ``mailbox`` (a unit name); when the operator lists rep mailboxes instead, each pull
keeps only that rep's calls.

Missed calls. ``missed_calls = "log"`` (the default) writes missed and unanswered calls as Tasks
with their disposition, because an attempted call is activity a manager wants to see;
``"skip"`` drops them with the skip reason ``declined`` and the detail ``missed call``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

from connectors.base import Connector
from syncd.capture.addresses import normalize_address
from syncd.capture.normalize_call import normalize_call
from syncd.capture.normalize_call import to_e164 as _to_e164
from syncd.config import ConnectorSettings
from syncd.model import Call, Skip, SkipReason

#: Dispositions (lower case) that mean nobody talked.
MISSED = frozenset(
    {"missed", "no answer", "no_answer", "unanswered", "abandoned", "busy", "voicemail", "rejected"}
)
_IDD_00 = re.compile(r"^\s*00")


def to_e164(number: Any, region: str | None) -> str | None:
    """``number`` in E.164 (extension dropped), or None when it is not a phone number."""
    if number is None:
        return None
    text = str(number).strip()
    if not text:
        return None
    if _IDD_00.match(text):
        # ITU international prefix: "00 44 …" is "+44 …" wherever it was written.
        found = _to_e164("+" + _IDD_00.sub("", text, count=1), None)
        if found is not None:
            return found
    return _to_e164(text, region)


class PhoneSettings(ConnectorSettings):
    """Keys every phone connector has.

    ``mailbox``: the unit a company-wide log is pulled under (status and cursors show it).
    ``users``: phone-system user id or email → the rep's email, where they differ.
    ``missed_calls``: "log" (default) or "skip", see the module docstring.
    ``recording_links``: pass the call's recording URL on (off by default: recordings are
    personal data many companies keep out of the CRM).
    """

    mailbox: str = "phone-system"
    users: dict[str, str] = {}
    missed_calls: Literal["log", "skip"] = "log"
    recording_links: bool = False


def is_missed(disposition: str | None) -> bool:
    """True when the disposition says nobody talked."""
    return (disposition or "").strip().lower() in MISSED


def rep_address(settings: PhoneSettings, user_id: Any, email: Any) -> str | None:
    """The rep's email for a phone-system user (the ``users`` mapping first), or None."""
    for ident in (user_id, email):
        if ident is not None and str(ident) in settings.users:
            return normalize_address(settings.users[str(ident)])
    return normalize_address(email) if email else None


def wants(settings: PhoneSettings, mailbox: str, rep: str | None) -> bool:
    """Whether a call of ``rep`` belongs to a pull of ``mailbox``."""
    if mailbox == settings.mailbox:
        return True
    return rep is not None and rep == normalize_address(mailbox)


def to_call(connector: Connector, record: Mapping[str, Any], mailbox: str) -> Call | Skip:
    """A neutral call record (see ``normalize_call``) → Call or Skip, with the phone rules.

    ``record["user_address"]`` is the rep; the call's mailbox is the rep's (so the rep's
    Salesforce user owns the Task), else ``mailbox``.
    """
    settings = connector.settings
    assert isinstance(settings, PhoneSettings)
    rep = normalize_address(record.get("user_address"))
    region = connector.context.setting("default_region", None)
    neutral = dict(record)
    for side in ("from", "to"):
        # Pre-normalised so every connector reads numbers by the rules above.
        neutral[side] = to_e164(record.get(side), region)
    if not settings.recording_links:
        neutral.pop("recording_url", None)
    sid = str(record.get("call_id") or "?")
    if settings.missed_calls == "skip" and is_missed(record.get("disposition")):
        return Skip(sid, SkipReason.DECLINED, "missed call")
    origin = connector.context.origin(connector.name, rep or mailbox)
    return normalize_call(neutral, origin, source_id=sid)

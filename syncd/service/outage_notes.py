"""The outages the status page and ``syncd status --json`` show: the cause and the fix.

Two sources, one shape (:class:`OutageNote`):

- the store (:func:`from_report`): every unit whose latest pass stopped on an outage error
  (Salesforce sign-in refused, writes refused org-wide, the API budget spent, a connector's
  credentials refused, a mailbox kept from the app). ``syncd status`` runs in its own process
  and sees only this;
- the daemon's :class:`~syncd.service.outages.Outages` tracker (:func:`from_tracker`), which
  also knows what stopped before any pass ran (Salesforce refusing the sign-in while the
  directory loads) and when a whole connector is paused.

A note names its scope (``salesforce``, a connector, or ``connector/mailbox``), the error class,
a cause written for the operator and the fix. It is built from class names and syncd's own fix
texts (which name objects and fields, never a secret, an address or a subject); the error
*message* is read only for a :class:`~syncd.errors.WritesRefused` fix, which syncd wrote itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from syncd.service.outages import SALESFORCE, fix_for_class

#: The error classes that stop a scope, by name (as the runs table stores them): the cause.
CAUSES = {
    "LoginRefused": "Salesforce refuses to sign syncd in",
    "SessionExpired": "Salesforce refuses to sign syncd in",
    "WritesRefused": "Salesforce refuses every write for one org-wide cause",
    "BudgetExhausted": "the Salesforce API budget (less the reserve) is spent for now",
    "AuthExpired": "the vendor refuses the connector's credentials",
    "MailboxDenied": "the vendor refuses the app this mailbox",
}
_SALESFORCE_CLASSES = frozenset(
    {"LoginRefused", "SessionExpired", "WritesRefused", "BudgetExhausted"}
)


@dataclass(frozen=True)
class OutageNote:
    """One stopped scope as the operator reads it."""

    scope: str
    error_class: str
    cause: str
    fix: str

    def covers(self, connector: str, mailbox: str) -> bool:
        """Whether the unit ``connector/mailbox`` is stopped by this outage."""
        return self.scope in (SALESFORCE, connector, f"{connector}/{mailbox}")

    def as_dict(self) -> dict[str, str]:
        """JSON-ready form."""
        return asdict(self)


def _fix(error_class: str, message: str | None) -> str:
    if error_class == "WritesRefused" and message and "; fix: " in message:
        return message.split("; fix: ", 1)[1]
    return fix_for_class(error_class)


def note(scope: str, error_class: str, fix: str) -> OutageNote:
    """The note for ``scope`` stopped by ``error_class``."""
    cause = CAUSES.get(error_class, f"stopped by {error_class}")
    if scope != SALESFORCE and error_class not in _SALESFORCE_CLASSES:
        cause = f"{scope.partition('/')[0]}: {cause}"
    return OutageNote(scope, error_class, cause, fix)


def from_report(report: Any) -> list[OutageNote]:
    """The outages the store shows: units whose latest pass stopped on one (Salesforce once)."""
    notes: dict[str, OutageNote] = {}
    for unit in report.units:
        run = unit.last_run
        if run is None or run.status != "error" or run.error_class not in CAUSES:
            continue
        kind = run.error_class
        scope = SALESFORCE if kind in _SALESFORCE_CLASSES else f"{unit.connector}/{unit.mailbox}"
        notes.setdefault(scope, note(scope, kind, _fix(kind, run.error_message)))
    return list(notes.values())


def from_tracker(stopped: Iterable[tuple[str, str, str]]) -> list[OutageNote]:
    """The notes of :meth:`Outages.stopped` ``(scope, error class, fix)``."""
    return [note(scope, kind, fix) for scope, kind, fix in stopped]


def merge(live: Sequence[OutageNote], stored: Sequence[OutageNote]) -> list[OutageNote]:
    """The tracker's notes, then the store's that no live note already covers."""
    out = list(live)
    for item in stored:
        connector, _, mailbox = item.scope.partition("/")
        if not any(
            n.scope == item.scope or (mailbox and n.covers(connector, mailbox)) for n in out
        ):
            out.append(item)
    return out


def stopped_unit(notes: Sequence[OutageNote], connector: str, mailbox: str) -> bool:
    """Whether any of ``notes`` stops the unit."""
    return any(n.covers(connector, mailbox) for n in notes)

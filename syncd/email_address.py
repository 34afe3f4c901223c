"""The one normaliser of email addresses: the stored form and the matching key.

Capture (participants, the mailbox, who is internal) and the Salesforce directory (indexes of
User, Contact and Lead emails) both compare addresses through :func:`matching_address`, so an
address found in a message and the same address typed into a Contact always meet.

- :func:`normalize_address` — the address as stored on an activity: whitespace anywhere and
  angle brackets removed, a ``mailto:`` scheme dropped, a trailing dot of the domain (the DNS
  root) dropped, lower-cased as a whole. Local parts are case-sensitive by RFC 5321, but no
  mail system in use by sales teams treats them so, and CRMs compare case-insensitively.
- :func:`matching_address` — the key compared with CRM records: also drops a ``+tag`` from the
  local part (a local part that *starts* with ``+`` is kept whole: there is nothing before the
  tag), writes an internationalised domain in its ASCII (``xn--``) form by UTS #46, so
  ``jo@Bücher.example`` and ``jo@xn--bcher-kva.example`` are one key, and for Gmail
  (gmail.com / googlemail.com) drops dots and folds googlemail.com into gmail.com, because
  Gmail delivers all of those to one mailbox.
"""

from __future__ import annotations

import re

import idna

__all__ = ["matching_address", "normalize_address"]

_GMAIL = frozenset({"gmail.com", "googlemail.com"})
_WS = re.compile(r"\s+")


def normalize_address(value: str | None) -> str | None:
    """The stored form of an address, or None when ``value`` is not an address (no ``@``)."""
    if not value:
        return None
    text = _WS.sub("", value).strip("<>").strip()
    if text.lower().startswith("mailto:"):
        text = text[7:].strip("<>")
    local, sep, domain = text.rpartition("@")
    domain = domain.rstrip(".")
    if not sep or not local or not domain:
        return None
    return f"{local}@{domain}".lower()


def matching_address(value: str | None) -> str | None:
    """The key an address is compared by (see the module docstring), or None."""
    normal = normalize_address(value)
    if normal is None:
        return None
    local, _, domain = normal.rpartition("@")
    local = local.split("+", 1)[0] or local
    domain = _ascii_domain(domain)
    if domain in _GMAIL:
        domain = "gmail.com"
        local = local.replace(".", "")
    return f"{local}@{domain}"


def _ascii_domain(domain: str) -> str:
    if domain.isascii():
        return domain  # already ASCII (an ``xn--`` label included): lower-cased above
    try:
        return idna.encode(domain, uts46=True).decode("ascii")
    except idna.IDNAError:
        return domain  # not a valid IDN: compared as written, lower-cased

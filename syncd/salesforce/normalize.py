"""Normalised look-up keys for the directory: addresses, web domains, phone digits.

Pure functions, shared by the directory (building its indexes) and whoever looks things up,
so both sides always agree on the key.
"""

from __future__ import annotations

from urllib.parse import urlsplit

#: Google ignores dots in the local part for these domains, and they are one mailbox system.
_GMAIL = frozenset({"gmail.com", "googlemail.com"})


def email_key(address: str | None) -> str | None:
    """The matching key of an address: lower-cased, ``+tag`` dropped, gmail dots ignored.

    >>> email_key("Jo.Smith+news@GoogleMail.com")
    'josmith@gmail.com'
    """
    if not address:
        return None
    addr = address.strip().lower()
    local, at, domain = addr.rpartition("@")
    if not at or not local or not domain:
        return None
    local = local.split("+", 1)[0]
    if domain in _GMAIL:
        local = local.replace(".", "")
        domain = "gmail.com"
    return f"{local}@{domain}" if local else None


def domain_key(value: str | None) -> str | None:
    """A bare, lower-cased host without ``www.`` from a website, URL, domain or address.

    >>> domain_key("https://www.Example.com/about")
    'example.com'
    """
    if not value:
        return None
    text = value.strip().lower()
    if "@" in text and "/" not in text:
        text = text.rpartition("@")[2]
    if "://" not in text:
        text = "http://" + text
    try:
        host = urlsplit(text).hostname
    except ValueError:
        return None
    if not host:
        return None
    host = host.rstrip(".")
    if host.startswith("www."):
        host = host[4:]
    return host or None


def digits_only(phone: str | None) -> str | None:
    """The default phone key: the digits, when there are enough to mean a number."""
    if not phone:
        return None
    digits = "".join(ch for ch in phone if ch.isdigit())
    return digits if len(digits) >= 5 else None

"""Normalised look-up keys for the directory: web domains and phone digits.

Pure functions, shared by the directory (building its indexes) and whoever looks things up,
so both sides always agree on the key. Addresses are keyed by
:func:`syncd.email_address.matching_address`, the one normaliser capture uses too.
"""

from __future__ import annotations

from urllib.parse import urlsplit


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

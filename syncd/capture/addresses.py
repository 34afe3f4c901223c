"""Domains of addresses, the personal mail domains, and who is internal.

Addresses themselves are normalised by :mod:`syncd.email_address` (the stored form and the
matching key), the one normaliser the Salesforce directory uses too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from syncd.email_address import matching_address, normalize_address

#: Personal (consumer) mail domains: never used to match an Account by website domain.
PERSONAL_DOMAINS: frozenset[str] = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "outlook.com",
        "live.com",
        "msn.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "aol.com",
        "proton.me",
        "protonmail.com",
        "pm.me",
        "web.de",
        "mail.ru",
        "bk.ru",
        "inbox.ru",
        "list.ru",
        "qq.com",
        "163.com",
        "126.com",
        "sina.com",
        "naver.com",
        "daum.net",
        "hanmail.net",
        "zoho.com",
        "fastmail.com",
        "hey.com",
        "tutanota.com",
        "mail.com",
        "email.com",
        "yeah.net",
        "rediffmail.com",
        "libero.it",
        "orange.fr",
        "free.fr",
        "laposte.net",
        "t-online.de",
        "btinternet.com",
        "comcast.net",
        "verizon.net",
        "att.net",
        "sbcglobal.net",
        "seznam.cz",
        "wp.pl",
        "o2.pl",
        "onet.pl",
        "interia.pl",
        "ukr.net",
        "rambler.ru",
    }
)

#: Brands whose consumer mail lives under many country domains (yahoo.co.uk, gmx.de, ...).
PERSONAL_BRANDS: frozenset[str] = frozenset(
    {"yahoo", "ymail", "hotmail", "gmx", "yandex", "windowslive", "rocketmail"}
)


def domain_of(address: str | None) -> str | None:
    """The lower-case domain of an address, or None."""
    normal = normalize_address(address)
    return normal.rpartition("@")[2] if normal else None


def is_personal_domain(domain: str | None) -> bool:
    """True for consumer mail domains (listed, or a known brand under any country domain)."""
    if not domain:
        return False
    domain = domain.lower().rstrip(".")
    if domain in PERSONAL_DOMAINS:
        return True
    brand = domain.split(".", 1)[0]
    return brand in PERSONAL_BRANDS


def domain_matches(domain: str, patterns: Iterable[str]) -> bool:
    """True when ``domain`` is one of ``patterns`` or a subdomain of one."""
    return any(domain == p or domain.endswith("." + p) for p in patterns)


@dataclass(frozen=True, slots=True)
class InternalParties:
    """Who counts as internal: configured domains (and their subdomains) and known addresses.

    ``addresses`` are the Salesforce users' emails; ``extra`` the few added per item (the
    mailbox being captured), kept apart so adding one does not copy an org's thousands of
    users for every message. All are compared in :func:`matching_address` form.
    """

    domains: frozenset[str] = frozenset()
    addresses: frozenset[str] = frozenset()
    extra: frozenset[str] = frozenset()

    @classmethod
    def build(cls, domains: Iterable[str] = (), addresses: Iterable[str] = ()) -> InternalParties:
        """Normalise the inputs (lower-case domains, matching-form addresses)."""
        doms = frozenset(d.strip().lower().lstrip("@").rstrip(".") for d in domains if d.strip())
        addrs = frozenset(a for a in (matching_address(x) for x in addresses) if a)
        return cls(doms, addrs)

    def with_addresses(self, addresses: Iterable[str]) -> InternalParties:
        """A copy that also knows ``addresses`` (e.g. the mailbox being captured)."""
        more = frozenset(a for a in (matching_address(x) for x in addresses) if a)
        return InternalParties(self.domains, self.addresses, self.extra | more)

    def is_internal(self, address: str | None) -> bool:
        """True when ``address`` belongs to the company."""
        match = matching_address(address)
        if match is None:
            return False
        if match in self.addresses or match in self.extra:
            return True
        return domain_matches(match.rpartition("@")[2], self.domains)

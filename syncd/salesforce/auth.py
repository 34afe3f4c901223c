"""Salesforce credentials and the OAuth token request for each of the three flows.

Credentials come by reference from the configuration (``SecretRef.resolve()``) and are held
only here; their values are left out of every repr and never put in an error message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import jwt

from syncd.salesforce.errors import LoginRefused

if TYPE_CHECKING:
    from syncd.config import SalesforceConfig

AUTH_MODES = ("client_credentials", "jwt", "password")
PRODUCTION_AUDIENCE = "https://login.salesforce.com"
SANDBOX_AUDIENCE = "https://test.salesforce.com"
_JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def _secret(ref: Any) -> str | None:
    """The value of a SecretRef-like object (``.resolve()``), or None when not configured."""
    if ref is None:
        return None
    return ref.resolve() if hasattr(ref, "resolve") else str(ref)


@dataclass(frozen=True)
class SalesforceCredentials:
    """How to log in. Secret values are excluded from the repr."""

    auth: str
    client_id: str
    username: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    security_token: str | None = field(default=None, repr=False)
    private_key: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.auth not in AUTH_MODES:
            raise ValueError(f"unknown Salesforce auth mode {self.auth!r}; use one of {AUTH_MODES}")

    @classmethod
    def from_config(cls, sf: SalesforceConfig) -> SalesforceCredentials:
        """Build from ``config.salesforce``, resolving the secret references."""
        return cls(
            auth=sf.auth,
            client_id=_secret(sf.client_id) or "",
            username=sf.username,
            client_secret=_secret(sf.client_secret),
            password=_secret(sf.password),
            security_token=_secret(sf.security_token),
            private_key=_secret(sf.private_key),
        )


def jwt_audience(login_url: str, override: str | None = None) -> str:
    """The ``aud`` of a JWT bearer assertion: Salesforce's login host, not the URL asked.

    Salesforce wants https://login.salesforce.com for production orgs and
    https://test.salesforce.com for sandboxes (or the community URL) whichever host the token
    is requested from, My Domain included:
    https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_jwt_flow.htm
    A sandbox is told by its host (``test.salesforce.com`` or ``*.sandbox.my.salesforce.com``);
    ``salesforce.jwt_audience`` overrides (a community URL, say).
    """
    if override:
        return override.rstrip("/")
    host = (urlsplit(login_url).hostname or "").lower()
    if host == "test.salesforce.com" or host.endswith(".sandbox.my.salesforce.com"):
        return SANDBOX_AUDIENCE
    return PRODUCTION_AUDIENCE


def token_form(
    c: SalesforceCredentials, login_url: str, now: datetime, audience: str | None = None
) -> dict[str, str]:
    """The form of ``POST {login_url}/services/oauth2/token`` for the credentials' flow.

    The JWT bearer assertion is RS256-signed here: iss = client id, sub = username,
    aud = :func:`jwt_audience`, exp = now + 3 minutes (Salesforce accepts at most 3).
    """
    if c.auth == "client_credentials":
        return {
            "grant_type": "client_credentials",
            "client_id": c.client_id,
            "client_secret": c.client_secret or "",
        }
    if c.auth == "password":
        return {
            "grant_type": "password",
            "client_id": c.client_id,
            "client_secret": c.client_secret or "",
            "username": c.username or "",
            "password": (c.password or "") + (c.security_token or ""),
        }
    if not c.private_key or not c.username:
        raise LoginRefused("Salesforce JWT login needs a username and a private key")
    claims = {
        "iss": c.client_id,
        "sub": c.username,
        "aud": jwt_audience(login_url, audience),
        "exp": int((now + timedelta(minutes=3)).timestamp()),
    }
    try:
        assertion = jwt.encode(claims, c.private_key, algorithm="RS256")
    except (ValueError, TypeError, jwt.PyJWTError) as exc:
        # The key is unreadable; say so without echoing any of it.
        kind = type(exc).__name__
        raise LoginRefused(f"Salesforce JWT private key unusable ({kind})") from None
    return {"grant_type": _JWT_GRANT, "assertion": assertion}

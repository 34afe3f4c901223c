"""The OAuth 2.0 token endpoint: service-account JWT assertions and refresh tokens.

A service account posts ``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`` with an
RS256 ``assertion`` whose ``iss`` is the account's email, ``aud`` the token URI, ``sub`` the
user it acts as (domain-wide delegation) and ``scope`` the scopes asked for. The signature is
checked against the account's public key, as are ``aud``, ``iat`` and ``exp``; a ``sub`` outside
the domain's users, or a scope not granted to the client, is ``unauthorized_client`` as Google
answers. A user's OAuth client posts ``grant_type=refresh_token``. Errors are 400 (401 for an
unknown client) with ``{"error": ..., "error_description": ...}``.
"""

from __future__ import annotations

import functools
import secrets
import threading
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"


@functools.cache
def _signing_key() -> rsa.RSAPrivateKey:
    # One RSA key per process: generating one costs ~0.1 s and every test starts a sandbox.
    # Accounts stay distinct by email; each sandbox knows only the accounts it created.
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass(frozen=True)
class Grant:
    """Who an access token acts as, and with which scopes."""

    user: str
    scopes: frozenset[str]


class TokenError(Exception):
    """A refused token request: HTTP status, OAuth error code, description."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description


class Auth:
    """Service accounts, OAuth clients, refresh tokens and issued access tokens."""

    def __init__(self, token_uri: Any) -> None:
        self._token_uri = token_uri  # a callable: the URL is known only once serving
        self.users: set[str] = set()
        self._accounts: dict[str, tuple[Any, frozenset[str]]] = {}
        self._refresh: dict[str, tuple[str, str, str, frozenset[str]]] = {}
        self._tokens: dict[str, Grant] = {}
        self._lock = threading.Lock()
        self.issued = 0

    def service_account(self, scopes: list[str], name: str = "syncd") -> dict[str, Any]:
        """A new service account granted ``scopes`` domain-wide; its key file as a dict."""
        key = _signing_key()
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        email = f"{name}@sandbox-project.iam.gserviceaccount.com"
        self._accounts[email] = (key.public_key(), frozenset(scopes))
        return {
            "type": "service_account",
            "project_id": "sandbox-project",
            "private_key_id": secrets.token_hex(20),
            "private_key": pem,
            "client_email": email,
            "client_id": str(10**20 + len(self._accounts)),
            "token_uri": self._token_uri(),
        }

    def authorized_user(self, user: str, scopes: list[str]) -> dict[str, Any]:
        """An OAuth refresh token for ``user`` (the authorized-user file google-auth reads)."""
        client_id = f"{secrets.token_hex(8)}.apps.googleusercontent.com"
        client_secret = secrets.token_urlsafe(16)
        refresh = "1//" + secrets.token_urlsafe(32)
        self._refresh[refresh] = (client_id, client_secret, user, frozenset(scopes))
        return {
            "type": "authorized_user",
            "client_id": client_id,
            "client_secret": client_secret,
            "refresh_token": refresh,
            "token_uri": self._token_uri(),
        }

    def revoke_refresh_token(self, refresh_token: str) -> None:
        """The user revoked access: the next refresh is ``invalid_grant``."""
        self._refresh.pop(refresh_token, None)

    def expire_access_tokens(self) -> None:
        """Every issued access token stops working (the client must refresh)."""
        with self._lock:
            self._tokens.clear()

    def grant(self, form: dict[str, str]) -> dict[str, Any]:
        """Answer one token request; raises :class:`TokenError`."""
        kind = form.get("grant_type")
        if kind == JWT_BEARER:
            grant = self._from_assertion(form.get("assertion", ""))
        elif kind == "refresh_token":
            grant = self._from_refresh(form)
        else:
            raise TokenError(400, "unsupported_grant_type", "Invalid grant_type")
        token = "ya29." + secrets.token_urlsafe(32)
        with self._lock:
            self._tokens[token] = grant
            self.issued += 1
        return {"access_token": token, "expires_in": 3599, "token_type": "Bearer",
                "scope": " ".join(sorted(grant.scopes))}  # fmt: skip

    def check(self, authorization: str | None) -> Grant | None:
        """The grant behind ``Authorization: Bearer …``, or None."""
        if not authorization or not authorization.startswith("Bearer "):
            return None
        with self._lock:
            return self._tokens.get(authorization[7:].strip())

    def _from_assertion(self, assertion: str) -> Grant:
        try:
            header = jwt.get_unverified_header(assertion)
            issuer = jwt.decode(assertion, options={"verify_signature": False}).get("iss")
        except jwt.PyJWTError as exc:
            raise TokenError(400, "invalid_grant", "Invalid JWT") from exc
        account = self._accounts.get(str(issuer))
        if account is None or header.get("alg") != "RS256":
            raise TokenError(401, "invalid_client", "The OAuth client was not found.")
        public_key, allowed = account
        try:
            claims = jwt.decode(
                assertion,
                public_key,
                algorithms=["RS256"],
                # google-auth always addresses the assertion to Google's well-known token URI,
                # whichever token_uri the key names; Google accepts both.
                audience=[self._token_uri(), GOOGLE_TOKEN_URI],
                options={"require": ["iss", "aud", "iat", "exp", "scope"]},
                leeway=30,
            )
        except jwt.PyJWTError as exc:
            raise TokenError(400, "invalid_grant", "Invalid JWT Signature.") from exc
        if int(claims["exp"]) - int(claims["iat"]) > 3600:
            raise TokenError(400, "invalid_grant", "Invalid JWT: expiry more than an hour")
        scopes = frozenset(str(claims["scope"]).split())
        subject = str(claims.get("sub") or "").lower()
        if not scopes or not scopes <= allowed or (subject and subject not in self.users):
            raise TokenError(
                401,
                "unauthorized_client",
                "Client is unauthorized to retrieve access tokens using this method, or client"
                " not authorized for any of the scopes requested.",
            )
        return Grant(subject or str(issuer), scopes)

    def _from_refresh(self, form: dict[str, str]) -> Grant:
        entry = self._refresh.get(form.get("refresh_token", ""))
        if entry is None:
            raise TokenError(400, "invalid_grant", "Token has been expired or revoked.")
        client_id, client_secret, user, scopes = entry
        if form.get("client_id") != client_id or form.get("client_secret") != client_secret:
            raise TokenError(401, "invalid_client", "Unauthorized")
        return Grant(user, scopes)

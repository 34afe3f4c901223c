"""Authentication of the sandbox org: the OAuth token endpoint, SOAP login and API sessions.

Three OAuth grants as Salesforce implements them (client_credentials, username-password with the
security token appended to the password, and the JWT bearer flow verified against the connected
app's certificate), plus the SOAP ``login`` call simple-salesforce uses for username/password.
Sessions expire after ``idle_timeout`` seconds without use, measured on the injected clock.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from xml.etree import ElementTree

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from sandbox.salesforce.errors import ApiError

ORG_ID = "00D8c0000001SbxEAE"
#: The only ``aud`` values a JWT bearer assertion may carry (no community URL in the sandbox).
JWT_AUDIENCES = ("https://login.salesforce.com", "https://test.salesforce.com")
_SOAP_NS = {
    "env": "http://schemas.xmlsoap.org/soap/envelope/",
    "urn": "urn:partner.soap.sforce.com",
}


class OAuthError(Exception):
    """A token request failed; Salesforce answers 400 with ``error`` and ``error_description``."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status


@dataclass
class Session:
    """One issued access token: who it is for and when it was last used."""

    user_id: str
    last_used: datetime


@functools.cache
def _keypair() -> tuple[str, str]:
    """Return the process's (certificate PEM, private key PEM) for the JWT bearer flow.

    One RSA key per process: generating it takes a noticeable fraction of a second.
    """
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "syncd sandbox connected app")])
    now = datetime.now().astimezone()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem


class Auth:
    """The connected app, the integration user's credentials and the live sessions."""

    def __init__(self, *, clock: Callable[[], datetime], idle_timeout: float) -> None:
        self.clock = clock
        self.idle_timeout = idle_timeout
        self.client_id = "3MVG9sandbox." + secrets.token_hex(16)
        self.client_secret = secrets.token_hex(32)
        self.username = "integration@syncd-sandbox.example"
        self.password = "Sandbox-" + secrets.token_hex(8)
        self.security_token = secrets.token_hex(12)
        self.jwt_certificate_pem, self.jwt_private_key_pem = _keypair()
        self._public_key = x509.load_pem_x509_certificate(
            self.jwt_certificate_pem.encode()
        ).public_key()
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()
        # Username → User id; filled by the sandbox from its User table on each look-up.
        self.find_user: Callable[[str], str | None] = lambda _name: None
        self.run_as_user_id: str = ""
        #: Host names that are the login host, not the org's My Domain.
        self.login_hosts: frozenset[str] = frozenset()

    def __repr__(self) -> str:
        return f"Auth(client_id={self.client_id!r}, username={self.username!r})"

    # -- sessions ------------------------------------------------------------------------------

    def _issue(self, user_id: str) -> str:
        token = f"{ORG_ID[:15]}!{secrets.token_urlsafe(48)}"
        with self._lock:
            self._sessions[token] = Session(user_id, self.clock())
        return token

    def check(self, authorization: str | None) -> str:
        """Return the user id of a valid ``Authorization: Bearer`` session or raise 401."""
        token = ""
        if authorization:
            scheme, _, token = authorization.partition(" ")
            if scheme.lower() not in ("bearer", "oauth"):
                token = ""
        now = self.clock()
        with self._lock:
            session = self._sessions.get(token.strip())
            if (
                session is not None
                and (now - session.last_used).total_seconds() > self.idle_timeout
            ):
                del self._sessions[token.strip()]
                session = None
            if session is None:
                raise ApiError(401, "INVALID_SESSION_ID", "Session expired or invalid", None)
            session.last_used = now
            return session.user_id

    def expire_all(self) -> None:
        """Invalidate every current session (as when an admin revokes them)."""
        with self._lock:
            self._sessions.clear()

    # -- OAuth ---------------------------------------------------------------------------------

    def token(
        self, form: dict[str, str], base_url: str, *, login_host: bool = False
    ) -> dict[str, Any]:
        """Handle POST /services/oauth2/token; return the token response or raise OAuthError.

        ``login_host``: asked of the login host (login.salesforce.com's stand-in), not the My
        Domain. The client-credentials flow is refused there, as Salesforce refuses it on
        login.salesforce.com and test.salesforce.com:
        https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_client_credentials_flow.htm
        The answer's ``instance_url`` and identity are the My Domain's either way.
        """
        grant = form.get("grant_type", "")
        if grant == "client_credentials" and login_host:
            raise OAuthError("invalid_grant", "request not supported on this domain")
        if grant == "urn:ietf:params:oauth:grant-type:jwt-bearer":
            user_id = self._jwt_user(form.get("assertion", ""), base_url)
        elif grant in ("client_credentials", "password"):
            if form.get("client_id") != self.client_id:
                raise OAuthError("invalid_client_id", "client identifier invalid")
            if not hmac.compare_digest(form.get("client_secret", ""), self.client_secret):
                raise OAuthError("invalid_client", "invalid client credentials")
            if grant == "password":
                user_id = self._password_user(form.get("username", ""), form.get("password", ""))
            else:
                user_id = self.run_as_user_id
        else:
            raise OAuthError("unsupported_grant_type", "grant type not supported")
        token = self._issue(user_id)
        issued_at = str(int(self.clock().timestamp() * 1000))
        identity = f"{base_url}/id/{ORG_ID}/{user_id}"
        signature = base64.b64encode(
            hmac.new(
                self.client_secret.encode(), (identity + issued_at).encode(), hashlib.sha256
            ).digest()
        ).decode()
        return {
            "access_token": token,
            "instance_url": base_url,
            "id": identity,
            "token_type": "Bearer",
            "issued_at": issued_at,
            "signature": signature,
            "scope": "api",
        }

    def _password_user(self, username: str, password: str) -> str:
        expected = self.password + self.security_token
        if username.lower() != self.username.lower() or not hmac.compare_digest(password, expected):
            raise OAuthError("invalid_grant", "authentication failure")
        user_id = self.find_user(self.username)
        if user_id is None:
            raise OAuthError("invalid_grant", "authentication failure")
        return user_id

    def _jwt_user(self, assertion: str, base_url: str) -> str:
        try:
            claims = jwt.decode(
                assertion,
                self._public_key,  # type: ignore[arg-type]
                algorithms=["RS256"],
                # Only Salesforce's login hosts, whatever host is asked (My Domain included):
                # https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_jwt_flow.htm
                audience=list(JWT_AUDIENCES),
                # Time claims are checked below against the sandbox clock, not the wall clock.
                options={
                    "require": ["exp", "iss", "sub", "aud"],
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                },
            )
        except jwt.InvalidAudienceError:
            raise OAuthError("invalid_grant", "audience is invalid") from None
        except jwt.InvalidTokenError:
            raise OAuthError("invalid_grant", "invalid assertion") from None
        if float(claims["exp"]) <= self.clock().timestamp():
            raise OAuthError("invalid_grant", "expired authorization code")
        if claims.get("iss") != self.client_id:
            raise OAuthError("invalid_client_id", "client identifier invalid")
        user_id = self.find_user(str(claims.get("sub", "")))
        if user_id is None:
            raise OAuthError("invalid_grant", "user hasn't approved this consumer")
        return user_id

    # -- SOAP ----------------------------------------------------------------------------------

    def soap_login(self, body: bytes, base_url: str, version: str) -> tuple[int, str]:
        """Handle the partner SOAP ``login`` call; return (status, XML)."""
        try:
            root = ElementTree.fromstring(body)  # noqa: S314 - loopback test input
        except ElementTree.ParseError:
            return 500, _soap_fault("INVALID_LOGIN", "Invalid request")
        username = root.findtext(".//urn:username", default="", namespaces=_SOAP_NS)
        password = root.findtext(".//urn:password", default="", namespaces=_SOAP_NS)
        try:
            user_id = self._password_user(username, password)
        except OAuthError:
            return 500, _soap_fault(
                "INVALID_LOGIN",
                "INVALID_LOGIN: Invalid username, password, security token; or user locked out.",
            )
        token = self._issue(user_id)
        server_url = f"{base_url}/services/Soap/u/{version}/{ORG_ID[:15]}"
        return 200, (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
            'xmlns="urn:partner.soap.sforce.com"><soapenv:Body><loginResponse><result>'
            f"<metadataServerUrl>{base_url}/services/Soap/m/{version}</metadataServerUrl>"
            "<passwordExpired>false</passwordExpired><sandbox>true</sandbox>"
            f"<serverUrl>{server_url}</serverUrl><sessionId>{token}</sessionId>"
            f"<userId>{user_id}</userId>"
            "</result></loginResponse></soapenv:Body></soapenv:Envelope>"
        )


def _soap_fault(code: str, message: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:sf="urn:fault.partner.soap.sforce.com"><soapenv:Body><soapenv:Fault>'
        f"<faultcode>sf:{code}</faultcode><faultstring>{message}</faultstring>"
        f"<detail><sf:LoginFault><sf:exceptionCode>{code}</sf:exceptionCode>"
        f"<sf:exceptionMessage>{message}</sf:exceptionMessage></sf:LoginFault></detail>"
        "</soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    )

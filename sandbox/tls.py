"""A throwaway certificate authority for the sandbox servers, made with trustme.

The real client libraries (simple-salesforce, msal) insist on https, so the emulators serve TLS
with a certificate for 127.0.0.1 signed by this CA; clients trust it through ``ca_bundle_path``.
One CA per process keeps every emulator verifiable with the same bundle.
"""

from __future__ import annotations

import atexit
import shutil
import ssl
import tempfile
import threading
from pathlib import Path

import trustme


class TestCA:
    """A CA, its PEM bundle on disk, and a server certificate for 127.0.0.1 and localhost."""

    __test__ = False  # not a pytest test class despite the name

    def __init__(self) -> None:
        self._ca = trustme.CA(organization_name="syncd sandbox")
        self._server_cert = self._ca.issue_cert("127.0.0.1", "localhost")
        self._dir = Path(tempfile.mkdtemp(prefix="syncd-sandbox-ca-"))
        # Removed at exit so test runs do not litter /tmp with key material.
        atexit.register(shutil.rmtree, self._dir, True)
        self.ca_bundle_path = str(self._dir / "ca.pem")
        self._ca.cert_pem.write_to_path(self.ca_bundle_path)

    def server_ssl_context(self) -> ssl.SSLContext:
        """Return a fresh server-side context presenting the 127.0.0.1 certificate."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._server_cert.configure_cert(context)
        return context

    def __repr__(self) -> str:
        return f"TestCA(ca_bundle_path={self.ca_bundle_path!r})"


_default: TestCA | None = None
_lock = threading.Lock()


def default_ca() -> TestCA:
    """Return the process-wide CA, creating it on first use."""
    global _default
    with _lock:
        if _default is None:
            _default = TestCA()
        return _default

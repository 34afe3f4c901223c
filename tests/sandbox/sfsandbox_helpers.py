"""Helpers for the sandbox tests: a settable clock and real clients of a started sandbox.

A module with its own name (not ``conftest``) so test files can import it unambiguously.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import requests
from simple_salesforce import Salesforce

from sandbox.salesforce import SalesforceSandbox


class FakeClock:
    """A settable clock so session expiry and date literals need no real waiting."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def http_session(sandbox: SalesforceSandbox) -> requests.Session:
    """A requests session that trusts the sandbox CA and ignores REQUESTS_CA_BUNDLE."""
    session = requests.Session()
    session.trust_env = False
    session.verify = sandbox.ca_bundle
    return session


def token(sandbox: SalesforceSandbox, **form: str) -> requests.Response:
    """POST to the OAuth token endpoint."""
    return http_session(sandbox).post(f"{sandbox.url}/services/oauth2/token", data=form, timeout=10)


def connect(sandbox: SalesforceSandbox) -> Salesforce:
    """Log in with client_credentials and return a simple-salesforce client on the session."""
    reply = token(
        sandbox,
        grant_type="client_credentials",
        client_id=sandbox.client_id,
        client_secret=sandbox.client_secret,
    )
    reply.raise_for_status()
    body = reply.json()
    return Salesforce(
        instance_url=body["instance_url"],
        session_id=body["access_token"],
        session=http_session(sandbox),
        version=sandbox.api_version,
    )


def grant_key_field(
    sf: Salesforce, sandbox: SalesforceSandbox, *, edit: bool = True
) -> tuple[str, str]:
    """Grant Read+Edit on Task/Event.Syncd_Key__c to the API user, as an admin would.

    A permission set, its two FieldPermissions and an assignment to the client-credentials
    run-as user, created through the REST API (the path ``syncd setup salesforce`` takes);
    ``edit=False`` grants Read only. Returns the permission set's and the assignment's ids.
    """
    ps = sf.PermissionSet.create({"Name": "Test_Grant", "Label": "Test grant"})["id"]
    for sobject in ("Task", "Event"):
        sf.FieldPermissions.create(
            {
                "ParentId": ps,
                "SobjectType": sobject,
                "Field": f"{sobject}.Syncd_Key__c",
                "PermissionsRead": True,
                "PermissionsEdit": edit,
            }
        )
    assignment = {"PermissionSetId": ps, "AssigneeId": sandbox.auth.run_as_user_id}
    return ps, sf.PermissionSetAssignment.create(assignment)["id"]

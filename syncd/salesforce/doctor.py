"""``syncd doctor`` for Salesforce: one line per check, with the fix when it fails.

Checks, in order: the org answers over TLS, syncd can log in, ``Syncd_Key__c`` exists on Task
and Event as a unique external id that this user can read and edit (a field that exists but is
hidden by field-level security is told apart from a missing one: each has its own fix), the
integration user may create and update Task, Event and EventRelation, and the API budget is
below the point where syncd stops writing; then which Event rules apply (multi-day events from
the config, Shared Activities from the org) and what an email becomes (``salesforce.email_as``
against the org's Enhanced Email; EmailMessage's key field is checked when it is in force).
Checks that need a login are reported as skipped when the login fails, so the first problem is
the one to fix. Nothing here writes to the org.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from syncd.capture.org_rules import EMAIL_AS_DEFAULT, MULTIDAY_DEFAULT
from syncd.config import SalesforceConfig
from syncd.errors import AuthExpired, Permanent, SyncdError, Transient
from syncd.salesforce.client import SalesforceClient
from syncd.salesforce.grants import PERMISSION_SET, existing_fields
from syncd.salesforce.org_features import email_rule, event_rules
from syncd.salesforce.writer import KEY_FIELD

PERMISSION_OBJECTS = ("Task", "Event", "EventRelation")
MY_DOMAIN_FIX = (
    "the client-credentials flow is served only on the org's My Domain: set "
    "salesforce.login_url to https://yourcompany.my.salesforce.com (Setup → My Domain)"
)
JWT_AUDIENCE_FIX = (
    "the JWT audience must be https://login.salesforce.com (production) or "
    "https://test.salesforce.com (sandbox): set salesforce.jwt_audience if the login URL "
    "does not tell which"
)
FLS_FIX = (
    "run `syncd setup salesforce`: it grants Read and Edit on the field through the permission "
    f"set {PERMISSION_SET} and assigns that set to the API user ({{user}}); or, by hand, grant "
    "Read and Edit on {field} in a permission set assigned to that user"
)


@dataclass(frozen=True)
class Check:
    """One doctor line: what was checked, whether it is fine, what was seen, how to fix it."""

    name: str
    ok: bool
    detail: str
    fix: str = ""


def _reach(client: SalesforceClient) -> Check:
    url = client.options.login_url
    try:
        status = client.ping()
    except Permanent as exc:
        return Check(
            "salesforce: reachable",
            False,
            f"{url}: {exc}",
            "set salesforce.ca_bundle to the CA that signs the org's (or proxy's) certificate",
        )
    except Transient as exc:
        return Check(
            "salesforce: reachable",
            False,
            f"{url}: {exc}",
            "check the URL, DNS, firewall and proxy between this host and Salesforce",
        )
    return Check("salesforce: reachable", True, f"{url} answered over TLS (HTTP {status})")


def _auth(client: SalesforceClient) -> Check:
    try:
        client.login()
    except AuthExpired as exc:
        if "not supported on this domain" in str(exc):
            # Client credentials asked of login.salesforce.com (or the sandbox's login host).
            return Check("salesforce: login", False, str(exc), MY_DOMAIN_FIX)
        if "audience" in str(exc).lower():
            return Check("salesforce: login", False, str(exc), JWT_AUDIENCE_FIX)
        return Check(
            "salesforce: login",
            False,
            str(exc),
            "check the connected app's client id, the secret or key the config points to, "
            "the username, and that the app is approved for this user",
        )
    except SyncdError as exc:
        return Check("salesforce: login", False, str(exc), "try again; see the error above")
    return Check("salesforce: login", True, f"{client.instance_url} as {client.auth_mode}")


def _key_field(client: SalesforceClient, described: dict[str, dict[str, Any]]) -> list[Check]:
    """Tell "missing" from "hidden by field-level security" from "read-only", with the fix."""
    out = []
    defined: set[str] | None = None  # objects whose key field exists, asked only when needed
    for sobject in described:
        if sobject == "EventRelation":
            continue
        name = f"{sobject}.{KEY_FIELD}"
        fields = {f["name"]: f for f in described[sobject].get("fields", [])}
        key = fields.get(KEY_FIELD)
        if key is None:
            if defined is None:
                defined = {f.sobject for f in existing_fields(client)}
            if sobject in defined:
                detail = (
                    f"{name} exists but this user cannot see it (field-level security: no "
                    "permission set or profile grants it Read and Edit)"
                )
                fix = FLS_FIX.format(field=name, user=client.user_id or "the API user")
            else:
                detail = f"{name} does not exist"
                fix = "run `syncd setup salesforce` (it creates the field and grants it)"
            out.append(Check(f"salesforce: key field on {sobject}", False, detail, fix))
            continue
        if not (key.get("externalId") and key.get("unique")):
            detail = f"{name} exists but is not a unique external id"
            fix = "in Setup, mark the field External ID and Unique (or delete it and run setup)"
        elif not (key.get("createable") and key.get("updateable")):
            detail = f"{name} is read-only for this user (field-level security grants Read only)"
            fix = FLS_FIX.format(field=name, user=client.user_id or "the API user")
        else:
            out.append(Check(f"salesforce: key field on {sobject}", True, f"{name} is a unique "
                             "external id this user can read and edit"))  # fmt: skip
            continue
        out.append(Check(f"salesforce: key field on {sobject}", False, detail, fix))
    return out


def _permissions(described: dict[str, dict[str, Any]]) -> list[Check]:
    out = []
    for sobject in PERMISSION_OBJECTS:
        d = described[sobject]
        missing = [p for p in ("createable", "updateable") if not d.get(p)]
        ok = not missing
        detail = f"{sobject}: " + (
            "create and update allowed" if ok else f"not {', '.join(missing)}"
        )
        fix = (
            ""
            if ok
            else f"give the integration user create/edit on {sobject} (profile or permission set)"
        )
        out.append(Check(f"salesforce: permissions on {sobject}", ok, detail, fix))
    return out


def _budget(client: SalesforceClient) -> Check:
    client.limits()
    usage = client.usage
    if usage is None:
        return Check(
            "salesforce: API budget",
            False,
            "the org did not report DailyApiRequests",
            "check the integration user has the API Enabled permission",
        )
    reserve = client.options.api_reserve
    stop_at = int(usage.threshold(reserve))
    ok = usage.used < stop_at
    detail = f"{usage.used}/{usage.limit} calls used in 24 h; syncd stops writing at {stop_at}"
    fix = "" if ok else "wait for the rolling 24 h window, or lower salesforce.api_reserve"
    return Check("salesforce: API budget", ok, detail, fix)


def run_doctor(
    client_factory: Callable[[], SalesforceClient], settings: SalesforceConfig | None = None
) -> list[Check]:
    """Every Salesforce check, in order; never raises for an org-side problem.

    ``settings`` (``config.salesforce``) is accepted so the CLI can pass what it has; the
    checks read everything they need from the client the factory builds from it.
    """
    client = client_factory()
    try:
        multiday = settings.multiday_events if settings is not None else MULTIDAY_DEFAULT
        email_as = settings.email_as if settings is not None else EMAIL_AS_DEFAULT
        return _checks(client, multiday, email_as)
    finally:
        client.close()


def _checks(client: SalesforceClient, multiday_events: bool, email_as: str) -> list[Check]:
    checks = [_reach(client)]
    if not checks[0].ok:
        return checks
    checks.append(_auth(client))
    if not checks[-1].ok:
        skipped = "skipped: login failed"
        for name in ("key field", "permissions", "API budget"):
            checks.append(Check(f"salesforce: {name}", False, skipped, "fix the login first"))
        return checks
    try:
        described = {s: client.describe(s) for s in ("Task", "Event", "EventRelation")}
        name, ok, detail, in_force = email_rule(email_as, client)
        if in_force == "EmailMessage":
            described["EmailMessage"] = client.describe("EmailMessage")
        checks += _key_field(client, described)
        checks += _permissions(described)
        checks.append(_budget(client))
        rules = event_rules(described["EventRelation"], multiday_events)
        checks += [Check(name, True, detail) for name, detail in rules]
        fix = "" if ok else "turn on Enhanced Email (Setup → Enhanced Email) or change email_as"
        checks.append(Check(name, ok, detail, fix))
    except SyncdError as exc:
        checks.append(Check("salesforce: describe", False, str(exc), "see the error above"))
    return checks

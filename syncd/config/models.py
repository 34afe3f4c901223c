"""The shape of ``syncd.toml``: one frozen model per table (config.example.toml documents it).

Attribute names here are what the rest of syncd codes against; change them only with everyone.
"""

from __future__ import annotations

import difflib
import logging
import re
from collections.abc import Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, PlainValidator, ValidationError, field_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from syncd.config.section import Loc, Section, _rebuild
from syncd.config.types import (
    ApiVersion,
    Cron,
    DomainName,
    Duration,
    Email,
    FieldName,
    FrozenMap,
    HttpsUrl,
    ListenAddress,
    NonEmpty,
    Regex,
    RegionCode,
    SecretRef,
    StateUrl,
    TimeZoneName,
    Tuple,
    fail,
    secret_field,
    type_name,
)
from syncd.errors import ConfigError

log = logging.getLogger(__name__)

Positive = Annotated[int, Field(ge=1)]


class StateConfig(Section):
    """``[state]``: where cursors, the ledger and flags live."""

    url: StateUrl = "sqlite:///syncd.db"


class ServiceConfig(Section):
    """``[service]``: the daemon's HTTP endpoint and logging."""

    listen: ListenAddress = "127.0.0.1:9464"
    #: Bearer token the status page, /metrics and API endpoints require (webhooks and the
    #: health probes do not): ``token_env`` / ``token_file``.
    token: SecretRef | None = secret_field("bearer token for the status page and /metrics")
    #: A second address serving only /webhooks/… (then ``listen`` serves none).
    webhook_listen: ListenAddress | None = None
    log_format: Literal["text", "json"] = "text"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    #: The zone the crons (rules, digests) are read in; unset: the host's local time zone.
    timezone: TimeZoneName | None = None


#: Which secrets each Salesforce auth mode needs.
#: Salesforce's shared login hosts, which refuse the client-credentials flow (it is served only
#: on the org's My Domain): https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_client_credentials_flow.htm
SALESFORCE_LOGIN_HOSTS = frozenset({"login.salesforce.com", "test.salesforce.com"})
CLIENT_CREDENTIALS_HOST = (
    "auth = 'client_credentials' is served only on your org's My Domain: "
    "login.salesforce.com and test.salesforce.com answer invalid_grant 'request not supported "
    'on this domain\'; write login_url = "https://yourcompany.my.salesforce.com" '
    "(Setup → My Domain shows it)"
)


def is_login_host(url: str) -> bool:
    """True for Salesforce's shared login hosts (not a My Domain)."""
    return (urlsplit(url).hostname or "").lower() in SALESFORCE_LOGIN_HOSTS


AUTH_NEEDS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "jwt": ("client_id", "username", "private_key"),
        "client_credentials": ("client_id", "client_secret"),
        "password": ("client_id", "client_secret", "username", "password"),
    }
)


class SalesforceConfig(Section):
    """``[salesforce]``: how to log in and how to write."""

    ref_ok_fields = frozenset({"client_id"})

    login_url: HttpsUrl = "https://login.salesforce.com"
    instance_url: HttpsUrl | None = None
    auth: Literal["jwt", "client_credentials", "password"]
    client_id: str | SecretRef | None = None
    client_secret: SecretRef | None = secret_field("connected app consumer secret")
    username: NonEmpty | None = None
    password: SecretRef | None = secret_field("integration user's password")
    security_token: SecretRef | None = secret_field("appended to the password when required")
    private_key: SecretRef | None = secret_field("PEM key whose certificate is on the app")
    jwt_audience: HttpsUrl | None = None
    api_version: ApiVersion = "60.0"
    ca_bundle: Path | None = None
    #: How captured mail is written: "Task" (TaskSubtype Email), "EmailMessage" (Enhanced
    #: Email: one EmailMessage with its relations; the org must have it) or "auto" (EmailMessage
    #: where the org's describe has it, Task otherwise; the default).
    email_as: Literal["Task", "EmailMessage", "auto"] = "auto"
    api_reserve: Annotated[float, Field(ge=0, lt=1)] = 0.2
    timeout: Duration = timedelta(seconds=30)
    #: Whether the org enables multi-day events (Setup → Activity Settings): Events over 24
    #: hours are written whole; off, they are written as their first 24 hours.
    multiday_events: bool = False

    @field_validator("ca_bundle", mode="before")
    @classmethod
    def _path(cls, value: object, info: Any) -> object:
        if value is None or isinstance(value, Path):
            return value
        if not isinstance(value, str) or not value.strip():
            raise fail(f"must be a file path as a string, not {type_name(value)}")
        path = Path(value).expanduser()
        base_dir = (info.context or {}).get("base_dir")
        return Path(base_dir) / path if base_dir and not path.is_absolute() else path

    @classmethod
    def cross_check(cls, data: dict[str, Any]) -> Iterator[tuple[Loc, str]]:
        """Each auth mode needs its own credentials; client credentials need the My Domain."""
        auth = data.get("auth")
        login_url = data.get("login_url", "https://login.salesforce.com")
        https = isinstance(login_url, str) and login_url.startswith("https://")
        if auth == "client_credentials" and https and is_login_host(login_url):
            yield (("login_url",), CLIENT_CREDENTIALS_HOST)
        for name in AUTH_NEEDS.get(auth, ()) if isinstance(auth, str) else ():
            if data.get(name) is None:
                if name == "username":
                    how = 'write username = "integration@example.com"'
                elif name == "client_id":
                    how = 'write client_id = "…" or client_id_env = "SF_CLIENT_ID"'
                else:
                    how = f"write {name}_env = … or {name}_file = …"
                yield (name,), f"required when auth = {auth!r}; {how}"


class CaptureConfig(Section):
    """``[capture]``: what is captured, what is skipped, how opportunities are chosen."""

    internal_domains: Tuple[DomainName] = ()
    capture_body: bool = False
    redact_patterns: Tuple[Regex] = ()
    exclude_addresses: Tuple[Email] = ()
    exclude_domains: Tuple[DomainName] = ()
    exclude_subject_patterns: Tuple[Regex] = ()
    skip_internal_only: bool = True
    skip_bulk_mail: bool = True
    skip_role_senders: bool = True
    opportunity_policy: Literal[
        "contact_role_then_single_open", "contact_role_only", "account_only"
    ] = "contact_role_then_single_open"
    #: Bytes of raw mail one batch may hold (mbox import); a batch ends when it is reached.
    batch_bytes: Annotated[int, Field(ge=1024 * 1024)] = 64 * 1024 * 1024
    #: Body bytes kept of one message when bodies are captured; the rest is dropped.
    max_message_bytes: Annotated[int, Field(ge=64 * 1024)] = 10 * 1024 * 1024
    backfill_days: Annotated[int, Field(ge=1, le=3650)] = 90
    default_region: RegionCode = "US"


def _mailboxes(value: object) -> tuple[str, ...] | Literal["salesforce_users"]:
    if value == "salesforce_users":
        return "salesforce_users"
    if isinstance(value, list | tuple) and all(isinstance(v, str) and v.strip() for v in value):
        return tuple(v.strip() for v in value)
    raise fail('must be a list of mailbox addresses or the string "salesforce_users"')


class ConnectorSettings(Section):
    """Keys every ``[[connectors]]`` table has; each connector subclasses it for its own keys.

    A connector's secret is a field ``api_key: SecretRef | None = secret_field()``.
    """

    type: str
    name: NonEmpty
    enabled: bool = True
    interval: Duration = timedelta(minutes=5)
    mailboxes: Annotated[
        tuple[str, ...] | Literal["salesforce_users"], PlainValidator(_mailboxes)
    ] = ()

    def named_mailboxes(self) -> tuple[str, ...]:
        """The mailboxes this table names itself (``"salesforce_users"`` names none)."""
        return () if isinstance(self.mailboxes, str) else self.mailboxes

    def file_problems(self) -> Iterator[tuple[str, str]]:
        """(key under this table, problem) for files the connector will read (``check-config``).

        A connector that refuses a file at run time (a token file readable by others) says so
        here, so ``check-config`` fails where ``sync`` would.
        """
        return iter(())


#: The settings model of each connector type, by ``type``: the loader's only knowledge of the
#: connectors, handed to it by the wiring layer (``connectors.base.Registry.settings_models``).
ConnectorTypes = Mapping[str, type[ConnectorSettings]]


RuleType = Literal[
    "no_activity",
    "stale",
    "past_close_date",
    "close_date_pushed",
    "stalled_in_stage",
    "missing_fields",
    "no_decision_maker",
    "single_threaded",
    "engagement_drop",
    "closing_soon_early_stage",
    "competitor_mentioned",
]


class Rule(Section):
    """One ``[[rules.rule]]``: a built-in rule and its thresholds (generic for now)."""

    type: RuleType
    enabled: bool = True
    days: Positive | None = None
    times: Positive | None = None
    percent: Annotated[float, Field(gt=0, le=100)] | None = None
    stages: Tuple[NonEmpty] = ()
    #: Salesforce field API names (``NextStep``, not "Next Step").
    fields: Tuple[FieldName] = ()
    roles: Tuple[NonEmpty] = ()
    competitors: Tuple[NonEmpty] = ()
    severity: Literal["info", "warning", "critical"] = "warning"
    per_stage: FrozenMap[Positive] = Field(default_factory=lambda: MappingProxyType({}))


class RulesConfig(Section):
    """``[rules]``: when the rules run and which ones."""

    schedule: Cron = "0 7 * * 1-5"
    #: The first late stage (by the org's SortOrder); stages before it are early.
    early_stage_boundary: NonEmpty | None = None
    #: The period's pipeline target, for coverage (open Amount closing in the period / target).
    pipeline_target: Annotated[float, Field(gt=0)] | None = None
    #: The metrics period: the last ``period_days`` for closed deals, the next for open ones.
    period_days: Annotated[int, Field(ge=1, le=3660)] = 90
    rule: Tuple[Rule] = ()


_QUIET = re.compile(r"([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)")


def _quiet_hours(value: object) -> str:
    if not isinstance(value, str) or not _QUIET.fullmatch(value):
        raise fail("must be HH:MM-HH:MM (each rep's local time), e.g. '20:00-08:00'")
    return value


class SlackAlerts(Section):
    """``[alerts.slack]``: where deal alerts and digests go."""

    mode: Literal["app", "webhook"] = "app"
    token: SecretRef | None = secret_field("bot token (xoxb-…), app mode")
    webhook_url: SecretRef | None = secret_field("incoming webhook URL, webhook mode")
    #: The Slack app's signing secret: with it, deal messages carry buttons and the service
    #: takes their clicks at ``/webhooks/slack`` (the app's interactivity Request URL).
    signing_secret: SecretRef | None = secret_field("signing secret, for buttons (app mode)")
    fallback_channel: NonEmpty | None = None
    cooldown: Duration = timedelta(days=3)
    #: Lowest severity DMed at once when a finding is new or worse; the rest wait for the
    #: morning digest ("never": digest only).
    immediate: Literal["info", "warning", "critical", "never"] = "critical"
    #: At most one message per deal within this interval.
    per_deal_interval: Duration = timedelta(days=1)
    #: No deal message at once between these times, in the owning rep's zone (their
    #: User.TimeZoneSidKey, else ``service.timezone``, else the org's); they wait for the
    #: digest or the next run after. Digests keep their own schedule.
    quiet_hours: Annotated[str, PlainValidator(_quiet_hours)] | None = None
    digest: Cron = "0 9 * * 1-5"
    manager_digest: Cron = "0 8 * * 1"
    managers: Tuple[Email] = ()
    salesforce_base_url: HttpsUrl | None = None
    #: The Slack Web API base; only the sandbox (``python -m sandbox serve``) changes it.
    api_url: NonEmpty = "https://slack.com/api/"

    @property
    def takes_clicks(self) -> bool:
        """Deal messages carry buttons: app mode with a signing secret for their clicks."""
        return self.mode == "app" and self.signing_secret is not None

    @classmethod
    def cross_check(cls, data: dict[str, Any]) -> Iterator[tuple[Loc, str]]:
        """App mode needs a bot token, webhook mode a webhook URL."""
        mode = data.get("mode", "app")
        need = (
            {"app": "token", "webhook": "webhook_url"}.get(mode) if isinstance(mode, str) else None
        )
        if need and data.get(need) is None:
            yield (need,), f"required when mode = {mode!r}; write {need}_env = … or {need}_file = …"


class AlertsConfig(Section):
    """``[alerts]``: alert channels (Slack for now)."""

    slack: SlackAlerts | None = None


class Config(Section):
    """A whole validated ``syncd.toml``."""

    state: StateConfig = Field(default_factory=StateConfig)
    service: ServiceConfig = Field(default_factory=ServiceConfig)
    salesforce: SalesforceConfig | None = None
    capture: CaptureConfig = Field(default_factory=CaptureConfig)
    connectors: tuple[ConnectorSettings, ...] = ()
    rules: RulesConfig = Field(default_factory=RulesConfig)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)

    @field_validator("connectors", mode="before")
    @classmethod
    def _by_type(cls, value: object, info: Any) -> object:
        """Validate each connector table with the settings model its ``type`` names.

        The models come from the validation context (``connector_types``), which the loader
        fills with what the wiring layer handed it: without them every type is unknown.
        """
        if not isinstance(value, list | tuple):
            return value  # pydantic says "must be an array"
        errors: list[InitErrorDetails] = []
        built: list[ConnectorSettings] = []
        models: ConnectorTypes = (info.context or {}).get("connector_types", {})
        for index, item in enumerate(value):
            if isinstance(item, ConnectorSettings):
                built.append(item)
                continue
            model = _settings_model(item, index, errors, models)
            if model is None:
                continue
            try:
                built.append(model.model_validate(item, context=info.context))
            except ValidationError as exc:
                for detail in _rebuild(exc):
                    detail["loc"] = (index, *detail["loc"])
                    errors.append(detail)
        if errors:
            raise ValidationError.from_exception_data("connectors", errors)
        return tuple(built)

    @classmethod
    def cross_check(cls, data: dict[str, Any]) -> Iterator[tuple[Loc, str]]:
        """Connector names are how status, cursors and the CLI refer to them: unique."""
        first: dict[str, int] = {}
        items = data.get("connectors")
        for index, item in enumerate(items if isinstance(items, list) else ()):
            name = item.get("name") if isinstance(item, dict) else None
            if not isinstance(name, str):
                continue
            if name in first:
                where = f"connectors[{first[name]}]"
                yield ("connectors", index, "name"), f"duplicate connector name {name!r} ({where})"
            else:
                first[name] = index

    @property
    def connectors_by_name(self) -> Mapping[str, ConnectorSettings]:
        """The configured connectors keyed by their unique ``name``."""
        return MappingProxyType({c.name: c for c in self.connectors})

    def secret_refs(self) -> Iterator[tuple[str, SecretRef]]:
        """Every secret reference in the config with the key that holds it."""
        yield from _walk_refs(self, "")

    def secret_values(self) -> list[str]:
        """The value of every referenced secret that resolves now (for log redaction)."""
        values = []
        for _, ref in self.secret_refs():
            try:
                value = ref.resolve()
            except ConfigError:
                log.debug("secret at %s not available for redaction", ref.key or ref.source)
            else:
                if value:
                    values.append(value)
        return values


def _settings_model(
    item: object, index: int, errors: list[InitErrorDetails], models: ConnectorTypes
) -> type[ConnectorSettings] | None:
    """The settings model for one ``[[connectors]]`` item, or None with a problem added."""

    def problem(loc: Loc, message: str) -> None:
        errors.append(
            InitErrorDetails(type=PydanticCustomError("syncd", message), loc=loc, input=None)
        )

    known = sorted(models)
    if not isinstance(item, dict):
        problem((index,), f"must be a table, not {type_name(item)}")
        return None
    kind = item.get("type")
    if kind is None:
        problem((index, "type"), f"required; one of: {', '.join(known)}")
        return None
    if not isinstance(kind, str):
        problem((index, "type"), f"must be a string, not {type_name(kind)}")
        return None
    if kind in models:
        return models[kind]
    close = difflib.get_close_matches(kind, known, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    problem((index, "type"), f"unknown connector type {kind!r}{hint} (known: {', '.join(known)})")
    return None


def _walk_refs(node: object, prefix: str) -> Iterator[tuple[str, SecretRef]]:
    if isinstance(node, BaseModel):
        for name in type(node).model_fields:
            value = getattr(node, name)
            path = f"{prefix}.{name}" if prefix else name
            if isinstance(value, SecretRef):
                yield f"{path}_env" if value.env else f"{path}_file", value
            else:
                yield from _walk_refs(value, path)
    elif isinstance(node, tuple):
        for index, item in enumerate(node):
            yield from _walk_refs(item, f"{prefix}[{index}]")

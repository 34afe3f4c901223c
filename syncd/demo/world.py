"""The demo world as syncd sees it: the ``syncd.toml`` naming every emulator's connectors.

:func:`write_config` writes the file an operator would (Salesforce, Slack, the Google,
Microsoft and RingCentral connectors and one mbox import per mbox rep); :func:`connector_type`
says which type and kind each demo connector is. :func:`dummy_environment` gives the example
config's variables dummy values, for checking it without real secrets.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

EXAMPLE_CONFIG = Path(__file__).resolve().parents[2] / "config.example.toml"

#: The environment variable the demo config names for the Salesforce client secret.
SECRET_ENV = "SYNCD_DEMO_SF_CLIENT_SECRET"  # noqa: S105 - a variable name, not a secret

#: Connector name → (type, kind) for the provider connectors; mbox ones are ``mail-<rep>``.
CONNECTORS = {
    "gmail": ("gmail", "email"),
    "google-calendar": ("google_calendar", "meeting"),
    "outlook-mail": ("outlook_mail", "email"),
    "outlook-calendar": ("outlook_calendar", "meeting"),
    "phones": ("ringcentral", "call"),
}
KINDS = ("email", "meeting", "call")


def connector_type(name: str) -> tuple[str, str]:
    """(type, kind) of a demo connector by its name."""
    return CONNECTORS.get(name, ("mbox", "email"))


def _env_names(node: Any) -> Iterator[str]:
    """Every value of a ``*_env`` key in a parsed TOML document."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key.endswith("_env") and isinstance(value, str):
                yield value
            else:
                yield from _env_names(value)
    elif isinstance(node, list):
        for item in node:
            yield from _env_names(item)


def dummy_environment(config_path: Path) -> dict[str, str]:
    """Dummy values for the environment variables a config names, where they are unset."""
    with config_path.open("rb") as fh:
        document = tomllib.load(fh)
    names = {name for name in _env_names(document) if not os.environ.get(name)}
    return {name: f"demo-{name.lower()}" for name in sorted(names)}


def _q(value: object) -> str:
    """A TOML basic string (JSON's escaping is valid TOML for these values)."""
    return json.dumps(str(value))


def _list(values: list[str]) -> str:
    return "[" + ", ".join(_q(v) for v in values) + "]"


def _provider_connectors(emulators: Any, world: Any) -> list[str]:
    """The Google, Microsoft and RingCentral ``[[connectors]]`` tables."""
    from sandbox.world.emulators import ENV
    from sandbox.world.providers import GOOGLE, MBOX, MICROSOFT

    reps = {
        p: sorted(r for r, q in world.providers.items() if q == p)
        for p in (GOOGLE, MICROSOFT, MBOX)
    }
    google, graph, rc = emulators.google, emulators.graph, emulators.ringcentral
    google_keys = [
        f"service_account_key_env = {_q(ENV['google_key'])}",
        f"ca_bundle = {_q(google.ca_bundle)}",
    ]
    graph_keys = [
        f"tenant_id = {_q(graph.tenant)}",
        f"client_id = {_q(graph.client_id)}",
        f"client_secret_env = {_q(ENV['graph'])}",
        f"authority_host = {_q(graph.url)}",
        f"graph_url = {_q(graph.graph_url)}",
        f"ca_bundle = {_q(graph.ca_bundle)}",
        f"mailboxes = {_list(reps[MICROSOFT])}",
    ]
    return [
        "# Google Workspace reps (mbox reps keep their calendar in Google too).",
        "[[connectors]]", 'type = "gmail"', 'name = "gmail"',
        f"api_endpoint = {_q(google.url + '/')}", f"mailboxes = {_list(reps[GOOGLE])}",
        *google_keys, "",
        "[[connectors]]", 'type = "google_calendar"', 'name = "google-calendar"',
        f"api_endpoint = {_q(google.url + '/calendar/v3/')}",
        f"mailboxes = {_list(reps[GOOGLE] + reps[MBOX])}", *google_keys, "",
        "# Microsoft 365 reps.",
        "[[connectors]]", 'type = "outlook_mail"', 'name = "outlook-mail"',
        "fetch_headers = true", *graph_keys, "",
        "[[connectors]]", 'type = "outlook_calendar"', 'name = "outlook-calendar"',
        *graph_keys, "",
        "# The phone system: the company-wide call log.",
        "[[connectors]]", 'type = "ringcentral"', 'name = "phones"',
        f"server_url = {_q(rc.url)}", f"client_id = {_q(rc.client_id)}",
        f"client_secret_env = {_q(ENV['ringcentral'])}",
        f"jwt_env = {_q(ENV['ringcentral_jwt'])}", f"ca_bundle = {_q(rc.ca_bundle)}", "",
    ]  # fmt: skip


def write_config(folder: Path, emulators: Any, world: Any) -> Path:
    """The demo's syncd.toml: state in ``folder``, the sandbox org, every rep's provider."""
    from sandbox.world.emulators import ENV

    sandbox = emulators.salesforce
    lines = [
        "# Written by `syncd demo`: the sandbox org and the demo world's providers.",
        "[state]",
        f"url = {_q('sqlite:///' + str(folder / 'syncd.db'))}",
        "",
        "[service]",
        'log_level = "WARNING"',
        "",
        "[salesforce]",
        f"login_url = {_q(sandbox.url)}",
        'auth = "client_credentials"',
        f"client_id = {_q(sandbox.client_id)}",
        f"client_secret_env = {_q(SECRET_ENV)}",
        f"ca_bundle = {_q(sandbox.ca_bundle)}",
        "",
        "[capture]",
        f"internal_domains = [{_q(world.domain)}]",
        "",
    ]
    for mailbox, path in sorted(world.mailboxes.items()):
        lines += [
            "[[connectors]]",
            'type = "mbox"',
            f"name = {_q('mail-' + mailbox.partition('@')[0])}",
            f"path = {_q(path)}",
            f"mailbox = {_q(mailbox)}",
            "",
        ]
    lines += _provider_connectors(emulators, world)
    lines += [
        "# Deal alerts: the built-in rules, DMs to the owning rep in the Slack sandbox.",
        "[alerts.slack]",
        f"token_env = {_q(ENV['slack'])}",
        'fallback_channel = "#deals"',
        f"api_url = {_q(emulators.slack.api_url)}",
        "",
    ]
    path = folder / "syncd.toml"
    path.write_text("\n".join(lines))
    return path

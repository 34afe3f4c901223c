"""``python -m sandbox serve [--seed DIR] [--port P] [--latency S]``: run the emulators standalone.

Prints ONE JSON line describing every service (``ca_bundle`` plus one entry per service, e.g.
``salesforce``), then serves until SIGTERM or SIGINT and exits 0. Later services add themselves
to :data:`SERVICES`. ``--latency S`` makes every emulator wait S seconds before handling each
request (:mod:`sandbox.latency`), as a network to a real service would; the servers are
threaded, so requests from several clients wait side by side.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any, Protocol

from sandbox import tls
from sandbox.latency import Latency


class Service(Protocol):
    """What ``serve`` needs from an emulator."""

    def stop(self) -> None:
        """Stop serving."""

    def describe_credentials(self) -> dict[str, Any]:
        """Return the URL and credentials a client needs."""


def _salesforce(args: argparse.Namespace, ca: tls.TestCA) -> Service:
    # Imported here so a service's import cost is paid only when it is served.
    from sandbox.salesforce import SalesforceSandbox

    sandbox = SalesforceSandbox(ca=ca, latency=args.latency)
    if args.seed:
        sandbox.seed_csv(args.seed)
    return sandbox.start(port=args.port)


def _google(args: argparse.Namespace, ca: tls.TestCA) -> Service:
    from sandbox.google.server import GoogleSandbox

    return GoogleSandbox(ca=ca, latency=args.latency).start()


def _graph(args: argparse.Namespace, ca: tls.TestCA) -> Service:
    from sandbox.graph.server import GraphSandbox

    return GraphSandbox(ca=ca, latency=args.latency).start()


def _slack(args: argparse.Namespace, ca: tls.TestCA) -> Service:
    from sandbox.slack import SlackSandbox

    return SlackSandbox(latency=Latency(args.latency)).start()


class _Dialer:
    """A dialer emulator with the credentials its connector's config names."""

    def __init__(self, server: Any, fields: tuple[str, ...]) -> None:
        self.server = server
        self.fields = fields
        self.latency: Latency = server.latency

    def stop(self) -> None:
        self.server.stop()

    def describe_credentials(self) -> dict[str, Any]:
        return {"url": self.server.url} | {f: getattr(self.server, f) for f in self.fields}


def _dialer(cls_path: str, fields: tuple[str, ...]) -> Callable[..., Service]:
    def factory(args: argparse.Namespace, ca: tls.TestCA) -> Service:
        import importlib

        module, _, name = cls_path.rpartition(".")
        cls = getattr(importlib.import_module(module), name)
        server = cls(ca=ca, latency=args.latency).start()
        return _Dialer(server, fields)

    return factory


#: Service name → factory: every emulator ``serve`` starts, in this order.
SERVICES: dict[str, Callable[[argparse.Namespace, tls.TestCA], Service]] = {
    "salesforce": _salesforce,
    "google": _google,
    "graph": _graph,
    "slack": _slack,
    "aircall": _dialer(
        "sandbox.dialers.aircall.AircallSandbox", ("api_id", "api_token", "webhook_token")
    ),
    "ringcentral": _dialer(
        "sandbox.dialers.ringcentral.RingCentralSandbox", ("client_id", "client_secret", "jwt")
    ),
    "zoom_phone": _dialer(
        "sandbox.dialers.zoom.ZoomPhoneSandbox", ("account_id", "client_id", "client_secret")
    ),
}


def _seconds(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"latency must be >= 0 seconds, not {text}")
    return value


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the emulators until SIGTERM/SIGINT")
    serve.add_argument("--seed", metavar="DIR", help="Data Loader CSVs (<SObject>.csv) to load")
    serve.add_argument("--port", type=int, default=0, help="Salesforce port (default: any free)")
    serve.add_argument(
        "--latency",
        type=_seconds,
        default=0.0,
        metavar="SECONDS",
        help="wait this long before handling every request, in every emulator (default 0)",
    )
    return parser.parse_args(argv)


def serve(args: argparse.Namespace) -> int:
    """Start every service, print the JSON line, wait for a signal, stop them all."""
    ca = tls.default_ca()
    stopping = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopping.set())
    started: dict[str, Service] = {}
    try:
        for name, factory in SERVICES.items():
            started[name] = factory(args, ca)
        line = {"ca_bundle": ca.ca_bundle_path} | {
            name: service.describe_credentials() for name, service in started.items()
        }
        sys.stdout.write(json.dumps(line) + "\n")
        sys.stdout.flush()
        while not stopping.wait(0.5):
            pass
    finally:
        for service in started.values():
            service.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    args = parse_args(argv)
    if args.command == "serve":
        return serve(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())

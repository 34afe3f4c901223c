"""A strict Microsoft Graph (Entra ID + Outlook mail and calendar) emulator.

- :mod:`sandbox.graph.server`   — :class:`GraphSandbox`: HTTPS server, identity provider, tokens
- :mod:`sandbox.graph.routes`   — ``/v1.0`` routes: messages delta, calendarView delta, $batch
- :mod:`sandbox.graph.throttle` — 4 concurrent requests per app and mailbox, a budget per
  10 minutes, 429 + Retry-After, and the record of clients that break the limits
- :mod:`sandbox.graph.data`     — mailboxes, change counters, opaque delta tokens
- :mod:`sandbox.graph.seed`     — building messages and events in Graph's shape; ``seed_demo``
"""

from sandbox.graph.server import GraphSandbox

__all__ = ["GraphSandbox"]

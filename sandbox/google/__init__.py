"""A strict Google Workspace emulator: Gmail v1, Calendar v3, OAuth token endpoint, batch.

Modules: :mod:`~sandbox.google.server` (HTTPS, routing against the discovery documents,
auth, batch dispatch), :mod:`~sandbox.google.auth` (token endpoint), :mod:`~sandbox.google.gmail`,
:mod:`~sandbox.google.calendar`, :mod:`~sandbox.google.batch` (multipart/mixed wire format),
:mod:`~sandbox.google.quota` (units per user per minute), :mod:`~sandbox.google.errors`,
:mod:`~sandbox.google.recurrence` (RRULE/EXDATE expansion on the event's wall clock),
:mod:`~sandbox.google.ics` (load an iCalendar export into a calendar) and
:mod:`~sandbox.google.seed` (``seed_demo`` for the demo world).
"""

from sandbox.google.server import GoogleSandbox

__all__ = ["GoogleSandbox"]

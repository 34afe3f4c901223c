"""Dialer emulators over HTTPS on loopback: RingCentral, Aircall and Zoom Phone.

- :mod:`sandbox.dialers.base` — the shared server: TLS, request counters, injected faults,
  rate-limit windows and the recorder of limit breaches;
- :mod:`sandbox.dialers.ringcentral` — JWT token flow, company call log, Heavy group limit;
- :mod:`sandbox.dialers.aircall` — Basic auth, ``/v1/calls``, leaky bucket, webhook sender;
- :mod:`sandbox.dialers.zoom` — server-to-server OAuth, ``/v2/phone/call_history``;
- :mod:`sandbox.dialers.demo` — ``seed_demo`` for the demo world.
"""

"""Emulators of the outside world over HTTP(S) on loopback.

Salesforce, Google (Gmail, Calendar), Microsoft Graph, Slack and the dialers (Aircall,
RingCentral, Zoom Phone); ``python -m sandbox serve`` starts them all.

Every integration test and ``syncd demo`` run against these. They are strict the way the real
services are, count every call, and can inject faults on demand.
"""

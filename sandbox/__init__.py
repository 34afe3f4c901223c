"""Emulators of the outside world (Salesforce; later Google, Graph, Slack) over HTTPS on loopback.

Every integration test and ``syncd demo`` run against these. They are strict the way the real
services are, count every call, and can inject faults on demand.
"""

"""Connectors: each turns one vendor's API into syncd Activities, and vendor errors into syncd's.

Nothing outside this package imports a vendor client for mail, calendar or phone systems.
"""

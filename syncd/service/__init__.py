"""The daemon: scheduler and drain, leases across workers, health/metrics/status over HTTP.

``syncd run`` builds a :class:`~syncd.service.scheduler.Service` over an :class:`~syncd.app.App`.
"""

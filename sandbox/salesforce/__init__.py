"""A strict Salesforce org emulator over HTTPS on loopback (see :class:`SalesforceSandbox`).

Modules: ``server`` (the running sandbox and its Python API), ``api`` (routing, counting,
budget, faults), ``auth`` (OAuth, SOAP login, sessions), ``schema`` (describe metadata),
``store``/``validate``/``effects`` (records), ``soql``/``query``/``dates`` (SOQL), ``records``
(sObject and collection handlers), ``tooling``, ``faults``, ``seed``.
"""

from sandbox.salesforce.server import SalesforceSandbox

__all__ = ["SalesforceSandbox"]

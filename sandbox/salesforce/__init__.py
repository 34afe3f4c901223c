"""A strict Salesforce org emulator over HTTPS on loopback (see :class:`SalesforceSandbox`).

Modules: ``server`` (the running sandbox and its Python API), ``api`` (routing, call counting,
the API budget, faults), ``wire`` (request/reply shapes), ``auth`` (OAuth, SOAP login,
sessions), ``schema`` and ``objects`` (describe metadata), ``store``, ``validate``, ``values``
and ``effects`` (records, their validation and Salesforce's side effects), ``soql``, ``query``,
``filters`` and ``dates`` (SOQL), ``records`` (sObject and collection handlers), ``composite``,
``tooling``, ``faults``, ``seed``, ``errors``.
"""

from sandbox.salesforce.server import SalesforceSandbox

__all__ = ["SalesforceSandbox"]

"""syncd's Salesforce side: the only package that imports simple_salesforce.

- :mod:`.client`    authentication, the HTTP session (timeouts, TLS), retries, API usage
- :mod:`.errors`    Salesforce and HTTP failures turned into :mod:`syncd.errors`, in one place
- :mod:`.writer`    Task/Event upserts by ``Syncd_Key__c`` through sObject Collections
- :mod:`.directory` the in-memory index of users, contacts, leads, accounts and opportunities
- :mod:`.soql`      SOQL building with every value escaped
- :mod:`.setup`     the ``Syncd_Key__c`` custom field (Tooling API)
- :mod:`.doctor`    reachability, auth, field, permission and budget checks
"""

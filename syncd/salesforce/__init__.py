"""syncd's Salesforce side: the only package that imports simple_salesforce.

- :mod:`.client`    the HTTP session (timeouts, TLS), login, session refresh, retries, API usage
- :mod:`.auth`      credentials and the OAuth token request of each flow
- :mod:`.errors`    Salesforce and HTTP failures turned into :mod:`syncd.errors`, in one place
- :mod:`.writer`    Task/Event upserts by ``Syncd_Key__c`` through sObject Collections
- :mod:`.directory` the in-memory index of users, contacts, leads, accounts and opportunities
- :mod:`.records`   the directory's frozen records; :mod:`.normalize` its look-up keys
- :mod:`.soql`      SOQL building with every value escaped
- :mod:`.setup`     the ``Syncd_Key__c`` custom field (Tooling API)
- :mod:`.doctor`    reachability, auth, field, permission and budget checks
"""

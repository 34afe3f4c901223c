"""Deal signals: inputs read from Salesforce, the built-in rules, and the flag lifecycle."""

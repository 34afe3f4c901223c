"""``syncd demo``: the whole product once, against a seeded world of emulators.

Everything happens in a temporary directory that is removed afterwards. The Salesforce,
Google, Microsoft Graph, RingCentral and Slack emulators start in-process on loopback (one test
CA; their secrets only in environment variables of this process, restored afterwards; see
:mod:`sandbox.world.emulators`). :func:`sandbox.world.build_world` fills the Northwind org and
splits the 20 reps between Google Workspace (gmail + google_calendar), Microsoft 365
(outlook_mail + outlook_calendar) and an mbox import, with threads and meetings shared across
providers, and seeds the reps' calls to contacts in RingCentral. A syncd.toml naming all of
them is written and loaded like an operator's file, the key field is created, one capture pass
runs over every unit (``App.sync``), then the built-in deal rules run the way
``syncd rules run`` runs them, DMing alerts through the Slack sandbox.

The summary counts what was written by kind (emails → EmailMessages, as ``email_as`` "auto"
writes them in the demo org, which has Enhanced Email, or Tasks; calls → Tasks; meetings →
Events), per connector type, skipped by reason, left unmatched or dead-lettered, the
Salesforce calls and vendor requests and quota units it cost, and the flags by rule and alerts
sent: counts only, never addresses or subjects. Logs go to stderr at WARNING
(``SYNCD_DEMO_LOG_LEVEL=INFO`` for more); ``--json`` prints the summary as one JSON object
on stdout.

Modules: :mod:`~syncd.demo.world` (the world as syncd sees it: the config naming every emulator,
and the example config's environment), :mod:`~syncd.demo.run` (seed, capture, run the rules,
summarise), :mod:`~syncd.demo.render` (the summary for people).
"""

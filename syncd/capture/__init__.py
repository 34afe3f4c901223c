"""Capture: raw items → Activity → privacy filter → key (matching and planning build on these).

The pure parts of the capture pipeline live here: :mod:`.normalize` (and its per-kind
modules), :mod:`.privacy`, :mod:`.keys` and :mod:`.addresses`. Import from those modules.
"""

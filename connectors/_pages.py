"""Reading a vendor's listing page: its array by the documented key, or a visible error.

:func:`page_items` returns the array under the first of the keys the vendor documents, and
raises :class:`~syncd.errors.Permanent` when the page has none of them. A vendor renaming its
list (Zoom's ``call_logs`` became ``call_history``) must stop capture loudly: read as an empty
page, it would lose every item from then on, silently. Every paged connector reads its pages
through it (the phone connectors, the Outlook deltas).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from syncd.errors import Permanent

__all__ = ["page_items"]


def page_items(body: Any, keys: tuple[str, ...], what: str) -> list[Any]:
    """The array a listing page holds under the first of ``keys`` present; Permanent if none.

    An array under none of the documented keys is not an empty page: the vendor changed the
    shape, and reading it as empty would lose every call from then on, silently.
    """
    if isinstance(body, Mapping):
        for key in keys:
            value = body.get(key)
            if isinstance(value, list):
                return value
    named = " or ".join(f"'{k}'" for k in keys)
    raise Permanent(f"{what}: the page has no {named} array", code="UNEXPECTED_PAGE")

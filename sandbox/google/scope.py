"""OAuth scopes as Google enforces them: per method, and under ``gmail.metadata`` per parameter.

A method answers only a token holding one of the scopes its discovery document lists;
otherwise 403 ``insufficientPermissions`` ("Request had insufficient authentication scopes.").
https://developers.google.com/workspace/gmail/api/auth/scopes

``gmail.metadata`` reads labels and headers, never bodies or search: ``users.messages.list``
(and ``users.threads.list``) with ``q`` is refused with 403 "Metadata scope does not support 'q'
parameter", and ``users.messages.get``/``users.threads.get`` with ``format=full|raw`` with 403
"Metadata scope doesn't allow format FULL|RAW". Gmail refuses them whenever the token carries
the metadata scope, even beside ``gmail.readonly``, so the checks below look at the scope being
present, not at it being the only one.
https://developers.google.com/workspace/gmail/api/reference/rest/v1/users.messages/list (``q``:
"Parameter cannot be used when accessing the api using the gmail.metadata scope.")
https://developers.google.com/workspace/gmail/api/reference/rest/v1/users.messages/get
"""

from __future__ import annotations

from sandbox.google.errors import ApiError

GMAIL_METADATA = "https://www.googleapis.com/auth/gmail.metadata"
_NO_QUERY = {"gmail.users.messages.list", "gmail.users.threads.list"}
_NO_BODY = {"gmail.users.messages.get", "gmail.users.threads.get"}


def check(
    method_id: str, wanted: frozenset[str], granted: frozenset[str], query: dict[str, list[str]]
) -> None:
    """Raise the 403 Google answers when ``granted`` may not call ``method_id`` this way."""
    if wanted and not wanted & granted:
        raise ApiError(
            403, "insufficientPermissions", "Request had insufficient authentication scopes."
        )
    if GMAIL_METADATA not in granted:
        return
    if method_id in _NO_QUERY and query.get("q"):
        raise ApiError(403, "forbidden", "Metadata scope does not support 'q' parameter")
    fmt = (query.get("format") or ["full"])[0].lower()
    if method_id in _NO_BODY and fmt in ("full", "raw"):
        raise ApiError(403, "forbidden", f"Metadata scope doesn't allow format {fmt.upper()}")

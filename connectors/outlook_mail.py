"""Outlook mail through Microsoft Graph delta queries, one delta per folder.

For each mailbox, ``/users/{mailbox}/mailFolders/{folder}/messages/delta`` for every configured
folder (Inbox and Sent Items by default), with ``$select`` of only what syncd reads and
``Prefer: odata.maxpagesize=<limit>, IdType="ImmutableId"`` (ids that survive moves). The
first round is bounded by the backfill window with ``$filter=receivedDateTime ge …`` (Graph
keeps the filter inside its links). ``@odata.nextLink`` is followed page by page to the
``@odata.deltaLink``; the next incremental round starts from that delta link.

Cursor: ``graph-mail:1:`` + base64url JSON ``[[folder, phase, link], …]``. ``phase`` is
``start`` (not yet listed), ``next`` (``link`` is a nextLink mid-round), ``delta`` (the round
finished; ``link`` is its deltaLink) or ``pending`` (a new round will resume from ``link``).
One pull fills up to ``limit`` items across folders in order. The runner stores the cursor only
after the batch is written, so the delta link is saved only once what precedes it is in
Salesforce. An expired delta link (410 ``syncStateNotFound``) raises CursorExpired and the
runner does a bounded full resync; keys make the repeats harmless.

Keys: the internet Message-ID (``internetMessageId``) gives the same ``em:`` key as Gmail's
``Message-ID`` header, so a thread between a Google and a Microsoft user is one record.

Headers: ``internetMessageHeaders`` (List-Unsubscribe, Precedence, Auto-Submitted, In-Reply-To)
is returned only on GET of a single message, never in delta. Fetching it costs requests:
with ``fetch_headers = true`` each page's messages are read through ``$batch`` (20 per
request, ≤4 in parallel), about one extra request per 20 messages; by default (false) the
privacy filter works from addresses, folders and subjects alone.

Meetings: a delta item typed ``eventMessageRequest`` or ``eventMessage`` (a meeting request or
cancellation) is read once more, in the same ``$batch`` as the headers, for its
``meetingMessageType`` and its ``event``, and becomes that meeting
(:mod:`connectors._graph_invitations`): one extra request per such message.
"""

from __future__ import annotations

import base64
import binascii
import email.utils
import json
from collections.abc import Mapping
from typing import Any, ClassVar

from connectors._graph import GraphClient, GraphSettings, series_uids
from connectors._graph_invitations import is_meeting_message, lookup_path, masters_of, meeting
from connectors._pages import page_items
from connectors.base import Connector, ConnectorContext, register
from syncd.capture.item_guard import guard
from syncd.capture.normalize import Origin
from syncd.capture.normalize_calendar import parse_when
from syncd.capture.normalize_email import normalize_email
from syncd.config import ConnectorSettings
from syncd.config.types import Tuple
from syncd.errors import CursorExpired
from syncd.model import Activity, Batch, Email, Meeting, Skip, SkipReason

_PREFIX = "graph-mail:1:"
_SELECT = (
    "id,internetMessageId,subject,from,toRecipients,ccRecipients,bccRecipients,"
    "receivedDateTime,sentDateTime,conversationId,isDraft,parentFolderId"
)
#: Folder names (well-known) as the privacy filter's labels understand them.
_LABELS = {"sentitems": "sent", "junkemail": "junkemail", "deleteditems": "deleteditems"}


class OutlookMailSettings(GraphSettings):
    """``[[connectors]] type = "outlook_mail"``."""

    folders: Tuple[str] = ("inbox", "sentitems")
    fetch_headers: bool = False


def _addr(value: Any) -> str | None:
    if not isinstance(value, Mapping):
        return None
    inner = value.get("emailAddress")
    if not isinstance(inner, Mapping) or not inner.get("address"):
        return None
    return email.utils.formataddr((str(inner.get("name") or ""), str(inner["address"])))


def message_headers(message: Mapping[str, Any]) -> dict[str, list[str]]:
    """A Graph message (delta shape) as the header mapping ``normalize_email`` reads."""
    headers: dict[str, list[str]] = {}
    sender = _addr(message.get("from"))
    if sender:
        headers["From"] = [sender]
    for name, prop in (("To", "toRecipients"), ("Cc", "ccRecipients"), ("Bcc", "bccRecipients")):
        people = [a for a in (_addr(r) for r in message.get(prop) or ()) if a]
        if people:
            headers[name] = [", ".join(people)]
    if message.get("subject"):
        headers["Subject"] = [str(message["subject"])]
    if message.get("internetMessageId"):
        headers["Message-ID"] = [str(message["internetMessageId"])]
    for raw in message.get("internetMessageHeaders") or ():
        name = raw.get("name") if isinstance(raw, Mapping) else None
        if name and name.lower() not in {"from", "to", "cc", "bcc", "subject", "message-id"}:
            headers.setdefault(str(name), []).append(str(raw.get("value", "")))
    return headers


def encode_cursor(state: list[list[Any]]) -> str:
    """The opaque cursor for per-folder ``[folder, phase, link]`` state."""
    raw = json.dumps(state, separators=(",", ":")).encode()
    return _PREFIX + base64.urlsafe_b64encode(raw).decode()


def decode_cursor(cursor: str, folders: tuple[str, ...], graph_url: str) -> list[list[Any]]:
    """Inverse of :func:`encode_cursor`, checked against the configured folders and host."""
    if not cursor.startswith(_PREFIX):
        raise CursorExpired("not an Outlook mail cursor")
    try:
        state = json.loads(base64.urlsafe_b64decode(cursor[len(_PREFIX) :].encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise CursorExpired("garbled Outlook mail cursor") from exc
    ok = isinstance(state, list) and [s[0] for s in state if isinstance(s, list)] == list(folders)
    for entry in state if ok else ():
        phase, link = entry[1], entry[2]
        if phase not in ("start", "next", "delta", "pending") or (
            phase != "start" and not str(link).startswith(graph_url.rstrip("/") + "/")
        ):
            ok = False
    if not ok:
        raise CursorExpired("the Outlook mail cursor does not match the configured folders")
    return state


@register
class OutlookMailConnector(Connector):
    """Outlook mail of each configured mailbox, through per-folder delta queries."""

    type: ClassVar[str] = "outlook_mail"
    kinds: ClassVar[frozenset[str]] = frozenset({"email", "meeting"})
    settings_model: ClassVar[type[ConnectorSettings]] = OutlookMailSettings
    page_size: ClassVar[int] = 100
    cursor_kind: ClassVar[str] = "Graph delta/next link per folder"
    quota_cost_per_call: ClassVar[int] = 1

    def __init__(
        self, settings: ConnectorSettings, context: ConnectorContext | None = None, **client: Any
    ) -> None:
        super().__init__(settings, context)
        assert isinstance(settings, OutlookMailSettings)
        self._settings = settings
        client.setdefault("sleep", self.context.sleep)
        self.client = GraphClient(settings, clock=self.context.clock, **client)

    def mailboxes(self) -> list[str]:
        """The configured mailboxes (``salesforce_users`` is resolved by the app)."""
        configured = self.settings.mailboxes
        return list(configured) if isinstance(configured, tuple) else []

    def _first_request(self, mailbox: str, folder: str) -> tuple[str, dict[str, str]]:
        start = self.context.backfill_start().strftime("%Y-%m-%dT%H:%M:%SZ")
        url = f"{self._settings.graph_url.rstrip('/')}/users/{mailbox}/mailFolders/{folder}"
        params = {"$select": _SELECT, "$filter": f"receivedDateTime ge {start}"}
        return url + "/messages/delta", params

    def pull(self, mailbox: str, cursor: str | None, *, limit: int | None = None) -> Batch:
        """Up to ``limit`` messages across the folders' delta pages after ``cursor``."""
        folders = tuple(f.lower() for f in self._settings.folders)
        if cursor is None:
            state: list[list[Any]] = [[f, "start", None] for f in folders]
        else:
            state = decode_cursor(cursor, folders, self._settings.graph_url)
        if all(entry[1] == "delta" for entry in state):
            state = [[f, "pending", link] for f, _, link in state]  # a new incremental round
        room = max(1, limit or self.page_size)
        activities: list[Activity] = []
        skips: list[Skip] = []
        pages = 0
        for entry in state:
            if room <= 0:
                break
            while entry[1] != "delta" and room > 0:
                folder, phase, link = entry
                if phase == "start":
                    url, params = self._first_request(mailbox, folder)
                else:
                    url, params = link, None
                page = self.client.get(
                    mailbox,
                    url,
                    params=params,
                    headers={"Prefer": f'odata.maxpagesize={room}, IdType="ImmutableId"'},
                    what="Outlook messages delta",
                )
                pages += 1
                found, skipped = self.normalise(
                    mailbox, folder, page_items(page, ("value",), "Outlook messages delta")
                )
                activities += found
                skips += skipped
                room -= len(found) + len(skipped)
                if page.get("@odata.nextLink"):
                    entry[1], entry[2] = "next", page["@odata.nextLink"]
                elif page.get("@odata.deltaLink"):
                    entry[1], entry[2] = "delta", page["@odata.deltaLink"]
                else:
                    raise CursorExpired("Graph delta page without a next or delta link")
        more = any(entry[1] != "delta" for entry in state)
        self.log.info(
            "outlook mail pull: %d activities, %d skipped, %d pages",
            len(activities),
            len(skips),
            pages,
        )
        return Batch(
            activities=tuple(activities),
            skips=tuple(skips),
            next_cursor=encode_cursor(state),
            more=more,
        )

    def normalise(
        self, mailbox: str, folder: str, items: list[Any]
    ) -> tuple[list[Activity], list[Skip]]:
        """Delta items of one folder → activities and named skips (``@removed`` ignored)."""
        origin = self.context.origin(self.name, mailbox)
        live = [m for m in items if isinstance(m, Mapping) and "@removed" not in m]
        headers = self._settings.fetch_headers
        paths: dict[str, str] = {}
        for m in live:
            mid = str(m.get("id"))
            if is_meeting_message(m):  # one lookup reads its kind, its event (and headers)
                paths[mid] = lookup_path(mailbox, mid, headers=headers)
            elif headers:
                paths[mid] = f"/users/{mailbox}/messages/{mid}?$select=internetMessageHeaders"
        bodies = self.client.batch_get(mailbox, paths.values()) if paths else {}
        extra = {mid: bodies.get(path) or {} for mid, path in paths.items()}
        meetings = {mid for mid, body in extra.items() if "meetingMessageType" in body}
        series = series_uids(self.client, mailbox, masters_of(extra[m] for m in meetings))
        window = self.context.backfill_start()
        activities: list[Activity] = []
        skips: list[Skip] = []
        for message in items:
            if not isinstance(message, Mapping):
                skips.append(Skip("?", SkipReason.UNPARSEABLE, "message is not an object"))
                continue
            if "@removed" in message:
                continue  # a deleted message: what was captured stays captured
            mid = str(message.get("id") or "?")
            if mid in meetings:
                found = guard(
                    mid, lambda i=mid: meeting(extra[i], origin, source_id=i, series=series)
                )
                if isinstance(found, Meeting) and found.occurred_at < window:
                    found = Skip(mid, SkipReason.OUTSIDE_WINDOW, key=found.key)  # as gmail, mbox
                if found is not None:
                    (skips if isinstance(found, Skip) else activities).append(found)  # type: ignore[arg-type]
                    continue
            result = guard(mid, lambda m=message, i=mid: self._message(m, i, folder, extra, origin))
            if isinstance(result, Skip):
                skips.append(result)
            else:
                activities.append(result)
        return activities, skips

    def _message(
        self,
        message: Mapping[str, Any],
        mid: str,
        folder: str,
        extra: Mapping[str, Any],
        origin: Origin,
    ) -> Email | Skip:
        """One Graph message → Email or Skip; receivedDateTime stands in for a future Date."""
        merged = {**message, **(extra.get(mid) or {})}
        labels = [_LABELS.get(folder, folder)] + (["draft"] if message.get("isDraft") else [])
        headers = message_headers(merged)
        when = message.get("sentDateTime") or message.get("receivedDateTime")
        if when and isinstance(when, str):
            try:
                at, _ = parse_when(when)
                headers["Date"] = [email.utils.format_datetime(at)]
            except ValueError:
                pass  # normalize_email names the missing date
        received = None
        if isinstance(message.get("receivedDateTime"), str):
            try:
                received = parse_when(message["receivedDateTime"])[0]
            except ValueError:
                received = None
        return normalize_email(
            headers,
            origin,
            source_id=mid,
            thread_id=message.get("conversationId"),
            labels=labels,
            received_at=received,
        )

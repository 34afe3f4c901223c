"""Gmail: a bounded full sync, then history-based increments, metadata only, batched.

Full sync (``cursor=None``): ``users.getProfile`` first, for the ``historyId`` the increments
will start from (so mail arriving during the listing is caught by them), then
``users.messages.list(includeSpamTrash=False)``, one page per pull, and
``users.messages.get(format="metadata")`` with only the headers syncd reads, sent in batches of
≤50. syncd asks for the ``gmail.metadata`` scope only, and under it Gmail refuses ``q`` (403
"Metadata scope does not support 'q' parameter", even when the token holds another scope too:
https://developers.google.com/workspace/gmail/api/reference/rest/v1/users.messages/list), so the
backfill window is cut on our side: Gmail lists newest first, so the listing stops after the
first page holding a message whose ``internalDate`` is before the window (those are skipped as
``outside_window``). Drafts and chats are listed too and dropped once fetched. Increments:
``users.history.list(startHistoryId, historyTypes=["messageAdded"])``, one page per pull; a 404
for a start id Gmail no longer keeps raises ``CursorExpired`` (the runner then runs a bounded
full sync and counts it).

Quotas: every call first takes its units from a per-user and a per-project token bucket shared
by the whole process (:mod:`connectors._google_quota`), sized by ``quota_user_per_minute`` and
``quota_project_per_minute``, so the connector paces itself instead of collecting 403/429s; a
quota answer that still comes is retried and then gives the mailbox back for the next pass,
never a skip or a dead letter.

Invitations: under the default ``gmail.metadata`` scope no part's content can be read, so an
invitation mail is an email (the invitee's calendar connector captures the meeting). With
``scope = "readonly"`` (``gmail.readonly`` instead) each multipart or ``text/calendar``
message costs one more ``messages.get(format="raw")``, 5 units, and a ``text/calendar`` part
with METHOD:REQUEST or CANCEL makes it the meeting (:mod:`syncd.capture.invitations`).

SPAM, TRASH, DRAFT and CHAT are never captured (checked again on each fetched message);
``SENT`` marks a message outbound. Quota units are counted per mailbox: :meth:`quota_used`.

Cursor: ``gmail:1:full:<historyId>:<after epoch>:<page token|->`` during the full listing,
``gmail:1:hist:<historyId>:<page token|->`` afterwards. Page tokens are Gmail's own.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal

from pydantic import Field

from connectors._google import (
    Caller,
    GoogleSettings,
    QuotaMeter,
    build_service,
    credentials_for,
)
from connectors._google_quota import QuotaPacer, project_of
from connectors.base import Connector, ConnectorContext, register
from syncd.capture.invitations import invitation
from syncd.capture.item_guard import guard
from syncd.capture.normalize_email import normalize_email
from syncd.config import ConnectorSettings
from syncd.errors import CursorExpired, Permanent, SyncdError
from syncd.model import Activity, Batch, Direction, Email, Skip, SkipReason

#: internalDate (epoch milliseconds) at 10000-01-01: anything later is not a date.
_MAX_EPOCH_MS = 253_402_300_800_000
#: ``scope`` setting → the OAuth scope asked for. Metadata (headers only) is the default.
SCOPES = {
    "metadata": ["https://www.googleapis.com/auth/gmail.metadata"],
    "readonly": ["https://www.googleapis.com/auth/gmail.readonly"],
}
#: A calendar part can only be the whole message or inside a multipart one.
_MAY_INVITE = ("multipart/", "text/calendar")
METADATA_HEADERS = [
    "From", "To", "Cc", "Subject", "Date", "Message-ID", "In-Reply-To", "References",
    "List-Unsubscribe", "List-Id", "Precedence", "Auto-Submitted", "Content-Type",
]  # fmt: skip
NEVER_CAPTURED = frozenset({"SPAM", "TRASH", "DRAFT", "CHAT"})
UNITS = {"getProfile": 1, "messages.list": 5, "messages.get": 5, "history.list": 2}
_CURSOR = re.compile(r"^gmail:1:(full:(\d{1,20}):(\d{1,12})|hist:(\d{1,20})):([A-Za-z0-9_\-=]+)$")


class GmailSettings(GoogleSettings):
    """``[[connectors]] type = "gmail"``: the shared Google keys and the quota figures.

    Defaults are Google's current figures for a new Cloud project
    (https://developers.google.com/workspace/gmail/api/reference/quota): 1,200,000 units per
    project per minute and 6,000 per user per minute (projects older than May 2026 may keep
    15,000 per user). Set them to the project's figures, divided between processes sharing it.
    """

    scope: Literal["metadata", "readonly"] = "metadata"
    quota_user_per_minute: int = Field(default=6_000, gt=0)
    quota_project_per_minute: int = Field(default=1_200_000, gt=0)


def normalize_message(message: dict[str, Any], origin: Any, mid: str) -> Activity | Skip | None:
    """One ``users.messages.get`` answer → an activity, a named skip, or None (never captured)."""
    labels = list(message.get("labelIds", []))
    if NEVER_CAPTURED & set(labels):
        return None
    headers: dict[str, list[str]] = {}
    for header in message.get("payload", {}).get("headers", []):
        if isinstance(header, dict) and "name" in header:
            headers.setdefault(str(header["name"]), []).append(str(header.get("value", "")))
    received = None
    raw_date = str(message.get("internalDate", ""))
    if raw_date.isdigit() and int(raw_date) < _MAX_EPOCH_MS:
        received = datetime.fromtimestamp(int(raw_date) / 1000, UTC)
    result = normalize_email(
        headers,
        origin,
        source_id=mid,
        thread_id=message.get("threadId"),
        labels=labels,
        received_at=received,
    )
    if isinstance(result, Email) and "SENT" in labels and result.direction != Direction.OUTBOUND:
        # Gmail's SENT label is authoritative: the mailbox owner sent it (send-as aliases
        # are not always in the internal list).
        return result.replace(direction=Direction.OUTBOUND)
    return result


@register
class GmailConnector(Connector):
    """One Gmail connector for every configured mailbox of a Workspace domain."""

    type: ClassVar[str] = "gmail"
    # Meetings: invitations, read under scope = "readonly" only.
    kinds: ClassVar[frozenset[str]] = frozenset({"email", "meeting"})
    settings_model: ClassVar[type[ConnectorSettings]] = GmailSettings
    # 400, not Gmail's maximum of 500: a page is one batch written to Salesforce, and 400 fills
    # two 200-record collection calls exactly (500 would cost 200 + 200 + 100: 3 calls).
    page_size: ClassVar[int] = 400
    cursor_kind: ClassVar[str] = "gmail historyId (+ messages.list page during a full sync)"
    quota_cost_per_call: ClassVar[int] = 5

    def __init__(
        self,
        settings: ConnectorSettings,
        context: ConnectorContext | None = None,
        *,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        super().__init__(settings, context)
        self.caller = Caller(sleep=sleep or self.context.sleep)
        self.meter = QuotaMeter(UNITS)
        self.pacer = QuotaPacer(
            self._settings.quota_user_per_minute,
            self._settings.quota_project_per_minute,
            self.context.now,
            sleep or self.context.sleep,
            time_source=self.context.clock,
        )
        self._services: dict[str, tuple[Any, str]] = {}
        self._projects: dict[str, str] = {}

    @property
    def _settings(self) -> GmailSettings:
        assert isinstance(self.settings, GmailSettings)
        return self.settings

    def mailboxes(self) -> list[str]:
        """The configured mailboxes, or the Salesforce users' when set to that."""
        configured = self.settings.mailboxes
        if configured == "salesforce_users":
            return sorted(self.context.user_addresses())
        return list(configured)

    def quota_used(self, mailbox: str) -> int:
        """Gmail quota units this connector has spent on ``mailbox`` since it started."""
        return self.meter.used[mailbox]

    def _service(self, mailbox: str) -> tuple[Any, str]:
        if mailbox not in self._services:
            creds = credentials_for(self._settings, mailbox, SCOPES[self._settings.scope])
            self._projects[mailbox] = project_of(creds)
            self._services[mailbox] = build_service(self._settings, creds, "gmail", "v1")
        return self._services[mailbox]

    def _pace(self, mailbox: str, method: str, n: int = 1) -> None:
        """Wait until Gmail's per-user and per-project minutes allow ``n`` calls of ``method``."""
        self._service(mailbox)
        self.pacer.take(self._projects[mailbox], mailbox, UNITS[method] * n)

    def pull(self, mailbox: str, cursor: str | None, *, limit: int | None = None) -> Batch:
        """One page of the full listing or of history, fetched and normalised."""
        size = max(1, min(limit or self.page_size, 500))
        service, _ = self._service(mailbox)
        users = service.users()
        if cursor is None:
            self._pace(mailbox, "getProfile")
            profile = self.caller.execute(users.getProfile(userId="me"))
            self.meter.charge(mailbox, "getProfile")
            history_id = str(profile["historyId"])
            after = int(self.context.backfill_start().timestamp())
            return self._full(mailbox, history_id, after, None, size)
        match = _CURSOR.match(cursor)
        if match is None:
            raise CursorExpired("not a gmail cursor")
        token = None if match.group(5) == "-" else match.group(5)
        if match.group(2) is not None:
            return self._full(mailbox, match.group(2), int(match.group(3)), token, size)
        return self._history(mailbox, match.group(4), token, size)

    def _full(
        self, mailbox: str, history_id: str, after: int, token: str | None, size: int
    ) -> Batch:
        users = self._service(mailbox)[0].users()
        request = users.messages().list(
            userId="me", includeSpamTrash=False, maxResults=size, pageToken=token
        )
        self._pace(mailbox, "messages.list")
        page = self.caller.execute(request)
        self.meter.charge(mailbox, "messages.list")
        ids = [m["id"] for m in page.get("messages", [])]
        activities, skips, oldest = self._fetch(mailbox, ids)
        # Newest first: once a message older than the window is seen, the rest are older too.
        following = page.get("nextPageToken") if oldest is None or oldest >= after else None
        if following:
            nxt = f"gmail:1:full:{history_id}:{after}:{following}"
        else:
            nxt = f"gmail:1:hist:{history_id}:-"
        return self._batch(mailbox, activities, skips, nxt, bool(following), "full")

    def _history(self, mailbox: str, history_id: str, token: str | None, size: int) -> Batch:
        users = self._service(mailbox)[0].users()
        request = users.history().list(
            userId="me",
            startHistoryId=history_id,
            historyTypes=["messageAdded"],
            maxResults=size,
            pageToken=token,
        )
        self._pace(mailbox, "history.list")
        page = self.caller.execute(request, expired_status=404)
        self.meter.charge(mailbox, "history.list")
        ids: list[str] = []
        for record in page.get("history", []):
            for added in record.get("messagesAdded", []):
                message = added.get("message", {})
                if NEVER_CAPTURED & set(message.get("labelIds", [])):
                    continue  # not worth a get: it would be dropped anyway
                if message.get("id") and message["id"] not in ids:
                    ids.append(message["id"])
        activities, skips, _ = self._fetch(mailbox, ids)
        following = page.get("nextPageToken")
        if following:
            nxt = f"gmail:1:hist:{history_id}:{following}"
        else:
            nxt = f"gmail:1:hist:{page.get('historyId', history_id)}:-"
        return self._batch(mailbox, activities, skips, nxt, bool(following), "history")

    def _fetch(self, mailbox: str, ids: list[str]) -> tuple[list[Activity], list[Skip], int | None]:
        """Fetch and normalise ``ids``; also the oldest ``internalDate`` seen (epoch seconds)."""
        if not ids:
            return [], [], None
        service, batch_uri = self._service(mailbox)
        messages = service.users().messages()
        requests = [
            (mid, messages.get(userId="me", id=mid, format="metadata",
                               metadataHeaders=METADATA_HEADERS))
            for mid in ids
        ]  # fmt: skip
        results = self.caller.batch(
            batch_uri, requests, before=lambda n: self._pace(mailbox, "messages.get", n)
        )
        self.meter.charge(mailbox, "messages.get", len(ids))
        raws = self._invitation_parts(mailbox, results)
        origin = self.context.origin(self.name, mailbox)
        window = self.context.backfill_start()
        activities: list[Activity] = []
        skips: list[Skip] = []
        oldest: int | None = None
        for mid in ids:
            result = results.get(mid)
            if isinstance(result, dict) and str(result.get("internalDate", "")).isdigit():
                seconds = int(result["internalDate"]) // 1000
                oldest = seconds if oldest is None else min(oldest, seconds)
            if isinstance(result, Permanent) and result.code == "notFound":
                continue  # deleted between listing and fetching: nothing to capture
            if isinstance(result, SyncdError) and not isinstance(result, Permanent):
                raise result
            if isinstance(result, Permanent) or not isinstance(result, dict):
                skips.append(Skip(mid, SkipReason.UNPARSEABLE, "gmail refused the message"))
                continue
            item = guard(mid, lambda r=result, m=mid: normalize_message(r, origin, m))
            if item is None:
                continue
            if mid in raws:
                meeting = guard(mid, lambda m=mid: invitation(raws[m], origin, source_id=m))
                item = meeting if meeting is not None else item
            if isinstance(item, Skip):
                skips.append(item)
            elif item.occurred_at < window:
                skips.append(Skip(mid, SkipReason.OUTSIDE_WINDOW, key=item.key))
            else:
                activities.append(item)
        return activities, skips, oldest

    def _invitation_parts(self, mailbox: str, results: dict[str, Any]) -> dict[str, bytes]:
        """Under ``scope = "readonly"``: the MIME of each message that may carry an invitation.

        One more ``messages.get(format="raw")`` (5 units) per multipart or text/calendar
        message; none under the metadata scope, which never gives a part's content.
        """
        if self._settings.scope != "readonly":
            return {}
        wanted = [
            mid
            for mid, result in results.items()
            if isinstance(result, dict)
            and any(
                str(h.get("value", "")).strip().lower().startswith(_MAY_INVITE)
                for h in result.get("payload", {}).get("headers", [])
                if isinstance(h, dict) and str(h.get("name", "")).lower() == "content-type"
            )
        ]
        if not wanted:
            return {}
        service, batch_uri = self._service(mailbox)
        messages = service.users().messages()
        requests = [(mid, messages.get(userId="me", id=mid, format="raw")) for mid in wanted]
        answers = self.caller.batch(
            batch_uri, requests, before=lambda n: self._pace(mailbox, "messages.get", n)
        )
        self.meter.charge(mailbox, "messages.get", len(wanted))
        raws: dict[str, bytes] = {}
        for mid, answer in answers.items():
            if isinstance(answer, SyncdError) and not isinstance(answer, Permanent):
                raise answer  # a quota answer: the mailbox waits for the next pass
            if isinstance(answer, dict) and isinstance(answer.get("raw"), str):
                raws[mid] = base64.urlsafe_b64decode(
                    answer["raw"] + "=" * (-len(answer["raw"]) % 4)
                )
        return raws

    def _batch(
        self,
        mailbox: str,
        activities: list[Activity],
        skips: list[Skip],
        next_cursor: str,
        more: bool,
        phase: str,
    ) -> Batch:
        self.log.info(
            "gmail pull (%s): %d activities, %d skipped, %d quota units used so far",
            phase,
            len(activities),
            len(skips),
            self.meter.used[mailbox],
            extra={"connector": self.name, "quota_units": self.meter.used[mailbox]},
        )
        return Batch(tuple(activities), tuple(skips), next_cursor, more)

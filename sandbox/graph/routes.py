"""The Graph sandbox's ``/v1.0`` routes: mail delta, calendarView delta, single GETs, $batch.

Strict where Graph is strict: unknown query options and unknown ``$select`` properties are
400, a ``$filter`` other than ``receivedDateTime ge|gt <time>`` on messages delta is 400,
calendarView delta without ``startDateTime``/``endDateTime`` is 400, a ``$batch`` of more than
20 requests is 400, an unknown, garbled or expired delta/skip token is 410
``syncStateNotFound``. ``Prefer: odata.maxpagesize=N`` sets the page size (default 10, as for
messages) and is echoed in ``Preference-Applied``.

``internetMessageHeaders`` is returned only on GET of a single message with ``$select``, as
Graph documents; in delta it is silently left out.

Meeting requests and cancellations are ``eventMessage`` items (``@odata.type`` on every
listing, derived properties selected by type cast, the ``event`` navigation by ``$expand`` or
path): :mod:`sandbox.graph.event_messages`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from werkzeug.wrappers import Request, Response

from sandbox.graph import event_messages
from sandbox.graph.data import Item, Mailbox, SyncStateGone, parse_time
from sandbox.graph.shapes import event_view, list_items, message_view
from sandbox.graph.throttle import Verdict

if TYPE_CHECKING:
    from sandbox.graph.server import GraphSandbox

MESSAGE_PROPS = {
    "id",
    "internetMessageId",
    "subject",
    "from",
    "sender",
    "toRecipients",
    "ccRecipients",
    "bccRecipients",
    "replyTo",
    "receivedDateTime",
    "sentDateTime",
    "conversationId",
    "isDraft",
    "isRead",
    "parentFolderId",
    "internetMessageHeaders",
    "bodyPreview",
    "body",
    "categories",
    "hasAttachments",
    "importance",
}
EVENT_PROPS = {
    "id",
    "iCalUId",
    "subject",
    "start",
    "end",
    "isAllDay",
    "isCancelled",
    "organizer",
    "attendees",
    "location",
    "sensitivity",
    "type",
    "seriesMasterId",
    "originalStart",
    "originalStartTimeZone",
    "showAs",
    "responseStatus",
    "bodyPreview",
    "body",
    "importance",
    "isOrganizer",
    "recurrence",
    "responseRequested",
    "webLink",
    "onlineMeeting",
    "onlineMeetingProvider",
    "hasAttachments",
}
FOLDERS = {"inbox", "sentitems", "drafts", "deleteditems", "junkemail", "archive"}
DEFAULT_PAGE = 10
MAX_PAGE = 1000
_FILTER = re.compile(r"^receivedDateTime\s+(ge|gt)\s+(\S+)$", re.IGNORECASE)
_PREFER_PAGE = re.compile(r"odata\.maxpagesize\s*=\s*(\d+)", re.IGNORECASE)


class GraphError(Exception):
    """A Graph error response: status, code and message."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        """Graph's error envelope."""
        return {"error": {"code": self.code, "message": self.message}}


def _bad(message: str, code: str = "BadRequest") -> GraphError:
    return GraphError(400, code, message)


def _select(body: dict[str, Any], props: set[str] | None, allowed: set[str]) -> dict[str, Any]:
    if props is None:
        return {k: v for k, v in body.items() if k != "internetMessageHeaders"}
    if allowed is MESSAGE_PROPS:
        allowed = event_messages.selectable(allowed)
    picked = (event_messages.pick(body, p) for p in props | {"id"} if p in allowed)
    out = dict(p for p in picked if p is not None)
    for note in ("@odata.type", "@odata.etag"):  # sent whatever $select says
        if note in body:
            out = {note: body[note]} | out
    return out


def _parse_select(value: str | None, allowed: set[str]) -> set[str] | None:
    if value is None:
        return None
    props = {p.strip() for p in value.split(",") if p.strip()}
    if allowed is MESSAGE_PROPS:
        allowed = event_messages.selectable(allowed)
    unknown = sorted(props - allowed)
    if unknown:
        raise _bad(f"Could not find a property named '{unknown[0]}' on type 'message'.")
    return props


class Routes:
    """Dispatches ``/v1.0`` paths for one sandbox; also used for each $batch member."""

    def __init__(self, sandbox: GraphSandbox) -> None:
        self.sb = sandbox

    def _count(self, kind: str) -> None:
        with self.sb._lock:
            self.sb.requests[kind] += 1

    def handle(self, request: Request, path: str) -> Response:
        """Authenticate, then serve one request or one $batch."""
        from sandbox.graph.server import json_response

        try:
            app = self.sb.bearer_app(request)
            if path == "/$batch" and request.method == "POST":
                self._count("batch")
                return json_response(200, self._batch(app, request))
            query = dict(parse_qsl(urlsplit(request.url).query, keep_blank_values=True))
            status, body, headers = self.dispatch(app, request.method, path, query, request.headers)
            return json_response(status, body, headers)
        except GraphError as exc:
            return json_response(exc.status, exc.body(), exc.headers)

    def dispatch(
        self,
        app: str,
        method: str,
        path: str,
        query: dict[str, str],
        headers: Any,
        *,
        in_batch: bool = False,
    ) -> tuple[int, Any, dict[str, str]]:
        """One mailbox request under the throttle: (status, body, headers).

        ``in_batch``: a ``$batch`` member already holding one of the slots :meth:`_batch`
        reserved, so only the budget and injected faults apply to it.
        """
        mailbox = self._mailbox_of(method, path)
        throttle = self.sb.throttle
        verdict = (
            throttle.member(app, mailbox.address)
            if in_batch
            else throttle.enter(app, mailbox.address)
        )
        if not verdict.ok:
            self._refused(verdict)
        try:
            return self._route(mailbox, path.strip("/").split("/")[2:], query, headers)
        finally:
            if not in_batch:
                throttle.leave(app, mailbox.address)

    def _mailbox_of(self, method: str, path: str) -> Mailbox:
        """The mailbox a request addresses; 403 when the tenant's access policy excludes it.

        An ApplicationAccessPolicy (``New-ApplicationAccessPolicy -AccessRight
        RestrictAccess``) limits an app to a group of mailboxes; Graph answers a request for
        any other mailbox 403 ``ErrorAccessDenied``
        (https://learn.microsoft.com/en-us/graph/auth-limit-mailbox-access). The token is
        fine and every other mailbox still answers: it is that mailbox's configuration.
        """
        parts = path.strip("/").split("/")
        if len(parts) < 3 or parts[0] != "users" or method != "GET":
            raise GraphError(400, "BadRequest", f"Unsupported request: {method} {path}")
        mailbox = self.sb.mailbox(parts[1])
        if mailbox.address in self.sb.access_denied:
            raise GraphError(
                403,
                "ErrorAccessDenied",
                "Access to OData is disabled: [RAOP] : Blocked by tenant configured AppOnly "
                "AccessPolicy settings.",
            )
        return mailbox

    def _refused(self, verdict: Verdict) -> None:
        self._count("throttled")
        headers = {} if verdict.retry_after is None else {"Retry-After": str(verdict.retry_after)}
        if verdict.status == 503:
            raise GraphError(503, "ServiceUnavailable", "Service Unavailable", headers)
        raise GraphError(
            429,
            "ApplicationThrottled",
            f"Application is over its MailboxConcurrency limit: {verdict.reason}",
            headers,
        )

    def _route(
        self, mailbox: Mailbox, rest: list[str], query: dict[str, str], headers: Any
    ) -> tuple[int, Any, dict[str, str]]:
        prefer = ",".join(headers.get_all("Prefer")) if hasattr(headers, "get_all") else ""
        prefer = prefer or str(headers.get("Prefer", ""))
        match = _PREFER_PAGE.search(prefer)
        size = min(int(match.group(1)), MAX_PAGE) if match else DEFAULT_PAGE
        applied = {"Preference-Applied": f"odata.maxpagesize={size}"} if match else {}
        if len(rest) == 4 and rest[0] == "mailFolders" and rest[2:] == ["messages", "delta"]:
            self._count("mail_delta")
            folder = rest[1].lower()
            if folder not in FOLDERS:
                raise GraphError(404, "ErrorItemNotFound", "The specified folder was not found.")
            body = self._mail_delta(mailbox, folder, query, size)
            return 200, body, applied
        if rest[:2] == ["calendarView", "delta"] and len(rest) == 2:
            self._count("calendar_delta")
            return 200, self._calendar_delta(mailbox, query, size), applied
        if len(rest) == 1 and rest[0] in ("messages", "events"):
            self._count(f"{rest[0]}_list")
            self._only(query, {"$select", "$filter", "$orderby", "$top", "$skip"})
            allowed = MESSAGE_PROPS if rest[0] == "messages" else EVENT_PROPS
            props = _parse_select(query.get("$select"), allowed)

            def view(body: dict[str, Any]) -> dict[str, Any]:
                shown = message_view(body) if rest[0] == "messages" else event_view(body, mailbox)
                return _select(shown, props, allowed)

            link = f"{self.sb.graph_url}/users/{mailbox.user_id}/{rest[0]}"
            return 200, list_items(mailbox, rest[0], query, link, view, _bad), {}
        if len(rest) == 2 and rest[0] in ("messages", "events"):
            self._count(f"{rest[0]}_get")
            allowed = MESSAGE_PROPS if rest[0] == "messages" else EVENT_PROPS
            self._only(query, {"$select", "$expand"} if rest[0] == "messages" else {"$select"})
            props = _parse_select(query.get("$select"), allowed)
            if rest[0] == "messages":
                body = message_view(self._message(mailbox, rest[1]))
                if "$expand" in query:
                    selected = body if props is None else _select(body, props, allowed)
                    linked = self._event_of(mailbox, rest[1], body, query["$expand"])
                    return 200, selected | linked, {}
            else:
                found = mailbox.masters.get(rest[1])
                event = mailbox.events.get(rest[1])
                if found is None and (event is None or event.removed):
                    raise GraphError(404, "ErrorItemNotFound", "The item was not found.")
                body = event_view(found if found is not None else event.body, mailbox)  # type: ignore[union-attr]
            return 200, (body if props is None else _select(body, props, allowed)), {}
        if rest[:1] == ["messages"] and rest[2:] == ["microsoft.graph.eventMessage", "event"]:
            self._count("messages_event")
            self._only(query, {"$select"})
            body = self._message(mailbox, rest[1])
            if not event_messages.is_event_message(body):
                raise GraphError(404, "ErrorItemNotFound", "The item was not found.")
            props = _parse_select(query.get("$select"), EVENT_PROPS)
            cast = "microsoft.graph.eventMessage/event"
            shown = self._event_of(mailbox, rest[1], body, cast)["event"]
            if shown is None:
                raise GraphError(404, "ErrorItemNotFound", "The item was not found.")
            return 200, shown if props is None else _select(shown, props, EVENT_PROPS), {}
        raise GraphError(400, "BadRequest", "Resource not found for the segment.")

    @staticmethod
    def _message(mailbox: Mailbox, message_id: str) -> dict[str, Any]:
        item = mailbox.messages.get(message_id)
        if item is None or item.removed:
            raise GraphError(404, "ErrorItemNotFound", "The item was not found.")
        return item.body

    @staticmethod
    def _event_of(
        mailbox: Mailbox, message_id: str, body: dict[str, Any], expand: str
    ) -> dict[str, Any]:
        """``{"event": …}``: the eventMessage's event in this calendar (see event_messages)."""
        event_id = mailbox.message_events.get(message_id)
        item = mailbox.events.get(event_id or "")
        stored = mailbox.masters.get(event_id or "") or (
            item.body if item is not None and not item.removed else None
        )

        def select(event: dict[str, Any], props: str | None) -> dict[str, Any]:
            wanted = _parse_select(props, EVENT_PROPS)
            return event if wanted is None else _select(event, wanted, EVENT_PROPS)

        found = event_messages.expanded(
            expand, stored, lambda e: event_view(e, mailbox), select, _bad
        )
        # The cast names a type this message is not: nothing to expand (OData type cast).
        return found if event_messages.is_event_message(body) else {}

    @staticmethod
    def _only(query: dict[str, str], allowed: set[str]) -> None:
        unknown = sorted(set(query) - allowed)
        if unknown:
            raise _bad(f"Query option '{unknown[0]}' is not allowed.", "BadRequest")

    def _state(self, mailbox: Mailbox, query: dict[str, str], kind: str) -> dict[str, Any] | None:
        token = query.get("$skiptoken") or query.get("$deltatoken")
        if token is None:
            return None
        try:
            return mailbox.read_token(token, kind)
        except SyncStateGone as exc:
            raise GraphError(410, "syncStateNotFound", f"Sync state not found: {exc}") from exc

    def _page(
        self,
        mailbox: Mailbox,
        items: dict[str, Item],
        state: dict[str, Any],
        keep: Callable[[Item], bool],
        size: int,
        link: str,
        project: Callable[[dict[str, Any]], dict[str, Any]],
    ) -> dict[str, Any]:
        changed = mailbox.changed(items, state["s"], state["t"], state["p"], keep, size + 1)
        page, rest = changed[:size], changed[size:]
        value = [
            {"id": i.id, "@removed": {"reason": "deleted"}} if i.removed else project(i.body)
            for i in page
        ]
        out: dict[str, Any] = {"value": value}
        if rest:
            token = mailbox.token(dict(state, p=page[-1].seq))
            out["@odata.nextLink"] = f"{link}?{urlencode({'$skiptoken': token})}"
        else:
            token = mailbox.token(dict(state, s=state["t"], t=None, p=0))
            out["@odata.deltaLink"] = f"{link}?{urlencode({'$deltatoken': token})}"
        return out

    def _round(self, state: dict[str, Any], mailbox: Mailbox) -> dict[str, Any]:
        # A deltaLink starts a new round: fix its snapshot now.
        if state.get("t") is None:
            state = dict(state, t=mailbox.seq, p=0)
        return state

    def _mail_delta(
        self, mailbox: Mailbox, folder: str, query: dict[str, str], size: int
    ) -> dict[str, Any]:
        self._only(query, {"$select", "$filter", "$skiptoken", "$deltatoken"})
        state = self._state(mailbox, query, f"mail:{folder}")
        if state is None:
            props = _parse_select(query.get("$select"), MESSAGE_PROPS)
            since = None
            if "$filter" in query:
                match = _FILTER.match(query["$filter"].strip())
                if not match:
                    raise _bad("Unsupported $filter on messages delta.", "ErrorInvalidUrlQuery")
                since = parse_time(match.group(2)).isoformat()
            state = {"k": f"mail:{folder}", "s": 0, "t": None, "p": 0, "f": since}
            state["sel"] = sorted(props) if props is not None else None
        state = self._round(state, mailbox)
        since_at = datetime.fromisoformat(state["f"]) if state.get("f") else None
        props = set(state["sel"]) if state.get("sel") is not None else None

        def keep(item: Item) -> bool:
            if item.folder != folder:
                return False
            return since_at is None or parse_time(item.body["receivedDateTime"]) >= since_at

        def project(body: dict[str, Any]) -> dict[str, Any]:
            out = _select(message_view(body), props, MESSAGE_PROPS)
            out.pop("internetMessageHeaders", None)  # never in delta (see module docstring)
            return out

        link = f"{self.sb.graph_url}/users/{mailbox.user_id}/mailFolders/{folder}/messages/delta"
        return self._page(mailbox, mailbox.messages, state, keep, size, link, project)

    def _calendar_delta(self, mailbox: Mailbox, query: dict[str, str], size: int) -> dict[str, Any]:
        self._only(query, {"startDateTime", "endDateTime", "$skiptoken", "$deltatoken"})
        state = self._state(mailbox, query, "calendar")
        if state is None:
            if not query.get("startDateTime") or not query.get("endDateTime"):
                raise _bad(
                    "This request requires a time window specified by the query string "
                    "parameters StartDateTime and EndDateTime.",
                    "ErrorInvalidParameter",
                )
            try:
                start = parse_time(query["startDateTime"]).isoformat()
                end = parse_time(query["endDateTime"]).isoformat()
            except ValueError as exc:
                raise _bad("Invalid startDateTime or endDateTime.") from exc
            state = {"k": "calendar", "s": 0, "t": None, "p": 0, "w": [start, end]}
        state = self._round(state, mailbox)
        lo, hi = (datetime.fromisoformat(x) for x in state["w"])

        def keep(item: Item) -> bool:
            begins = parse_time(item.body["start"]["dateTime"])
            ends = parse_time(item.body["end"]["dateTime"])
            return begins < hi and ends > lo

        link = f"{self.sb.graph_url}/users/{mailbox.user_id}/calendarView/delta"
        return self._page(
            mailbox, mailbox.events, state, keep, size, link, lambda b: event_view(b, mailbox)
        )

    def _batch(self, app: str, request: Request) -> dict[str, Any]:
        """Run a ``$batch``: up to 4 members of one mailbox at once, each counted.

        Graph dispatches up to four members at a time and each counts against the mailbox's
        4-concurrent-requests limit (see :mod:`sandbox.graph.throttle`); members are answered
        in any order, each with its own status (https://learn.microsoft.com/en-us/graph/json-batching).
        """
        try:
            payload = json.loads(request.get_data() or b"{}")
            members = payload["requests"]
            assert isinstance(members, list)
        except (ValueError, KeyError, AssertionError) as exc:
            raise _bad("Invalid batch payload.") from exc
        if not members or len(members) > 20:
            raise _bad("The number of batch requests must be between 1 and 20.")
        answers: dict[int, dict[str, Any]] = {}
        groups: dict[str, list[tuple[int, dict[str, Any]]]] = {}
        for index, member in enumerate(members):
            self._count("batch_member")
            method, url = str(member.get("method", "GET")), self._member_url(member)
            try:
                mailbox = self._mailbox_of(method, url.path)
            except GraphError as exc:
                answers[index] = self._answer(member, exc.status, exc.body(), exc.headers)
                continue
            groups.setdefault(mailbox.address, []).append((index, member))
        for address, group in groups.items():
            answers.update(self._run_group(app, address, group))
        return {"responses": [answers[i] for i in range(len(members))]}

    @staticmethod
    def _member_url(member: dict[str, Any]) -> Any:
        return urlsplit("/" + str(member.get("url", "")).lstrip("/"))

    @staticmethod
    def _answer(
        member: dict[str, Any], status: int, body: Any, headers: dict[str, str]
    ) -> dict[str, Any]:
        return {"id": member.get("id"), "status": status, "headers": headers, "body": body}

    def _run_group(
        self, app: str, address: str, group: list[tuple[int, dict[str, Any]]]
    ) -> dict[int, dict[str, Any]]:
        throttle = self.sb.throttle
        verdict = throttle.reserve(app, address, len(group))
        want = min(throttle.concurrency_limit, len(group))
        answers: dict[int, dict[str, Any]] = {}
        fits: list[tuple[int, dict[str, Any]]] = []
        for position, (index, member) in enumerate(group):
            if not verdict.ok or position % want >= verdict.slots:
                refused = verdict if not verdict.ok else throttle.crowded(app, address)
                try:
                    self._refused(refused)
                except GraphError as exc:
                    answers[index] = self._answer(member, exc.status, exc.body(), exc.headers)
            else:
                fits.append((index, member))

        def run(item: tuple[int, dict[str, Any]]) -> tuple[int, dict[str, Any]]:
            index, member = item
            url = self._member_url(member)
            query = dict(parse_qsl(url.query, keep_blank_values=True))
            try:
                status, body, extra = self.dispatch(
                    app,
                    str(member.get("method", "GET")),
                    url.path,
                    query,
                    member.get("headers") or {},
                    in_batch=True,
                )
            except GraphError as exc:
                status, body, extra = exc.status, exc.body(), exc.headers
            return index, self._answer(member, status, body, extra)

        try:
            if fits:
                with ThreadPoolExecutor(max_workers=max(1, verdict.slots)) as pool:
                    answers.update(pool.map(run, fits))
        finally:
            if verdict.ok:
                throttle.leave(app, address, verdict.slots)
        return answers

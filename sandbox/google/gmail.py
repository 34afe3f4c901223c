"""Gmail v1 as the sandbox keeps it: mailboxes, labels, history ids, and the four methods.

``users.getProfile``, ``users.messages.list`` (newest ``internalDate`` first; ``q`` with
``after:``/``before:`` and ``in:``/``-in:``, ``labelIds``, ``includeSpamTrash``, 1-500 per page,
SPAM and TRASH left out by default; ``q`` is refused under the metadata scope, see
:mod:`sandbox.google.scope`), ``users.messages.get`` (``format`` minimal/metadata/full with
``metadataHeaders``) and ``users.history.list`` (``startHistoryId``, ``historyTypes``,
``labelId``; a start id older than the mailbox keeps is 404, as Gmail answers after about a
week). Every change takes the next history id of the mailbox. Page tokens name the last item
returned, so a page token is stable: asking again gives the same page.
"""

from __future__ import annotations

import base64
import re
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sandbox.google import mime
from sandbox.google.errors import ApiError

HIDDEN_BY_DEFAULT = {"SPAM", "TRASH"}
_HIDE = {"messageListVisibility": "hide", "labelListVisibility": "labelHide"}
#: Gmail's system labels and the visibility keys ``labels.list`` gives them.
SYSTEM_LABELS: dict[str, dict[str, str]] = {
    "CHAT": _HIDE, "SENT": {}, "INBOX": {}, "IMPORTANT": _HIDE, "TRASH": _HIDE, "DRAFT": {},
    "SPAM": _HIDE, "CATEGORY_FORUMS": _HIDE, "CATEGORY_UPDATES": _HIDE,
    "CATEGORY_PERSONAL": _HIDE, "CATEGORY_PROMOTIONS": _HIDE, "CATEGORY_SOCIAL": _HIDE,
    "STARRED": {}, "UNREAD": {},
}  # fmt: skip
_QUERY_TERM = re.compile(r"^(-?)(after|before|in|label):(\S+)$")


@dataclass
class Message:
    """One stored message: headers only (the sandbox never needs bodies)."""

    id: str
    thread_id: str
    labels: list[str]
    internal_date: int  # epoch milliseconds, as Gmail's internalDate
    headers: list[tuple[str, str]]
    history_id: int
    raw: bytes | None = None  # the whole MIME message, when a test gave one

    def mime(self) -> bytes:
        """The MIME text: the stored one, or the headers over an empty text/plain body."""
        if self.raw is not None:
            return self.raw
        return ("".join(f"{k}: {v}\r\n" for k, v in self.headers) + "\r\n").encode()


@dataclass
class Mailbox:
    """One user's mail: messages by id and the history of additions."""

    address: str
    messages: dict[str, Message] = field(default_factory=dict)
    history: list[tuple[int, str]] = field(default_factory=list)  # (history id, message id)
    history_id: int = 1000
    oldest_history: int = 0  # start ids below this are 404


def _token(value: str) -> str:
    return base64.urlsafe_b64encode(value.encode()).decode().rstrip("=")


def _untoken(token: str) -> str:
    try:
        return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "invalidArgument", "Invalid pageToken") from exc


def _order(msg: Message) -> tuple[int, str]:
    return msg.internal_date, msg.id


def _position(token: str) -> tuple[int, str]:
    date, _, mid = token.partition(":")
    if not date.isdigit() or not mid:
        raise ApiError(400, "invalidArgument", "Invalid pageToken")
    return int(date), mid


def _max_results(query: dict[str, list[str]], default: int, cap: int) -> int:
    raw = query.get("maxResults", [str(default)])[0]
    if not raw.isdigit():
        raise ApiError(400, "invalidArgument", "Invalid value for maxResults")
    return max(1, min(int(raw), cap))


class Gmail:
    """Every mailbox of the domain."""

    def __init__(self) -> None:
        self.mailboxes: dict[str, Mailbox] = {}
        self.delete_after_listing: set[str] = set()
        self._seq = 0
        self._lock = threading.RLock()

    # -- test and seeding API -------------------------------------------------------------

    def mailbox(self, address: str) -> Mailbox:
        """The mailbox of ``address``, created empty on first use."""
        with self._lock:
            return self.mailboxes.setdefault(address.lower(), Mailbox(address.lower()))

    def deliver(
        self,
        address: str,
        headers: list[tuple[str, str]],
        *,
        when: datetime,
        labels: list[str] | None = None,
        thread_id: str | None = None,
        raw: bytes | None = None,
        message_id: str | None = None,
    ) -> str:
        """Add one message to ``address``'s mailbox; its id.

        ``raw`` is the whole MIME message (its headers then replace ``headers``): served as
        Gmail serves it with ``format=full`` or ``raw``. ``message_id`` keeps a given id.
        """
        if raw is not None:
            headers = mime.headers_of(raw)
        with self._lock:
            box = self.mailbox(address)
            self._seq += 1
            mid = message_id or f"{0x18C0000000000000 + self._seq:x}"
            box.history_id += 1
            box.messages[mid] = Message(
                mid,
                thread_id or mid,
                list(labels or ["INBOX"]),
                int(when.timestamp() * 1000),
                list(headers),
                box.history_id,
                raw,
            )
            box.history.append((box.history_id, mid))
            return mid

    def expire_history(self, address: str) -> None:
        """Forget history: every start id issued so far now answers 404."""
        with self._lock:
            box = self.mailbox(address)
            box.history_id += 1
            box.oldest_history = box.history_id

    # -- the API ----------------------------------------------------------------------------

    def get_profile(self, box: Mailbox, query: dict[str, list[str]]) -> dict[str, Any]:
        """users.getProfile."""
        return {
            "emailAddress": box.address,
            "messagesTotal": len(box.messages),
            "threadsTotal": len({m.thread_id for m in box.messages.values()}),
            "historyId": str(box.history_id),
        }

    def list_messages(self, box: Mailbox, query: dict[str, list[str]]) -> dict[str, Any]:
        """users.messages.list: newest first."""
        size = _max_results(query, 100, 500)
        spam_trash = query.get("includeSpamTrash", ["false"])[0] == "true"
        wanted = set(query.get("labelIds", []))
        terms = " ".join(query.get("q", [])).split()
        after = before = None
        include: set[str] = set()
        exclude: set[str] = set()
        for term in terms:
            match = _QUERY_TERM.match(term)
            if match is None:
                raise ApiError(400, "invalidArgument", "Invalid query")  # beyond the sandbox
            neg, op, arg = match.groups()
            if op in ("after", "before"):
                if not arg.isdigit():
                    raise ApiError(400, "invalidArgument", "after:/before: take epoch seconds")
                after, before = (int(arg), before) if op == "after" else (after, int(arg))
            else:
                (exclude if neg else include).add(arg.upper().replace("CHATS", "CHAT") + "")
        include = {"DRAFT" if x == "DRAFTS" else x for x in include}
        exclude = {"DRAFT" if x == "DRAFTS" else x for x in exclude}
        raw_token = (query.get("pageToken") or [""])[0]
        start = _untoken(raw_token) if raw_token else None
        with self._lock:
            # Newest first by internalDate, as Gmail lists (ties by id); the page token names
            # the last message returned as "<internalDate>:<id>".
            ordered = sorted(box.messages.values(), key=_order, reverse=True)
            found: list[Message] = []
            for msg in ordered:
                if start is not None and _order(msg) >= _position(start):
                    continue
                labels = set(msg.labels)
                if not spam_trash and labels & HIDDEN_BY_DEFAULT and not include & labels:
                    continue
                if wanted and not wanted <= labels:
                    continue
                if (include and not include <= labels) or exclude & labels:
                    continue
                seconds = msg.internal_date // 1000
                if (after is not None and seconds < after) or (
                    before is not None and seconds >= before
                ):
                    continue
                found.append(msg)
                if len(found) > size:
                    break
        page = found[:size]
        with self._lock:
            # Injected race: these messages are deleted right after a listing returned them.
            for msg in page:
                if msg.id in self.delete_after_listing:
                    box.messages.pop(msg.id, None)
                    self.delete_after_listing.discard(msg.id)
        answer: dict[str, Any] = {"resultSizeEstimate": len(page)}
        if page:
            answer["messages"] = [{"id": m.id, "threadId": m.thread_id} for m in page]
        if len(found) > size:
            answer["nextPageToken"] = _token(f"{page[-1].internal_date}:{page[-1].id}")
        return answer

    def get_message(self, box: Mailbox, mid: str, query: dict[str, list[str]]) -> dict[str, Any]:
        """users.messages.get."""
        fmt = query.get("format", ["full"])[0]
        if fmt not in ("minimal", "metadata", "full", "raw"):
            raise ApiError(400, "invalidArgument", f"Invalid value for format: {fmt}")
        with self._lock:
            msg = box.messages.get(mid)
        if msg is None:
            raise ApiError(404, "notFound", "Requested entity was not found.")
        text = msg.mime()
        answer: dict[str, Any] = {
            "id": msg.id,
            "threadId": msg.thread_id,
            "labelIds": list(msg.labels),
            "snippet": mime.snippet(text) if fmt == "full" else "",
            "sizeEstimate": len(text),
            "historyId": str(msg.history_id),
            "internalDate": str(msg.internal_date),
        }
        if fmt == "raw":
            answer["raw"] = base64.urlsafe_b64encode(text).decode()
        elif fmt == "full":
            answer["payload"] = mime.payload(text)
        elif fmt != "minimal":
            names = {n.lower() for n in query.get("metadataHeaders", [])}
            headers = [
                {"name": k, "value": v} for k, v in msg.headers if not names or k.lower() in names
            ]
            top = mime.payload(text)
            answer["payload"] = {"partId": "", "mimeType": top["mimeType"], "filename": "",
                                 "headers": headers, "body": {"size": 0}}  # fmt: skip
        return answer

    def list_labels(self, box: Mailbox, query: dict[str, list[str]]) -> dict[str, Any]:
        """users.labels.list: the system labels, and any other label a message carries."""
        with self._lock:
            used = {label for msg in box.messages.values() for label in msg.labels}
        answer = []
        for label in [*SYSTEM_LABELS, *sorted(used - set(SYSTEM_LABELS))]:
            item: dict[str, Any] = {"id": label, "name": label}
            if label in SYSTEM_LABELS:
                item |= SYSTEM_LABELS[label] | {"type": "system"}
            else:
                item |= {"type": "user"}
            answer.append(item)
        return {"labels": answer}

    def list_history(self, box: Mailbox, query: dict[str, list[str]]) -> dict[str, Any]:
        """users.history.list from ``startHistoryId``, oldest first."""
        raw = query.get("startHistoryId", [""])[0]
        if not raw.isdigit():
            raise ApiError(400, "invalidArgument", "Missing or invalid startHistoryId")
        start_id = int(raw)
        if start_id < box.oldest_history:
            raise ApiError(404, "notFound", "Requested entity was not found.")
        kinds = set(query.get("historyTypes", []))
        if kinds - {"messageAdded", "messageDeleted", "labelAdded", "labelRemoved"}:
            raise ApiError(400, "invalidArgument", "Invalid value for historyTypes")
        if kinds and "messageAdded" not in kinds:
            return {"historyId": str(box.history_id)}  # the sandbox records additions only
        label = query.get("labelId", [None])[0]
        size = _max_results(query, 100, 500)
        after = int(_untoken(query["pageToken"][0])) if query.get("pageToken") else start_id
        records: list[dict[str, Any]] = []
        more = False
        with self._lock:
            for hid, mid in box.history:
                if hid <= after:
                    continue
                msg = box.messages[mid]
                if label and label not in msg.labels:
                    continue
                if len(records) == size:
                    more = True
                    break
                ref = {"id": mid, "threadId": msg.thread_id}
                added = {"message": ref | {"labelIds": msg.labels}}
                records.append({"id": str(hid), "messages": [ref], "messagesAdded": [added]})
            current = box.history_id
        answer: dict[str, Any] = {"historyId": str(current)}
        if records:
            answer["history"] = records
        if more:
            answer["nextPageToken"] = _token(records[-1]["id"])
        return answer

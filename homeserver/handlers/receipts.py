"""Read receipts and read markers, local and across servers (``m.receipt`` EDUs).

Receipts are stored (a restart loses none) at a position on the sync stream; /sync serves the
ones that changed since the client's token as one ``m.receipt`` event per room. ``m.read`` is
shared with the room (and its other servers); ``m.read.private`` only with the user's own
devices. ``m.fully_read`` is the read marker: room account data, not a receipt.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable

from federation.canonical_json import MAX_SAFE_INTEGER
from federation.pdus import server_of
from federation.queue import OutboundQueue

from ..errors import BadJson, Forbidden, InvalidParam, NotFound
from ..storage.events import AccountDataStore, EventStore
from ..storage.receipts import ReceiptStore
from .accounts import Requester
from .notifier import Notifier

log = logging.getLogger(__name__)

READ, PRIVATE, FULLY_READ = "m.read", "m.read.private", "m.fully_read"
RECEIPT_TYPES = (READ, PRIVATE)
MAX_ID = 255
# An inbound m.receipt EDU is bounded: rooms per EDU, users per room and type.
MAX_EDU_ROOMS = 50
MAX_EDU_USERS = 100


def valid_event_id(value) -> bool:
    return isinstance(value, str) and value.startswith("$") and 1 < len(value) <= MAX_ID


def valid_thread_id(value) -> bool:
    """Threaded receipts: "main" (the main timeline) or a thread root's event ID."""
    return value == "main" or valid_event_id(value)


class ReceiptHandler:
    def __init__(self, server_name: str, store: EventStore, receipts: ReceiptStore,
                 account_data: AccountDataStore, notifier: Notifier, queue: OutboundQueue,
                 known_room: Callable[[str], None],
                 receipt_fits: Callable[[str, str, str], bool]):
        self.server_name = server_name
        self.store = store
        self.receipts = receipts
        self.account_data = account_data
        self.notifier = notifier
        self.queue = queue
        self.known_room = known_room  # raises M_NOT_FOUND / M_INVALID_PARAM
        # (room_id, event_id, thread_id) -> whether a receipt for the event may name the
        # thread ("main" or a root): RelationStore.receipt_fits
        self.receipt_fits = receipt_fits
        # Told (user_id, room_id, stream position, thread: None when unthreaded) when a local
        # user's read receipt (public or private) moves; the unread-notification counts.
        self.read_listeners: list[Callable[[str, str, int, str | None], None]] = []

    # local users ---------------------------------------------------------------------------

    def send_receipt(self, req: Requester, room_id: str, receipt_type: str, event_id: str,
                     body: dict) -> None:
        thread_id = body.get("thread_id")
        if receipt_type == FULLY_READ:
            if thread_id is not None:
                raise InvalidParam("m.fully_read cannot be threaded")
            self._check(req, room_id, event_id)
            self._set_fully_read(req, room_id, event_id)
            return
        if receipt_type not in RECEIPT_TYPES:
            raise InvalidParam(f"receipt type must be one of {', '.join(RECEIPT_TYPES)}")
        if thread_id is not None and not isinstance(thread_id, str):
            raise BadJson("thread_id must be a string")
        if thread_id is not None and not valid_thread_id(thread_id):
            raise InvalidParam("thread_id must be 'main' or a thread root's event ID")
        self._check(req, room_id, event_id)
        if thread_id is not None and not self.receipt_fits(room_id, event_id, thread_id):
            raise InvalidParam(f"{event_id} is not in thread {thread_id}")
        self._put_local(req, room_id, receipt_type, event_id, thread_id)

    def set_read_markers(self, req: Requester, room_id: str, body: dict) -> None:
        markers = {k: body[k] for k in (FULLY_READ, READ, PRIVATE) if k in body}
        for key, event_id in markers.items():  # everything checked before anything changes
            if not isinstance(event_id, str):
                raise BadJson(f"{key} must be an event ID")
        if not markers:
            self.known_room(room_id)
            self._require_joined(req, room_id)
        for event_id in markers.values():
            self._check(req, room_id, event_id)
        if FULLY_READ in markers:
            self._set_fully_read(req, room_id, markers[FULLY_READ])
        for rtype in RECEIPT_TYPES:
            if rtype in markers:
                self._put_local(req, room_id, rtype, markers[rtype], None)

    def _require_joined(self, req: Requester, room_id: str) -> None:
        m = self.store.membership(room_id, req.user_id)
        if m is None or m[0] != "join":
            raise Forbidden("You are not joined to this room")

    def _check(self, req: Requester, room_id: str, event_id: str) -> None:
        self.known_room(room_id)
        self._require_joined(req, room_id)
        if not valid_event_id(event_id):
            raise NotFound("Event not found")
        ev = self.store.get_event(event_id)
        if ev is None or ev["room_id"] != room_id:
            raise NotFound("Event not found")

    def _set_fully_read(self, req: Requester, room_id: str, event_id: str) -> None:
        self.account_data.set(req.user_id, room_id, FULLY_READ, {"event_id": event_id})
        self.notifier.notify_users([req.user_id])

    def _put_local(self, req: Requester, room_id: str, receipt_type: str, event_id: str,
                   thread_id: str | None) -> None:
        ts = int(time.time() * 1000)
        if not self._store(room_id, receipt_type, req.user_id, thread_id, event_id, ts):
            return
        position = self.store.stream_ordering_of(event_id)
        if position is not None:
            for listener in self.read_listeners:
                listener(req.user_id, room_id, position, thread_id)
        if receipt_type == PRIVATE:
            self.notifier.notify_users([req.user_id])
            return
        self.notifier.notify_users(self.store.room_members(room_id))
        data: dict = {"ts": ts}
        if thread_id is not None:
            data["thread_id"] = thread_id
        dests = self.store.room_servers(room_id) - {self.server_name}
        if dests:
            self.queue.send_edu(dests, {"edu_type": "m.receipt", "content": {room_id: {READ: {
                req.user_id: {"event_ids": [event_id], "data": data}}}}})

    def _store(self, room_id: str, receipt_type: str, user_id: str, thread_id: str | None,
               event_id: str, ts: int) -> bool:
        """Store unless it would move the user's receipt back; True if stored."""
        old = self.receipts.get(room_id, receipt_type, user_id, thread_id)
        if old == event_id:
            return False
        if old is not None:
            old_pos = self.store.stream_ordering_of(old)
            new_pos = self.store.stream_ordering_of(event_id)
            if old_pos is not None and new_pos is not None and new_pos < old_pos:
                return False  # receipts only move forward
        self.receipts.put(room_id, receipt_type, user_id, thread_id, event_id, ts)
        return True

    # other servers' users ------------------------------------------------------------------

    def on_edu(self, origin: str, content: dict) -> None:
        """An ``m.receipt`` EDU: {room_id: {"m.read": {user_id: {event_ids, data}}}}. Only
        for the origin's own users who are joined to a room we know; anything else is
        ignored, entry by entry (an EDU has no answer)."""
        for room_id, by_type in list(content.items())[:MAX_EDU_ROOMS]:
            if not isinstance(room_id, str) or not isinstance(by_type, dict):
                continue
            users = by_type.get(READ)  # private receipts never leave their server
            if not isinstance(users, dict):
                continue
            if origin not in self.store.room_servers(room_id):
                log.info("m.receipt from %s for %s, which it is not in", origin, room_id)
                continue
            changed = False
            for user_id, receipt in list(users.items())[:MAX_EDU_USERS]:
                parsed = self._parse_remote(origin, room_id, user_id, receipt)
                if parsed is not None:
                    event_id, ts, thread_id = parsed
                    changed |= self._store(room_id, READ, user_id, thread_id, event_id, ts)
            if changed:
                self.notifier.notify_users(self.store.room_members(room_id))

    def _parse_remote(self, origin: str, room_id: str, user_id,
                      receipt) -> tuple[str, int, str | None] | None:
        if not isinstance(user_id, str) or len(user_id) > MAX_ID or \
                server_of(user_id) != origin or not isinstance(receipt, dict):
            return None
        m = self.store.membership(room_id, user_id)
        if m is None or m[0] != "join":
            return None
        event_ids, data = receipt.get("event_ids"), receipt.get("data", {})
        if not isinstance(event_ids, list) or not event_ids or \
                not valid_event_id(event_ids[0]) or not isinstance(data, dict):
            return None
        ts = data.get("ts", 0)
        if not isinstance(ts, int) or isinstance(ts, bool) or not 0 <= ts <= MAX_SAFE_INTEGER:
            return None
        thread_id = data.get("thread_id")
        if thread_id is not None and not valid_thread_id(thread_id):
            return None
        ev = self.store.get_event(event_ids[0])
        if ev is not None and ev["room_id"] != room_id:
            return None
        return event_ids[0], ts, thread_id

    # /sync ---------------------------------------------------------------------------------

    def receipt_event(self, user_id: str, room_id: str, since: int | None,
                      upto: int) -> dict | None:
        """The room's ``m.receipt`` event of what changed after ``since``, as ``user_id``
        may see it (others' private receipts left out), or None."""
        content: dict[str, dict] = {}
        for rtype, uid, thread_id, event_id, ts in self.receipts.changed_since(
                room_id, since, upto):
            if rtype == PRIVATE and uid != user_id:
                continue
            data: dict = {"ts": ts}
            if thread_id:
                data["thread_id"] = thread_id
            content.setdefault(event_id, {}).setdefault(rtype, {})[uid] = data
        return {"type": "m.receipt", "content": content} if content else None

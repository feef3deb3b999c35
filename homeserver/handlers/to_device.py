"""To-device messages: ``/sendToDevice``, sync's ``to_device`` and ``m.direct_to_device`` EDUs.

A message for one of our devices waits in that device's inbox at its own position on the sync
stream. Sync serves the device's messages after its ``since`` token, at most ``SYNC_LIMIT`` at
a time, and deletes them only when a later sync presents a token past them (the client got
them), so a lost response loses nothing. When more are waiting than one sync carries, its
next_batch says how far the device got (``s<N>_td<T>``: the stream at N, to-device at T).

Messages for another server's users travel as ``m.direct_to_device`` EDUs through the
outbound queue's durable path (kept in the outbox until the remote server accepted them:
they may carry room keys, so unlike typing they are never dropped). Each EDU has a
``message_id`` the receiver deduplicates by, so a transaction resent after a crash delivers
once.

Bounds: a message's content is at most ``MAX_CONTENT_BYTES`` (so one EDU carrying it stays
within the event size limit); a request names at most ``MAX_RECIPIENTS`` devices (``*``
counts once); each device's inbox keeps at most the store's cap (10,000): beyond it the oldest
messages are dropped, since a device that has not synced through 10,000 messages is stale and
the newest keys are the ones it needs. The same bounds apply to what other servers send.
Each user's sends pass ``ratelimit.to_device`` (one token per request, however many devices it
names: sharing a room key with a few hundred devices is one or a few requests; a retry of a
send that happened is answered without a token), beyond it 429 ``M_LIMIT_EXCEEDED``.
"""
from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable
from typing import TypeGuard

from federation.pdus import server_of
from federation.queue import OutboundQueue
from federation.servername import is_valid_server_name

from ..errors import BadJson, InvalidParam, TooLarge
from ..storage.devices import DeviceStore
from ..storage.to_device import ToDeviceStore
from .accounts import USER_ID, Requester
from .notifier import Notifier
from .ratelimit import RateLimiter

log = logging.getLogger(__name__)

EDU_TYPE = "m.direct_to_device"
MAX_CONTENT_BYTES = 65536 - 2048  # room for the EDU around it within the event size limit
MAX_EDU_BYTES = 65536  # what one received EDU may be (the federation transaction's budget)
MAX_RECIPIENTS = 1000  # devices named in one request or one EDU
MAX_ID = 255  # user IDs, device IDs, event types, transaction and message IDs
SYNC_LIMIT = 100
TOKEN_PART = "td"


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _short_str(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and 0 < len(value) <= MAX_ID


def to_device_position(token: str | None) -> int | None:
    """Where a since token says the device got in its to-device messages: the ``td`` part,
    or else the token's stream position (that sync carried everything up to it)."""
    if not token:
        return None
    raw = token[1:] if token.startswith("s") else token
    base, *parts = raw.split("_")
    for part in parts:
        if part.startswith(TOKEN_PART) and part[len(TOKEN_PART):].isdigit():
            return int(part[len(TOKEN_PART):])
    return int(base) if base.isdigit() else None


class ToDeviceHandler:
    def __init__(self, server_name: str, store: ToDeviceStore, devices: DeviceStore,
                 notifier: Notifier, queue: OutboundQueue, limiter: RateLimiter | None = None,
                 new_message_id: Callable[[], str] = lambda: secrets.token_urlsafe(18)):
        self.server_name = server_name
        self.store = store
        self.devices = devices
        self.notifier = notifier
        self.queue = queue
        self.new_message_id = new_message_id
        self.limiter = limiter  # sends per user (one token a request, whatever it carries)

    # sending -------------------------------------------------------------------------------

    def send(self, req: Requester, event_type: str, txn_id: str, body: dict) -> None:
        if not _short_str(event_type) or not _short_str(txn_id):
            raise InvalidParam(f"the event type and transaction ID are 1 to {MAX_ID} characters")
        if self.store.txn_seen(req.user_id, req.device_id, txn_id):
            return  # a retry of a send that happened
        if self.limiter is not None:
            self.limiter.check(req.user_id)
        messages = body.get("messages")
        if not isinstance(messages, dict):
            raise BadJson("messages must be an object of user IDs")
        local: list[tuple[str, str, str, str, dict]] = []
        remote: dict[str, dict[str, dict[str, dict]]] = {}
        named = 0
        for user_id, by_device in messages.items():
            if not _short_str(user_id) or not USER_ID.match(user_id) or \
                    not is_valid_server_name(server_of(user_id)):
                raise InvalidParam(f"not a user ID: {user_id[:MAX_ID]!r}")
            if not isinstance(by_device, dict):
                raise BadJson(f"messages[{user_id}] must be an object of device IDs")
            named += len(by_device)
            if named > MAX_RECIPIENTS:
                raise TooLarge(f"at most {MAX_RECIPIENTS} devices per request")
            for device_id, content in by_device.items():
                if not _short_str(device_id):
                    raise InvalidParam(f"device IDs are 1 to {MAX_ID} characters")
                if not isinstance(content, dict):
                    raise BadJson("each message's content must be an object")
                if len(_dumps(content).encode()) > MAX_CONTENT_BYTES:
                    raise TooLarge(f"a message's content is at most {MAX_CONTENT_BYTES} bytes")
            server = server_of(user_id)
            if server == self.server_name:
                local += [(user_id, d, req.user_id, event_type, c)
                          for d, c in self._local_devices(user_id, by_device)]
            else:
                remote.setdefault(server, {})[user_id] = by_device
        with self.store.atomic():  # all of it or none: inbox rows, outbox rows, the txn
            users, dropped = self.store.add(local)
            for server, msgs in remote.items():
                for edu in self._edus(req.user_id, event_type, msgs):
                    self.queue.send_edu([server], edu, durable=True)
            self.store.record_txn(req.user_id, req.device_id, txn_id)
        if dropped:
            log.info("to-device inboxes full: dropped the %d oldest messages", dropped)
        self.notifier.notify_users(users)

    def _local_devices(self, user_id: str, by_device: dict) -> list[tuple[str, dict]]:
        """(device, content) for the user's devices that exist; ``*`` is all of them."""
        out = []
        for device_id, content in by_device.items():
            if device_id == "*":
                out += [(d["device_id"], content) for d in self.devices.list_devices(user_id)]
            elif self.devices.get_device(user_id, device_id) is not None:
                out.append((device_id, content))
        return out

    def _edus(self, sender: str, event_type: str, msgs: dict[str, dict[str, dict]]) -> list[dict]:
        """One server's messages as EDUs of at most MAX_EDU_BYTES each."""
        edus: list[dict] = []
        budget = MAX_EDU_BYTES - 1024  # the envelope: sender, type, message_id, edu_type
        current: dict[str, dict[str, dict]] = {}
        size = 0
        for user_id, by_device in msgs.items():
            for device_id, content in by_device.items():
                n = len(_dumps(content).encode()) + len(user_id) + len(device_id) + 16
                if current and size + n > budget:
                    edus.append(self._edu(sender, event_type, current))
                    current, size = {}, 0
                current.setdefault(user_id, {})[device_id] = content
                size += n
        if current:
            edus.append(self._edu(sender, event_type, current))
        return edus

    def _edu(self, sender: str, event_type: str, messages: dict) -> dict:
        return {"edu_type": EDU_TYPE, "content": {
            "sender": sender, "type": event_type, "message_id": self.new_message_id(),
            "messages": messages}}

    # receiving -----------------------------------------------------------------------------

    def on_edu(self, origin: str, content: dict) -> None:
        """An ``m.direct_to_device`` EDU: from one of the origin's users, for ours, once per
        message_id; anything else (or anything over the bounds) is ignored whole."""
        sender, etype, message_id, messages = (content.get("sender"), content.get("type"),
                                               content.get("message_id"),
                                               content.get("messages"))
        if not _short_str(sender) or not USER_ID.match(sender) or server_of(sender) != origin:
            log.info("ignored a to-device EDU from %s for a sender not on it", origin)
            return
        if not _short_str(etype) or not _short_str(message_id) or \
                not isinstance(messages, dict):
            log.info("ignored a malformed to-device EDU from %s", origin)
            return
        if len(_dumps(content).encode()) > MAX_EDU_BYTES:
            log.info("ignored a to-device EDU from %s over %d bytes", origin, MAX_EDU_BYTES)
            return
        rows: list[tuple[str, str, str, str, dict]] = []
        named = 0
        for user_id, by_device in messages.items():
            if not isinstance(by_device, dict):
                continue
            named += len(by_device)
            if named > MAX_RECIPIENTS:
                log.info("ignored a to-device EDU from %s for over %d devices",
                         origin, MAX_RECIPIENTS)
                return
            if server_of(user_id) != self.server_name or not USER_ID.match(user_id):
                continue  # not ours: nothing to deliver
            good = {d: c for d, c in by_device.items()
                    if _short_str(d) and isinstance(c, dict)}
            rows += [(user_id, d, sender, etype, c)
                     for d, c in self._local_devices(user_id, good)]
        with self.store.atomic():
            if not self.store.first_receipt(origin, message_id):
                log.info("ignored a to-device EDU %s from %s received before",
                         message_id, origin)
                return
            users, dropped = self.store.add(rows)
        if dropped:
            log.info("to-device inboxes full: dropped the %d oldest messages", dropped)
        self.notifier.notify_users(users)

    # sync ----------------------------------------------------------------------------------

    def acknowledge(self, req: Requester, since: str | None, current: int) -> int | None:
        """A sync presented ``since``: its device got every message up to the token's
        to-device position, which are deleted now. Returns that position."""
        try:
            upto = to_device_position(since)
        except ValueError:
            return None
        if upto is None:
            return None
        upto = min(upto, current)  # a token from the future deletes nothing not yet served
        self.store.delete_upto(req.user_id, req.device_id, upto)
        return upto

    def for_sync(self, req: Requester, after: int | None, upto: int) -> tuple[list[dict], str]:
        """The device's messages after ``after`` (at most SYNC_LIMIT) and the suffix of
        next_batch: empty when all were served, else how far they got."""
        rows = self.store.pending(req.user_id, req.device_id, after, upto, SYNC_LIMIT + 1)
        events = [{"sender": s, "type": t, "content": c} for _, s, t, c in rows[:SYNC_LIMIT]]
        if len(rows) <= SYNC_LIMIT:
            return events, ""
        return events, f"_{TOKEN_PART}{rows[SYNC_LIMIT - 1][0]}"

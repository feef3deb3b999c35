"""Typing notifications: in memory, each with an expiry, local and across servers
(``m.typing`` EDUs).

Each change of a room's typing set (someone starts, stops or times out) takes a position on the
sync stream; /sync serves the room's ``m.typing`` {user_ids} when it changed since the client's
token. Nothing is stored but the furthest position handed out (StreamCounter.next_marked).
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from federation.pdus import server_of
from federation.queue import OutboundQueue

from ..errors import BadJson, Forbidden
from ..storage.events import EventStore, StreamCounter
from .accounts import Requester
from .background import soon
from .notifier import Notifier

log = logging.getLogger(__name__)

MAX_TIMEOUT_MS = 30_000  # a client's timeout is capped; a remote user's is this
MAX_TYPING_PER_ROOM = 1000


class TypingHandler:
    def __init__(self, server_name: str, store: EventStore, stream: StreamCounter,
                 notifier: Notifier, queue: OutboundQueue, known_room: Callable[[str], None],
                 clock: Callable[[], float] = time.monotonic):
        self.server_name = server_name
        self.store = store
        self.stream = stream
        self.notifier = notifier
        self.queue = queue
        self.known_room = known_room
        self.clock = clock
        self._typing: dict[str, dict[str, float]] = {}  # room -> {user: expiry}
        self._pos: dict[str, int] = {}  # room -> stream position of its last change
        self._timers: dict[str, asyncio.TimerHandle] = {}
        # (room, user, typing, timeout ms) for the server's other processes, which keep
        # typing sets of their own (set by the process follower when there are others)
        self.shared: Callable[[str, str, bool, int], None] | None = None

    # local users ---------------------------------------------------------------------------

    def set_typing(self, req: Requester, room_id: str, user_id: str, body: dict) -> None:
        if user_id != req.user_id:
            raise Forbidden("You may only set your own typing state")
        typing = body.get("typing")
        if not isinstance(typing, bool):
            raise BadJson("typing must be a boolean")
        timeout = body.get("timeout", MAX_TIMEOUT_MS)
        if typing and (not isinstance(timeout, int) or isinstance(timeout, bool)
                       or timeout < 0):
            raise BadJson("timeout must be a non-negative integer (milliseconds)")
        self.known_room(room_id)
        if not self._joined(room_id, user_id):
            raise Forbidden("You are not joined to this room")
        timeout_ms = min(timeout, MAX_TIMEOUT_MS) if typing else 0
        self._apply(room_id, user_id, typing, timeout_ms)
        if self.shared is not None:
            self.shared(room_id, user_id, typing, timeout_ms)
        dests = self.store.room_servers(room_id) - {self.server_name}
        if dests:
            self.queue.send_edu(dests, {"edu_type": "m.typing", "content": {
                "room_id": room_id, "user_id": user_id, "typing": typing}})

    def _joined(self, room_id: str, user_id: str) -> bool:
        m = self.store.membership(room_id, user_id)
        return m is not None and m[0] == "join"

    # other servers' users ------------------------------------------------------------------

    def on_edu(self, origin: str, content: dict) -> None:
        """An ``m.typing`` EDU {room_id, user_id, typing}: only for the origin's own users,
        joined to a room we know; anything else is ignored."""
        room_id, user_id, typing = (content.get("room_id"), content.get("user_id"),
                                    content.get("typing"))
        if not isinstance(room_id, str) or not isinstance(user_id, str) or \
                not isinstance(typing, bool) or server_of(user_id) != origin:
            log.info("ignored an m.typing EDU from %s for another server's user", origin)
            return
        if origin not in self.store.room_servers(room_id) or not self._joined(room_id, user_id):
            log.info("ignored an m.typing EDU from %s for %s, which %s is not in",
                     origin, room_id, user_id)
            return
        self._apply(room_id, user_id, typing, MAX_TIMEOUT_MS)
        if self.shared is not None:
            self.shared(room_id, user_id, typing, MAX_TIMEOUT_MS)

    def apply_elsewhere(self, room_id: str, user_id: str, typing: bool, timeout_ms: int) -> None:
        """Another process of this server took this typing change (checked there)."""
        self._apply(room_id, user_id, typing, max(0, min(timeout_ms, MAX_TIMEOUT_MS)))

    def on_event(self, event: dict, stream: int) -> None:
        """A member who leaves (or is kicked or banned) stops typing at once."""
        if event["type"] == "m.room.member" and \
                event["content"].get("membership") != "join" and \
                event["state_key"] in self._typing.get(event["room_id"], {}):
            self._apply(event["room_id"], event["state_key"], False, 0)

    # the typing sets -----------------------------------------------------------------------

    def _apply(self, room_id: str, user_id: str, typing: bool, timeout_ms: int) -> None:
        now = self.clock()
        users = self._typing.setdefault(room_id, {})
        was = users.get(user_id, 0.0) > now
        if typing:
            if not was and len(users) >= MAX_TYPING_PER_ROOM:
                return
            users[user_id] = now + timeout_ms / 1000
            changed = not was
        else:
            changed = users.pop(user_id, None) is not None and was
        if changed:
            self._changed(room_id)
        self._schedule(room_id)

    def _changed(self, room_id: str) -> None:
        self._pos[room_id] = self.stream.next_marked("typing")
        self.notifier.notify_users(self.store.room_members(room_id))

    def _schedule(self, room_id: str) -> None:
        timer = self._timers.pop(room_id, None)
        if timer is not None:
            timer.cancel()
        users = self._typing.get(room_id)
        if not users:
            self._typing.pop(room_id, None)
            return
        delay = max(0.0, min(users.values()) - self.clock())
        self._timers[room_id] = asyncio.get_running_loop().call_later(
            delay + 0.01, soon, self._expire, room_id)  # a task: _expire stores a position

    def _expire(self, room_id: str) -> None:
        self._timers.pop(room_id, None)
        users = self._typing.get(room_id, {})
        now = self.clock()
        expired = [u for u, t in users.items() if t <= now]
        for u in expired:
            del users[u]
        if expired:
            self._changed(room_id)
        self._schedule(room_id)

    # /sync ---------------------------------------------------------------------------------

    def typing_event(self, room_id: str, since: int | None, upto: int) -> dict | None:
        """The room's ``m.typing`` event if its typing set changed after ``since``."""
        pos = self._pos.get(room_id)
        if pos is None or (since is not None and pos <= since) or pos > upto:
            return None
        now = self.clock()
        users = sorted(u for u, t in self._typing.get(room_id, {}).items() if t > now)
        return {"type": "m.typing", "content": {"user_ids": users}}

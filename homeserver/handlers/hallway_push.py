"""Pushing our hallway to the servers we know: a room going live or ending, within a second.

When one of our public audio rooms changes in a way the hallway shows, the room is marked
dirty; a flusher sends the dirty rooms' directory entries (the same entries a pull of our
``publicRooms`` gives) as ``org.audiorooms.hallway`` EDUs through the outbound queue:

- going live or ending (``org.audiorooms.live``), a new room, or a room made public/private:
  flushed after ``urgent_delay`` (0.1 s, so the burst of a new room's events is one push);
- counts, speakers, name, topic, replays: flushed after ``change_delay`` (2 s), so a busy room
  costs each server at most one EDU per window, and listener counts are at most that old;
- flushes are at least ``min_interval`` apart and carry at most ``MAX_FLUSH_ROOMS`` rooms (the
  rest wait for the next), so the rate is bounded whatever our rooms do.

Destinations: the servers in ``federation.servers``, those sharing a room with us, and those that
pulled our directory within ``PULLER_TTL_S`` (at most ``MAX_PULLERS`` remembered), at most
``MAX_DESTINATIONS`` in all. EDUs are not durable; a receiver that misses one sees the gap in
``seq`` and pulls, and the pull stays its fallback anyway.
"""
from __future__ import annotations

import asyncio
import json
import logging
import math
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Protocol

from federation.pdus import server_of

from .. import stage
from . import hallway_schema as schema

log = logging.getLogger(__name__)
EDU_TYPE = "org.audiorooms.hallway"
MAX_DESTINATIONS = 1000
MAX_PULLERS = 1000
PULLER_TTL_S = 3600.0
MAX_FLUSH_ROOMS = 200
MAX_EDU_BYTES = 60_000  # rooms are packed into EDUs of about this size (one big room alone)
REPLAY_KEY = "org.audiorooms.replay"
URGENT_TYPES = {stage.LIVE, "m.room.create"}
CHANGE_TYPES = {"m.room.member", stage.ROLE, "m.room.name", "m.room.topic", "m.room.avatar",
                "m.room.canonical_alias", "m.room.join_rules", "m.room.guest_access",
                "m.room.history_visibility", "m.space.parent", "m.room.redaction"}


class EduSender(Protocol):
    def send_edu(self, destinations: Iterable[str], edu: dict) -> None: ...


class RoomDirectory(Protocol):
    def is_public(self, room_id: str) -> bool: ...

    def room_summary(self, room_id: str) -> dict: ...


class HallwayPublisher:
    def __init__(self, server_name: str, directory: RoomDirectory, queue: EduSender,
                 known_servers: Callable[[], set[str]], urgent_delay: float = 0.1,
                 change_delay: float = 2.0, min_interval: float = 0.25,
                 clock: Callable[[], float] = time.monotonic):
        self.server_name = server_name
        self.directory = directory
        self.queue = queue
        self.known_servers = known_servers
        self.urgent_delay = urgent_delay
        self.change_delay = change_delay
        self.min_interval = min_interval
        self.clock = clock
        self.boot = secrets.token_hex(8)  # a receiver seeing a new one knows we restarted
        self.seq = -1  # of the last EDU sent
        self._dirty: dict[str, float] = {}  # room_id -> when it is due
        self._announced: set[str] = set()  # rooms pushed as public (a removal is due if not)
        self._pullers: OrderedDict[str, float] = OrderedDict()
        self._last_flush = -math.inf
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task | None = None
        self._stopping = False

    # what makes a room dirty ---------------------------------------------------------------

    def on_event(self, event: dict, stream: int) -> None:
        """An event listener (RoomHandler.event_listeners): our rooms only, as their host."""
        room_id = event["room_id"]
        if server_of(room_id) != self.server_name:
            return
        etype = event["type"]
        if etype in URGENT_TYPES:
            self._mark(room_id, self.urgent_delay)
        elif etype in CHANGE_TYPES or (etype == "m.room.message" and isinstance(
                event.get("content", {}).get(REPLAY_KEY), dict)):
            self._mark(room_id, self.change_delay)

    def on_visibility(self, room_id: str, public: bool) -> None:
        """A room was made public or private in the directory."""
        if server_of(room_id) == self.server_name:
            self._mark(room_id, self.urgent_delay)

    def pulled_by(self, origin: str) -> None:
        """``origin`` asked for our directory: it shows our rooms, so it hears of changes."""
        self._pullers.pop(origin, None)
        self._pullers[origin] = self.clock()
        while len(self._pullers) > MAX_PULLERS:
            self._pullers.popitem(last=False)

    def _mark(self, room_id: str, delay: float) -> None:
        if self._stopping or not (room_id in self._announced
                                  or self.directory.is_public(room_id)):
            return
        due = self.clock() + delay
        if due < self._dirty.get(room_id, math.inf):
            self._dirty[room_id] = due
        if self._wake is None:
            self._wake = asyncio.Event()
        self._wake.set()
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    # sending -------------------------------------------------------------------------------

    def destinations(self) -> list[str]:
        now = self.clock()
        while self._pullers and now - next(iter(self._pullers.values())) > PULLER_TTL_S:
            self._pullers.popitem(last=False)
        known = sorted(self.known_servers() - {self.server_name})
        pullers = [s for s in reversed(self._pullers) if s not in known
                   and s != self.server_name]  # the most recent first
        return (known + pullers)[:MAX_DESTINATIONS]

    async def _run(self) -> None:
        assert self._wake is not None
        while self._dirty and not self._stopping:
            self._wake.clear()
            due = max(min(self._dirty.values()), self._last_flush + self.min_interval)
            wait = due - self.clock()
            if wait > 0:
                try:  # an urgent room arriving meanwhile wakes us to recompute
                    await asyncio.wait_for(self._wake.wait(), wait)
                except TimeoutError:
                    pass
                continue
            now = self.clock()
            rooms = sorted((r for r, d in self._dirty.items() if d <= now),
                           key=lambda r: self._dirty[r])[:MAX_FLUSH_ROOMS]
            for r in rooms:
                del self._dirty[r]
            self._last_flush = now
            try:
                self.flush(rooms)
            except Exception:  # a push is droppable; the pull is the fallback
                log.exception("hallway push failed")

    def flush(self, rooms: list[str]) -> None:
        items = []
        for room_id in rooms:
            entry = self.directory.room_summary(room_id) \
                if self.directory.is_public(room_id) else {}
            if schema.NS + "live" in entry:  # a public audio room
                items.append(entry)
                self._announced.add(room_id)
            elif room_id in self._announced:
                items.append({"room_id": room_id, "removed": True})
                self._announced.discard(room_id)
        if not items:
            return
        dests = self.destinations()
        if not dests:
            return
        for batch in _pack(items):
            self.seq += 1
            self.queue.send_edu(dests, {"edu_type": EDU_TYPE, "content": {
                "boot": self.boot, "seq": self.seq, "rooms": batch}})

    async def stop(self) -> None:
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


def _pack(items: list[dict]) -> list[list[dict]]:
    """Items in batches of at most MAX_PUSH_ROOMS and about MAX_EDU_BYTES each."""
    batches: list[list[dict]] = []
    size = 0
    for item in items:
        n = len(json.dumps(item, ensure_ascii=False, separators=(",", ":")))
        if not batches or len(batches[-1]) >= schema.MAX_PUSH_ROOMS or size + n > MAX_EDU_BYTES:
            batches.append([])
            size = 0
        batches[-1].append(item)
        size += n
    return batches

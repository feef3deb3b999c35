"""Presence: online / unavailable / offline with a status message and when the user was last
active, for our users and for other servers' users who share a room with ours.

Rules (Synapse's, in short):
- a user is online while syncing with ``set_presence=online`` (the default) or after PUTting
  it; sending an event counts as activity and brings an idle user back online;
- online with no activity for ``IDLE_MS`` -> unavailable; no /sync in flight and none for
  ``SYNC_GRACE_MS`` -> offline; another server's user not refreshed for ``REMOTE_TIMEOUT_MS``
  -> offline (their server re-sends online users every ``RESEND_MS``);
- each change (state or status message, or becoming currently active) takes a position on the
  sync stream and is stored (the last-known state survives a restart); /sync serves changed
  users who share a room with the syncer (and the syncer), as ``m.presence`` events;
- our users' changes go as ``m.presence`` EDUs to the servers sharing a room with them; an EDU
  is accepted only for the origin's own users who share a room with one of ours.
One loop checks the timeouts every ``TICK_SECONDS`` over the users not offline (no task per
user). With ``presence.enabled: false`` nothing is tracked, stored, served or sent.
"""
from __future__ import annotations

import asyncio
import bisect
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from federation.pdus import server_of
from federation.queue import OutboundQueue

from ..errors import BadJson, Forbidden, InvalidParam
from ..storage.events import EventStore
from ..storage.presence import PresenceStore
from .accounts import USER_ID, Requester
from .background import BackgroundTask
from .notifier import Notifier

log = logging.getLogger(__name__)

STATES = ("online", "unavailable", "offline")
MAX_STATUS_MSG = 1000
IDLE_MS = 5 * 60_000
SYNC_GRACE_MS = 30_000
REMOTE_TIMEOUT_MS = 30 * 60_000
RESEND_MS = 25 * 60_000
ACTIVE_MS = 60_000  # currently_active: active within this long
MAX_PUSH = 500  # presence updates read from one EDU
MAX_AGAIN = 10_000  # joins waiting for their second introduction
MAX_AGO_MS = 10 * 365 * 86_400_000
MAX_INITIAL = 5000  # presence events in one initial sync
TICK_SECONDS = 5.0


@dataclass
class Presence:
    state: str
    status_msg: str | None
    last_active_ts: int
    pos: int
    active: bool = False  # currently_active as last announced
    touched_ts: int = 0  # ours: last sync or PUT; theirs: last EDU
    sent_ts: int = 0  # ours: last sent to other servers


def check_status_msg(value) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_STATUS_MSG:
        raise InvalidParam(f"status_msg must be a string of at most {MAX_STATUS_MSG} characters")
    return value


class PresenceHandler:
    def __init__(self, server_name: str, store: PresenceStore, events: EventStore,
                 notifier: Notifier, queue: OutboundQueue, enabled: bool = True,
                 clock: Callable[[], float] = time.time):
        self.server_name = server_name
        self.store = store
        self.events = events
        self.notifier = notifier
        self.queue = queue
        self.enabled = enabled
        self.clock = clock
        self._states: dict[str, Presence] = {}
        self._log: list[tuple[int, str]] = []  # (pos, user) in position order; stale kept
        self._not_offline: set[str] = set()
        self._syncing: dict[str, int] = {}  # our users -> /sync requests in flight
        # Several processes of one server: users whose presence another process set last and
        # times out (this one only follows), and the hook that tells the others (user, the
        # new presence, or None: "I time this user out from now on").
        self._elsewhere: set[str] = set()
        self.shared: Callable[[str, Presence | None], None] | None = None
        self._ticker = BackgroundTask(self._loop)
        # Joins to introduce again on the next tick: the new server may still be storing the
        # room's state when the first EDU arrives, and would then (rightly) ignore it.
        self._again: list[tuple[str, str]] = []
        now = self._now()
        for user_id, state, msg, active, pos in store.load():
            self._states[user_id] = Presence(state, msg, active, pos, touched_ts=now,
                                             active=state == "online"
                                             and now - active < ACTIVE_MS)
            self._log.append((pos, user_id))
            if state != "offline":
                self._not_offline.add(user_id)

    def _now(self) -> int:
        return int(self.clock() * 1000)

    def _ours(self, user_id: str) -> bool:
        return server_of(user_id) == self.server_name

    # changing a user's presence -----------------------------------------------------------

    def _set(self, user_id: str, state: str, status_msg: str | None, last_active_ts: int,
             touched_ts: int) -> None:
        """Record a state; a change (what others see) gets a stream position, is stored,
        wakes the users who share a room and, for our users, goes to the other servers."""
        now = self._now()
        old = self._states.get(user_id)
        active = state == "online" and now - last_active_ts < ACTIVE_MS
        if old is not None:
            old.touched_ts = touched_ts
            if (old.state, old.status_msg, old.active) == (state, status_msg, active):
                old.last_active_ts = max(old.last_active_ts, last_active_ts)
                return
        pos = self.store.save(user_id, state, status_msg, last_active_ts)
        p = Presence(state, status_msg, last_active_ts, pos, active, touched_ts)
        rooms = self._record(user_id, p)
        self._elsewhere.discard(user_id)
        if self.shared is not None:
            self.shared(user_id, p)
        if self._ours(user_id):
            self._send(user_id, p, rooms)

    def _record(self, user_id: str, p: Presence, local_only: bool = False) -> list[str]:
        """Hold ``p`` as the user's presence and wake whoever shares a room with them."""
        self._states[user_id] = p
        if self._log and p.pos < self._log[-1][0]:
            bisect.insort(self._log, (p.pos, user_id))  # from another process, out of order
        else:
            self._log.append((p.pos, user_id))
        if len(self._log) > 2 * len(self._states) + 1000:
            self._log = sorted((q.pos, u) for u, q in self._states.items())
        if p.state == "offline":
            self._not_offline.discard(user_id)
        else:
            self._not_offline.add(user_id)
        rooms = self._joined_rooms(user_id)
        self.notifier.notify_users({user_id}.union(*(self.events.room_members(r)
                                                     for r in rooms)), local_only=local_only)
        return rooms

    def apply_elsewhere(self, user_id: str, state: str, status_msg: str | None,
                        last_active_ts: int, pos: int) -> None:
        """Another process of this server stored this presence (and times it out)."""
        if not self.enabled or state not in ("online", "unavailable", "offline"):
            return
        now = self._now()
        self._elsewhere.add(user_id)
        self._record(user_id, Presence(state, status_msg, last_active_ts, pos,
                                       state == "online" and now - last_active_ts < ACTIVE_MS,
                                       touched_ts=now), local_only=True)

    def owned_elsewhere(self, user_id: str) -> None:
        """Another process now sees this user's syncs: it times them out, not us."""
        self._elsewhere.add(user_id)

    def _claim(self, user_id: str) -> None:
        """Our process sees the user's syncs now: we time them out (and tell the others)."""
        if user_id in self._elsewhere:
            self._elsewhere.discard(user_id)
            if self.shared is not None:
                self.shared(user_id, None)

    def _joined_rooms(self, user_id: str) -> list[str]:
        return [r for r, m, _ in self.events.rooms_for_user(user_id) if m == "join"]

    def _send(self, user_id: str, p: Presence, rooms: list[str]) -> None:
        dests = set().union(*(self.events.room_servers(r) for r in rooms)) - {self.server_name}
        p.sent_ts = self._now()
        if dests:
            self.queue.send_edu(dests, {"edu_type": "m.presence", "content": {
                "push": [{"user_id": user_id, **self._content(p, p.sent_ts)}]}})

    # our users ----------------------------------------------------------------------------

    def set_status(self, req: Requester, user_id: str, body: dict) -> None:
        """PUT /presence/{userId}/status."""
        if user_id != req.user_id:
            raise Forbidden("You may only set your own presence")
        state = body.get("presence")
        if state not in STATES:
            raise InvalidParam("presence must be one of online, unavailable, offline")
        status_msg = check_status_msg(body.get("status_msg"))
        if not self.enabled:
            return  # accepted, nothing kept (as Synapse with presence off)
        now = self._now()
        old = self._states.get(user_id)
        active = now if state == "online" else (old.last_active_ts if old else now)
        self._set(user_id, state, status_msg, active, now)

    def get_status(self, req: Requester, user_id: str) -> dict:
        """GET /presence/{userId}/status: the user's own, or of someone sharing a room."""
        if not USER_ID.match(user_id) or len(user_id) > 255:
            raise InvalidParam(f"{user_id!r} is not a valid user ID")
        if user_id != req.user_id and not self._share_room(req.user_id, user_id):
            raise Forbidden("You are not allowed to see their presence")
        p = self._states.get(user_id) if self.enabled else None
        if p is None:
            return {"presence": "offline"}
        return self._content(p, self._now())

    def _share_room(self, a: str, b: str) -> bool:
        rooms_b = set(self._joined_rooms(b))
        return any(r in rooms_b for r in self._joined_rooms(a))

    def sync_started(self, user_id: str, set_presence: str) -> bool:
        """A /sync began; True if it counts for presence (then call sync_ended)."""
        if not self.enabled or set_presence == "offline":
            return False
        now = self._now()
        self._syncing[user_id] = self._syncing.get(user_id, 0) + 1
        self._claim(user_id)
        p = self._states.get(user_id)
        if set_presence == "unavailable":
            if p is None or p.state != "unavailable":
                self._set(user_id, "unavailable", p.status_msg if p else None,
                          p.last_active_ts if p else now, now)
            else:
                p.touched_ts = now
        elif p is None or p.state == "offline":
            self._set(user_id, "online", p.status_msg if p else None, now, now)
        else:
            p.touched_ts = now
        return True

    def sync_ended(self, user_id: str) -> None:
        n = self._syncing.get(user_id, 0) - 1
        if n > 0:
            self._syncing[user_id] = n
        else:
            self._syncing.pop(user_id, None)
        p = self._states.get(user_id)
        if p is not None:
            p.touched_ts = self._now()

    def on_event(self, event: dict, stream: int) -> None:
        """Our user sent an event: activity (an idle user is online again). A join brings
        a new server into the room: it is told our users' presence there."""
        sender = event.get("sender")
        if not self.enabled or not isinstance(sender, str):
            return
        if event.get("type") == "m.room.member" and \
                event.get("content", {}).get("membership") == "join":
            joiner = event.get("state_key")
            self._introduce(event["room_id"], joiner)
            if isinstance(joiner, str) and not self._ours(joiner) and \
                    len(self._again) < MAX_AGAIN:
                self._again.append((event["room_id"], joiner))
        if not self._ours(sender):
            return
        now = self._now()
        p = self._states.get(sender)
        if p is not None and p.state == "online" and now - p.last_active_ts < ACTIVE_MS // 2:
            p.last_active_ts = now  # the common case: already online and active, no write
            return
        self._set(sender, "online", p.status_msg if p else None, now, now)

    def _introduce(self, room_id: str, user_id) -> None:
        """After a join: another server's user gets our members' presence (one EDU, at most
        MAX_PUSH users); our user's presence goes to the room's other servers."""
        if not isinstance(user_id, str) or ":" not in user_id:
            return
        now = self._now()
        if self._ours(user_id):
            p = self._states.get(user_id)
            dests = self.events.room_servers(room_id) - {self.server_name}
            if p is not None and p.state != "offline" and dests:
                self.queue.send_edu(dests, {"edu_type": "m.presence", "content": {
                    "push": [{"user_id": user_id, **self._content(p, now)}]}})
            return
        push = [{"user_id": u, **self._content(self._states[u], now)}
                for u in self.events.room_members(room_id)
                if u in self._not_offline and self._ours(u)][:MAX_PUSH]
        if push:
            self.queue.send_edu([server_of(user_id)], {"edu_type": "m.presence",
                                                       "content": {"push": push}})

    # timeouts ------------------------------------------------------------------------------

    def check_timeouts(self) -> None:
        """Idle -> unavailable, gone -> offline, other servers' stale users -> offline, and
        our online users re-sent to other servers now and then."""
        again, self._again = self._again, []
        for room_id, joiner in again:
            self._introduce(room_id, joiner)
        now = self._now()
        for user_id in list(self._not_offline):
            if user_id in self._elsewhere:
                continue  # the process that set it times it out
            p = self._states[user_id]
            if not self._ours(user_id):
                if now - p.touched_ts > REMOTE_TIMEOUT_MS:
                    self._set(user_id, "offline", p.status_msg, p.last_active_ts, p.touched_ts)
                continue
            if user_id not in self._syncing and now - p.touched_ts > SYNC_GRACE_MS:
                self._set(user_id, "offline", p.status_msg, p.last_active_ts, p.touched_ts)
            elif p.state == "online" and now - p.last_active_ts > IDLE_MS:
                self._set(user_id, "unavailable", p.status_msg, p.last_active_ts, p.touched_ts)
            elif p.active and now - p.last_active_ts >= ACTIVE_MS:  # no longer active
                self._set(user_id, p.state, p.status_msg, p.last_active_ts, p.touched_ts)
            elif now - p.sent_ts > RESEND_MS:
                self._send(user_id, p, self._joined_rooms(user_id))

    def start(self) -> None:
        if self.enabled:
            self._ticker.start()

    async def stop(self) -> None:
        await self._ticker.stop()

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(TICK_SECONDS)
            try:
                self.check_timeouts()
            except Exception:
                log.exception("presence timeouts")

    # other servers -------------------------------------------------------------------------

    def on_edu(self, origin: str, content: dict) -> None:
        """``m.presence`` {push: [...]}: each update for one of the origin's users who shares
        a room with one of ours; anything malformed or foreign is skipped."""
        if not self.enabled:
            return
        push = content.get("push")
        if not isinstance(push, list):
            raise BadJson("push must be a list")
        now = self._now()
        for item in push[:MAX_PUSH]:
            update = self._valid_update(origin, item)
            if update is None:
                continue
            user_id, state, status_msg, ago = update
            if not self._shares_room_with_us(user_id):
                log.info("ignored presence from %s for %s, who shares no room with us",
                         origin, user_id)
                continue
            self._set(user_id, state, status_msg, now - ago, now)

    def _valid_update(self, origin: str, item) -> tuple[str, str, str | None, int] | None:
        if not isinstance(item, dict):
            return None
        user_id, state = item.get("user_id"), item.get("presence")
        ago = item.get("last_active_ago", 0)
        msg = item.get("status_msg")
        if not isinstance(user_id, str) or len(user_id) > 255 or not USER_ID.match(user_id) \
                or server_of(user_id) != origin or self._ours(user_id):
            log.info("ignored presence from %s for another server's user", origin)
            return None
        if state not in STATES or not isinstance(ago, int) or isinstance(ago, bool) or \
                not 0 <= ago <= MAX_AGO_MS or \
                (msg is not None and (not isinstance(msg, str) or len(msg) > MAX_STATUS_MSG)) \
                or not isinstance(item.get("currently_active", False), bool):
            return None
        return user_id, state, msg, ago

    def _shares_room_with_us(self, user_id: str) -> bool:
        for room_id in self._joined_rooms(user_id):
            if any(self._ours(u) for u in self.events.room_members(room_id)):
                return True
        return False

    # /sync ---------------------------------------------------------------------------------

    def _content(self, p: Presence, now: int) -> dict:
        out: dict = {"presence": p.state, "last_active_ago": max(0, now - p.last_active_ts)}
        if p.state == "online":
            out["currently_active"] = p.active
        if p.status_msg is not None:
            out["status_msg"] = p.status_msg
        return out

    def presence_events(self, user_id: str, joined_rooms: list[str], since: int | None,
                        upto: int) -> list[dict]:
        """``m.presence`` events of the users (sharing a room, or the syncer) whose presence
        changed after ``since`` (all known if None), up to ``upto``."""
        if not self.enabled or not self._log or (since is not None and
                                                  self._log[-1][0] <= since):
            return []
        if since is None:
            changed = [u for u, p in self._states.items() if p.pos <= upto]
        else:
            i = bisect.bisect_right(self._log, (since, "\U0010ffff"))
            changed = list(dict.fromkeys(u for pos, u in self._log[i:] if pos <= upto
                                         and self._states[u].pos == pos))
        if not changed:
            return []
        members = {user_id}.union(*(self.events.room_members(r) for r in joined_rooms))
        now = self._now()
        return [{"type": "m.presence", "sender": u, "content": self._content(self._states[u], now)}
                for u in changed if u in members][:MAX_INITIAL]

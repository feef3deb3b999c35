"""HTTP pushers: notifications POSTed to the user's push gateway, as the Push Gateway API says.

When an event notifies a user (NotificationCounter), one row per pusher of that user is queued
in the same database transaction that records the notification, so the send path only adds a
few inserts; this module delivers the rows in the background and they survive a restart.

Delivery: one loop starts at most ``concurrency`` pusher workers at a time; a worker sends its
pusher's rows one after another, oldest first (in order per pusher), deleting each once the
gateway answered 2xx. A failure (no answer, 5xx, 429) backs that pusher off exponentially (base
doubling up to max, with jitter) and the loop serves others meanwhile; any other answer (4xx,
3xx: redirects are not followed) drops that notification. A notification older than
``give_up_after`` is dropped unseen. A pushkey the gateway lists in ``rejected`` loses its
pusher (and its queue), as the spec requires.

The notification is built when it is sent: the event, the sender's display name and the room's
name as they are then, and the badge count (``counts.unread``: rooms with unread notifications,
or the number of notifications). A pusher with ``data.format: "event_id_only"`` gets only the
event and room IDs, the counts and the priority. The HTTP POST goes through ``PushGateway``, an
object given to this handler (homeserver/push_client.py: guarded against private addresses,
bounded in time and size).
"""
from __future__ import annotations

import asyncio
import heapq
import json
import logging
import random
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from ..errors import InvalidParam
from ..storage.events import EventStore
from ..storage.push import PusherKey, PushStore, QueuedPush
from .rooms import RoomHandler

log = logging.getLogger(__name__)

NOTIFY_PATH = "/_matrix/push/v1/notify"
MAX_URL = 2048


@dataclass
class GatewayAnswer:
    status: int | None  # None: no HTTP answer (refused address, unreachable, timed out)
    body: dict = field(default_factory=dict)  # {} unless a JSON object within the size bound
    error: str = ""


class PushGateway(Protocol):
    def refusal(self, url: str) -> str | None:
        """Why ``url`` may never be dialled (an address in a refused range), or None."""

    async def notify(self, url: str, body: dict) -> GatewayAnswer: ...


@dataclass(frozen=True)
class DeliveryPolicy:
    retry_base_s: float = 1.0
    retry_max_s: float = 600.0
    give_up_after_s: float = 86400.0
    concurrency: int = 16
    badge_by_room: bool = True


def tweaks_of(actions: list) -> dict:
    """The ``set_tweak`` actions as the gateway's ``tweaks`` (a tweak without value is true)."""
    return {a["set_tweak"]: a.get("value", True) for a in actions
            if isinstance(a, dict) and isinstance(a.get("set_tweak"), str)}


class PusherDelivery:
    def __init__(self, store: PushStore, events: EventStore, rooms: RoomHandler,
                 gateway: PushGateway, policy: DeliveryPolicy | None = None,
                 rng: random.Random | None = None):
        self.store = store
        self.events = events
        self.rooms = rooms
        self.gateway = gateway
        self.policy = policy or DeliveryPolicy()
        self.rng = rng or random.Random()
        # user -> their pushers (app_id, pushkey): asked on every notification, so in memory.
        self._pushers: dict[str, list[tuple[str, str]]] = {}
        for user_id, app_id, pushkey in store.pusher_keys():
            self._pushers.setdefault(user_id, []).append((app_id, pushkey))
        self._ready: dict[PusherKey, None] = {}  # pushers with rows to send now, in order
        self._backoff: list[tuple[float, PusherKey]] = []  # (monotonic due, pusher), a heap
        self._retry_at: dict[PusherKey, float] = {}
        self._failures: dict[PusherKey, int] = {}
        self._busy: dict[PusherKey, asyncio.Task] = {}
        self._wake = asyncio.Event()
        self._loop_task: asyncio.Task | None = None
        self._stopping = False

    # the pushers' URLs and the pushers themselves ---------------------------------------------

    def check_url(self, url: str) -> None:
        """A pusher's ``data.url``: the gateway's notify endpoint on an address we may dial."""
        if len(url) > MAX_URL:
            raise InvalidParam(f"data.url is longer than {MAX_URL} characters")
        if not url.split("?", 1)[0].endswith(NOTIFY_PATH):
            raise InvalidParam(f"data.url must be a push gateway's {NOTIFY_PATH} endpoint")
        refused = self.gateway.refusal(url)
        if refused:
            raise InvalidParam(refused)

    def pushers_changed(self, user_ids: Iterable[str]) -> None:
        """These users' pushers were set or deleted (PushRulesHandler)."""
        users = list(dict.fromkeys(user_ids))
        for user_id in users:
            self._pushers.pop(user_id, None)
        for user_id, app_id, pushkey in self.store.pusher_keys(users):
            self._pushers.setdefault(user_id, []).append((app_id, pushkey))

    # the send path: queue cheaply -------------------------------------------------------------

    def has_pushers(self, user_id: str) -> bool:
        return user_id in self._pushers

    def queue_rows(self, user_id: str, event_id: str, actions: list) -> list[tuple]:
        """Rows for PushStore.add_notifications: one per pusher of the user."""
        tweaks = json.dumps(tweaks_of(actions))
        now = int(time.time() * 1000)
        return [(user_id, app_id, pushkey, event_id, tweaks, now)
                for app_id, pushkey in self._pushers.get(user_id, ())]

    def queued(self, rows: list[tuple]) -> None:
        """The rows are committed: their pushers have something to send."""
        for row in rows:
            key = (row[0], row[1], row[2])
            if key not in self._retry_at:
                self._ready[key] = None
        self._wake.set()

    # the delivery loop ------------------------------------------------------------------------

    def start(self) -> None:
        """Deliver what was queued before a restart, and whatever comes next."""
        for key in self.store.queued_pushers():
            self._ready[key] = None
        self._stopping = False
        self._loop_task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        self._stopping = True
        tasks = list(self._busy.values())
        if self._loop_task is not None:
            tasks.append(self._loop_task)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._busy.clear()
        self._loop_task = None

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            now = time.monotonic()
            while self._backoff and self._backoff[0][0] <= now:
                due, key = heapq.heappop(self._backoff)
                if self._retry_at.get(key) == due:
                    del self._retry_at[key]
                    self._ready[key] = None
            while self._ready and len(self._busy) < self.policy.concurrency:
                key = next(iter(self._ready))
                del self._ready[key]
                if key not in self._busy:  # a busy worker sends the new row itself
                    self._busy[key] = asyncio.get_running_loop().create_task(
                        self._deliver(key))
            timeout = max(0.0, self._backoff[0][0] - now) if self._backoff else None
            try:
                await asyncio.wait_for(self._wake.wait(), timeout)
            except TimeoutError:
                pass

    async def _deliver(self, key: PusherKey) -> None:
        try:
            while not self._stopping:
                row = self.store.next_queued(key)
                if row is None:
                    self._failures.pop(key, None)
                    return
                if not await self._send(key, row):
                    return
        except Exception:
            log.exception("push delivery to %s failed", key)
            self._back_off(key)
        finally:
            # No await between the last look at the queue and here: a row queued after it
            # finds the pusher idle and makes it ready again.
            self._busy.pop(key, None)
            self._wake.set()

    async def _send(self, key: PusherKey, row: QueuedPush) -> bool:
        """Send one queued notification; False: stop this pusher for now."""
        if time.time() * 1000 - row.created_ts > self.policy.give_up_after_s * 1000:
            log.info("push to %s: giving up on %s (queued too long)", key, row.event_id)
            self.store.delete_queued(row.id)
            return True
        found = self.store.pusher(key)
        if found is None:  # deleted meanwhile (with its queue)
            return False
        pusher, pushkey_ms = found
        body = self.notification(key[0], row, pusher, pushkey_ms)
        if body is None:  # the event is gone
            self.store.delete_queued(row.id)
            return True
        answer = await self.gateway.notify(pusher["data"]["url"], body)
        if self._stopping:
            return False
        status = answer.status
        if status is not None and 200 <= status < 300:
            self.store.delete_queued(row.id)
            self._failures.pop(key, None)
            rejected = answer.body.get("rejected")
            if isinstance(rejected, list) and key[2] in rejected:
                log.info("push gateway rejected pushkey of %s: pusher removed", key[0])
                self.store.delete_pusher(*key)
                self.pushers_changed([key[0]])
                return False
            return True
        if status is not None and status != 429 and 300 <= status < 500:
            log.warning("push gateway of %s answered %s: notification %s dropped", key[0],
                        status, row.event_id)
            self.store.delete_queued(row.id)
            return True
        log.info("push to %s failed (%s)", key[0], answer.error or f"HTTP {status}")
        self._back_off(key)
        return False

    def _back_off(self, key: PusherKey) -> None:
        failures = self._failures.get(key, 0) + 1
        self._failures[key] = failures
        delay = min(self.policy.retry_max_s, self.policy.retry_base_s * 2 ** min(failures - 1, 40))
        due = time.monotonic() + delay * self.rng.uniform(0.75, 1.0)
        self._retry_at[key] = due
        heapq.heappush(self._backoff, (due, key))

    # the notification -------------------------------------------------------------------------

    def notification(self, user_id: str, row: QueuedPush, pusher: dict,
                     pushkey_ms: int) -> dict | None:
        event = self.events.get_event(row.event_id)
        if event is None:
            return None
        data = pusher.get("data") or {}
        event_id_only = data.get("format") == "event_id_only"
        tweaks = row.tweaks
        device: dict = {"app_id": pusher["app_id"], "pushkey": pusher["pushkey"],
                        "pushkey_ts": pushkey_ms // 1000,
                        "data": {k: v for k, v in data.items() if k != "url"}}
        # Synapse's choice: high priority when the phone should make itself heard (a sound or
        # a highlight), or when the server cannot tell (encrypted).
        high = event.get("type") == "m.room.encrypted" or bool(tweaks.get("sound")) or \
            tweaks.get("highlight") is True
        note: dict = {"event_id": row.event_id, "room_id": row.room_id,
                      "prio": "high" if high else "low"}
        unread = self.store.badge_count(user_id, self.policy.badge_by_room)
        note["counts"] = {"unread": unread} if unread else {}  # zero counts are omitted
        if not event_id_only:
            device["tweaks"] = tweaks
            sender = event.get("sender", "")
            note.update(type=event.get("type"), sender=sender)
            state = self.rooms.state_view(row.room_id)
            name = _content_str(state.get(("m.room.member", sender)), "displayname")
            if name:
                note["sender_display_name"] = name
            room_name = _content_str(state.get(("m.room.name", "")), "name")
            if room_name:
                note["room_name"] = room_name
            alias = _content_str(state.get(("m.room.canonical_alias", "")), "alias")
            if alias:
                note["room_alias"] = alias
            if event.get("type") == "m.room.member":
                note["user_is_target"] = event.get("state_key") == user_id
            content = event.get("content")
            if isinstance(content, dict) and content:
                note["content"] = content
        note["devices"] = [device]
        return {"notification": note}


def _content_str(event: dict | None, key: str) -> str | None:
    content = (event or {}).get("content")
    value = content.get(key) if isinstance(content, dict) else None
    return value if isinstance(value, str) else None

"""Device list tracking: who must re-read whose device keys, here and on other servers.

A change of one of our users' devices (keys uploaded, signed, deleted) gets a position on the
sync stream (``device_list_changes``), wakes the users sharing a room, and goes as an
``m.device_list_update`` EDU to the servers sharing a room, its ``stream_id`` that position and
``prev_id`` the previous one: a chain each receiver can check. Another server's updates are
taken only for its own users who share a room with ours; they are applied to our copy of that
user's devices when the chain continues, and when it does not (a gap) the whole list is read
again with ``GET /user/devices/{userId}`` (one resync per user at a time, a bounded number at
once). Sync's ``device_lists`` and ``/keys/changes`` are computed from these positions and from
membership changes.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, TypeGuard
from urllib.parse import quote

from federation.client import FederationClient, RemoteServerError
from federation.pdus import server_of
from federation.queue import OutboundQueue

from ..errors import BadJson
from ..storage.e2e_keys import E2EKeyStore
from ..storage.events import EventStore
from .accounts import USER_ID
from .notifier import Notifier

log = logging.getLogger(__name__)

MAX_RESYNCS = 20  # resyncs running at once (more: dropped, the next update retries)
MAX_REMOTE_DEVICES = 1000  # devices kept per remote user
MAX_PREV_IDS = 50
RESYNC_TIMEOUT_S = 10.0
MAX_KEY_ID = 255


def valid_user(user_id: Any) -> TypeGuard[str]:
    return isinstance(user_id, str) and len(user_id) <= 255 and bool(USER_ID.match(user_id))


def valid_device_keys(keys: Any, user_id: str, device_id: str) -> TypeGuard[dict]:
    """Another server's device keys: an object for this user and device, of a bounded size."""
    return isinstance(keys, dict) and keys.get("user_id") == user_id and \
        keys.get("device_id") == device_id and isinstance(keys.get("keys"), dict) and \
        len(keys["keys"]) <= 20 and len(str(keys)) <= 16384


def valid_cross_signing_key(key: Any, user_id: str) -> TypeGuard[dict]:
    return isinstance(key, dict) and key.get("user_id") == user_id and \
        isinstance(key.get("keys"), dict) and 0 < len(key["keys"]) <= 2 and \
        isinstance(key.get("usage"), list) and len(str(key)) <= 16384


class DeviceLists:
    def __init__(self, server_name: str, store: E2EKeyStore, events: EventStore,
                 notifier: Notifier, queue: OutboundQueue, client: FederationClient,
                 render_device: Callable[[str, str], dict | None],
                 render_cross_signing: Callable[[str], dict]):
        self.server_name = server_name
        self.store = store
        self.events = events
        self.notifier = notifier
        self.queue = queue
        self.client = client
        # (user, device) -> the device's keys as other servers see them (None: no keys)
        self.render_device = render_device
        # user -> {"master_key": ..., "self_signing_key": ...} as other servers see them
        self.render_cross_signing = render_cross_signing
        self._resyncs: dict[str, asyncio.Task] = {}
        self._again: set[str] = set()  # a resync was asked for while one ran

    def _ours(self, user_id: str) -> bool:
        return server_of(user_id) == self.server_name

    def joined_rooms(self, user_id: str) -> list[str]:
        return [r for r, m, _ in self.events.rooms_for_user(user_id) if m == "join"]

    def sharing(self, user_id: str) -> set[str]:
        """The users who share a room with ``user_id`` (and the user)."""
        return {user_id}.union(*(self.events.room_members(r)
                                 for r in self.joined_rooms(user_id)))

    def _servers(self, user_id: str) -> set[str]:
        return set().union(*(self.events.room_servers(r) for r in
                             self.joined_rooms(user_id))) - {self.server_name}

    def shares_room_with_ours(self, user_id: str) -> bool:
        return any(self._ours(u) for u in self.sharing(user_id) if u != user_id)

    # our users' changes --------------------------------------------------------------------

    def local_changed(self, user_id: str, device_ids: list[str], deleted: bool = False,
                      federate: bool = True) -> None:
        """Our user's devices changed (keys, signatures) or were deleted."""
        self.notifier.notify_users(self.sharing(user_id))
        dests = self._servers(user_id) if federate else set()
        for device_id in device_ids or [""]:
            pos, prev = self.store.record_change(user_id, sent=bool(device_id))
            if not dests or not device_id:
                continue
            content: dict = {"user_id": user_id, "device_id": device_id, "stream_id": pos,
                             "prev_id": [] if prev is None else [prev], "deleted": deleted}
            keys = None if deleted else self.render_device(user_id, device_id)
            if keys is not None:
                display = keys.get("unsigned", {}).get("device_display_name")
                keys = {k: v for k, v in keys.items() if k != "unsigned"}
                content["keys"] = keys
                if display:
                    content["device_display_name"] = display
            self.queue.send_edu(dests, {"edu_type": "m.device_list_update", "content": content})

    def cross_signing_changed(self, user_id: str) -> None:
        """Our user's cross-signing keys changed: a change here, m.signing_key_update there."""
        self.store.record_change(user_id)
        self.notifier.notify_users(self.sharing(user_id))
        dests = self._servers(user_id)
        if dests:
            self.queue.send_edu(dests, {"edu_type": "m.signing_key_update", "content": {
                "user_id": user_id, **self.render_cross_signing(user_id)}})

    # other servers' updates ----------------------------------------------------------------

    def _remote_changed(self, user_id: str) -> None:
        self.store.record_change(user_id)
        self.notifier.notify_users(self.sharing(user_id))

    def on_edu(self, origin: str, content: dict) -> None:
        """``m.device_list_update``: one device of one of the origin's users."""
        user_id, device_id = content.get("user_id"), content.get("device_id")
        stream_id, prev_ids = content.get("stream_id"), content.get("prev_id", [])
        deleted = content.get("deleted", False)
        if not valid_user(user_id) or server_of(user_id) != origin or self._ours(user_id):
            log.info("ignored a device list update from %s for %r", origin, user_id)
            return
        if not isinstance(device_id, str) or not 0 < len(device_id) <= MAX_KEY_ID or \
                not isinstance(stream_id, int) or isinstance(stream_id, bool) or \
                not isinstance(prev_ids, list) or len(prev_ids) > MAX_PREV_IDS or \
                not all(isinstance(p, int) and not isinstance(p, bool) for p in prev_ids) or \
                not isinstance(deleted, bool):
            raise BadJson("malformed m.device_list_update")
        keys = content.get("keys")
        if not deleted and keys is not None and not valid_device_keys(keys, user_id, device_id):
            raise BadJson("malformed keys in m.device_list_update")
        if not self.shares_room_with_ours(user_id):
            log.info("ignored a device list update for %s, who shares no room with us", user_id)
            self.store.forget_remote_user(user_id)  # our copy would go stale: read afresh
            return
        known = self.store.remote_stream_id(user_id)
        if known is not None and stream_id <= known:
            return  # seen already (a retried transaction)
        if known is None or any(p > known for p in prev_ids):
            self.resync_soon(user_id)  # we missed an update (or never had the list)
            return
        if deleted or keys is None:
            stored = None
        else:
            stored = {"keys": keys}
            name = content.get("device_display_name")
            if isinstance(name, str) and len(name) <= 255:
                stored["device_display_name"] = name
        if stored is not None and device_id not in self.store.remote_devices(user_id) and \
                len(self.store.remote_devices(user_id)) >= MAX_REMOTE_DEVICES:
            return
        self.store.update_remote_device(user_id, device_id, stored, stream_id)
        self._remote_changed(user_id)

    def on_signing_key_edu(self, origin: str, content: dict) -> None:
        """``m.signing_key_update``: a remote user's master or self-signing key changed."""
        user_id = content.get("user_id")
        if not valid_user(user_id) or server_of(user_id) != origin or self._ours(user_id):
            log.info("ignored a signing key update from %s for %r", origin, user_id)
            return
        if not self.shares_room_with_ours(user_id):
            return
        changed = False
        for field, usage in (("master_key", "master"), ("self_signing_key", "self_signing")):
            key = content.get(field)
            if key is not None and valid_cross_signing_key(key, user_id) and \
                    usage in key["usage"]:
                self.store.set_cross_signing_key(user_id, usage, key)
                changed = True
        if changed:
            self._remote_changed(user_id)

    # resyncs -------------------------------------------------------------------------------

    def resync_soon(self, user_id: str) -> None:
        if user_id in self._resyncs:
            self._again.add(user_id)
            return
        if len(self._resyncs) >= MAX_RESYNCS:
            log.info("too many device list resyncs running; %s is left for later", user_id)
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._resyncs[user_id] = loop.create_task(self._resync_loop(user_id))

    async def _resync_loop(self, user_id: str) -> None:
        try:
            while True:
                self._again.discard(user_id)
                await self.resync(user_id)
                if user_id not in self._again:
                    return
        finally:
            self._resyncs.pop(user_id, None)

    async def resync(self, user_id: str) -> bool:
        """Read the user's whole device list from their server; True if it was stored."""
        server = server_of(user_id)
        try:
            answer = await self.client.request(
                server, "GET", f"/_matrix/federation/v1/user/devices/{quote(user_id, safe='')}",
                timeout_s=RESYNC_TIMEOUT_S)
        except RemoteServerError as e:
            log.info("could not resync the devices of %s: %s", user_id, e)
            return False
        if not isinstance(answer, dict) or answer.get("user_id") != user_id or \
                not isinstance(answer.get("stream_id"), int) or \
                not isinstance(answer.get("devices"), list):
            log.info("%s answered a malformed device list for %s", server, user_id)
            return False
        devices: dict[str, dict] = {}
        for d in answer["devices"][:MAX_REMOTE_DEVICES]:
            device_id = d.get("device_id") if isinstance(d, dict) else None
            if not isinstance(device_id, str) or not 0 < len(device_id) <= MAX_KEY_ID:
                continue
            entry: dict = {}
            if valid_device_keys(d.get("keys"), user_id, device_id):
                entry["keys"] = d["keys"]
            name = d.get("device_display_name")
            if isinstance(name, str) and len(name) <= 255:
                entry["device_display_name"] = name
            devices[device_id] = entry
        self.store.replace_remote_devices(user_id, answer["stream_id"], devices)
        for field, usage in (("master_key", "master"), ("self_signing_key", "self_signing")):
            key = answer.get(field)
            if valid_cross_signing_key(key, user_id) and usage in key["usage"]:
                self.store.set_cross_signing_key(user_id, usage, key)
        self._remote_changed(user_id)
        return True

    async def stop(self) -> None:
        tasks = list(self._resyncs.values())
        for t in tasks:
            t.cancel()
        for t in tasks:
            try:
                await t
            except (asyncio.CancelledError, Exception):
                pass

    # for other servers ---------------------------------------------------------------------

    def user_devices(self, user_id: str, device_ids: list[str],
                     names: dict[str, str | None]) -> dict:
        """GET /user/devices/{userId} for one of our users: every device, with its keys."""
        devices = []
        for device_id in device_ids:
            entry: dict = {"device_id": device_id}
            keys = self.render_device(user_id, device_id)
            if keys is not None:
                entry["keys"] = {k: v for k, v in keys.items() if k != "unsigned"}
            if names.get(device_id):
                entry["device_display_name"] = names[device_id]
            devices.append(entry)
        return {"user_id": user_id, "stream_id": self.store.last_sent(user_id) or 0,
                "devices": devices, **self.render_cross_signing(user_id)}

    # sync and /keys/changes ----------------------------------------------------------------

    def changes(self, user_id: str, since: int, upto: int) -> dict:
        """{changed, left}: users sharing a room with ``user_id`` whose device lists changed
        in (since, upto] or who came to share one; users who no longer share any."""
        if since >= upto:
            return {"changed": [], "left": []}
        rooms = self.events.rooms_for_user(user_id)
        joined = [r for r, m, _ in rooms if m == "join"]
        sharing = self.sharing(user_id)
        changed = {u for u in self.store.changed_between(since, upto) if u in sharing}
        own = user_id in changed
        left: set[str] = set()
        moved = [r for r, m, s in rooms if m == "join" or s > since]
        for room_id, other, membership in self.store.membership_changes(moved, since, upto):
            if other == user_id:
                if membership == "join":  # we joined: everyone there is new to us
                    changed.update(self.events.room_members(room_id))
                elif room_id not in joined:  # we left: those we no longer see
                    left.update(u for u in self.events.room_members(room_id)
                                if u not in sharing)
            elif membership == "join":
                changed.add(other)
            elif other not in sharing:
                left.add(other)
        if not own:
            changed.discard(user_id)
        return {"changed": sorted(changed - left), "left": sorted(left - changed - {user_id})}

"""The admin API's rules for rooms (Synapse's ``/_synapse/admin/v1/rooms`` and the v2 room
deletion) and server notices.

Deleting a room (as Synapse's shutdown and purge): it may be blocked first (joins and invites
are then refused with 403: our users', other servers' make_join/send_join and invites; in a
room we host, every PDU but a leave and every audio session or relay; no listing shows it),
its audio ends for everyone (the stage goes off-air, so the hallway drops it, and the SFU
closes every session and relay of the room), every local member leaves and local invites are
declined, its local aliases go, it leaves the room directory, and with ``purge`` every row of
it is deleted. The v2 deletion runs in the background; its progress is asked for by
delete_id or room ID.
"""
from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable

from federation.pdus import host_of, server_of

from .. import stage
from ..errors import BadJson, Forbidden, InvalidParam, MatrixError, NotFound
from ..storage.admin import AdminStore
from ..storage.events import EventStore
from .accounts import USER_ID, Requester
from .audio import NoticeSender
from .directory import DirectoryHandler
from .events import client_event
from .media import MediaHandler
from .membership import MembershipHandler
from .rooms import ROOM_ID

log = logging.getLogger(__name__)

ROOM_ORDER = ("name", "canonical_alias", "joined_members", "joined_local_members", "version",
              "creator", "encryption", "federatable", "public", "join_rules", "guest_access",
              "history_visibility", "state_events", "size")
MAX_LISTED_ROOMS = 100_000


def _content(view, etype: str, key: str):
    ev = view.get((etype, ""))
    v = (ev or {}).get("content", {}).get(key)
    return v


def _str_or_none(v):
    return v if isinstance(v, str) else None


class AdminRooms:
    def __init__(self, server_name: str, store: AdminStore, events: EventStore,
                 membership: MembershipHandler, directory: DirectoryHandler,
                 media: MediaHandler, notices: NoticeSender):
        self.server_name = server_name
        self.store = store
        self.events = events
        self.membership = membership
        self.rooms = membership.rooms
        self.directory = directory
        self.media = media
        self.notices = notices
        self._tasks: set[asyncio.Task] = set()
        # Told (room_id) when a room was deleted (e.g. caches outside the database).
        self.deleted_listeners: list[Callable[[str], None]] = []

    def known_room_id(self, room_id: str) -> str:
        if not ROOM_ID.match(room_id) or len(room_id) > 255:
            raise InvalidParam(f"{room_id} is not a legal room ID")
        return room_id

    # listing -------------------------------------------------------------------------------

    def summary(self, room_id: str) -> dict | None:
        row = self.store.room_row(room_id)
        if row is None:
            return None
        view = self.rooms.state_view(room_id)
        joined, local = self.store.member_counts(room_id, self.server_name)
        create = (view.get(("m.room.create", "")) or {}).get("content", {})
        return {
            "room_id": room_id,
            "name": _str_or_none(_content(view, "m.room.name", "name")),
            "canonical_alias": _str_or_none(_content(view, "m.room.canonical_alias", "alias")),
            "joined_members": joined, "joined_local_members": local,
            "version": row["version"], "creator": row["creator"],
            "encryption": _str_or_none(_content(view, "m.room.encryption", "algorithm")),
            "federatable": create.get("m.federate", True) is not False,
            "public": bool(row["public"]),
            "join_rules": _str_or_none(_content(view, "m.room.join_rules", "join_rule")),
            "guest_access": _str_or_none(_content(view, "m.room.guest_access",
                                                  "guest_access")),
            "history_visibility": _str_or_none(_content(view, "m.room.history_visibility",
                                                        "history_visibility")),
            "state_events": self.store.state_event_count(room_id),
            "room_type": _str_or_none(create.get("type")),
        }

    def list_rooms(self, start: int, limit: int, order_by: str, backwards: bool,
                   search_term: str | None, public: bool | None, empty: bool | None) -> dict:
        if order_by not in ROOM_ORDER:
            raise InvalidParam(f"order_by must be one of {', '.join(ROOM_ORDER)}")
        rooms = [s for s in (self.summary(r) for r in self.store.room_ids()[:MAX_LISTED_ROOMS])
                 if s is not None]
        if search_term is not None:
            term = search_term.lower()
            rooms = [r for r in rooms if r["room_id"] == search_term
                     or term in (r["name"] or "").lower()
                     or term in (r["canonical_alias"] or "").lower()]
        if public is not None:
            rooms = [r for r in rooms if r["public"] == public]
        if empty is not None:
            rooms = [r for r in rooms if (r["joined_members"] == 0) == empty]
        key = "joined_local_members" if order_by == "size" else order_by
        numeric = key in ("joined_members", "joined_local_members", "state_events")
        # Synapse: counts biggest first, names A to Z; dir=b reverses either
        rooms.sort(key=lambda r: (r[key] is None, r[key] if r[key] is not None else "",
                                  r["room_id"]), reverse=numeric)
        if backwards:
            rooms.reverse()
        total = len(rooms)
        out: dict = {"rooms": rooms[start:start + limit], "offset": start, "total_rooms": total}
        if start + limit < total:
            out["next_batch"] = start + limit
        if start > 0:
            out["prev_batch"] = max(0, start - limit)
        return out

    def room_details(self, room_id: str) -> dict:
        self.known_room_id(room_id)
        out = self.summary(room_id)
        if out is None:
            raise NotFound("Room not found")
        view = self.rooms.state_view(room_id)
        tomb = view.get(("m.room.tombstone", ""))
        out.update({
            "avatar": _str_or_none(_content(view, "m.room.avatar", "url")),
            "topic": _str_or_none(_content(view, "m.room.topic", "topic")),
            "joined_local_devices": self.store.device_count(
                [u for u in self.events.room_members(room_id)
                 if server_of(u) == self.server_name]),
            "forgotten": False, "tombstoned": tomb is not None,
            "replacement_room": _str_or_none((tomb or {}).get("content", {})
                                             .get("replacement_room")),
        })
        if stage.is_audio_room(view):
            out["org.audiorooms.live"] = bool(stage.live_state(view).get("live"))
        return out

    def members(self, room_id: str) -> dict:
        self.known_room_id(room_id)
        if self.store.room_row(room_id) is None:
            raise NotFound("Room not found")
        members = sorted(self.events.room_members(room_id))
        return {"members": members, "total": len(members)}

    def state(self, room_id: str) -> dict:
        self.known_room_id(room_id)
        if self.store.room_row(room_id) is None:
            raise NotFound("Room not found")
        return {"state": [client_event(e) for e in self.rooms.state_view(room_id).values()]}

    # deletion ------------------------------------------------------------------------------

    def start_delete(self, req: Requester, room_id: str, body: dict) -> dict:
        """DELETE v2/rooms/<room_id>: checked now, done in the background."""
        block, purge = self._check_delete(room_id, body)
        if self.store.running_deletion(room_id):
            raise MatrixError(f"History purge already in progress for {room_id}",
                              "M_UNKNOWN", 400)
        delete_id = secrets.token_urlsafe(12)
        self.store.add_deletion(delete_id, room_id)
        task = asyncio.ensure_future(self._run_delete(delete_id, req.user_id, room_id,
                                                      block, purge))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return {"delete_id": delete_id}

    async def delete_now(self, req: Requester, room_id: str, body: dict) -> dict:
        """DELETE v1/rooms/<room_id>: the same, answered when done."""
        block, purge = self._check_delete(room_id, body)
        return await self.delete_room(req.user_id, room_id, block, purge)

    def _check_delete(self, room_id: str, body: dict) -> tuple[bool, bool]:
        self.known_room_id(room_id)
        flags = {}
        for key, default in (("block", False), ("purge", True), ("force_purge", False)):
            v = body.get(key, default)
            if not isinstance(v, bool):
                raise BadJson(f"Param '{key}' must be a boolean, if given")
            flags[key] = v
        if body.get("new_room_user_id") is not None:
            raise MatrixError(
                "new_room_user_id is not supported by this server: it does not create a"
                " replacement room; delete without it", "M_UNRECOGNIZED", 400)
        if self.store.room_row(room_id) is None and not flags["block"]:
            raise NotFound(f"Unknown room id {room_id}")
        return flags["block"], flags["purge"]

    async def _run_delete(self, delete_id: str, admin: str, room_id: str, block: bool,
                          purge: bool) -> None:
        self.store.set_deletion(delete_id, "active")
        try:
            result = await self.delete_room(admin, room_id, block, purge)
        except Exception as e:  # reported through delete_status, and logged
            log.exception("deleting %s failed", room_id)
            self.store.set_deletion(delete_id, "failed", error=str(e)[:500])
            return
        self.store.set_deletion(delete_id, "complete", result)

    async def delete_room(self, admin: str, room_id: str, block: bool, purge: bool) -> dict:
        if block:
            self.store.block_room(room_id, admin)
        result: dict = {"kicked_users": [], "failed_to_kick_users": [], "local_aliases": [],
                        "new_room_id": None}
        if self.store.room_row(room_id) is None and not self.events.current_state_ids(room_id):
            return result
        self._end_audio(room_id)
        local = [u for u in self.events.room_members(room_id, ("join", "invite", "knock"))
                 if server_of(u) == self.server_name]
        for user_id in sorted(local):
            was_joined = (self.events.membership(room_id, user_id) or ("",))[0] == "join"
            try:
                await self.membership.leave(Requester(user_id, "admin", b""), room_id)
            except (MatrixError, OSError) as e:
                log.info("deleting %s: %s could not leave: %s", room_id, user_id, e)
                result["failed_to_kick_users"].append(user_id)
                continue
            if was_joined:
                result["kicked_users"].append(user_id)
        for alias in self.events.aliases_for_room(room_id):
            if server_of(alias) == self.server_name:
                self.events.delete_alias(alias)
                result["local_aliases"].append(alias)
        if self.directory.is_public(room_id):  # out of the directory and every hallway
            self.events.set_room_public(room_id, False)
            for listener in self.directory.visibility_listeners:
                listener(room_id, False)
        if purge:
            self.store.purge_room(room_id)
            self.events.forget_room(room_id)
            for deleted in self.deleted_listeners:
                deleted(room_id)
        return result

    def _end_audio(self, room_id: str) -> None:
        """The stage goes off-air (said by one of our moderators if the room is live, so
        every server's hallway ends it), and the SFU closes every session of the room."""
        view = self.rooms.state_view(room_id)
        if stage.is_audio_room(view) and stage.live_state(view).get("live"):
            for mod in stage.moderators(view):
                if server_of(mod) != self.server_name or \
                        (self.events.membership(room_id, mod) or ("",))[0] != "join":
                    continue
                try:
                    self.rooms.send_event(room_id, mod, stage.LIVE, {"live": False}, "")
                    break
                except MatrixError as e:
                    log.info("deleting %s: could not end it as %s: %s", room_id, mod, e)
        self.media.on_room_ended(room_id)

    def is_blocked(self, room_id: str) -> bool:
        return self.store.is_blocked(room_id)

    def check_join(self, room_id: str) -> None:
        """Joins (ours and, at the host, make_join/send_join) and invites (ours, and other
        servers' invites of our users) into a blocked room are refused."""
        if self.store.is_blocked(room_id):
            raise Forbidden("This room has been blocked on this server")

    def admit_pdu(self, origin: str, pdu) -> str | None:
        """FederationHandler.pdu_admission: a blocked room takes nothing more from other
        servers but leaves (their remaining members go on neither talking, nor inviting, nor
        going back on air in it: we are its host, so what we refuse never happens); a room
        blocked here but hosted elsewhere takes no joins, knocks or invites."""
        if not isinstance(pdu, dict):
            return None
        room_id = pdu.get("room_id")
        if not isinstance(room_id, str) or not self.store.is_blocked(room_id):
            return None
        content = pdu.get("content")
        membership = content.get("membership") if isinstance(content, dict) else None
        if pdu.get("type") == "m.room.member" and membership == "leave":
            return None
        if host_of(room_id) != self.server_name and (
                pdu.get("type") != "m.room.member"
                or membership not in ("join", "invite", "knock")):
            return None
        return f"{room_id} has been blocked on {self.server_name}"

    def delete_status(self, room_id: str) -> dict:
        self.known_room_id(room_id)
        results = self.store.deletions_for_room(room_id)
        if not results:
            raise NotFound(f"No delete task for room_id '{room_id}' found")
        return {"results": results}

    def delete_status_by_id(self, delete_id: str) -> dict:
        task = self.store.deletion(delete_id) if len(delete_id) <= 64 else None
        if task is None:
            raise NotFound(f"delete id '{delete_id}' not found")
        return task

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()

    # server notices ------------------------------------------------------------------------

    def send_server_notice(self, body: dict) -> dict:
        user_id = body.get("user_id")
        content = body.get("content")
        etype = body.get("type", "m.room.message")
        state_key = body.get("state_key")
        if not isinstance(user_id, str) or not USER_ID.match(user_id):
            raise MatrixError("user_id is required and must be a user ID", "M_MISSING_PARAM")
        if not isinstance(content, dict):
            raise MatrixError("content is required and must be an object", "M_MISSING_PARAM")
        if not isinstance(etype, str) or not etype or len(etype) > 255:
            raise InvalidParam("type must be an event type")
        if state_key is not None and (not isinstance(state_key, str) or len(state_key) > 255):
            raise InvalidParam("state_key must be a string")
        if server_of(user_id) != self.server_name:
            raise MatrixError("Server notices can only be sent to local users", "M_UNKNOWN")
        user = self.rooms.users.get_user(user_id)
        if user is None:
            raise NotFound("User not found")
        if user["deactivated"]:
            raise MatrixError("Server notices cannot be sent to deactivated users",
                              "M_UNKNOWN")
        room_id = self.notices.room_for(user_id)
        ev = self.rooms.send_event(room_id, self.notices.user_id, etype, content, state_key)
        return {"event_id": ev["event_id"]}

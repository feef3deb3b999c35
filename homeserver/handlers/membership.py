"""Membership that may cross servers: create with remote invites, join, leave, invite.

The seam between the rooms and the room federation (as Synapse's ``RoomMemberHandler``): a room
we host is changed through ``RoomHandler`` alone; a room hosted elsewhere, or a user on another
server, goes through ``FederationHandler`` (make_join/send_join, v2 invites, rejecting an invite
through its host). Neither of those two knows this class, so neither needs the other wired in
after construction.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from ..errors import BadJson, GuestForbidden, MatrixError
from .accounts import USER_ID, Requester
from .federation import FederationHandler
from .remote import RemoteQueries
from .rooms import RoomHandler

log = logging.getLogger(__name__)


class MembershipHandler:
    def __init__(self, rooms: RoomHandler, federation: FederationHandler,
                 remote: RemoteQueries, is_guest: Callable[[str], bool] = lambda u: False):
        self.rooms = rooms
        self.federation = federation
        self.remote = remote
        self.is_guest = is_guest
        self._tasks: set[asyncio.Task] = set()
        # Called with the room ID before a local user joins or anyone is invited by one of
        # our users; raise to refuse (app.py: rooms an admin blocked).
        self.join_checks: list[Callable[[str], None]] = []

    def on_event(self, event: dict, stream: int) -> None:
        """Guest access turned off: our guests in the room leave it (as Synapse does)."""
        if event.get("type") != "m.room.guest_access" or event.get("state_key") != "" or \
                (event.get("content") or {}).get("guest_access") == "can_join":
            return
        room_id = event["room_id"]
        guests = [u for u in self.rooms.store.room_members(room_id)
                  if self.rooms.is_local_user(u) and self.is_guest(u)]
        if guests:
            task = asyncio.ensure_future(self._evict(room_id, guests))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _evict(self, room_id: str, guests: list[str]) -> None:
        for user_id in guests:
            try:
                await self.leave(Requester(user_id, "server", b"", True), room_id)
            except MatrixError as e:
                log.info("could not remove guest %s from %s: %s", user_id, room_id, e)

    async def create_room(self, req: Requester, body: dict) -> dict:
        """createRoom, then the invites that need the invitees' servers to countersign."""
        remote: list[str] = []
        result = self.rooms.create_room(req, body, remote)
        content = {"membership": "invite", **({"is_direct": True} if body.get("is_direct")
                                               else {})}
        for uid in remote:
            await self.invite_remote(req, result["room_id"], uid, content)
        return result

    async def invite_remote(self, req: Requester, room_id: str, user_id: str,
                            content: dict) -> None:
        event = self.rooms.prepare_event(room_id, req.user_id, "m.room.member", content, user_id)
        self.rooms.commit_event(await self.federation.invite_remote(event))

    async def join(self, req: Requester, target: str, servers: list[str]) -> str:
        rooms = self.rooms
        if target.startswith("#") and not rooms.is_local_user(target):
            room_id = await self.remote.resolve_remote_alias(target)
        else:
            room_id = rooms.resolve_room(target)
        for check in self.join_checks:
            check(room_id)
        if req.is_guest:
            self.check_guest_join(room_id)
        if rooms.is_host(room_id):
            return rooms.join(req, room_id)
        current = rooms.store.membership(room_id, req.user_id)
        if current and current[0] == "join":
            return room_id
        invite = rooms.store.state_event(room_id, "m.room.member", req.user_id)
        await self.federation.join_remote(req, room_id, rooms.profile_of(req.user_id))
        if invite and invite["content"].get("membership") == "invite" and \
                invite["content"].get("is_direct"):
            rooms.add_direct_room(req.user_id, invite["sender"], room_id)
        return room_id

    def check_guest_join(self, room_id: str) -> None:
        """A guest joins only a room whose current state (known here) says guests can_join;
        a room we know nothing of yet (on another server) is refused too, as Synapse does."""
        ev = self.rooms.store.state_event(room_id, "m.room.guest_access", "")
        if ev is None or ev["content"].get("guest_access") != "can_join":
            raise GuestForbidden("Guests may not join this room")

    async def leave(self, req: Requester, room_id: str) -> None:
        if not self.rooms.is_host(room_id) and self.rooms.store.get_room(room_id) is None:
            # Only an invite is known here: reject it through the host.
            await self.federation.reject_invite(req, room_id)
            return
        self.rooms.leave(req, room_id)

    async def set_membership(self, req: Requester, room_id: str, body: dict,
                             action: str) -> None:
        target = body.get("user_id")
        if action == "invite":
            for check in self.join_checks:
                check(room_id)
        if action == "invite" and isinstance(target, str) and USER_ID.match(target) \
                and not self.rooms.is_local_user(target):
            self.rooms.known_room(room_id)
            reason = body.get("reason")
            if reason is not None and not isinstance(reason, str):
                raise BadJson("reason must be a string")
            # The reason travels with the invite (a DM's first words, shown before accepting).
            await self.invite_remote(req, room_id, target, {
                "membership": "invite", **({"reason": reason[:1000]} if reason else {})})
            return
        self.rooms.set_membership(req, room_id, body, action)

"""Audio sessions: the homeserver's side of the SFU (media/), which knows nothing of rooms.

This handler admits only joined members of a live audio room, tells the SFU who may publish
whenever the stage changes (the SFU drops everyone else's packets), closes sessions of users who
leave or are removed, closes the room's media when it ends, accepts the relays that cascade a
room we host to other servers' SFUs, and turns the SFU's refusals into Matrix errors.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from federation.pdus import server_of
from media.api import AudioSFU
from media.errors import CapacityExceeded, MediaError, SdpError

from .. import stage
from ..errors import BadJson, Forbidden, GuestForbidden, InvalidParam, MatrixError, NotFound
from ..storage.events import EventStore
from .accounts import Requester
from .rooms import RoomHandler

log = logging.getLogger(__name__)
MAX_SDP = 65536
MAX_TRACKED_RELAYS = 10000


def _matrix_error(e: MediaError) -> MatrixError:
    """What the SFU refused, as the client (or the relaying server) is told."""
    if isinstance(e, SdpError):
        return BadJson(f"unusable offer: {e}")
    if isinstance(e, CapacityExceeded):
        return MatrixError(f"No room for another audio connection now: {e}", "M_UNKNOWN", 503)
    return MatrixError(f"Audio is unavailable now: {e}", "M_UNKNOWN", 503)


DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")


def offers_to_send(sdp: str) -> bool:
    """Whether an offer would send audio: any enabled m=audio section whose direction (its
    own, else the session's, else sendrecv as RFC 4566 says) is sendrecv or sendonly."""
    session_dir, section, sections = "sendrecv", None, []
    for line in sdp.splitlines():
        line = line.strip()
        if line.startswith("m="):
            parts = line[2:].split()
            section = {"kind": parts[0] if parts else "", "port": parts[1] if len(parts) > 1
                       else "0", "dir": None}
            sections.append(section)
        elif line.startswith("a=") and line[2:] in DIRECTIONS:
            if section is None:
                session_dir = line[2:]
            else:
                section["dir"] = line[2:]
    return any(sec["kind"] == "audio" and sec["port"] != "0"
               and (sec["dir"] or session_dir) in ("sendrecv", "sendonly") for sec in sections)


class MediaHandler:
    def __init__(self, server_name: str, store: EventStore, rooms: RoomHandler,
                 sfu: AudioSFU, is_guest: Callable[[str], bool] = lambda user_id: False,
                 acl_allows: Callable[[str, str], bool] = lambda room_id, server: True):
        self.server_name = server_name
        self.acl_allows = acl_allows  # (room_id, server): the room's server ACL lets it in
        # Called with the room ID before a session or relay opens; raise to refuse (app.py:
        # rooms an admin blocked).
        self.room_checks: list[Callable[[str], None]] = []
        self._relays: dict[str, tuple[str, str]] = {}  # relay_id -> (room_id, origin)
        self.is_guest = is_guest  # guests listen: never a mic, whatever the stage says
        self.store = store
        self.rooms = rooms
        self.sfu = sfu
        self._sessions: dict[str, tuple[str, str]] = {}  # session_id -> (room_id, user_id)
        # (room_id, session_id) -> its user, for sessions another process of this server
        # opened on the SFU workers they share (app.py wires SFUCluster.session_user)
        self.session_user: Callable[[str, str], Awaitable[str | None]] | None = None

    def _audio_room(self, room_id: str):
        view = self.rooms.state_view(room_id)
        if not self.store.current_state_ids(room_id):
            raise NotFound(f"Unknown room {room_id}")
        if not stage.is_audio_room(view):
            raise InvalidParam("This is not an audio room")
        return view

    async def open_session(self, req: Requester, room_id: str, body: dict) -> dict:
        offer = _offer(req, body)
        view = self._audio_room(room_id)
        for check in self.room_checks:
            check(room_id)
        if (self.store.membership(room_id, req.user_id) or ("",))[0] != "join":
            raise Forbidden("Join the room before joining its audio")
        live = stage.live_state(view)
        if not live.get("live"):
            ended = "scheduled_for" not in live
            raise Forbidden("This room has ended" if ended else "This room is not live yet",
                            "ORG.AUDIOROOMS_NOT_LIVE")
        try:
            session_id, answer = await self.sfu.open_session(
                room_id, req.user_id, offer,
                stage.may_publish(view, req.user_id) and not req.is_guest)
        except MediaError as e:
            raise _matrix_error(e) from e
        except ValueError as e:  # an offer the SFU cannot use
            raise BadJson(f"unusable offer: {e}") from e
        self._sessions[session_id] = (room_id, req.user_id)
        return {"type": "answer", "sdp": answer, "session_id": session_id}

    async def renegotiate_session(self, req: Requester, room_id: str, session_id: str,
                                  body: dict) -> dict:
        """PUT .../media/{session_id}: the owner's new offer (an ICE restart after a network
        change) on the same session: same slots, same stage rights, new ICE credentials."""
        if await self._owner(room_id, session_id) != (room_id, req.user_id):
            raise NotFound("No such audio session")
        offer = _offer(req, body)
        try:
            answer = await self.sfu.renegotiate_session(room_id, session_id, offer)
        except SdpError as e:
            raise BadJson(f"unusable offer: {e}") from e
        except ValueError as e:
            raise BadJson(f"unusable offer: {e}") from e
        except MediaError as e:
            if str(e) == "no such session":
                self._sessions.pop(session_id, None)
                raise NotFound("No such audio session") from e
            raise _matrix_error(e) from e
        return {"type": "answer", "sdp": answer, "session_id": session_id}

    async def close_session(self, req: Requester, room_id: str, session_id: str) -> None:
        if await self._owner(room_id, session_id) != (room_id, req.user_id):
            raise NotFound("No such audio session")
        self._sessions.pop(session_id, None)
        try:
            await self.sfu.close_session(room_id, session_id)
        except MediaError as e:
            raise _matrix_error(e) from e

    async def _owner(self, room_id: str, session_id: str) -> tuple[str, str] | None:
        """(room_id, user_id) of a session opened here, or by another process of this server
        on the SFU workers they share."""
        owner = self._sessions.get(session_id)
        if owner is None and self.session_user is not None and len(session_id) <= 64:
            try:
                user = await self.session_user(room_id, session_id)
            except MediaError as e:
                raise _matrix_error(e) from e
            owner = (room_id, user) if user else None
        return owner

    async def speakers(self, req: Requester, room_id: str) -> dict:
        view = self._audio_room(room_id)
        for check in self.room_checks:
            check(room_id)
        if (self.store.membership(room_id, req.user_id) or ("",))[0] != "join":
            raise Forbidden("You are not in this room")
        try:
            out = await self.sfu.get_speakers(room_id)
        except MediaError as e:
            raise _matrix_error(e) from e
        for slot in out.get("slots", []):
            ev = view.get(("m.room.member", slot.get("user_id") or ""))
            if ev and isinstance(ev["content"].get("displayname"), str):
                slot["displayname"] = ev["content"]["displayname"]
        return out

    # the stage changed --------------------------------------------------------------------

    def on_stage_changed(self, room_id: str, event: dict) -> None:
        if room_id not in self.sfu.rooms:
            return  # no audio running here for this room
        view = self.rooms.state_view(room_id)
        allowed = stage.publishers(view)
        users = {u for sid, (r, u) in self._sessions.items() if r == room_id}
        if event.get("state_key", "").startswith("@"):
            users.add(event["state_key"])
        for user_id in users:  # effective before the SFU forwards the next packet
            self.sfu.set_may_send(room_id, user_id,
                                  user_id in allowed and not self._guest(user_id))
        if event["type"] == "m.room.member" and \
                event["content"].get("membership") in ("leave", "ban"):
            self._drop_user(room_id, event["state_key"])

    def _guest(self, user_id: str) -> bool:
        return server_of(user_id) == self.server_name and self.is_guest(user_id)

    def _drop_user(self, room_id: str, user_id: str) -> None:
        for sid, (r, u) in list(self._sessions.items()):
            if r == room_id and u == user_id:
                del self._sessions[sid]
                asyncio.ensure_future(self.sfu.close_session(room_id, sid))
        if not self.rooms.is_host(room_id) and not any(
                server_of(u) == self.server_name for u in self.store.room_members(room_id)):
            # Our last member left a remote room: stop relaying it.
            asyncio.ensure_future(self.sfu.close_room(room_id))

    def on_room_ended(self, room_id: str) -> None:
        for sid, (r, _) in list(self._sessions.items()):
            if r == room_id:
                del self._sessions[sid]
        for relay_id, (r, _) in list(self._relays.items()):
            if r == room_id:
                del self._relays[relay_id]
        asyncio.ensure_future(self.sfu.close_room(room_id))

    # cascade: the host's side (the remote side is SFUHooks.relay_signaller) ---------------

    async def accept_relay(self, origin: str, room_id: str, body: dict) -> dict:
        """Host side: a server with members in our room wants the room's audio."""
        offer = body.get("sdp")
        if body.get("type") != "offer" or not isinstance(offer, str) or len(offer) > MAX_SDP:
            raise BadJson("the body must be {\"type\": \"offer\", \"sdp\": \"...\"}")
        if not self.rooms.is_host(room_id):
            raise NotFound(f"{self.server_name} does not host {room_id}")
        view = self._audio_room(room_id)
        for check in self.room_checks:
            check(room_id)
        if not self.acl_allows(room_id, origin):
            raise Forbidden(f"{origin} is denied by the server ACL of {room_id}")
        if not any(server_of(u) == origin for u in self.store.room_members(room_id)):
            raise Forbidden(f"{origin} has no members in {room_id}")
        if not stage.live_state(view).get("live"):
            raise Forbidden("This room is not live", "ORG.AUDIOROOMS_NOT_LIVE")
        try:
            relay_id, answer = await self.sfu.open_relay(room_id, origin, offer)
        except MediaError as e:
            raise _matrix_error(e) from e
        except ValueError as e:
            raise BadJson(f"unusable offer: {e}") from e
        if len(self._relays) >= MAX_TRACKED_RELAYS:  # bounded: forget the oldest
            self._relays.pop(next(iter(self._relays)))
        self._relays[relay_id] = (room_id, origin)
        return {"type": "answer", "sdp": answer, "relay_id": relay_id}

    def on_acl_changed(self, room_id: str) -> None:
        """The room's server ACL changed: close the relays of servers it now denies."""
        for relay_id, (r, origin) in list(self._relays.items()):
            if r == room_id and not self.acl_allows(room_id, origin):
                del self._relays[relay_id]
                log.info("closing %s's relay of %s: denied by the server ACL", origin, room_id)
                asyncio.ensure_future(self.sfu.close_relay(room_id, relay_id))


def _offer(req: Requester, body: dict) -> str:
    """The SDP offer of a POST or PUT body, checked: a bounded string, and recvonly for
    guests (they listen only)."""
    offer = body.get("sdp")
    if body.get("type") != "offer" or not isinstance(offer, str) or not offer:
        raise BadJson("the body must be {\"type\": \"offer\", \"sdp\": \"...\"}")
    if len(offer) > MAX_SDP:
        raise BadJson("the offer is too large")
    if req.is_guest and offers_to_send(offer):
        raise GuestForbidden("Guests listen only: offer recvonly audio")
    return offer

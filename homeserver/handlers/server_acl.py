"""Server ACLs enforced by the host (room version org.audiorooms.1: the host orders the room, so
what it refuses never enters the room and is never relayed to anyone).

For a room we host, a server the room's ``m.room.server_acl`` denies gets: its PDUs refused in
the transaction's answer (``pdu_admission``), its EDUs about the room dropped (``filter_edu``,
also by the servers in the room),
make_join / send_join / state / backfill / event refused 403 (``check``, used by RoomHost), and
its audio relay refused, and closed when an ACL change denies it (MediaHandler). The host itself
is never denied: an ACL that would deny it is refused when sent (homeserver/server_acl.py).
"""
from __future__ import annotations

import logging
from collections.abc import Callable

from federation.pdus import host_of, server_of

from ..errors import Forbidden
from ..server_acl import ACL_TYPE, server_allowed
from ..storage.events import EventStore

log = logging.getLogger(__name__)


class ServerAcls:
    def __init__(self, server_name: str, store: EventStore):
        self.server_name = server_name
        self.store = store
        self.dropped_edus = 0
        # Called with the room ID after an ACL of a room we host changed (MediaHandler closes
        # the relays of servers it now denies).
        self.change_listeners: list[Callable[[str], None]] = []

    def allowed(self, room_id: str, server: str) -> bool:
        """Whether the room's current ACL lets ``server`` take part (no ACL: everyone)."""
        if server == self.server_name:
            return True
        acl = self.store.state_event(room_id, ACL_TYPE, "")
        return acl is None or server_allowed(acl["content"], server)

    def check(self, room_id: str, server: str) -> None:
        if not self.allowed(room_id, server):
            raise Forbidden(f"{server} is denied by the server ACL of {room_id}")

    def _ours(self, room_id: object) -> bool:
        return isinstance(room_id, str) and room_id.startswith("!") and \
            host_of(room_id) == self.server_name

    # PDUs and EDUs ------------------------------------------------------------------------

    def admit_pdu(self, origin: str, pdu) -> str | None:
        """FederationHandler.pdu_admission: refuse, before any verification work, a PDU for
        a room we host from a server its ACL denies (or naming a sender of one)."""
        if not isinstance(pdu, dict) or not self._ours(pdu.get("room_id")):
            return None
        room_id = pdu["room_id"]
        sender = pdu.get("sender")
        servers = {origin} | ({server_of(sender)} if isinstance(sender, str) else set())
        for server in servers:
            if not self.allowed(room_id, server):
                return f"{server} is denied by the server ACL of {room_id}"
        return None

    def filter_edu(self, origin: str, edu_type: str, content: dict) -> dict | None:
        """An EDU's content without what concerns rooms whose ACL denies ``origin`` (None: drop
        it). Room-scoped EDUs are m.typing and m.receipt: they are filtered by the ACL of every
        room we know (those we host, and, as Synapse does, those we are in: a denied server's
        typing sent straight to the residents is dropped there too). The others are about users
        and servers, not a room: m.presence, m.direct_to_device, m.device_list_update,
        m.signing_key_update; org.audiorooms.hallway names only rooms its origin hosts (checked
        in hallway_schema), and a host is never denied by its own room's ACL."""
        if edu_type == "m.typing":
            room_id = content.get("room_id")
            if self._room(room_id) and not self.allowed(room_id, origin):  # type: ignore[arg-type]
                self.dropped_edus += 1
                return None
        elif edu_type == "m.receipt":
            kept = {r: v for r, v in content.items()
                    if not (self._room(r) and not self.allowed(r, origin))}
            if len(kept) != len(content):
                self.dropped_edus += 1
                return kept or None
        return content

    @staticmethod
    def _room(room_id: object) -> bool:
        return isinstance(room_id, str) and room_id.startswith("!") and len(room_id) <= 255

    # changes -------------------------------------------------------------------------------

    def on_event(self, event: dict, stream: int) -> None:
        if event["type"] == ACL_TYPE and event.get("state_key") == "" and \
                self._ours(event["room_id"]):
            for listener in self.change_listeners:
                try:
                    listener(event["room_id"])
                except Exception:  # one listener's failure must not stop the room
                    log.exception("server ACL change listener failed")

"""Rooms across servers, the host side: what the server named in a room ID does for the room
(room version ``org.audiorooms.1``: the host orders the room).

It checks the events other servers send it before they join the room's one order (their
``depth`` must be what the host would assign), hands out join templates and takes back only
joins built from one, and serves the room's state and history to the servers in it, each event
with its place in the host's order (``unsigned["org.audiorooms.order"]``, see
homeserver/ordering.py), which is how residents rank members exactly as the host does.
"""
from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

from federation.canonical_json import MAX_SAFE_INTEGER
from federation.keyring import Keyring
from federation.pdus import PDUError, server_of, to_pdu, verify_pdu

from ..errors import BadJson, Forbidden, MatrixError, NotFound
from ..ordering import order_of, pdu_with_order
from ..storage.events import EventStore
from .events import ROOM_VERSION, auth_event_ids
from .rooms import RoomHandler

# What a joining server may set in a join beyond its template (the spec lets it fill in its
# user's profile and, for restricted rooms, who authorised the join); the rest of the template
# is the host's, and so are these top-level fields besides its own signature and timestamp.
JOINER_CONTENT = ("displayname", "avatar_url", "join_authorised_via_users_server")
JOIN_FIELDS = ("room_id", "sender", "type", "state_key", "content", "depth", "prev_events",
               "auth_events", "origin_server_ts", "hashes", "signatures")


def served(event: dict) -> dict:
    """An event as the host sends it to other servers: the PDU and its place in the order."""
    return pdu_with_order(to_pdu(event), order_of(event))


class JoinTemplates:
    """The make_join templates issued lately, per (room, user): a send_join must be built from
    one of them. Templates are stateless in the spec, but the room moves on between make_join
    and send_join (other joins, hands raised), so "the template the host would issue now" would
    refuse honest joins into a busy room; remembering what was issued does not. Bounded: a few
    per user, for a few minutes, and at most ``max_keys`` (room, user) pairs."""

    def __init__(self, per_key: int = 4, max_keys: int = 10000, ttl: float = 300.0,
                 clock: Callable[[], float] = time.monotonic):
        self.per_key, self.max_keys, self.ttl, self.clock = per_key, max_keys, ttl, clock
        self._issued: OrderedDict[tuple[str, str], list[tuple[float, tuple]]] = OrderedDict()

    def remember(self, room_id: str, user_id: str, fields: tuple) -> None:
        key = (room_id, user_id)
        issued = [t for t in self._issued.pop(key, []) if t[1] != fields]
        issued.append((self.clock(), fields))
        self._issued[key] = issued[-self.per_key:]
        while len(self._issued) > self.max_keys:
            self._issued.popitem(last=False)

    def issued(self, room_id: str, user_id: str) -> list[tuple]:
        now = self.clock()
        return [f for ts, f in self._issued.get((room_id, user_id), []) if now - ts <= self.ttl]

    def forget(self, room_id: str, user_id: str) -> None:
        self._issued.pop((room_id, user_id), None)


def template_fields(event: dict) -> tuple:
    """What the host decides in a join and the joiner must copy unchanged (besides the room,
    sender, type and state_key, which the path and the user fix)."""
    return (tuple(event["prev_events"]), event["depth"], tuple(event["auth_events"]))


async def verify_pdu_at(pdu: dict, origin: str, event_id: str, keyring: Keyring,
                        our_name: str) -> dict:
    """A PDU sent to a path naming its event ID (send_join, invite): verified, and its ID
    the one in the path; 403 / 400 in Matrix form otherwise."""
    try:
        event = await verify_pdu(pdu, origin, keyring, our_name)
    except PDUError as e:
        raise Forbidden(str(e)) from e
    if event["event_id"] != event_id:
        raise BadJson("the event ID in the path does not match the event")
    return event


class RoomHost:
    def __init__(self, server_name: str, rooms: RoomHandler, store: EventStore,
                 keyring: Keyring, templates: JoinTemplates | None = None,
                 acl: Callable[[str, str], None] = lambda room_id, server: None):
        self.server_name = server_name
        # (room_id, server) -> raise 403 if the room's server ACL denies the server
        self.acl = acl
        # Called with the room ID before a make_join / send_join is answered; raise to refuse
        # (app.py: rooms an admin blocked).
        self.join_checks: list[Callable[[str], None]] = []
        self.rooms = rooms
        self.store = store
        self.keyring = keyring
        self.templates = templates or JoinTemplates()

    # who is in a room ----------------------------------------------------------------------

    def servers_in_room(self, room_id: str) -> set[str]:
        return self.store.room_servers(room_id)

    def require_server_in_room(self, origin: str, room_id: str) -> None:
        if not self.store.current_state_ids(room_id):
            raise NotFound(f"Unknown room {room_id}")
        if origin not in self.servers_in_room(room_id):
            raise Forbidden(f"{origin} has no users in {room_id}")
        self.acl(room_id, origin)

    # events other servers send us ----------------------------------------------------------

    def check_depth(self, event: dict) -> None:
        """Refuse an event whose ``depth`` is not the one the host would give it: one more
        than the deepest of its ``prev_events``, which must be events of this room.

        Not "one more than the room's newest event": two servers sending at once both build on
        the newest event they have, and a resident builds on the newest event the host has
        relayed to it so far, so that rule would refuse honest events (after their users were
        told they were sent). This one depends only on what the event names, so concurrent
        senders all pass, and no one can claim a depth beyond the room's. The host's order,
        not depth, is what ranks anything (homeserver/ordering.py); depth just stays honest.
        """
        prev = event["prev_events"]
        if not prev:
            raise PDUError("the event names no prev_events in the room")
        depths = []
        for event_id in prev:
            ev = self.store.get_event(event_id)
            if ev is None or ev["room_id"] != event["room_id"]:
                raise PDUError(f"prev_event {event_id} is not an event of {event['room_id']}")
            depths.append(ev["depth"])
        want = min(max(depths) + 1, MAX_SAFE_INTEGER)
        if event["depth"] != want:
            raise PDUError(f"depth {event['depth']} is not {want}, one more than the deepest"
                           " of its prev_events")

    def append_remote(self, event: dict) -> None:
        """A verified event from another server, into the room we order."""
        self.rooms.check_rules(event)
        self.check_depth(event)
        self.rooms.append_event(event, checked=True)

    # joins ---------------------------------------------------------------------------------

    def _template(self, room_id: str, user_id: str) -> dict:
        latest = self.store.latest_event(room_id)
        assert latest is not None  # the room has state, so it has events
        content = {"membership": "join"}
        return {"room_id": room_id, "sender": user_id, "type": "m.room.member",
                "state_key": user_id, "content": content,
                "origin_server_ts": int(time.time() * 1000),
                "depth": min(latest[1] + 1, MAX_SAFE_INTEGER), "prev_events": [latest[0]],
                "auth_events": auth_event_ids("m.room.member", user_id, user_id, content,
                                              self.store.current_state_ids(room_id))}

    def make_join(self, origin: str, room_id: str, user_id: str, versions: list[str]) -> dict:
        if server_of(user_id) != origin:
            raise Forbidden(f"{origin} cannot make a join for {user_id}")
        for check in self.join_checks:  # before "unknown": a purged blocked room says so
            check(room_id)
        if not self.rooms.is_host(room_id) or not self.store.current_state_ids(room_id):
            raise NotFound(f"{self.server_name} does not host {room_id}")
        self.acl(room_id, origin)
        if ROOM_VERSION not in versions:
            raise MatrixError(f"this room's version {ROOM_VERSION} is not supported by you",
                              "M_INCOMPATIBLE_ROOM_VERSION", 400, room_version=ROOM_VERSION)
        template = self._template(room_id, user_id)
        self.rooms.check_rules(template)
        self.templates.remember(room_id, user_id, template_fields(template))
        return {"room_version": ROOM_VERSION, "event": template}

    def check_join_template(self, event: dict) -> None:
        """Refuse a join that differs from a template we issued (or would issue now) in
        anything but the joiner's signature, hashes, timestamp and profile."""
        extra = sorted(set(event) - set(JOIN_FIELDS) - {"event_id"})
        if extra:
            raise BadJson(f"the join has fields its make_join template has not: {extra}")
        content = event["content"]
        for key, value in content.items():
            if key == "membership":
                continue
            if key not in JOINER_CONTENT:
                raise BadJson(f"a join's content may not set {key!r}")
            if not isinstance(value, str):
                raise BadJson(f"a join's {key} must be a string")
        room_id, user_id = event["room_id"], event["sender"]
        fields = template_fields(event)
        if fields != template_fields(self._template(room_id, user_id)) and \
                fields not in self.templates.issued(room_id, user_id):
            raise BadJson("the join's prev_events, auth_events or depth are not those of a"
                          " make_join template we issued")

    async def send_join(self, origin: str, room_id: str, event_id: str, pdu,
                        omit_members: bool = False) -> dict:
        if not isinstance(pdu, dict):
            raise BadJson("send_join body must be the join event")
        if pdu.get("room_id") != room_id:
            raise BadJson("the event's room_id does not match the path")
        if pdu.get("type") != "m.room.member" or \
                (pdu.get("content") or {}).get("membership") != "join":
            raise BadJson("send_join needs an m.room.member join event")
        if pdu.get("state_key") != pdu.get("sender"):
            raise BadJson("a join's state_key must be its sender")
        if server_of(str(pdu.get("sender"))) != origin:
            raise Forbidden(f"{origin} cannot send a join for {pdu.get('sender')}")
        for check in self.join_checks:
            check(room_id)
        if not self.rooms.is_host(room_id) or not self.store.current_state_ids(room_id):
            raise NotFound(f"{self.server_name} does not host {room_id}")
        self.acl(room_id, origin)
        event = await verify_pdu_at(pdu, origin, event_id, self.keyring, self.server_name)
        known = self.store.has_event(event_id)  # a retry of a join we took: answer again
        if not known:
            self.check_join_template(event)
        view = self.rooms.state_view(room_id)
        # omit_members (the spec's partial-state join): a server already in the room needs no
        # copy of every member event; in a big audience they are nearly all of the state.
        state_before = [served(view[k]) for k in view
                        if not (omit_members and k[0] == "m.room.member")]
        if not known:
            self.rooms.append_event(event)
            self.templates.forget(room_id, event["sender"])
        stored = self.store.get_event(event_id) or event
        auth = [served(e) for e in self.store.get_events(event["auth_events"])]
        return {"origin": self.server_name, "event": served(stored), "state": state_before,
                "auth_chain": auth, "members_omitted": omit_members,
                "servers_in_room": sorted(self.servers_in_room(room_id))}

    # reading the room ----------------------------------------------------------------------

    def room_state(self, origin: str, room_id: str) -> dict:
        self.require_server_in_room(origin, room_id)
        state = [served(e) for e in self.rooms.state_view(room_id).values()]
        return {"pdus": state, "auth_chain": []}

    def room_state_ids(self, origin: str, room_id: str) -> dict:
        self.require_server_in_room(origin, room_id)
        return {"pdu_ids": list(self.store.current_state_ids(room_id).values()),
                "auth_chain_ids": []}

    def get_event(self, origin: str, event_id: str) -> dict:
        ev = self.store.get_event(event_id)
        if ev is None:
            raise NotFound("Event not found")
        self.require_server_in_room(origin, ev["room_id"])
        return {"origin": self.server_name, "origin_server_ts": int(time.time() * 1000),
                "pdus": [served(ev)]}

    def backfill(self, origin: str, room_id: str, event_ids: list[str], limit: int) -> dict:
        """Events up to and including ``event_ids``, oldest first (the room's order)."""
        self.require_server_in_room(origin, room_id)
        found = [self.store.stream_ordering_of(e) for e in event_ids]
        positions = [p for p in found if p is not None]
        if not positions:
            raise NotFound("none of those events is known")
        rows = self.store.room_events(room_id, upto=max(positions),
                                      limit=max(1, min(limit, 100)), backwards=True)
        return {"origin": self.server_name, "origin_server_ts": int(time.time() * 1000),
                "pdus": [served(ev) for _, ev in reversed(rows)]}

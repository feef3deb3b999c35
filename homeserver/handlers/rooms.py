"""Rooms: creating them, appending events under the room's rules, memberships and state.

Appending an event is synchronous from check to commit: on one event loop that makes each room's
order total without locks, which is what room version ``org.audiorooms.1`` (the host orders the
room) needs.
"""
from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Mapping
from typing import Any

from federation.pdus import host_of, server_of, to_pdu
from federation.queue import OutboundQueue
from federation.signing import redact_event

from .. import rules, stage
from ..errors import BadJson, Forbidden, InvalidParam, MatrixError, NotFound, RoomInUse
from ..server_acl import ACL_TYPE, AclContentError, check_acl_content
from ..storage.events import AccountDataStore, EventStore
from ..storage.relations import ANNOTATION, THREAD, RelationStore, parse_relation
from ..storage.users import UserStore
from .accounts import USER_ID, Requester
from .events import ROOM_VERSION, EventFactory, auth_event_ids, client_event, stripped_state
from .notifier import Notifier

ROOM_ID = re.compile(r"^![A-Za-z0-9._=\-/+]+:[A-Za-z0-9.\-\[\]:]+$")
ALIAS = re.compile(r"^#[^:\s]+:[A-Za-z0-9.\-\[\]:]+$")
PRESETS = ("private_chat", "public_chat", "trusted_private_chat")
SUPPORTED_VERSIONS = (ROOM_VERSION,)


class StateView(Mapping):
    """Current state as a mapping (type, state_key) -> event, fetching events lazily so that
    checking a message in a room with thousands of members reads only what the rules need."""

    def __init__(self, store: EventStore, ids: Mapping[tuple[str, str], str]):
        self._store, self._ids = store, ids

    def __getitem__(self, key):
        return self._store.get_event(self._ids[key])

    def get(self, key, default=None):
        eid = self._ids.get(key)
        return self._store.get_event(eid) if eid else default

    def __contains__(self, key):
        return key in self._ids

    def __iter__(self):
        return iter(self._ids)

    def __len__(self):
        return len(self._ids)


def require_str(body: dict, key: str, optional: bool = False) -> str | None:
    v = body.get(key)
    if v is None and optional:
        return None
    if not isinstance(v, str):
        raise BadJson(f"'{key}' must be a string")
    return v


class RoomHandler:
    def __init__(self, server_name: str, store: EventStore, users: UserStore,
                 account_data: AccountDataStore, factory: EventFactory, notifier: Notifier,
                 policy: rules.RoomPolicy | None = None, outbound: OutboundQueue | None = None,
                 relations: RelationStore | None = None):
        self.server_name = server_name
        self.store = store
        self.users = users
        self.account_data = account_data
        self.factory = factory
        self.notifier = notifier
        self.policy = policy
        # Our users' events in rooms hosted elsewhere go to the host through this queue
        # (None: a server without federation, which hosts every room it has).
        self.outbound = outbound
        self.relations = relations  # to refuse a duplicate reaction or a thread off a relation
        # Called with (event, stream_ordering) after each event is committed; make_app connects
        # federation's relaying, the stage and the SFU here.
        self.event_listeners: list[Callable[[dict, int], None]] = []
        # (event, stream) inside the transaction that appends it, before commit: what must
        # commit with the event or not at all (the federation outbox row, in the room's order)
        self.persist_listeners: list[Callable[[dict, int], None]] = []
        # Called with (sender, room_id, type, content) before a client's event is built;
        # raise to refuse it (make_app connects the reactions' checks and rate limit here).
        self.send_checks: list[Callable[[str, str, str, dict], None]] = []

    # appending events ----------------------------------------------------------------------

    def state_view(self, room_id: str) -> StateView:
        return StateView(self.store, self.store.current_state_ids(room_id))

    def send_event(self, room_id: str, sender: str, etype: str, content: dict,
                   state_key: str | None = None, txn: tuple[str, str, str] | None = None) -> dict:
        """Check an event against the room's rules, build and sign it, then commit it."""
        # One transaction from reading the room's latest event and state to appending: it
        # holds the write lock, so on PostgreSQL no other process appends in between.
        with self.store.db.transaction():
            return self.commit_event(
                self.prepare_event(room_id, sender, etype, content, state_key), txn,
                checked=True)

    def prepare_event(self, room_id: str, sender: str, etype: str, content: dict,
                      state_key: str | None = None) -> dict:
        """Check against the current state and build the signed event, without storing it."""
        if not isinstance(content, dict):
            raise BadJson("content must be a JSON object")
        state_ids = self.store.current_state_ids(room_id)
        if not state_ids and etype != "m.room.create":
            raise NotFound(f"Unknown room {room_id}")
        latest = self.store.latest_event(room_id) if state_ids else None
        draft = {"room_id": room_id, "sender": sender, "type": etype, "content": content,
                 "prev_events": [latest[0]] if latest else []}
        if state_key is not None:
            draft["state_key"] = state_key
        self.check_rules(draft)
        return self.factory.build(
            room_id=room_id, sender=sender, etype=etype, content=content, state_key=state_key,
            prev_events=[latest[0]] if latest else [], depth=(latest[1] + 1) if latest else 1,
            auth_events=auth_event_ids(etype, sender, state_key, content, state_ids))

    def check_rules(self, event: dict) -> None:
        if event["type"] == ACL_TYPE:  # bounded, well-formed, and never denying the host
            try:
                check_acl_content(event.get("content"), host_of(event["room_id"]))
            except AclContentError as e:
                raise BadJson(str(e)) from None
        try:
            rules.check_event(event, self.state_view(event["room_id"]), policy=self.policy)
        except rules.AuthError as e:
            raise Forbidden(str(e)) from None

    def is_host(self, room_id: str) -> bool:
        """Room version org.audiorooms.1: the server named in the room ID orders the room."""
        return server_of(room_id) == self.server_name

    def commit_event(self, event: dict, txn: tuple[str, str, str] | None = None,
                     checked: bool = False) -> dict:
        """Append the event if we order this room; otherwise hand it to the host, which
        appends it and sends it back to us in the room's order."""
        if self.is_host(event["room_id"]) or self.outbound is None:
            return self.append_event(event, txn, checked=checked)
        if not checked:
            self.check_rules(event)
        if txn:
            self.store.record_txn(*txn, event["event_id"])
        self.outbound.send_pdu([host_of(event["room_id"])], to_pdu(event))
        return event

    def append_event(self, event: dict, txn: tuple[str, str, str] | None = None,
                     checked: bool = False, outlier: bool = False,
                     order: int | None = None) -> dict:
        """Append a built event (ours or a verified remote one) to the room's order: in a
        room we host, our stream position becomes its order; in a room hosted elsewhere,
        ``order`` is what the host said (see homeserver/ordering.py)."""
        with self.store.db.transaction():  # checked against the state it is appended to
            if not checked:
                self.check_rules(event)
            state_key = event.get("state_key")
            if state_key is not None:
                prev = self.state_view(event["room_id"]).get((event["type"], state_key))
                if prev is not None:
                    event["unsigned"] = {"prev_content": prev["content"],
                                         "prev_sender": prev["sender"],
                                         "replaces_state": prev["event_id"]}
            host = self.is_host(event["room_id"])
            stream = self.store.persist_event(event, txn, outlier=outlier,
                                              order=None if host else order, we_order=host)
            if event["type"] == "m.room.redaction":
                self._apply_redaction(event)
            for listener in self.persist_listeners:
                listener(event, stream)
            # Told once it is visible: a /sync woken earlier would not find it yet.
            self.store.db.after_commit(lambda: self.announce(event, stream))
        return event

    def may_redact(self, room_id: str, sender: str, target: dict | None) -> bool:
        """Your own events always; anyone's with the room's ``redact`` power level."""
        if target is None or target["room_id"] != room_id:
            return False
        if target["sender"] == sender:
            return True
        pl = rules.power_levels(self.state_view(room_id))
        return rules.user_level(pl, sender) >= rules._int(pl.get("redact"), 50)

    def _apply_redaction(self, event: dict) -> None:
        # Room version 11: the redaction is accepted into the room, but its target is pruned
        # only if the sender may redact it; every server decides the same from the same state.
        target = self.store.get_event(event["content"].get("redacts") or "")
        if target is None or not self.may_redact(event["room_id"], event["sender"], target):
            return
        pruned = redact_event(target)
        pruned["event_id"] = target["event_id"]
        pruned["unsigned"] = {"redacted_because": client_event(event)}
        self.store.redact(target["event_id"], pruned)

    def redact(self, req: Requester, room_id: str, event_id: str, txn_id: str,
               body: dict) -> str:
        self.known_room(room_id)
        reason = body.get("reason")
        if reason is not None and not isinstance(reason, str):
            raise BadJson("reason must be a string")
        txn_key = f"{room_id}/m.room.redaction/{txn_id}"
        done = self.store.event_for_txn(req.user_id, req.device_id, txn_key)
        if done:
            return done
        self.visible_upto(req, room_id)
        target = self.store.get_event(event_id)
        if target is None or target["room_id"] != room_id:
            raise NotFound("Event not found")
        if not self.may_redact(room_id, req.user_id, target):
            raise Forbidden("You cannot redact other users' events")
        content = {"redacts": event_id, **({"reason": reason} if reason else {})}
        return self.send_event(room_id, req.user_id, "m.room.redaction", content,
                               txn=(req.user_id, req.device_id, txn_key))["event_id"]

    def announce(self, event: dict, stream: int) -> None:
        # local_only: other processes hear of the event itself (process bus) and wake theirs
        self.notifier.notify_users(self.woken_by(event), local_only=True)
        for listener in self.event_listeners:
            listener(event, stream)

    def woken_by(self, event: dict) -> set[str]:
        users = set(self.store.room_members(event["room_id"], ("join", "invite")))
        if event["type"] == "m.room.member":
            users.add(event["state_key"])
        return users

    # creating rooms ------------------------------------------------------------------------

    def create_room(self, req: Requester, body: dict, remote_invites: list | None = None) -> dict:
        """POST /createRoom: validate everything first, so a bad request creates nothing."""
        preset = body.get("preset")
        visibility = body.get("visibility", "private")
        if visibility not in ("public", "private"):
            raise InvalidParam("visibility must be 'public' or 'private'")
        if preset is None:
            preset = "public_chat" if visibility == "public" else "private_chat"
        if preset not in PRESETS:
            raise InvalidParam(f"preset must be one of {', '.join(PRESETS)}")
        version = body.get("room_version", ROOM_VERSION)
        if version not in SUPPORTED_VERSIONS:
            raise MatrixError(f"room version {version!r} is not supported",
                              "M_UNSUPPORTED_ROOM_VERSION", 400)
        name = require_str(body, "name", optional=True)
        topic = require_str(body, "topic", optional=True)
        alias_name = require_str(body, "room_alias_name", optional=True)
        invites = body.get("invite", [])
        if not isinstance(invites, list) or not all(isinstance(u, str) and USER_ID.match(u)
                                                    for u in invites):
            raise InvalidParam("invite must be a list of user IDs")
        is_direct = body.get("is_direct", False)
        if not isinstance(is_direct, bool):
            raise InvalidParam("is_direct must be a boolean")
        creation = body.get("creation_content") or {}
        initial_state = body.get("initial_state") or []
        pl_override = body.get("power_level_content_override") or {}
        if not isinstance(creation, dict) or not isinstance(pl_override, dict):
            raise BadJson("creation_content and power_level_content_override must be objects")
        if not isinstance(initial_state, list) or not all(
                isinstance(s, dict) and isinstance(s.get("type"), str)
                and isinstance(s.get("content"), dict)
                and isinstance(s.get("state_key", ""), str) for s in initial_state):
            raise BadJson("initial_state must be a list of {type, state_key, content}")
        room_type = creation.get("type")
        if room_type is not None and not isinstance(room_type, str):
            raise BadJson("creation_content.type must be a string")
        alias = None
        if alias_name is not None:
            alias = f"#{alias_name}:{self.server_name}"
            if not ALIAS.match(alias) or len(alias) > 255:
                raise InvalidParam("room_alias_name is not a valid alias localpart")
            if self.store.get_alias(alias):
                raise RoomInUse("Room alias already taken")
        for uid in invites:
            self._check_invitee(uid)

        room_id = f"!{secrets.token_urlsafe(18)}:{self.server_name}"
        me = req.user_id
        # The room's events are planned, checked together, and only then stored: a request the
        # rules refuse (e.g. a power_level_content_override that strips the creator) leaves no
        # half-made room behind.
        plan: list[tuple[str, dict, str]] = []
        send = lambda t, c, k="": plan.append((t, c, k))  # noqa: E731
        send("m.room.create", {**creation, "room_version": version})
        send("m.room.member", {"membership": "join", **self.profile_of(me)}, me)
        users = {me: 100}
        if preset == "trusted_private_chat":
            users.update({u: 100 for u in invites})
        pl: dict[str, Any] = {
            "users": users, "users_default": 0, "events_default": 0, "state_default": 50,
            "ban": 50, "kick": 50, "redact": 50, "invite": 50 if preset == "public_chat" else 0,
            "events": {"m.room.name": 50, "m.room.power_levels": 100,
                       "m.room.history_visibility": 100, "m.room.canonical_alias": 50,
                       "m.room.avatar": 50, "m.room.tombstone": 100,
                       "m.room.server_acl": 100, "m.room.encryption": 100},
        }
        if room_type == stage.AUDIO_ROOM:
            # The stage's own rules decide who may set these (see homeserver/stage.py).
            pl["events"].update({t: 0 for t in stage.STAGE_EVENT_TYPES})
        send("m.room.power_levels", {**pl, **pl_override})
        if room_type == stage.AUDIO_ROOM:
            send(stage.ROLE, {"role": "moderator", "muted": False}, me)
        if alias:
            send("m.room.canonical_alias", {"alias": alias})
        send("m.room.join_rules", {"join_rule": "public" if preset == "public_chat" else "invite"})
        send("m.room.history_visibility", {"history_visibility": "shared"})
        if preset != "public_chat" or room_type == stage.AUDIO_ROOM:
            # The spec's private presets, and public audio rooms: a visitor with a link
            # listens as a guest (a moderator with the power level can set it forbidden).
            send("m.room.guest_access", {"guest_access": "can_join"})
        for s in initial_state:
            send(s["type"], s["content"], s.get("state_key", ""))
        if name is not None:
            send("m.room.name", {"name": name})
        if topic is not None:
            send("m.room.topic", {"topic": topic})
        for uid in invites:
            content = {"membership": "invite", **({"is_direct": True} if is_direct else {})}
            if self.is_local_user(uid) or remote_invites is None:
                send("m.room.member", content, uid)
            else:
                remote_invites.append(uid)
        self.check_new_room(room_id, me, plan)
        self.store.store_room(room_id, version, me, visibility == "public", room_type)
        if alias:
            self.store.add_alias(alias, room_id, me)
        for etype, content, state_key in plan:
            self.send_event(room_id, me, etype, content, state_key)
        if is_direct:
            for uid in invites:
                self.add_direct_room(me, uid, room_id)
        return {"room_id": room_id, **({"room_alias": alias} if alias else {})}

    def check_new_room(self, room_id: str, sender: str,
                       plan: list[tuple[str, dict, str]]) -> None:
        """Run a new room's planned events through the rules in order, storing nothing."""
        state: dict[tuple[str, str], dict] = {}
        for depth, (etype, content, state_key) in enumerate(plan, 1):
            draft = {"room_id": room_id, "sender": sender, "type": etype, "content": content,
                     "state_key": state_key, "prev_events": ["$planned"] if state else [],
                     "depth": depth, "origin_server_ts": 0}
            try:
                rules.check_event(draft, state, policy=self.policy)
            except rules.AuthError as e:
                raise Forbidden(str(e)) from None
            # Build it too (IDs of the real length), so an event over the size limit is
            # refused here rather than halfway through creating the room.
            ids = {k: "$" + str(i).zfill(43) for i, k in enumerate(state)}
            self.factory.build(room_id=room_id, sender=sender, etype=etype, content=content,
                               state_key=state_key, prev_events=list(ids.values())[-1:],
                               depth=depth, auth_events=auth_event_ids(
                                   etype, sender, state_key, content, ids))
            state[(etype, state_key)] = draft

    def profile_of(self, user_id: str) -> dict:
        row = self.users.get_user(user_id)
        if row is None:
            return {}
        return {k: row[k] for k in ("displayname", "avatar_url") if row[k] is not None}

    def _check_invitee(self, user_id: str) -> None:
        if not USER_ID.match(user_id) or len(user_id) > 255:
            raise InvalidParam(f"{user_id!r} is not a valid user ID")
        if self.is_local_user(user_id) and not self.users.user_exists(user_id):
            raise NotFound(f"Unknown user {user_id}")
        if not self.is_local_user(user_id) and not self.remote_invites_supported():
            raise MatrixError(f"cannot invite {user_id}: federation is not available",
                              "M_UNKNOWN", 502)

    def remote_invites_supported(self) -> bool:
        return self.outbound is not None

    def announce_profile(self, user_id: str) -> None:
        """A new display name or avatar is announced in every room the user is in, as Synapse
        does, so every member's client shows it."""
        profile = self.profile_of(user_id)
        for room_id, membership, _ in self.store.rooms_for_user(user_id):
            if membership == "join":
                self.send_event(room_id, user_id, "m.room.member",
                                {"membership": "join", **profile}, user_id)

    def forget(self, req: Requester, room_id: str) -> None:
        # Nothing is hidden per user yet, so forgetting a room you left changes nothing; but
        # the spec refuses it while you are still in the room, and so do we.
        m = self.store.membership(room_id, req.user_id)
        if m and m[0] in ("join", "invite"):
            raise MatrixError("You are still in this room; leave it first", "M_UNKNOWN", 400)

    def joined_rooms(self, req: Requester) -> list[str]:
        return [r for r, m, _ in self.store.rooms_for_user(req.user_id) if m == "join"]

    def is_local_user(self, user_id: str) -> bool:
        """Exactly our server (not one whose name ends like ours)."""
        return server_of(user_id) == self.server_name

    def add_direct_room(self, user_id: str, other: str, room_id: str) -> None:
        """Record a DM in the user's m.direct account data (the backchannel's index)."""
        direct = self.account_data.get(user_id, "", "m.direct") or {}
        rooms = list(direct.get(other, []))
        if room_id not in rooms:
            rooms.append(room_id)
            direct[other] = rooms
            self.account_data.set(user_id, "", "m.direct", direct)
            self.notifier.notify_users([user_id])

    # memberships ---------------------------------------------------------------------------

    def resolve_room(self, room_id_or_alias: str) -> str:
        if room_id_or_alias.startswith("#"):
            row = self.store.get_alias(room_id_or_alias)
            if row is None:
                raise NotFound(f"Room alias {room_id_or_alias} not found")
            return row[0]
        if not ROOM_ID.match(room_id_or_alias):
            raise InvalidParam(f"{room_id_or_alias!r} is not a room ID or alias")
        return room_id_or_alias

    def join(self, req: Requester, room_id_or_alias: str) -> str:
        room_id = self.resolve_room(room_id_or_alias)
        if self.store.get_room(room_id) is None and not self.store.current_state_ids(room_id):
            raise NotFound(f"Unknown room {room_id}")
        current = self.store.membership(room_id, req.user_id)
        if current and current[0] == "join":
            return room_id  # already in: joining again is a no-op, as in Synapse
        invite = self.store.state_event(room_id, "m.room.member", req.user_id)
        self.send_event(room_id, req.user_id, "m.room.member",
                        {"membership": "join", **self.profile_of(req.user_id)}, req.user_id)
        if invite and invite["content"].get("is_direct"):
            self.add_direct_room(req.user_id, invite["sender"], room_id)
        return room_id

    def leave(self, req: Requester, room_id: str) -> None:
        self.known_room(room_id)
        self.send_event(room_id, req.user_id, "m.room.member", {"membership": "leave"},
                        req.user_id)

    def set_membership(self, req: Requester, room_id: str, body: dict, membership: str) -> None:
        """invite / kick (leave for another) / ban / unban (leave from ban)."""
        self.known_room(room_id)
        target = require_str(body, "user_id") or ""  # never None: not optional
        if not USER_ID.match(target):
            raise InvalidParam(f"{target!r} is not a valid user ID")
        reason = body.get("reason")
        if reason is not None and not isinstance(reason, str):
            raise BadJson("reason must be a string")
        current = (self.store.membership(room_id, target) or ("leave",))[0]
        if membership == "invite":
            self._check_invitee(target)
        elif membership == "unban":
            if current != "ban":
                raise Forbidden(f"{target} is not banned")
            membership = "leave"
        elif membership == "kick":
            if current not in ("join", "invite"):
                raise Forbidden(f"{target} is not in the room")
            membership = "leave"
        content = {"membership": membership, **({"reason": reason} if reason else {})}
        self.send_event(room_id, req.user_id, "m.room.member", content, target)

    def known_room(self, room_id: str) -> None:
        if not ROOM_ID.match(room_id):
            raise InvalidParam(f"{room_id!r} is not a room ID")
        if not self.store.current_state_ids(room_id):
            raise NotFound(f"Unknown room {room_id}")

    # messages and state --------------------------------------------------------------------

    def send_message(self, req: Requester, room_id: str, etype: str, txn_id: str,
                     content: dict) -> str:
        self.known_room(room_id)
        # Scoped like the request path (as Synapse does): the same txnId in another room or
        # for another event type is a different request, not a retry.
        txn_key = f"{room_id}/{etype}/{txn_id}"
        done = self.store.event_for_txn(req.user_id, req.device_id, txn_key)
        if done:
            return done  # a retried request: same answer, applied once
        if etype in ("m.room.create", "m.room.member"):
            raise Forbidden(f"{etype} cannot be sent as a message")
        self._check_relation(room_id, req.user_id, etype, content)
        for check in self.send_checks:
            check(req.user_id, room_id, etype, content)
        ev = self.send_event(room_id, req.user_id, etype, content,
                             txn=(req.user_id, req.device_id, txn_key))
        return ev["event_id"]

    def _check_relation(self, room_id: str, sender: str, etype: str, content: dict) -> None:
        """What a client may not send (Synapse's rules): the same reaction twice, or a thread
        started from an event that is itself a relation. Malformed relations are stored as
        plain events (the index ignores them)."""
        rel = parse_relation({"type": etype, "content": content}) \
            if self.relations is not None and isinstance(content, dict) else None
        if rel is None or self.relations is None:
            return
        rel_type, parent_id = rel
        if rel_type == ANNOTATION and self.relations.has_annotation(
                room_id, parent_id, sender, etype, content["m.relates_to"]["key"]):
            raise MatrixError("You already sent this annotation", "M_DUPLICATE_ANNOTATION")
        if rel_type == THREAD:
            parent = self.store.get_event(parent_id)
            if parent is not None and parent.get("room_id") == room_id \
                    and parse_relation(parent) is not None:
                raise MatrixError("Cannot start a thread from an event with a relation")

    def put_state(self, req: Requester, room_id: str, etype: str, state_key: str,
                  content: dict) -> str:
        self.known_room(room_id)
        if etype == "m.room.member":
            raise Forbidden("use the membership endpoints to change membership")
        if etype == "m.room.create":
            raise Forbidden("m.room.create cannot be changed")
        if etype == "m.room.canonical_alias" and content.get("alias") is not None:
            row = self.store.get_alias(content["alias"]) if isinstance(content["alias"], str) \
                else None
            if row is None or row[0] != room_id:
                raise MatrixError("alias does not point to this room", "M_BAD_ALIAS", 400)
        return self.send_event(room_id, req.user_id, etype, content, state_key)["event_id"]

    def visible_upto(self, req: Requester, room_id: str) -> int | None:
        """The newest stream position the user may read in the room: None means all of it
        (joined); otherwise up to when they left. Raises if they never could read it."""
        self.known_room(room_id)
        m = self.store.membership(room_id, req.user_id)
        if m is None or m[0] == "invite":
            raise Forbidden("You are not a member of this room")
        return None if m[0] == "join" else m[1]

    def visible_state(self, req: Requester, room_id: str) -> StateView:
        """Current state for members; for users who left, the state when they left."""
        upto = self.visible_upto(req, room_id)
        if upto is None:
            return self.state_view(room_id)
        return StateView(self.store, self.store.state_ids_at(room_id, upto))

    def get_state(self, req: Requester, room_id: str) -> list[dict]:
        return list(self.visible_state(req, room_id).values())

    def get_state_event(self, req: Requester, room_id: str, etype: str, state_key: str) -> dict:
        ev = self.visible_state(req, room_id).get((etype, state_key))
        if ev is None:
            raise NotFound(f"Event not found: no {etype} state with key {state_key!r}")
        return ev

    def invite_state(self, room_id: str, invite_event: dict) -> list[dict]:
        view = self.state_view(room_id)
        keys = [("m.room.create", ""), ("m.room.name", ""), ("m.room.join_rules", ""),
                ("m.room.canonical_alias", ""), ("m.room.topic", ""), ("m.room.avatar", ""),
                ("m.room.encryption", ""), ("m.room.member", invite_event["sender"])]
        out = [stripped_state(view[k]) for k in keys if k in view]
        # A room on another server, known only by its invite: what the inviting server said
        # of it (unverified, as the spec's stripped state is), for the keys we show.
        have = {(e["type"], e["state_key"]) for e in out}
        theirs = (invite_event.get("unsigned") or {}).get("invite_room_state")
        for e in theirs[:20] if isinstance(theirs, list) else []:
            if (isinstance(e, dict) and isinstance(e.get("type"), str)
                    and isinstance(e.get("state_key"), str) and isinstance(e.get("sender"), str)
                    and isinstance(e.get("content"), dict)
                    and (e["type"], e["state_key"]) in keys
                    and (e["type"], e["state_key"]) not in have):
                have.add((e["type"], e["state_key"]))
                out.append(stripped_state(e))
        out.append(stripped_state(invite_event))
        return out

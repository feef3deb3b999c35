"""Rooms across servers: transactions, relaying what the host appends, and the resident side
(joining remote rooms, receiving invites, applying what the host relays in its order). What only
the host does (checking remote events, joins, serving the room) is in ``room_host``."""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from urllib.parse import quote

from federation.canonical_json import MAX_SAFE_INTEGER
from federation.client import FederationClient, RemoteServerError
from federation.keyring import Keyring
from federation.pdus import PDUError, host_of, server_of, to_pdu, verify_pdu
from federation.queue import MAX_EDUS, MAX_PDUS, OutboundQueue
from federation.signing import (
    SigningKey,
    add_content_hash,
    compute_event_id,
    redact_event,
    sign_event,
)

from ..errors import BadJson, Forbidden, MatrixError, NotFound
from ..ordering import ORDER, OrderError, order_from_host, order_of, with_order
from ..storage.events import EventStore
from ..storage.federation import TransactionStore
from ..storage.users import UserStore
from .accounts import Requester
from .events import ROOM_VERSION
from .inbound_limit import TimeSlice
from .remote import remote_error
from .room_host import RoomHost, served, verify_pdu_at
from .rooms import RoomHandler

log = logging.getLogger(__name__)
HISTORY_ON_JOIN = 50
JOIN_RELAY_WAIT = 10.0  # seconds a resident's join waits for the host to relay it back


class FederationHandler:
    def __init__(self, server_name: str, signing_key: SigningKey, rooms: RoomHandler,
                 host: RoomHost, store: EventStore, users: UserStore, keyring: Keyring,
                 client: FederationClient, queue: OutboundQueue, txns: TransactionStore):
        self.server_name = server_name
        self.signing_key = signing_key
        self.rooms = rooms
        self.host = host
        self.store = store
        self.users = users
        self.keyring = keyring
        self.client = client
        self.queue = queue
        self.txns = txns
        self._joining: dict[str, list[tuple[dict, int | None]]] = {}
        self._join_locks: dict[str, asyncio.Lock] = {}
        self._awaited: dict[str, asyncio.Future] = {}  # our joins' IDs, until relayed back
        self._txn_locks: dict[tuple[str, str], asyncio.Lock] = {}
        # edu_type -> handler(origin, content), connected in app.py (receipts, typing)
        self.edu_handlers: dict[str, Callable[[str, dict], None]] = {}
        # (origin, raw PDU) -> a reason to refuse it before it is even verified, or None;
        # connected in app.py (the reactions' flood limit, see handlers/reactions.py)
        self.pdu_admission: list[Callable[[str, dict], str | None]] = []
        # Called with the room ID before another server's invite of one of our users is
        # countersigned; raise to refuse (app.py: rooms an admin blocked).
        self.invite_checks: list[Callable[[str], None]] = []
        # (origin, edu_type, content) -> the content to hand on, or None to drop the EDU;
        # connected in app.py (server ACLs, see handlers/server_acl.py)
        self.edu_filters: list[Callable[[str, str, dict], dict | None]] = []

    # who is in a room ----------------------------------------------------------------------

    def servers_in_room(self, room_id: str) -> set[str]:
        return self.host.servers_in_room(room_id)

    # outbound ------------------------------------------------------------------------------

    def on_event_elsewhere(self, event: dict, stream: int) -> None:
        """Another process of this server stored the event: a join we sent may be back."""
        waiter = self._awaited.pop(event["event_id"], None)
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def on_event_appended(self, event: dict, stream: int) -> None:
        """Committed: whoever awaits the event is told."""
        waiter = self._awaited.pop(event["event_id"], None)
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def on_event_persisted(self, event: dict, stream: int) -> None:
        """The host relays every appended event, in order, to every server in the room
        (including the target of a membership change who may just have left). Queued inside
        the transaction that appends the event, under its write lock: the outbox is in the
        room's order even when several processes append, and an event that committed is
        queued even if this process dies the next instant. Senders wake after the commit."""
        room_id = event["room_id"]
        if not self.rooms.is_host(room_id):
            return
        dests = self.servers_in_room(room_id)
        if event["type"] == "m.room.member":
            dests.add(server_of(event["state_key"]))
        dests.discard(self.server_name)
        if dests:  # with its place in our order, which residents rank members by
            queued = self.queue.enqueue_pdu(dests, served(event))
            self.store.db.after_commit(lambda: self.queue.wake_senders(queued))

    # inbound transactions ------------------------------------------------------------------

    async def on_transaction(self, origin: str, txn_id: str, body: dict,
                             work: TimeSlice) -> dict:
        """Apply a transaction's PDUs in order; ``work`` (its slot's, from the InboundGate)
        says when to let the event loop serve others."""
        if body.get("origin", origin) != origin:
            raise Forbidden("transaction origin does not match the request's signer")
        pdus, edus = body.get("pdus", []), body.get("edus", [])
        if not isinstance(pdus, list) or not isinstance(edus, list):
            raise BadJson("pdus and edus must be lists")
        if len(pdus) > MAX_PDUS or len(edus) > MAX_EDUS:
            raise BadJson(f"a transaction carries at most {MAX_PDUS} PDUs and {MAX_EDUS} EDUs")
        lock = self._txn_locks.setdefault((origin, txn_id), asyncio.Lock())
        try:
            async with lock:  # a duplicate arriving concurrently waits, gets the same answer
                done = self.txns.get(origin, txn_id)
                if done is not None:
                    return done
                results = {}
                for pdu in pdus:
                    event_id, error = await self.receive_pdu(origin, pdu)
                    results[event_id] = {"error": error} if error else {}
                    await work.tick()  # clients are served between slices of work
                for edu in edus:  # after the PDUs: a receipt may be for one of them
                    self.receive_edu(origin, edu)
                response = {"pdus": results}
                self.txns.put(origin, txn_id, response)
                return response
        finally:
            if not lock.locked():
                self._txn_locks.pop((origin, txn_id), None)

    def receive_edu(self, origin: str, edu) -> None:
        """Hand an EDU to its handler; an unknown or malformed one is dropped (EDUs have no
        answer, and losing one is harmless)."""
        if not isinstance(edu, dict):
            return
        handler = self.edu_handlers.get(edu.get("edu_type"))  # type: ignore[arg-type]
        content = edu.get("content")
        if handler is None or not isinstance(content, dict):
            return
        for keep in self.edu_filters:
            content = keep(origin, edu["edu_type"], content)
            if content is None:
                return
        try:
            handler(origin, content)
        except MatrixError as e:
            log.info("dropped a %s EDU from %s: %s", edu.get("edu_type"), origin, e.message)

    async def receive_pdu(self, origin: str, pdu) -> tuple[str, str | None]:
        """Verify and apply one PDU; returns (event_id, error or None)."""
        for admit in self.pdu_admission:
            refusal = admit(origin, pdu)
            if refusal:
                return _event_id_of(pdu), refusal
        try:
            event = await verify_pdu(pdu, origin, self.keyring, self.server_name)
        except PDUError as e:
            return _event_id_of(pdu), str(e)
        room_id = event["room_id"]
        order = None
        if not self.rooms.is_host(room_id):
            if origin != host_of(room_id):
                # org.audiorooms.1: a resident takes a room's events only from its host, in
                # order, and with the host's place for each in that order.
                return event["event_id"], \
                    f"only the room's host {host_of(room_id)} sends its events"
            try:  # a missing order is refused once we know the room is ours to apply
                order = order_from_host(pdu, required=False)
            except OrderError as e:
                return event["event_id"], str(e)
        if room_id in self._joining:  # our join is in flight: apply once we have the state
            self._joining[room_id].append((event, order))
            return event["event_id"], None
        try:
            self.apply_event(event, order)
        except (MatrixError, PDUError) as e:
            return event["event_id"], getattr(e, "message", str(e))
        return event["event_id"], None

    def apply_event(self, event: dict, order: int | None = None) -> None:
        """Append a verified event: into the order of a room we host (checked as the host
        checks), or, in a room hosted elsewhere, at the host's ``order`` for it."""
        if self.store.has_event(event["event_id"]):
            return  # already applied (a retry, or our own event relayed back)
        room_id = event["room_id"]
        if not self.store.current_state_ids(room_id):
            raise PDUError(f"unknown room {room_id}")
        if self.rooms.is_host(room_id):
            self.host.append_remote(event)
            return
        if self.store.get_room(room_id) is None:
            raise PDUError(f"we are not in {room_id}")
        if order is None:
            raise PDUError(f"the host gave the event no {ORDER}")
        last = self.store.last_room_order(room_id)
        if last is not None and order <= last:
            # The host's order only grows; an event placed before what we have is not one
            # the host relayed in its order.
            raise PDUError(f"the host's order {order} of the event is not after {last}")
        self.rooms.append_event(event, order=order)

    # resident: invites ---------------------------------------------------------------------

    async def on_invite(self, origin: str, room_id: str, event_id: str, body: dict) -> dict:
        if body.get("room_version", ROOM_VERSION) != ROOM_VERSION:
            raise MatrixError("room version not supported", "M_INCOMPATIBLE_ROOM_VERSION", 400)
        pdu = body.get("event")
        if not isinstance(pdu, dict) or pdu.get("room_id") != room_id:
            raise BadJson("the invite event's room_id does not match the path")
        if pdu.get("type") != "m.room.member" or \
                (pdu.get("content") or {}).get("membership") != "invite":
            raise BadJson("not an invite event")
        target = pdu.get("state_key")
        if not isinstance(target, str) or server_of(target) != self.server_name:
            raise Forbidden("the invitee is not on this server")
        if not self.users.user_exists(target):
            raise NotFound(f"Unknown user {target}")
        sender = pdu.get("sender")
        if not isinstance(sender, str) or server_of(sender) != origin:
            raise Forbidden(f"{origin} may not send an invite from {sender}")
        for check in self.invite_checks:
            check(room_id)
        self._check_inviting_server(origin, room_id)
        event = await verify_pdu_at(pdu, origin, event_id, self.keyring, self.server_name)
        signed = sign_event(to_pdu(event), self.server_name, self.signing_key)
        stripped = body.get("invite_room_state") or []
        if self.store.get_room(room_id) is None and not self.store.has_event(event_id):
            stored = dict(signed, event_id=event_id,
                          unsigned={"invite_room_state": stripped
                                    if isinstance(stripped, list) else []})
            stream = self.store.persist_event(stored, outlier=True)
            self.rooms.announce(stored, stream)
        return {"event": signed}

    def _check_inviting_server(self, origin: str, room_id: str) -> None:
        """An invite comes from the room's host, or from a server we know is in the room; and
        a room ID of our own namespace is a room we have, or no room at all (else the invite
        could be neither accepted nor rejected: we would be the host to ask)."""
        known = bool(self.store.current_state_ids(room_id))
        if host_of(room_id) == self.server_name and not known:
            raise NotFound(f"Unknown room {room_id}")
        if origin == host_of(room_id) and host_of(room_id) != self.server_name:
            return
        if not known or origin not in self.servers_in_room(room_id):
            raise Forbidden(f"{origin} is neither the host of {room_id} nor in the room")

    async def invite_remote(self, event: dict) -> dict:
        """Ask the invitee's server to countersign our invite (v2 invite)."""
        target_server = server_of(event["state_key"])
        body = {"event": to_pdu(event), "room_version": ROOM_VERSION,
                "invite_room_state": self.rooms.invite_state(event["room_id"], event)[:-1]}
        path = (f"/_matrix/federation/v2/invite/{quote(event['room_id'], safe='')}/"
                f"{quote(event['event_id'], safe='')}")
        try:
            resp = await self.client.request(target_server, "PUT", path, body)
        except RemoteServerError as e:
            raise MatrixError(f"Could not invite {event['state_key']}: {e}",
                              "M_UNKNOWN", 502 if e.status is None else 403) from e
        signed = resp.get("event")
        if not isinstance(signed, dict):
            raise MatrixError("the invitee's server answered without the event", "M_UNKNOWN", 502)
        try:
            await self.keyring.verify_json_from(redact_event(signed), target_server)
        except Exception as e:
            raise MatrixError(f"the invitee's server did not sign the invite: {e}",
                              "M_UNKNOWN", 502) from e
        merged = dict(event)
        merged["signatures"] = {**event["signatures"], target_server:
                                signed["signatures"][target_server]}
        return merged

    async def reject_invite(self, req: Requester, room_id: str) -> None:
        """Decline an invite to a room we are not in: a leave sent to the host, which orders
        it after the invite; our copy of the membership changes at once."""
        invite = self.store.state_event(room_id, "m.room.member", req.user_id)
        if invite is None or invite["content"].get("membership") != "invite":
            raise Forbidden("You are not invited to this room")
        event = {"room_id": room_id, "sender": req.user_id, "type": "m.room.member",
                 "state_key": req.user_id, "content": {"membership": "leave"},
                 "origin_server_ts": int(time.time() * 1000),
                 "depth": min(invite["depth"] + 1, MAX_SAFE_INTEGER),
                 "prev_events": [invite["event_id"]], "auth_events": [invite["event_id"]]}
        event = sign_event(add_content_hash(event), self.server_name, self.signing_key)
        event["event_id"] = compute_event_id(event)
        self.queue.send_pdu([host_of(room_id)], to_pdu(event))
        stream = self.store.persist_event(event, outlier=True)
        self.rooms.announce(event, stream)

    # resident: joining a remote room -------------------------------------------------------

    async def join_remote(self, req: Requester, room_id: str, profile: dict) -> str:
        host = host_of(room_id)
        user = req.user_id
        path = f"/_matrix/federation/v1/make_join/{quote(room_id, safe='')}/{quote(user, safe='')}"
        try:
            made = await self.client.request(host, "GET", path, query={"ver": [ROOM_VERSION]})
        except RemoteServerError as e:
            raise remote_error(e, f"Could not join {room_id} via {host}") from e
        tmpl = made.get("event")
        if not isinstance(tmpl, dict) or tmpl.get("room_id") != room_id or \
                tmpl.get("state_key") != user or tmpl.get("sender") != user or \
                tmpl.get("type") != "m.room.member":
            raise MatrixError(f"{host} sent an unusable join template", "M_UNKNOWN", 502)
        event = {k: tmpl[k] for k in ("room_id", "sender", "type", "state_key", "depth",
                                      "prev_events", "auth_events") if k in tmpl}
        event["content"] = {"membership": "join", **profile}
        event["origin_server_ts"] = int(time.time() * 1000)
        event = sign_event(add_content_hash(event), self.server_name, self.signing_key)
        event_id = compute_event_id(event)
        send_join = (f"/_matrix/federation/v2/send_join/{quote(room_id, safe='')}/"
                     f"{quote(event_id, safe='')}")
        # One join at a time per room takes the long way (adopting the host's state); joins
        # from a server already in the room take the short one. Two joins each adopting the
        # state in their send_join answer would wipe what was applied between the two.
        async with self._join_locks.setdefault(room_id, asyncio.Lock()):
            resident = self._resident(room_id)
            if not resident:
                await self._join_first(host, room_id, event_id, event, send_join)
        if resident:
            await self._join_resident(host, room_id, event_id, event, send_join)
        return room_id

    async def _join_first(self, host: str, room_id: str, event_id: str, event: dict,
                          send_join: str) -> None:
        """Adopt the room's state from the host's send_join answer, and recent history."""
        self._joining.setdefault(room_id, [])
        try:
            sent = await self.client.request(host, "PUT", send_join, event)
            history = await self.client.request(
                host, "GET", f"/_matrix/federation/v1/backfill/{quote(room_id, safe='')}",
                query={"v": event_id, "limit": str(HISTORY_ON_JOIN)})
            state = [await self._from_host(p, host) for p in _pdu_list(sent, "state")]
            past = [await self._from_host(p, host) for p in _pdu_list(history, "pdus")]
            join_order = order_from_host(sent.get("event"))
            self._store_joined_room(room_id, state, past, dict(event, event_id=event_id),
                                    join_order)
        except RemoteServerError as e:
            raise remote_error(e, f"Could not join {room_id} via {host}") from e
        except (PDUError, OrderError) as e:
            raise MatrixError(f"{host} sent an invalid room state: {e}", "M_UNKNOWN", 502) from e
        finally:
            buffered = self._joining.pop(room_id, [])
        for ev, order in buffered:  # what the host relayed while we were joining
            try:
                self.apply_event(ev, order)
            except (MatrixError, PDUError) as e:
                log.warning("dropping relayed %s after join: %s", ev["event_id"], e)

    async def _from_host(self, pdu, host: str) -> dict:
        """A verified event of the host's room state or history, with the host's order of it
        (events the host stored before it kept orders have none)."""
        event = await verify_pdu(pdu, host, self.keyring, self.server_name)
        return with_order(event, order_from_host(pdu, required=False))

    def _resident(self, room_id: str) -> bool:
        """We are in the room (a user of ours is joined), so the host relays its events to us
        and our state is its order so far."""
        return self.store.get_room(room_id) is not None and \
            self.server_name in self.servers_in_room(room_id)

    async def _join_resident(self, host: str, room_id: str, event_id: str, event: dict,
                             send_join: str) -> None:
        """The host orders our join and relays it to us after everything it ordered before,
        like any event: wait for that (so the joined user can act at once) instead of adopting
        the state in the answer, which may be older than what we applied meanwhile."""
        relayed = asyncio.get_running_loop().create_future()
        self._awaited[event_id] = relayed
        try:
            await self.client.request(host, "PUT", send_join, event,
                                      query={"omit_members": "true"})
            await asyncio.wait_for(relayed, JOIN_RELAY_WAIT)
        except RemoteServerError as e:
            raise remote_error(e, f"Could not join {room_id} via {host}") from e
        except TimeoutError:  # the host took the join; it shows here once relayed
            log.warning("join %s to %s not relayed back within %s s", event_id, room_id,
                        JOIN_RELAY_WAIT)
        finally:
            self._awaited.pop(event_id, None)

    def _store_joined_room(self, room_id: str, state: list[dict], past: list[dict],
                           join: dict, join_order: int | None) -> None:
        create = next((e for e in state if e["type"] == "m.room.create"), None)
        if create is None:
            raise PDUError("the room state has no m.room.create")
        self.store.store_room(room_id, create["content"].get("room_version", ROOM_VERSION),
                              create["sender"], False, create["content"].get("type"))
        for ev in past:  # recent history, in the host's order, before our join
            if ev["event_id"] != join["event_id"] and not self.store.has_event(ev["event_id"]):
                self.store.persist_event(ev, update_state=False, order=order_of(ev))
        self.store.replace_current_state(room_id, state)
        if not self.store.has_event(join["event_id"]):
            self.rooms.append_event(join, checked=True, order=join_order)


def _event_id_of(pdu) -> str:
    """A refused PDU's ID, for the transaction's answer."""
    try:
        return compute_event_id(pdu)
    except Exception:  # too malformed to even have an ID
        return "$invalid"


def _pdu_list(answer, key: str) -> list:
    pdus = answer.get(key, []) if isinstance(answer, dict) else None
    if not isinstance(pdus, list):
        raise PDUError(f"the host's answer has no list of {key}")
    return pdus

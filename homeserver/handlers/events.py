"""Building events the way Matrix room version 11 shapes them, and rendering them for clients.

An event is hashed (content hash), signed by this server over its redacted form, and its ID is
the reference hash, so the same event can later be sent over federation and verified by anyone.
"""
from __future__ import annotations

import time
from collections.abc import Callable

from federation.canonical_json import MAX_SAFE_INTEGER, encode_canonical_json
from federation.signing import SigningKey, add_content_hash, compute_event_id, sign_event

from ..errors import TooLarge

ROOM_VERSION = "org.audiorooms.1"
# What is in a PDU but not in the client-server event format.
_PDU_ONLY = ("auth_events", "prev_events", "depth", "hashes", "signatures", "origin", "unsigned")


class EventFactory:
    def __init__(self, server_name: str, signing_key: SigningKey, max_event_bytes: int = 65536,
                 clock: Callable[[], float] = time.time):
        self.server_name = server_name
        self.signing_key = signing_key
        self.max_event_bytes = max_event_bytes
        self.clock = clock
        self._last_ts = 0

    def _timestamp(self) -> int:
        """Now in ms, but always after the previous event's. An event's ID is its hash, so two
        identical sends in one millisecond on the same prev_events (a resident's events wait
        for the host, so its prev_events don't move in between) would be one event, and the
        second request's message would be lost."""
        self._last_ts = max(int(self.clock() * 1000), self._last_ts + 1)
        return self._last_ts

    def build(self, *, room_id: str, sender: str, etype: str, content: dict,
              state_key: str | None, prev_events: list[str], depth: int,
              auth_events: list[str]) -> dict:
        # Matrix's PDU limits: these fields are at most 255 bytes (peers reject longer ones).
        for key, value in (("room_id", room_id), ("sender", sender), ("type", etype),
                           ("state_key", state_key)):
            if value is not None and len(value.encode()) > 255:
                raise TooLarge(f"'{key}' is over 255 bytes")
        event = {
            "room_id": room_id,
            "sender": sender,
            "type": etype,
            "content": content,
            "origin_server_ts": self._timestamp(),
            # Capped like Synapse's MAX_DEPTH, so a remote event of huge depth cannot make
            # every later event non-canonical.
            "depth": min(depth, MAX_SAFE_INTEGER),
            "prev_events": prev_events,
            "auth_events": auth_events,
        }
        if state_key is not None:
            event["state_key"] = state_key
        event = add_content_hash(event)
        event = sign_event(event, self.server_name, self.signing_key)
        size = len(encode_canonical_json(event))
        if size > self.max_event_bytes:
            raise TooLarge(f"event is {size} bytes, over the {self.max_event_bytes} byte limit")
        event["event_id"] = compute_event_id(event)
        return event


def auth_event_ids(etype: str, sender: str, state_key: str | None, content: dict,
                   state_ids: dict[tuple[str, str], str]) -> list[str]:
    """The state events that authorise a new event (Matrix's auth events selection)."""
    keys = [("m.room.create", ""), ("m.room.power_levels", ""), ("m.room.member", sender)]
    if etype == "m.room.member":
        keys.append(("m.room.member", state_key or ""))
        if content.get("membership") in ("join", "invite"):
            keys.append(("m.room.join_rules", ""))
    seen, out = set(), []
    for k in keys:
        eid = state_ids.get(k)
        if eid and eid not in seen:
            seen.add(eid)
            out.append(eid)
    return out


def client_event(ev: dict, include_room_id: bool = True) -> dict:
    """The client-server API's ClientEvent form of a stored event."""
    out = {k: v for k, v in ev.items() if k not in _PDU_ONLY and not k.startswith("_")}
    if not include_room_id:
        out.pop("room_id", None)
    if ev.get("type") == "m.room.redaction" and "redacts" not in out:
        # Room version 11 keeps ``redacts`` in content; clients (matrix-js-sdk among them)
        # also read it at the top level, as in earlier versions: serve both.
        redacts = (ev.get("content") or {}).get("redacts")
        if isinstance(redacts, str):
            out["redacts"] = redacts
    unsigned = dict(ev.get("unsigned") or {})
    because = unsigned.get("redacted_because")
    if isinstance(because, dict):
        # Stored when the redaction was applied: rendered again so its age is current.
        unsigned["redacted_because"] = client_event(because)
    age_ts = ev.get("origin_server_ts")
    if isinstance(age_ts, int):
        unsigned["age"] = max(0, int(time.time() * 1000) - age_ts)
    out["unsigned"] = unsigned
    return out


def stripped_state(ev: dict) -> dict:
    """Stripped state for invites: type, state_key, sender, content."""
    return {"type": ev["type"], "state_key": ev["state_key"], "sender": ev["sender"],
            "content": ev["content"]}

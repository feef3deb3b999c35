"""Checks every incoming PDU must pass before the room's rules see it (no I/O but the keyring).

In order: shape, size (65536 bytes), canonical JSON (no floats, integers in range), the
signature of the sender's server, the content hash (a mismatch means the event is redacted, as
the spec says, not rejected), and whether the origin may send it at all: in room version
``org.audiorooms.1`` an event comes either from its author's server or from the room's host,
which orders the room and relays every event.
"""
from __future__ import annotations

from .canonical_json import encode_canonical_json
from .exceptions import CanonicalJSONError, FederationError, SignatureError
from .keyring import Keyring
from .signing import check_content_hash, compute_event_id, redact_event

MAX_PDU_BYTES = 65536
_REQUIRED = {"room_id": str, "sender": str, "type": str, "content": dict,
             "origin_server_ts": int, "depth": int, "prev_events": list, "auth_events": list,
             "hashes": dict, "signatures": dict}


class PDUError(FederationError):
    """The PDU is refused; the message says why (it is reported back in the transaction)."""


def server_of(user_or_room_id: str) -> str:
    return user_or_room_id.split(":", 1)[1] if ":" in user_or_room_id else ""


def host_of(room_id: str) -> str:
    """The server that orders the room: the one named in its ID."""
    return server_of(room_id)


def to_pdu(event: dict) -> dict:
    """What goes on the wire: the event without its (derived) ID and local annotations."""
    return {k: v for k, v in event.items() if k not in ("event_id", "unsigned")}


def check_shape(pdu) -> None:
    if not isinstance(pdu, dict):
        raise PDUError("PDU is not an object")
    for key, typ in _REQUIRED.items():
        v = pdu.get(key)
        if not isinstance(v, typ) or (typ is int and isinstance(v, bool)):
            raise PDUError(f"PDU field {key!r} is missing or not a {typ.__name__}")
    # Synapse's bounds: an event names at most 20 predecessors and 10 auth events.
    if len(pdu["prev_events"]) > 20 or len(pdu["auth_events"]) > 10:
        raise PDUError("PDU has too many prev_events or auth_events")
    if not all(isinstance(e, str) for e in pdu["prev_events"] + pdu["auth_events"]):
        raise PDUError("prev_events and auth_events must be event IDs")
    if "state_key" in pdu and not isinstance(pdu["state_key"], str):
        raise PDUError("PDU state_key must be a string")
    for key in ("room_id", "sender", "type", "state_key"):  # the spec's size limits
        if key in pdu and len(pdu[key].encode("utf-8", "surrogatepass")) > 255:
            raise PDUError(f"PDU {key} is over 255 bytes")
    if not pdu["sender"].startswith("@") or ":" not in pdu["sender"]:
        raise PDUError("PDU sender is not a user ID")
    if not pdu["room_id"].startswith("!") or ":" not in pdu["room_id"]:
        raise PDUError("PDU room_id is not a room ID")


async def verify_pdu(pdu, origin: str, keyring: Keyring, our_name: str) -> dict:
    """Return the event (with ``event_id``) to hand to the room's rules, or raise PDUError."""
    check_shape(pdu)
    pdu = {k: v for k, v in pdu.items() if k not in ("event_id", "unsigned")}
    try:
        size = len(encode_canonical_json(pdu))
    except CanonicalJSONError as e:
        raise PDUError(f"PDU is not canonical JSON: {e}") from e
    if size > MAX_PDU_BYTES:
        raise PDUError(f"PDU is {size} bytes, over the {MAX_PDU_BYTES} byte limit")
    sender_server = server_of(pdu["sender"])
    host = host_of(pdu["room_id"])
    if origin != sender_server and not (origin == host and host != our_name):
        raise PDUError(f"{origin} may not send an event from {pdu['sender']}")
    try:
        redacted = redact_event(pdu)
        await keyring.verify_json_from(redacted, sender_server, pdu["origin_server_ts"])
    except (SignatureError, ValueError) as e:
        raise PDUError(f"bad signature from {sender_server}: {e}") from e
    if not check_content_hash(pdu):
        pdu = redacted  # spec: a hash mismatch is treated as a redaction
    event = dict(pdu)
    event["event_id"] = compute_event_id(pdu)
    return event

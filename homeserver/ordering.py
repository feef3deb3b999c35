"""The room's one order, as its host decided it (room version ``org.audiorooms.1``).

The host appends every event of its room to its stream; an event's position there (its
``stream_ordering`` on the host) is the event's *order*. Rules that ask "who came first" (the
stage's longest-standing member) read this order and nothing else: ``depth`` and
``origin_server_ts`` are written by the event's sender and prove nothing.

Residents learn the order from the host only: the host puts it in ``unsigned`` of every PDU it
relays or serves (send_join state, backfill), and residents take a room's events from its host
alone. ``unsigned`` is not signed, so a PDU's order is believed only when the host hands it
over; verifying a PDU strips ``unsigned``, so an order written by anyone else is dropped before
it reaches the store. Stored events carry it back in ``unsigned`` (the store adds it on read).

Pure functions, no I/O.
"""
from __future__ import annotations

from federation.canonical_json import MAX_SAFE_INTEGER

ORDER = "org.audiorooms.order"


class OrderError(ValueError):
    """The host's order of an event is missing or not a usable number."""


def order_of(event: dict) -> int | None:
    """The host's order of a stored event, or None for an event without one (an invite to a
    room we are not in, or an event stored before orders were kept)."""
    unsigned = event.get("unsigned")
    value = unsigned.get(ORDER) if isinstance(unsigned, dict) else None
    return value if _valid(value) else None


def with_order(event: dict, order: int | None) -> dict:
    """A copy of ``event`` whose ``unsigned`` carries ``order`` (or none, for None)."""
    unsigned = {k: v for k, v in (event.get("unsigned") or {}).items() if k != ORDER}
    if order is not None:
        unsigned[ORDER] = order
    out = dict(event)
    if unsigned:
        out["unsigned"] = unsigned
    else:
        out.pop("unsigned", None)
    return out


def pdu_with_order(pdu: dict, order: int | None) -> dict:
    """What the host sends: the PDU, and its order in ``unsigned`` (nothing else unsigned)."""
    out = {k: v for k, v in pdu.items() if k != "unsigned"}
    if order is not None:
        out["unsigned"] = {ORDER: order}
    return out


def order_from_host(pdu, required: bool = True) -> int | None:
    """The order the room's host gave a PDU it sent us; raises OrderError if it is not an
    integer in 1..2**53-1 (or missing while ``required``)."""
    unsigned = pdu.get("unsigned") if isinstance(pdu, dict) else None
    value = unsigned.get(ORDER) if isinstance(unsigned, dict) else None
    if value is None and not required:
        return None
    if not _valid(value):
        raise OrderError(f"the host's {ORDER} is missing or not an integer in 1..2**53-1")
    return value


def _valid(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) \
        and 1 <= value <= MAX_SAFE_INTEGER

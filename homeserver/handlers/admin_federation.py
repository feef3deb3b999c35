"""The admin API's federation destinations (Synapse's ``/_synapse/admin/v1/federation/
destinations``, what Synapse Admin's Federation page shows): each remote server the outbound
queue (federation/queue.py) delivers to, with its retry state, the rooms it is in, and a way
to end a backoff.

The state is the queue's, kept in the database across restarts (a restart retries every
destination with items waiting at once, and its state changes with that attempt).
"""
from __future__ import annotations

from collections.abc import Callable

from federation.queue import DestinationState, OutboundQueue

from ..errors import InvalidParam, MatrixError, NotFound

DESTINATION_ORDER = ("destination", "retry_last_ts", "retry_interval", "failure_ts",
                     "last_successful_stream_ordering")
MAX_DESTINATION = 255


class AdminDestinations:
    def __init__(self, queue: OutboundQueue,
                 rooms_of: Callable[[str], list[tuple[str, int]]] = lambda server: []):
        self.queue = queue
        self.rooms_of = rooms_of  # (room_id, newest stream ordering) the server is joined to

    def list(self, start: int, limit: int, order_by: str, backwards: bool,
             search: str | None) -> dict:
        if order_by not in DESTINATION_ORDER:
            raise InvalidParam("Unknown value for order_by")
        rows = [s.as_dict() for s in self.queue.destination_states()]
        if search:
            rows = [r for r in rows if search.lower() in r["destination"].lower()]
        # nulls last, ties by name (as Synapse's ORDER BY <column>, destination)
        rows.sort(key=lambda r: (r[order_by] is None, r[order_by] or 0, r["destination"])
                  if order_by != "destination" else (False, r["destination"], ""))
        if backwards:
            rows.reverse()
        out: dict = {"destinations": rows[start:start + limit], "total": len(rows)}
        if start + limit < len(rows):
            out["next_token"] = str(start + limit)
        return out

    def _known(self, destination: str) -> DestinationState:
        st = self.queue.destination_state(destination) \
            if 0 < len(destination) <= MAX_DESTINATION else None
        if st is None:
            raise NotFound("Unknown destination")
        return st

    def get(self, destination: str) -> dict:
        return self._known(destination).as_dict()

    def reset_connection(self, destination: str) -> dict:
        self._known(destination)
        if not self.queue.reset_connection(destination):
            raise MatrixError("The retry timing does not need to be reset for this"
                              " destination.", "M_UNKNOWN", 400)
        return {}

    def rooms(self, destination: str, start: int, limit: int, backwards: bool) -> dict:
        """The rooms the destination has members in. Synapse's ``stream_ordering`` is the last
        PDU of the room sent to it; here it is the room's newest event (the queue delivers
        every room's PDUs to a destination in one order, not room by room)."""
        self._known(destination)
        rows = [{"room_id": r, "stream_ordering": n} for r, n in self.rooms_of(destination)]
        if backwards:
            rows.reverse()
        out: dict = {"rooms": rows[start:start + limit], "total": len(rows)}
        if start + limit < len(rows):
            out["next_token"] = str(start + limit)
        return out

"""The admin API's federation destinations (Synapse's ``/_synapse/admin/v1/federation/
destinations``, what Synapse Admin's Federation page shows): each remote server the outbound
queue (federation/queue.py) delivers to, with its retry state, and a way to end a backoff.

The state is the queue's, kept in memory: a restart forgets the failures (the queue then
retries at once anyway) and lists only destinations with items still waiting.
"""
from __future__ import annotations

from federation.queue import DestinationState, OutboundQueue

from ..errors import InvalidParam, MatrixError, NotFound

DESTINATION_ORDER = ("destination", "retry_last_ts", "retry_interval", "failure_ts",
                     "last_successful_stream_ordering")
MAX_DESTINATION = 255


class AdminDestinations:
    def __init__(self, queue: OutboundQueue):
        self.queue = queue

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

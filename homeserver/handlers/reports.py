"""Reports of events (``/rooms/{id}/report/{eventId}``) and rooms (``/rooms/{id}/report``),
stored for the server's admins.

An event can be reported only by a user joined to its room, and only if the event is in that
room; otherwise 404 ``M_NOT_FOUND``, the same answer for both, so a report tells nobody whether
an event exists in a room they cannot see. A room can be reported by anyone if this server
knows it (the spec's room reports are about rooms seen in a directory too).
"""
from __future__ import annotations

from ..errors import BadJson, InvalidParam, MissingParam, NotFound
from ..storage.events import EventStore
from ..storage.reports import ReportStore
from .accounts import Requester
from .rooms import ROOM_ID

MAX_REASON_CHARS = 1000
MAX_EVENT_ID_CHARS = 255


def _reason(body: dict, required: bool) -> str | None:
    reason = body.get("reason")
    if reason is None:
        if required:
            raise MissingParam("'reason' is required")
        return None
    if not isinstance(reason, str):
        raise BadJson("'reason' must be a string")
    if len(reason) > MAX_REASON_CHARS:
        raise InvalidParam(f"'reason' is longer than {MAX_REASON_CHARS} characters")
    return reason


class ReportHandler:
    def __init__(self, events: EventStore, reports: ReportStore):
        self.events = events
        self.reports = reports

    def report_event(self, req: Requester, room_id: str, event_id: str, body: dict) -> None:
        reason = _reason(body, required=False)
        score = body.get("score")
        if score is not None:
            if not isinstance(score, int) or isinstance(score, bool):
                raise BadJson("'score' must be an integer")
            if not -100 <= score <= 0:
                raise InvalidParam("'score' must be between -100 and 0")
        not_found = NotFound("The event was not found or you are not joined to its room")
        if not ROOM_ID.match(room_id) or len(event_id) > MAX_EVENT_ID_CHARS:
            raise not_found
        membership = self.events.membership(room_id, req.user_id)
        if membership is None or membership[0] != "join":
            raise not_found
        event = self.events.get_event(event_id)
        if event is None or event.get("room_id") != room_id:
            raise not_found
        self.reports.add(room_id, event_id, req.user_id, reason, score)

    def report_room(self, req: Requester, room_id: str, body: dict) -> None:
        reason = _reason(body, required=True)
        if not ROOM_ID.match(room_id) or self.events.get_room(room_id) is None:
            raise NotFound("Unknown room")
        self.reports.add(room_id, None, req.user_id, reason, None)

    def list_reports(self, limit: int = 100, before_id: int | None = None) -> list[dict]:
        """For admins (the admin API serves it)."""
        return self.reports.list(limit, before_id)

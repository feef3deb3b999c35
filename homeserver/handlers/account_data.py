"""Per-user account data (``m.direct`` among it) and saved sync filters."""
from __future__ import annotations

from ..errors import BadJson, Forbidden, NotFound
from ..storage.events import AccountDataStore, FilterStore
from .accounts import Requester
from .notifier import Notifier


class AccountDataHandler:
    def __init__(self, account_data: AccountDataStore, filters: FilterStore, notifier: Notifier):
        self.account_data = account_data
        self.filters = filters
        self.notifier = notifier

    @staticmethod
    def _own(req: Requester, user_id: str) -> None:
        if user_id != req.user_id:
            raise Forbidden("You cannot access another user's account data")

    def get(self, req: Requester, user_id: str, room_id: str, etype: str) -> dict:
        self._own(req, user_id)
        content = self.account_data.get(req.user_id, room_id, etype)
        if content is None:
            raise NotFound("Account data not found")
        return content

    def put(self, req: Requester, user_id: str, room_id: str, etype: str, content: dict) -> None:
        self._own(req, user_id)
        if etype == "m.direct" and not all(
                isinstance(v, list) and all(isinstance(r, str) for r in v)
                for v in content.values()):
            raise BadJson("m.direct maps user IDs to lists of room IDs")
        self.account_data.set(req.user_id, room_id, etype, content)
        self.notifier.notify_users([req.user_id])  # the user's other devices' /sync

    def add_filter(self, req: Requester, user_id: str, definition: dict) -> str:
        self._own(req, user_id)
        room = definition.get("room")
        timeline = room.get("timeline") if isinstance(room, dict) else None
        if isinstance(timeline, dict) and not isinstance(
                timeline.get("unread_thread_notifications", False), bool):
            # Refused now, not at every /sync that names the filter.
            raise BadJson("room.timeline.unread_thread_notifications must be a boolean")
        return self.filters.add(req.user_id, definition)

    def get_filter(self, req: Requester, user_id: str, filter_id: str) -> dict:
        self._own(req, user_id)
        filt = self.filters.get(req.user_id, filter_id)
        if filt is None:
            raise NotFound("No such filter")
        return filt

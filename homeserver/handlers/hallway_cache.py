"""Our view of other servers' hallways: pulled lists, updated in place by what they push.

Each server's view is its last pulled ``publicRooms`` audio entries (the fallback, refreshed
when older than the hallway's refresh time) with the rooms it pushed since laid over them. A
pull that was asked before a push arrived does not undo the push (the push is newer). Pushes
carry the pushing server's ``boot`` (one per process) and a ``seq`` that grows by one per
EDU it sends; a gap or a new boot means we missed one, so the view is marked stale and the
next hallway request pulls the whole list again. Pure bookkeeping: no I/O; times are passed in.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from . import hallway_schema as schema

MAX_SERVERS = 1000  # servers whose hallways we keep


@dataclass
class _View:
    fetched: float = -math.inf  # when the last good pull was asked
    failed: float = -math.inf  # when the last pull failed
    entries: dict[str, dict] = field(default_factory=dict)  # room_id -> entry
    pushed: dict[str, float] = field(default_factory=dict)  # room_id -> when last pushed
    boot: str | None = None
    seq: int = -1
    stale_at: float = -math.inf  # when we learnt that we missed a push


class RemoteHallways:
    def __init__(self, max_entries: int = schema.MAX_ENTRIES, max_servers: int = MAX_SERVERS):
        self.max_entries = max_entries
        self.max_servers = max_servers
        self._views: dict[str, _View] = {}

    def _view(self, server: str) -> _View | None:
        view = self._views.get(server)
        if view is None and len(self._views) < self.max_servers:
            view = self._views[server] = _View()
        return view

    def fresh(self, server: str, now: float, max_age: float) -> bool:
        view = self._views.get(server)
        return view is not None and view.stale_at < view.fetched and \
            now - view.fetched < max_age

    def failed_recently(self, server: str, now: float, backoff: float) -> bool:
        view = self._views.get(server)
        return view is not None and now - view.failed < backoff

    def fetched(self, server: str) -> float:
        view = self._views.get(server)
        return view.fetched if view else -math.inf

    def entries(self, server: str) -> list[dict]:
        view = self._views.get(server)
        return list(view.entries.values()) if view else []

    def entry(self, server: str, room_id: str) -> dict | None:
        view = self._views.get(server)
        return view.entries.get(room_id) if view else None

    def pulled(self, server: str, asked: float, entries: list[dict]) -> None:
        """A good pull, asked at ``asked``: it replaces the view but for rooms pushed since."""
        view = self._view(server)
        if view is None:
            return
        new = {e["room_id"]: e for e in entries[:self.max_entries]}
        for room_id, when in list(view.pushed.items()):
            if when < asked:
                del view.pushed[room_id]  # the pull is newer than this push
            elif room_id in view.entries:
                new[room_id] = view.entries[room_id]
            else:
                new.pop(room_id, None)  # removed by a push the pull had not seen
        view.entries = dict(list(new.items())[:self.max_entries])
        view.fetched = asked  # still stale if a push went missing after it was asked

    def pull_failed(self, server: str, now: float) -> None:
        view = self._view(server)
        if view is not None:
            view.failed = now

    def pushed(self, server: str, boot: str, seq: int,
               updates: list[tuple[str, dict | None]], now: float) -> None:
        """``server`` pushed these rooms (None: no longer in its hallway)."""
        view = self._view(server)
        if view is None:
            return
        if view.boot != boot or seq != view.seq + 1:
            view.stale_at = now  # we missed a push (or it restarted): pull on the next request
        view.boot, view.seq = boot, seq
        for room_id, entry in updates:
            if entry is None:
                view.entries.pop(room_id, None)
            elif room_id in view.entries or len(view.entries) < self.max_entries:
                view.entries[room_id] = entry
            else:
                continue  # full: the next pull says which rooms count
            view.pushed[room_id] = now
        if len(view.pushed) > 2 * self.max_entries:
            view.pushed.clear()  # bounded: forget, and let a pull set things right
            view.stale_at = now

    def mark_stale(self, server: str, now: float) -> None:
        view = self._views.get(server)
        if view is not None:
            view.stale_at = now

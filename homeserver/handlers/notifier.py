"""Wakes long-polling /sync requests when something arrives for their user.

A sync takes a ``mark`` before it looks for news and waits with it: a notification for its
user after the mark ends the wait at once. So an event persisted between the check and the
registration is never missed, even when the check itself waits (for PostgreSQL).
"""
from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable


class Notifier:
    def __init__(self):
        self._waiters: dict[str, set[asyncio.Future]] = defaultdict(set)
        # read by the metrics (homeserver/metrics.py) when scraped
        self.wakeups = 0  # long-polls woken by something arriving
        self.timeouts = 0  # long-polls that waited their whole timeout
        # Set when the server has other processes (homeserver/handlers/process_bus.py).
        self.publish: Callable[[list[str]], None] | None = None
        self._seq = 0  # notifications so far
        self._last: dict[str, int] = {}  # user -> the notification that last named them
        self._floor = 0

    @property
    def waiting(self) -> int:
        """Long-polls waiting now."""
        return sum(len(ws) for ws in self._waiters.values())

    def notify_users(self, user_ids, local_only: bool = False) -> None:
        """Wake these users' long-polls, here and (unless ``local_only``) in the server's
        other processes."""
        if self.publish is not None and not local_only:
            user_ids = list(user_ids)
            self.publish(user_ids)
        self._seq += 1
        if len(self._last) > 100_000:  # bounded: older marks just wake once more
            self._last.clear()
            self._floor = self._seq
        for uid in user_ids:
            self._last[uid] = self._seq
            waiters = self._waiters.pop(uid, None)
            if waiters:
                for fut in waiters:
                    if not fut.done():
                        fut.set_result(None)
                        self.wakeups += 1

    def wake_all(self) -> None:
        """Every long-poll here looks again (something may have been missed)."""
        self.notify_users(list(self._waiters), local_only=True)

    def mark(self) -> int:
        return self._seq

    async def wait_for(self, user_id: str, timeout_s: float, since: int | None = None) -> bool:
        """Wait until ``user_id`` is notified or the timeout passes. True if notified; at
        once if they were notified after the mark ``since``."""
        if since is not None and (self._last.get(user_id, 0) > since or since < self._floor):
            return True
        fut = asyncio.get_running_loop().create_future()
        self._waiters[user_id].add(fut)
        try:
            await asyncio.wait_for(fut, timeout_s)
            return True
        except TimeoutError:
            self.timeouts += 1
            return False
        finally:
            ws = self._waiters.get(user_id)
            if ws is not None:
                ws.discard(fut)
                if not ws:
                    del self._waiters[user_id]

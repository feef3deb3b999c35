"""Wakes long-polling /sync requests when something arrives for their user.

Waiters are futures registered synchronously after a sync found nothing new, so an event
persisted in between cannot be missed: everything runs on one event loop and no await separates
the check from the registration.
"""
from __future__ import annotations

import asyncio
from collections import defaultdict


class Notifier:
    def __init__(self):
        self._waiters: dict[str, set[asyncio.Future]] = defaultdict(set)
        # read by the metrics (homeserver/metrics.py) when scraped
        self.wakeups = 0  # long-polls woken by something arriving
        self.timeouts = 0  # long-polls that waited their whole timeout

    @property
    def waiting(self) -> int:
        """Long-polls waiting now."""
        return sum(len(ws) for ws in self._waiters.values())

    def notify_users(self, user_ids) -> None:
        for uid in user_ids:
            waiters = self._waiters.pop(uid, None)
            if waiters:
                for fut in waiters:
                    if not fut.done():
                        fut.set_result(None)
                        self.wakeups += 1

    async def wait_for(self, user_id: str, timeout_s: float) -> bool:
        """Wait until ``user_id`` is notified or the timeout passes. True if notified."""
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

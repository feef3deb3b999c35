"""How many inbound transactions are worked on at once: a few per origin, a few in all.

A transaction of 50 PDUs is tens of milliseconds of work (signatures, rules, writes). A hundred
of them arriving together, all worked on at once, leave each turn of the event loop running a
step of every one, and clients wait behind all of them. So a transaction first takes a slot of
its origin (``per_origin``), then one of the server's (``total``); the others wait their turn
(a sender's request simply takes longer: nothing is refused that the spec's senders would not
retry). Only when more than ``max_waiting`` of one origin's are already waiting is the next one
refused with 429 ``M_LIMIT_EXCEEDED`` and a ``retry_after_ms``; senders retry it later, and the
transaction ID makes the retry idempotent.
"""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from ..errors import LimitExceeded

PER_ORIGIN = 2
TOTAL = 6
MAX_WAITING = 500  # per origin
RETRY_AFTER_MS = 1000


class InboundGate:
    def __init__(self, per_origin: int = PER_ORIGIN, total: int = TOTAL,
                 max_waiting: int = MAX_WAITING):
        self.per_origin = per_origin
        self.max_waiting = max_waiting
        self._total = asyncio.Semaphore(total)
        self._origins: dict[str, tuple[asyncio.Semaphore, int]] = {}  # sem, holders+waiters

    @asynccontextmanager
    async def slot(self, origin: str) -> AsyncIterator[None]:
        sem, users = self._origins.get(origin) or (asyncio.Semaphore(self.per_origin), 0)
        if users >= self.per_origin + self.max_waiting:
            raise LimitExceeded(RETRY_AFTER_MS)
        self._origins[origin] = (sem, users + 1)
        try:
            async with sem, self._total:
                yield
        finally:
            sem, users = self._origins[origin]
            if users <= 1:
                del self._origins[origin]
            else:
                self._origins[origin] = (sem, users - 1)

    def in_use(self, origin: str) -> int:
        """Transactions of ``origin`` being worked on or waiting."""
        return self._origins.get(origin, (None, 0))[1]

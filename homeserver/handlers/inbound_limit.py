"""How inbound transactions share the event loop: a few per origin at a time, a few in all, each
yielding to the loop after a short slice of work.

A transaction of 50 PDUs is tens of milliseconds of work (signatures, rules, writes). A hundred
of them arriving together, all worked on at once, leave each turn of the event loop running a
step of every one, and clients wait behind all of them. So a transaction first takes a slot of
its origin (``per_origin``), then one of the server's (``total``); the others wait their turn
(a sender's request simply takes longer: nothing is refused that the spec's senders would not
retry). Only when more than ``max_waiting`` of one origin's are already waiting is the next one
refused with 429 ``M_LIMIT_EXCEEDED`` and a ``retry_after_ms``; senders retry it later, and the
transaction ID makes the retry idempotent.

While they work, transactions share the loop by time (``LoopShare``), not PDU by PDU: each
yields once it has worked for its share of ``BUDGET_S``, that budget divided among the
transactions working at the moment. One turn of the loop so runs about ``BUDGET_S`` of
transaction work however many there are (a flood's six each yield after about a PDU, as they
must for clients to stay responsive), and a lone transaction applies several PDUs back to back.
Yielding after every PDU regardless made a transaction of N PDUs wait for N turns of a busy
loop, each running every other ready request first: under load (clients sending, relays in and
out) a 25-PDU transaction took three times its work in wall time, the sender's queue (one
transaction in flight per destination) backed up behind it, and federation latency doubled.
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager

from ..errors import LimitExceeded

PER_ORIGIN = 2
TOTAL = 6
MAX_WAITING = 500  # per origin
RETRY_AFTER_MS = 1000
BUDGET_S = 0.005  # transaction work per turn of the loop, shared by those working


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



class LoopShare:
    """The event loop's time for transaction work: about ``budget_s`` a turn, in equal shares
    among the transactions working (see the module's docstring)."""

    def __init__(self, budget_s: float = BUDGET_S,
                 clock: Callable[[], float] = time.perf_counter):
        self.budget_s, self.clock = budget_s, clock
        self.working = 0

    @contextmanager
    def slices(self) -> Iterator[TimeSlice]:
        """For one transaction's work: its ``tick()`` yields when its share is used up."""
        self.working += 1
        try:
            yield TimeSlice(self)
        finally:
            self.working -= 1


class TimeSlice:
    def __init__(self, share: LoopShare):
        self.share = share
        self._since = share.clock()

    async def tick(self) -> bool:
        """Call between units of work; yields to the loop (and returns True) once this
        transaction worked its share since it last yielded."""
        share = self.share
        if share.clock() - self._since < share.budget_s / max(1, share.working):
            return False
        await asyncio.sleep(0)
        self._since = share.clock()
        return True

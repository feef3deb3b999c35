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

While it works, a transaction yields to the loop by time, not PDU by PDU (``TimeSlice``):
once it has worked for its share of ``BUDGET_S``, which is divided among every transaction in
the gate, working or waiting. A lone transaction (an honest sender has one in flight) so applies
a few milliseconds of PDUs between yields; the more there are, the shorter the slices, and
under a flood (a backlog of waiting transactions) each yields after every PDU, which is what
keeps clients responsive then (bench/federation_flood.py). Yielding after every PDU always made
a transaction of N PDUs wait for N turns of a busy loop, each turn running every other ready
request first: under ordinary load (clients sending, relays in and out) a 25-PDU transaction
took three times its work in wall time, the sender's queue (one transaction in flight per
destination) backed up behind it, and federation latency doubled (bench/federation.py).
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from ..errors import LimitExceeded

PER_ORIGIN = 2
TOTAL = 6
MAX_WAITING = 500  # per origin
RETRY_AFTER_MS = 1000
BUDGET_S = 0.005  # work between yields, divided among the transactions in the gate


class InboundGate:
    def __init__(self, per_origin: int = PER_ORIGIN, total: int = TOTAL,
                 max_waiting: int = MAX_WAITING, budget_s: float = BUDGET_S,
                 clock: Callable[[], float] = time.perf_counter):
        self.per_origin = per_origin
        self.max_waiting = max_waiting
        self.budget_s, self.clock = budget_s, clock
        self._total = asyncio.Semaphore(total)
        self._origins: dict[str, tuple[asyncio.Semaphore, int]] = {}  # sem, holders+waiters
        self.in_gate = 0  # holders and waiters of every origin

    @asynccontextmanager
    async def slot(self, origin: str) -> AsyncIterator[TimeSlice]:
        """Wait for a slot, then work in it, calling ``tick()`` of what it yields between
        units of work (PDUs)."""
        sem, users = self._origins.get(origin) or (asyncio.Semaphore(self.per_origin), 0)
        if users >= self.per_origin + self.max_waiting:
            raise LimitExceeded(RETRY_AFTER_MS)
        self._origins[origin] = (sem, users + 1)
        self.in_gate += 1
        try:
            async with sem, self._total:
                yield TimeSlice(self)
        finally:
            self.in_gate -= 1
            sem, users = self._origins[origin]
            if users <= 1:
                del self._origins[origin]
            else:
                self._origins[origin] = (sem, users - 1)

    def in_use(self, origin: str) -> int:
        """Transactions of ``origin`` being worked on or waiting."""
        return self._origins.get(origin, (None, 0))[1]


class TimeSlice:
    """One transaction's turns on the loop (from ``InboundGate.slot``)."""

    def __init__(self, gate: InboundGate):
        self.gate = gate
        self._since = gate.clock()

    async def tick(self) -> bool:
        """Call between units of work: yields to the loop (and returns True) once this
        transaction has worked its share of the gate's budget since it last yielded."""
        gate = self.gate
        if gate.clock() - self._since < gate.budget_s / max(1, gate.in_gate):
            return False
        await asyncio.sleep(0)
        self._since = gate.clock()
        return True

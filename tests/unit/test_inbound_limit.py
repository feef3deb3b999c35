"""The InboundGate's time slices: a lone transaction works a whole budget between yields to the
event loop; the budget is divided among every transaction in the gate, so under a backlog each
yields after every unit of work (what keeps clients responsive during a flood)."""
from __future__ import annotations

import asyncio

from homeserver.handlers.inbound_limit import InboundGate


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_a_lone_transaction_yields_only_after_the_whole_budget():
    clock = Clock()
    gate = InboundGate(budget_s=0.005, clock=clock)
    async with gate.slot("a") as work:
        yields = []
        for _ in range(12):  # twelve PDUs of 1 ms each
            clock.now += 0.001
            yields.append(await work.tick())
    assert yields == [False] * 4 + [True] + [False] * 4 + [True] + [False] * 2


async def test_the_budget_is_shared_by_every_transaction_in_the_gate():
    clock = Clock()
    gate = InboundGate(per_origin=2, total=6, budget_s=0.005, clock=clock)
    release = asyncio.Event()
    entered = asyncio.Event()

    async def hold():
        async with gate.slot("flood"):
            entered.set()
            await release.wait()

    # One working and three waiting besides the transaction measured: a backlog.
    holders = [asyncio.ensure_future(hold()) for _ in range(4)]
    await entered.wait()
    async with gate.slot("b") as work:
        assert gate.in_gate == 5
        clock.now += 0.001  # 1 ms of work is past a fifth of 5 ms: yield
        assert await work.tick()
        clock.now += 0.0005
        assert not await work.tick()
        release.set()
        await asyncio.gather(*holders)
        assert gate.in_gate == 1  # alone again: the whole budget
        clock.now += 0.004
        assert not await work.tick()
        clock.now += 0.0011
        assert await work.tick()
    assert gate.in_gate == 0

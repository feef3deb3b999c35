"""A flood of transactions must not stall clients, nor lose anything.

Server A runs as its own process (`homeserver run`); this process plays the remote server S (a
real ed25519 key that A fetches, signed requests, a real make_join/send_join of S's user into a
room A hosts) — bench/federation_flood.py's run_flood(). 100 transactions of 50 messages from
S's user arrive at once while a client times GET /_matrix/client/versions on A.

The design goal is p95 < 100 ms under the flood (measured 18 ms on a quiet machine, against
2.9 s before transactions yielded between PDUs and were limited per origin); the test's bound is
250 ms because the machine is shared with other test runs.
"""
from __future__ import annotations

import asyncio

import pytest

from bench.federation_flood import print_table, run_flood
from homeserver.errors import LimitExceeded
from homeserver.handlers.inbound_limit import InboundGate

P95_BOUND_MS = 250


async def test_flood_of_transactions_keeps_clients_responsive_and_loses_nothing(tmp_path):
    res = await run_flood(tmp_path, txns=100, pdus=50)
    print_table(res)
    assert res["non_200"] == 0, res  # every transaction answered 200
    assert res["pdus_refused"] == 0, res  # every PDU accepted ...
    assert res["pdus_missing"] == 0, res  # ... and in the room afterwards
    assert res["flood"]["n"] >= 10, res  # the client was served during the flood
    assert res["flood"]["p95_ms"] < P95_BOUND_MS, res


async def test_gate_bounds_per_origin_and_refuses_only_past_the_queue():
    gate = InboundGate(per_origin=2, total=3, max_waiting=2)
    running: list[str] = []
    release = asyncio.Event()

    async def txn(origin: str):
        async with gate.slot(origin):
            running.append(origin)
            await release.wait()
            running.remove(origin)

    tasks = [asyncio.ensure_future(txn("b")) for _ in range(4)]  # 2 run, 2 wait
    tasks.append(asyncio.ensure_future(txn("c")))  # another origin still gets a slot
    await asyncio.sleep(0.01)
    assert sorted(running) == ["b", "b", "c"] and gate.in_use("b") == 4
    with pytest.raises(LimitExceeded) as refused:  # a 5th from b: past its queue
        async with gate.slot("b"):
            pass
    assert refused.value.status == 429 and refused.value.extra["retry_after_ms"] > 0
    release.set()
    await asyncio.gather(*tasks)
    assert gate.in_use("b") == 0 and gate.in_use("c") == 0

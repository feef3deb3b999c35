"""The outbound federation queue: PDUs persisted per destination and delivered in order.

Each destination has one worker and at most one transaction in flight. A PDU is deleted from
the outbox only after the destination answered the transaction with 200, so a crash or an
outage of any length loses nothing; a resend after a crash reuses the same transaction ID
(derived from the outbox row IDs), which the receiver answers idempotently. Failures back off
exponentially with jitter; any request from the destination to us (it is back) resets that.
EDUs (typing, who is talking) are kept in memory only: losing one is harmless.
"""
from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import defaultdict
from collections.abc import Iterable
from typing import Protocol

from .client import FederationClient, RemoteServerError

log = logging.getLogger(__name__)
MAX_PDUS, MAX_EDUS = 50, 100


class Outbox(Protocol):
    """Where the queue keeps PDUs until their destination took them (a durable store)."""

    def enqueue(self, destinations: Iterable[str], pdu: dict) -> None: ...

    def pending(self, destination: str, limit: int = MAX_PDUS) -> list[tuple[int, dict]]: ...

    def delete_upto(self, destination: str, last_id: int) -> None: ...

    def destinations(self) -> list[str]: ...


class OutboundQueue:
    def __init__(self, server_name: str, store: Outbox, client: FederationClient,
                 retry_base_s: float = 0.5, retry_max_s: float = 300.0,
                 rng: random.Random | None = None):
        self.server_name = server_name
        self.store = store
        self.client = client
        self.retry_base_s = retry_base_s
        self.retry_max_s = retry_max_s
        self.rng = rng or random.Random()
        self._edus: dict[str, list[dict]] = defaultdict(list)
        self._wakeups: dict[str, asyncio.Event] = {}
        self._workers: dict[str, asyncio.Task] = {}
        self._failures: dict[str, int] = defaultdict(int)
        self._edu_txn = 0
        self._stopping = False

    def start(self) -> None:
        """Catch up: resume delivery to every destination with queued PDUs."""
        for dest in self.store.destinations():
            self._ensure_worker(dest)

    async def stop(self) -> None:
        self._stopping = True
        for task in self._workers.values():
            task.cancel()
        await asyncio.gather(*self._workers.values(), return_exceptions=True)
        self._workers.clear()

    def send_pdu(self, destinations, pdu: dict) -> None:
        dests = [d for d in set(destinations) if d != self.server_name]
        if not dests:
            return
        self.store.enqueue(dests, pdu)  # committed before anyone is told it was sent
        for d in dests:
            self._ensure_worker(d)

    def send_edu(self, destinations, edu: dict) -> None:
        for d in set(destinations):
            if d == self.server_name:
                continue
            q = self._edus[d]
            q.append(edu)
            del q[:-1000]  # bounded: EDUs are droppable
            self._ensure_worker(d)

    def wake(self, destination: str) -> None:
        """The destination talked to us, so it is up: retry now instead of after backoff."""
        if self._failures.get(destination):
            self._failures[destination] = 0
            ev = self._wakeups.get(destination)
            if ev:
                ev.set()

    def _ensure_worker(self, dest: str) -> None:
        ev = self._wakeups.setdefault(dest, asyncio.Event())
        ev.set()
        task = self._workers.get(dest)
        if (task is None or task.done()) and not self._stopping:
            self._workers[dest] = asyncio.get_running_loop().create_task(self._run(dest))

    async def _run(self, dest: str) -> None:
        wakeup = self._wakeups[dest]
        while not self._stopping:
            wakeup.clear()
            pdus = self.store.pending(dest)
            edus = self._edus.pop(dest, [])[:MAX_EDUS]
            if not pdus and not edus:
                try:
                    await asyncio.wait_for(wakeup.wait(), 60)
                except TimeoutError:
                    if not self.store.pending(dest) and not self._edus.get(dest):
                        self._workers.pop(dest, None)
                        return
                continue
            if pdus:
                txn_id = f"{pdus[0][0]}-{pdus[-1][0]}"
            else:
                self._edu_txn += 1
                txn_id = f"e{int(time.time() * 1000)}-{self._edu_txn}"
            body = {"origin": self.server_name, "origin_server_ts": int(time.time() * 1000),
                    "pdus": [p for _, p in pdus], "edus": edus}
            try:
                resp = await self.client.request(dest, "PUT",
                                                 f"/_matrix/federation/v1/send/{txn_id}", body)
            except RemoteServerError as e:
                self._failures[dest] += 1
                delay = min(self.retry_max_s, self.retry_base_s * 2 ** (self._failures[dest] - 1))
                delay *= self.rng.uniform(0.5, 1.0)
                log.info("delivery to %s failed (%s); retry in %.1fs", dest, e, delay)
                try:
                    await asyncio.wait_for(wakeup.wait(), delay)
                except TimeoutError:
                    pass
                continue
            self._failures[dest] = 0
            if pdus:
                self.store.delete_upto(dest, pdus[-1][0])
            for event_id, result in (resp.get("pdus") or {}).items():
                if isinstance(result, dict) and result.get("error"):
                    log.warning("%s rejected %s: %s", dest, event_id, result["error"])

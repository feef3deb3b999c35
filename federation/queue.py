"""The outbound federation queue: PDUs persisted per destination and delivered in order.

Each destination has one worker and at most one transaction in flight. A PDU is deleted from
the outbox only after the destination answered the transaction with 200, so a crash or an
outage of any length loses nothing; a resend after a crash reuses the same transaction ID
(derived from the outbox row IDs), which the receiver answers idempotently. Failures back off
exponentially with jitter; any request from the destination to us (it is back) resets that.
EDUs (typing, who is talking) are kept in memory only: losing one is harmless. An EDU that
must not be lost (``m.direct_to_device``: it may carry a room key) is sent ``durable``: it waits
in the outbox with the PDUs, in the same order, and is deleted only once a transaction carrying
it was answered 200, so it survives outages, restarts and SIGKILL like a PDU. A resend may
deliver it twice (we crashed after the answer, before the delete); such EDUs carry an ID the
receiver deduplicates by (``message_id``).
"""
from __future__ import annotations

import asyncio
import logging
import random
import secrets
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from .client import FederationClient, RemoteServerError

log = logging.getLogger(__name__)
MAX_PDUS, MAX_EDUS = 50, 100


class Outbox(Protocol):
    """Where the queue keeps PDUs (and durable EDUs) until their destination took them."""

    def enqueue(self, destinations: Iterable[str], pdu: dict, kind: str = "pdu") -> None: ...

    def pending(self, destination: str, max_pdus: int = MAX_PDUS,
                max_edus: int = MAX_EDUS) -> list[tuple[int, str, dict]]:
        """The oldest rows (id, kind 'pdu' or 'edu', json) in order: the longest prefix with
        at most ``max_pdus`` PDUs and ``max_edus`` EDUs."""
        ...

    def delete_upto(self, destination: str, last_id: int) -> None: ...

    def claim(self, destination: str) -> bool:
        """Whether this process is the one that sends to ``destination`` (several processes
        may share one outbox); kept until ``release``."""
        ...

    def release(self, destination: str) -> None: ...

    def after_commit(self, fn: Callable[[], None]) -> None:
        """Call ``fn`` once the caller's transaction (if any) has committed."""
        ...

    def destinations(self) -> list[str]: ...

    def backlog(self, limit: int) -> list[tuple[str, int, int]]:
        """(destination, rows waiting, created_ts of its oldest row in ms) for the ``limit``
        destinations whose oldest row is oldest."""
        ...

    def save_destination(self, destination: str, failure_ts: int | None, retry_last_ts: int,
                         retry_interval: int, last_successful: int | None) -> None: ...

    def load_destinations(self, limit: int) -> list[tuple[str, int | None, int, int,
                                                           int | None]]: ...


MAX_TRACKED = 100_000  # destinations whose retry state is kept (a bound, not a target)


@dataclass
class DestinationState:
    """One destination's delivery state as plain data (Synapse's ``destinations`` row):
    times in ms since the epoch; ``retry_last_ts`` and ``retry_interval`` are 0 and
    ``failure_ts`` None while deliveries succeed; ``last_successful_stream_ordering`` is the
    outbox row ID of the last PDU it took (None: none yet). Kept in the outbox's store."""
    destination: str
    failure_ts: int | None = None
    retry_last_ts: int = 0
    retry_interval: int = 0
    last_successful_stream_ordering: int | None = None

    def as_dict(self) -> dict:
        return {"destination": self.destination, "retry_last_ts": self.retry_last_ts,
                "retry_interval": self.retry_interval, "failure_ts": self.failure_ts,
                "last_successful_stream_ordering": self.last_successful_stream_ordering}


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
        self._states: dict[str, DestinationState] = {}
        self._edu_txn = 0
        self._process_tag = secrets.token_hex(3)
        self._owned: dict[str, bool] = {}  # destinations whose stored items we send
        self._stopping = False

    def start(self) -> None:
        """Catch up: resume delivery to every destination with queued PDUs (the retry state
        kept from before is shown until the first attempt, which is made at once)."""
        for row in self.store.load_destinations(MAX_TRACKED):
            self._states[row[0]] = DestinationState(*row)
        for dest in self.store.destinations():
            self._ensure_worker(dest)

    async def stop(self) -> None:
        self._stopping = True
        for task in self._workers.values():
            task.cancel()
        await asyncio.gather(*self._workers.values(), return_exceptions=True)
        self._workers.clear()

    def send_pdu(self, destinations, pdu: dict) -> None:
        # Senders wake once the rows are committed (the caller may be inside a transaction:
        # a sender woken before would find nothing, then sleep on the rows).
        dests = self.enqueue_pdu(destinations, pdu)
        self.store.after_commit(lambda: self.wake_senders(dests))

    def enqueue_pdu(self, destinations, pdu: dict) -> list[str]:
        """Store ``pdu`` for ``destinations`` (in the caller's transaction, if it has one)
        without waking their senders: call ``wake_senders`` with the result once committed
        (a sender woken earlier may look before the rows are visible, then sleep on them)."""
        dests = [d for d in set(destinations) if d != self.server_name]
        if dests:
            self.store.enqueue(dests, pdu)
        return dests

    def wake_senders(self, destinations: list[str]) -> None:
        for d in destinations:
            self._ensure_worker(d)

    def send_edu(self, destinations, edu: dict, durable: bool = False) -> None:
        if durable:
            dests = [d for d in set(destinations) if d != self.server_name]
            if dests:
                self.store.enqueue(dests, edu, kind="edu")  # stored, like a PDU
                self.store.after_commit(lambda: self.wake_senders(dests))
            return
        for d in set(destinations):
            if d == self.server_name:
                continue
            q = self._edus[d]
            q.append(edu)
            del q[:-1000]  # bounded: EDUs are droppable
            self._ensure_worker(d)

    def backlog(self, now_ms: int, limit: int = 100) -> list[tuple[str, int, float, int]]:
        """What waits, per destination, for whoever exports metrics: (destination, items
        waiting (stored PDUs and durable EDUs, plus EDUs held in memory), age in seconds of the
        oldest stored item (0 if only EDUs wait), consecutive failed attempts). Only
        destinations with something waiting, at most ``limit`` of them, oldest first: a
        bounded set however many servers we ever talked to."""
        out: dict[str, tuple[str, int, float, int]] = {}
        for dest, n, oldest in self.store.backlog(limit):
            out[dest] = (dest, n + len(self._edus.get(dest, ())),
                         max(0.0, (now_ms - oldest) / 1000), self._failures.get(dest, 0))
        for dest, edus in list(self._edus.items()):
            if edus and dest not in out and len(out) < limit:
                out[dest] = (dest, len(edus), 0.0, self._failures.get(dest, 0))
        return list(out.values())

    def _save(self, st: DestinationState) -> None:
        self.store.save_destination(st.destination, st.failure_ts, st.retry_last_ts,
                                    st.retry_interval, st.last_successful_stream_ordering)

    def _state(self, dest: str) -> DestinationState:
        st = self._states.get(dest)
        if st is None:
            if len(self._states) >= MAX_TRACKED:  # the oldest healthy ones are forgotten
                for d in [d for d, v in self._states.items() if v.failure_ts is None][:1000]:
                    del self._states[d]
            st = self._states[dest] = DestinationState(dest)
        return st

    def destination_states(self) -> list[DestinationState]:
        """Every destination this process sent to or holds items for, by name (copies)."""
        names = set(self._states) | set(self.store.destinations())
        return [DestinationState(**vars(self._states[d])) if d in self._states
                else DestinationState(d) for d in sorted(names)]

    def destination_state(self, destination: str) -> DestinationState | None:
        st = self._states.get(destination)
        if st is not None:
            return DestinationState(**vars(st))
        return DestinationState(destination) if destination in self.store.destinations() \
            else None

    def reset_connection(self, destination: str) -> bool:
        """Forget the destination's failures and retry it now; False if it was not
        backing off (nothing to reset)."""
        st = self._states.get(destination)
        if st is None or not st.retry_last_ts:
            return False
        st.failure_ts, st.retry_last_ts, st.retry_interval = None, 0, 0
        self._save(st)
        self._failures[destination] = 0
        ev = self._wakeups.get(destination)
        if ev:
            ev.set()
        return True

    def wake_owner(self, destination: str) -> None:
        """Another process queued items for ``destination``: send them if we are its sender."""
        if self._owned.get(destination):
            self._ensure_worker(destination)

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
        try:
            await self._deliver(dest)
        finally:
            if self._owned.pop(dest, False):
                self.store.release(dest)

    def _owns(self, dest: str) -> bool:
        """Stored items go out through one process per destination: the one holding its
        claim. Another process sends only the EDUs it holds in memory, and retries the claim
        (the owner may have died) each time it wakes."""
        if not self._owned.get(dest):
            self._owned[dest] = self.store.claim(dest)
        return self._owned[dest]

    async def _deliver(self, dest: str) -> None:
        wakeup = self._wakeups[dest]
        while not self._stopping:
            wakeup.clear()
            rows = self.store.pending(dest) if self._owns(dest) else []
            pdus = [item for _, kind, item in rows if kind == "pdu"]
            edus = [item for _, kind, item in rows if kind == "edu"]
            volatile = self._edus.pop(dest, [])
            room = MAX_EDUS - len(edus)
            edus += volatile[:room]
            if volatile[room:]:  # the rest go in the next transaction
                self._edus[dest] = volatile[room:]
            if not rows and not edus:
                try:
                    # not the owner: look again soon, in case the owner went away
                    await asyncio.wait_for(wakeup.wait(), 60 if self._owned.get(dest) else 5)
                except TimeoutError:
                    if self._owned.get(dest) and not self.store.pending(dest) \
                            and not self._edus.get(dest):
                        self._workers.pop(dest, None)
                        return
                    if not self._owned.get(dest) and not self._edus.get(dest) \
                            and not self.store.pending(dest):
                        self._workers.pop(dest, None)
                        return
                continue
            if rows:  # the same rows resent after a failure or a crash: the same ID
                txn_id = f"{rows[0][0]}-{rows[-1][0]}"
            else:
                self._edu_txn += 1  # unique per process: several may send EDUs
                txn_id = f"e{int(time.time() * 1000)}-{self._process_tag}-{self._edu_txn}"
            body = {"origin": self.server_name, "origin_server_ts": int(time.time() * 1000),
                    "pdus": pdus, "edus": edus}
            try:
                resp = await self.client.request(dest, "PUT",
                                                 f"/_matrix/federation/v1/send/{txn_id}", body)
            except RemoteServerError as e:
                self._failures[dest] += 1
                delay = min(self.retry_max_s, self.retry_base_s * 2 ** (self._failures[dest] - 1))
                delay *= self.rng.uniform(0.5, 1.0)
                st = self._state(dest)
                st.retry_last_ts = int(time.time() * 1000)
                st.failure_ts = st.failure_ts or st.retry_last_ts
                st.retry_interval = max(1, int(delay * 1000))
                self._save(st)
                log.info("delivery to %s failed (%s); retry in %.1fs", dest, e, delay)
                try:
                    await asyncio.wait_for(wakeup.wait(), delay)
                except TimeoutError:
                    pass
                continue
            self._failures[dest] = 0
            st = self._state(dest)
            before = vars(st).copy()
            st.failure_ts, st.retry_last_ts, st.retry_interval = None, 0, 0
            if pdus:
                st.last_successful_stream_ordering = max(
                    i for i, kind, _ in rows if kind == "pdu")
            if vars(st) != before:  # kept only when it changed (not for EDU-only ones)
                self._save(st)
            if rows:
                self.store.delete_upto(dest, rows[-1][0])
            for event_id, result in (resp.get("pdus") or {}).items():
                if isinstance(result, dict) and result.get("error"):
                    log.warning("%s rejected %s: %s", dest, event_id, result["error"])

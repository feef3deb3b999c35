"""Federation's tables: remote servers' keys, the outbound queue's outbox and the
transactions we answered."""
from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable

from federation.keyring import CheckedKeyResponse
from federation.queue import MAX_EDUS, MAX_PDUS

from .database import Database

# How long, and how many per origin, we remember the transactions we answered (so a retry of
# one gets the same answer, applied once). A sender retries its one in-flight transaction to
# us (the spec: one at a time per destination) until it has our answer, with backoff; a day
# covers every retry schedule we know of (ours tops out at federation.retry_max_seconds,
# Synapse's at a day), and 1000 covers the in-flight one many times over. Beyond that a
# replayed transaction's PDUs are still applied once (events are deduplicated by ID); only
# its EDUs could repeat, and those are idempotent or deduplicated (to-device by message_id).
TXN_RETENTION_MS = 24 * 3600 * 1000
TXN_MAX_PER_ORIGIN = 1000
PRUNE_EVERY_S = 60.0


class TransactionStore:
    def __init__(self, db: Database, retention_ms: int = TXN_RETENTION_MS,
                 max_per_origin: int = TXN_MAX_PER_ORIGIN, prune_every_s: float = PRUNE_EVERY_S,
                 clock=time.time):
        self.db = db
        self.retention_ms = retention_ms
        self.max_per_origin = max_per_origin
        self.prune_every_s = prune_every_s
        self.clock = clock
        self._last_prune = -1e18
        self._since_prune: dict[str, int] = {}  # inserts per origin since the last prune

    def get(self, origin: str, txn_id: str) -> dict | None:
        row = self.db.execute("SELECT response FROM received_transactions WHERE origin = ?"
                              " AND txn_id = ?", (origin, txn_id)).fetchone()
        return json.loads(row[0]) if row else None

    def put(self, origin: str, txn_id: str, response: dict) -> None:
        with self.db.transaction() as c:
            c.execute("INSERT OR REPLACE INTO received_transactions (origin, txn_id, response,"
                      " received_ts) VALUES (?,?,?,?)",
                      (origin, txn_id, json.dumps(response), int(self.clock() * 1000)))
        # Pruned on insert: everything old once a minute, and an origin's oldest as soon as
        # it has sent max_per_origin since (a flood cannot outgrow the bound between prunes).
        n = self._since_prune[origin] = self._since_prune.get(origin, 0) + 1
        if self.clock() - self._last_prune >= self.prune_every_s:
            self.prune()
        elif n >= self.max_per_origin:
            self.prune_origin(origin)

    def prune(self) -> int:
        """Forget answers older than the retention, and each origin's beyond its count."""
        now = self.clock()
        self._last_prune = now
        self._since_prune.clear()
        with self.db.transaction() as c:
            gone = c.execute("DELETE FROM received_transactions WHERE received_ts < ?",
                             (int(now * 1000) - self.retention_ms,)).rowcount
        crowded = [r[0] for r in self.db.execute(
            "SELECT origin FROM received_transactions GROUP BY origin HAVING COUNT(*) > ?",
            (self.max_per_origin,))]
        return gone + sum(self.prune_origin(o) for o in crowded)

    def prune_origin(self, origin: str) -> int:
        """Keep the origin's max_per_origin newest answers."""
        self._since_prune[origin] = 0
        with self.db.transaction() as c:
            return c.execute(
                "DELETE FROM received_transactions WHERE origin = ? AND rowid NOT IN"
                " (SELECT rowid FROM received_transactions WHERE origin = ?"
                " ORDER BY received_ts DESC, rowid DESC LIMIT ?)",
                (origin, origin, self.max_per_origin)).rowcount

    def count(self, origin: str | None = None) -> int:
        if origin is None:
            return self.db.execute("SELECT COUNT(*) FROM received_transactions").fetchone()[0]
        return self.db.execute("SELECT COUNT(*) FROM received_transactions WHERE origin = ?",
                               (origin,)).fetchone()[0]



class OutboxStore:
    def __init__(self, db: Database):
        self.db = db
        # Called inside the enqueueing transaction with the destinations (the process bus
        # tells whichever process sends to them, when the rows commit).
        self.on_enqueue: Callable[[list[str]], None] | None = None

    def enqueue(self, destinations: Iterable[str], pdu: dict, kind: str = "pdu") -> None:
        """Queue a PDU (or, ``kind`` 'edu', an EDU that must not be lost)."""
        if kind not in ("pdu", "edu"):
            raise ValueError(f"unknown outbox kind {kind!r}")
        raw = json.dumps(pdu, ensure_ascii=False, separators=(",", ":"))
        now = int(time.time() * 1000)
        with self.db.transaction() as c:
            dests = list(destinations)
            c.executemany(
                "INSERT INTO federation_outbox (destination, kind, json, created_ts)"
                " VALUES (?, ?, ?, ?)", [(d, kind, raw, now) for d in dests])
            if self.on_enqueue is not None:
                self.on_enqueue(dests)

    def claim(self, destination: str) -> bool:
        """Whether this process sends to ``destination`` (one process per destination, so
        its PDUs go out once and in order); held until ``release`` or the process ends."""
        return self.db.try_lock(f"federation-sender:{destination}")

    def release(self, destination: str) -> None:
        self.db.unlock(f"federation-sender:{destination}")

    def after_commit(self, fn: Callable[[], None]) -> None:
        self.db.after_commit(fn)

    def pending(self, destination: str, max_pdus: int = MAX_PDUS,
                max_edus: int = MAX_EDUS) -> list[tuple[int, str, dict]]:
        """The longest prefix of the destination's rows with at most ``max_pdus`` PDUs and
        ``max_edus`` EDUs: a prefix, so delete_upto its last ID removes exactly what was sent."""
        out: list[tuple[int, str, dict]] = []
        counts = {"pdu": 0, "edu": 0}
        caps = {"pdu": max_pdus, "edu": max_edus}
        for i, kind, j in self.db.execute(
                "SELECT id, kind, json FROM federation_outbox WHERE destination = ?"
                " ORDER BY id LIMIT ?", (destination, max_pdus + max_edus)):
            kind = kind if kind in caps else "pdu"
            if counts[kind] >= caps[kind]:
                break
            counts[kind] += 1
            out.append((i, kind, json.loads(j)))
        return out

    def delete_upto(self, destination: str, last_id: int) -> None:
        with self.db.transaction() as c:
            c.execute("DELETE FROM federation_outbox WHERE destination = ? AND id <= ?",
                      (destination, last_id))

    def destinations(self) -> list[str]:
        return [r[0] for r in self.db.execute(
            "SELECT DISTINCT destination FROM federation_outbox")]

    def backlog(self, limit: int) -> list[tuple[str, int, int]]:
        return [(d, n, oldest) for d, n, oldest in self.db.execute(
            "SELECT destination, COUNT(*), MIN(created_ts) FROM federation_outbox"
            " GROUP BY destination ORDER BY MIN(created_ts) LIMIT ?", (limit,))]

    def save_destination(self, destination: str, failure_ts: int | None, retry_last_ts: int,
                         retry_interval: int, last_successful: int | None) -> None:
        with self.db.transaction() as c:
            c.execute(
                "INSERT INTO federation_destinations (destination, failure_ts, retry_last_ts,"
                " retry_interval, last_successful_stream_ordering) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT(destination) DO UPDATE SET failure_ts = excluded.failure_ts,"
                " retry_last_ts = excluded.retry_last_ts,"
                " retry_interval = excluded.retry_interval,"
                " last_successful_stream_ordering = excluded.last_successful_stream_ordering",
                (destination, failure_ts, retry_last_ts, retry_interval, last_successful))

    def load_destinations(self, limit: int) -> list[tuple[str, int | None, int, int, int | None]]:
        """(destination, failure_ts, retry_last_ts, retry_interval, last successful row),
        the failing ones first, at most ``limit``."""
        return [tuple(r) for r in self.db.execute(
            "SELECT destination, failure_ts, retry_last_ts, retry_interval,"
            " last_successful_stream_ordering FROM federation_destinations"
            " ORDER BY failure_ts IS NULL, destination LIMIT ?", (limit,))]

    def count(self, destination: str | None = None) -> int:
        if destination is None:
            return self.db.execute("SELECT COUNT(*) FROM federation_outbox").fetchone()[0]
        return self.db.execute("SELECT COUNT(*) FROM federation_outbox WHERE destination = ?",
                               (destination,)).fetchone()[0]


class KeyCacheStore:
    def __init__(self, db: Database):
        self.db = db

    def get(self, server: str, key_id: str) -> tuple[str, int, int | None] | None:
        return self.db.execute(
            "SELECT verify_key, valid_until_ts, expired_ts FROM remote_server_keys"
            " WHERE server_name = ? AND key_id = ?", (server, key_id)).fetchone()

    def put_response(self, checked: CheckedKeyResponse) -> None:
        """Store a verified response: one row per key, and the response itself once."""
        now = int(time.time() * 1000)
        with self.db.transaction() as c:
            c.executemany(
                "INSERT OR REPLACE INTO remote_server_keys (server_name, key_id, verify_key,"
                " valid_until_ts, expired_ts, fetched_ts, key_json) VALUES (?,?,?,?,?,?,NULL)",
                [(checked.server, key_id, key, valid_until, expired, now)
                 for key_id, key, valid_until, expired in checked.keys])
            c.execute(
                "INSERT OR REPLACE INTO remote_server_key_responses (server_name,"
                " response_json, valid_until_ts, fetched_ts) VALUES (?,?,?,?)",
                (checked.server, checked.response_json, checked.valid_until_ts, now))

    def response_json(self, server: str) -> dict | None:
        row = self.db.execute(
            "SELECT response_json FROM remote_server_key_responses WHERE server_name = ?",
            (server,)).fetchone()
        return json.loads(row[0]) if row else None

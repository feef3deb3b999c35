"""Token-bucket rate limiting keyed by (action, requester)."""
from __future__ import annotations

import math
import time
from collections.abc import Callable

from federation.pdus import host_of, server_of
from federation.signing import compute_event_id

from ..config import RateLimit
from ..errors import LimitExceeded


class RateLimiter:
    def __init__(self, limit: RateLimit, clock: Callable[[], float] = time.monotonic,
                 max_keys: int = 100_000):
        self.rate = limit.per_second
        self.burst = limit.burst
        self.clock = clock
        self.max_keys = max_keys
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, last time)

    def check(self, key: str) -> None:
        """Take one token for ``key`` or raise 429 with how long to wait."""
        now = self.clock()
        tokens, last = self._buckets.get(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.rate)
        if tokens < 1.0 - 1e-9:  # tolerate float noise from summing clock deltas
            wait = (1.0 - tokens) / self.rate if self.rate > 0 else 3600.0
            self._buckets[key] = (tokens, now)
            # Round up (after dropping float noise below a microsecond): a client that
            # waits exactly retry_after_ms must find a token, not be refused again.
            raise LimitExceeded(retry_after_ms=max(1, math.ceil(round(wait * 1000, 3))))
        if len(self._buckets) >= self.max_keys:  # bound memory under a flood of keys
            self._buckets.clear()
        self._buckets[key] = (tokens - 1.0, now)


class SenderLimit:
    """A RoomHandler send check: each user's client-sent events through one RateLimiter,
    except the event types that have limits of their own."""

    def __init__(self, limiter: RateLimiter, exempt: frozenset[str] = frozenset()):
        self.limiter = limiter
        self.exempt = exempt

    def check_send(self, sender: str, room_id: str, etype: str, content: dict) -> None:
        if etype not in self.exempt:
            self.limiter.check(sender)


class RemoteSenderLimit:
    """FederationHandler.pdu_admission: the host holds other servers' users to the same
    per-user limit (the same RateLimiter, keyed by user ID) for the events a client would have
    sent through /send. An excess PDU is refused in the transaction's answer, stored nowhere
    and relayed to no one; other users' buckets are untouched. State events (memberships,
    the stage's roles and hands) and redactions are not messages, as for local users; a PDU
    we already took (sent again) costs nothing."""

    def __init__(self, server_name: str, limiter: RateLimiter, known: Callable[[str], bool],
                 exempt: frozenset[str] = frozenset()):
        self.server_name = server_name
        self.limiter = limiter
        self.known = known  # event_id -> already stored
        self.exempt = exempt | {"m.room.redaction"}
        self.refused = 0

    def admit_pdu(self, origin: str, pdu) -> str | None:
        if not isinstance(pdu, dict) or "state_key" in pdu:
            return None
        room_id, sender, etype = pdu.get("room_id"), pdu.get("sender"), pdu.get("type")
        if not isinstance(room_id, str) or not isinstance(sender, str) or \
                not isinstance(etype, str) or etype in self.exempt:
            return None  # malformed ones are refused by verification, with the reason
        if host_of(room_id) != self.server_name or server_of(sender) != origin:
            return None  # not ours to order, or not its author's server (refused later)
        try:
            if self.known(compute_event_id(pdu)):
                return None
        except Exception:  # too malformed to have an ID: verification refuses it
            return None
        try:
            self.limiter.check(sender)
        except LimitExceeded as e:
            self.refused += 1
            return f"message rate limit exceeded for {sender}: retry after" \
                   f" {e.extra['retry_after_ms']} ms"
        return None

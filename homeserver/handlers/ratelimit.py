"""Token-bucket rate limiting keyed by (action, requester)."""
from __future__ import annotations

import math
import time
from collections.abc import Callable

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

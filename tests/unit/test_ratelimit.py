"""The token bucket, driven by a fake clock."""
from __future__ import annotations

import pytest

from homeserver.config import RateLimit
from homeserver.errors import LimitExceeded
from homeserver.handlers.ratelimit import RateLimiter


class FakeClock:
    def __init__(self, now: float = 1000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def limiter(per_second: float, burst: int, **kw) -> tuple[RateLimiter, FakeClock]:
    clock = FakeClock()
    return RateLimiter(RateLimit(per_second=per_second, burst=burst), clock=clock, **kw), clock


def retry_after(rl: RateLimiter, key: str = "k") -> int:
    with pytest.raises(LimitExceeded) as e:
        rl.check(key)
    err = e.value
    assert (err.status, err.errcode) == (429, "M_LIMIT_EXCEEDED")
    assert err.to_dict()["retry_after_ms"] == err.extra["retry_after_ms"]
    return err.extra["retry_after_ms"]


def test_burst_then_limited():
    rl, _ = limiter(1.0, 3)
    for _ in range(3):
        rl.check("k")
    assert retry_after(rl) == 1000


def test_refill_over_time():
    rl, clock = limiter(2.0, 4)
    for _ in range(4):
        rl.check("k")
    assert retry_after(rl) == 500
    clock.advance(0.5)  # one token back
    rl.check("k")
    assert retry_after(rl) == 500
    clock.advance(0.25)  # half a token
    assert retry_after(rl) == 250
    clock.advance(0.25)
    rl.check("k")


def test_refill_is_capped_at_burst():
    rl, clock = limiter(1.0, 3)
    clock.advance(3600)  # an hour idle still gives only a burst
    for _ in range(3):
        rl.check("k")
    assert retry_after(rl) == 1000


def test_refused_attempts_cost_nothing():
    rl, clock = limiter(1.0, 1)
    rl.check("k")
    for _ in range(5):  # hammering while limited does not push the wait further out
        assert retry_after(rl) == 1000
    clock.advance(1.0)
    rl.check("k")


def test_keys_are_independent():
    rl, _ = limiter(1.0, 2)
    rl.check("a")
    rl.check("a")
    retry_after(rl, "a")
    rl.check("b")
    rl.check("b")
    retry_after(rl, "b")


@pytest.mark.parametrize("per_second, burst", [(3.0, 1), (0.3, 2), (7.0, 5), (0.2, 5)])
def test_retrying_after_retry_after_ms_succeeds(per_second, burst):
    """retry_after_ms is exact to the millisecond, rounded up: a millisecond earlier is still
    refused, waiting exactly that long gets the next token."""
    rl, clock = limiter(per_second, burst)
    for _ in range(burst):
        rl.check("k")
    assert retry_after(rl) >= 1000 / per_second
    for _ in range(5):
        wait = retry_after(rl)
        clock.advance((wait - 1) / 1000)
        assert retry_after(rl) == 1
        clock.advance(0.001)
        rl.check("k")


def test_retry_after_value_for_slow_rates():
    rl, clock = limiter(0.2, 5)  # the registration default: a token every 5 s
    for _ in range(5):
        rl.check("k")
    assert retry_after(rl) == 5000
    clock.advance(2)
    assert retry_after(rl) == 3000


def test_zero_rate_means_burst_only():
    rl, clock = limiter(0.0, 2)
    rl.check("k")
    rl.check("k")
    assert retry_after(rl) >= 60_000
    clock.advance(10**6)
    retry_after(rl)


def test_memory_is_bounded():
    rl, _ = limiter(1.0, 1, max_keys=100)
    for i in range(1000):
        rl.check(f"k{i}")
    assert len(rl._buckets) <= 100

"""Retry delays (pure): exponential from ``base`` up to ``cap``, with jitter from ``rand``."""
from __future__ import annotations

import random


def backoff_delay(attempt: int, base: float, cap: float, rand=random.random) -> float:
    """Delay before retry number ``attempt`` (1 = first retry): base * 2^(attempt-1), capped,
    then spread over [50 %, 100 %] so many bridges do not retry in lockstep."""
    delay = min(cap, base * (2 ** max(0, attempt - 1)))
    return delay * (0.5 + 0.5 * rand())

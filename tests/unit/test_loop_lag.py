"""The SFU's loop-lag histogram (media/forwarding.py) and its merge over worker processes."""
from media.cluster import merge_lag
from media.forwarding import LAG_BUCKETS, LoopLag


def test_lag_lands_in_its_bucket_and_keeps_sum_count_last():
    lag = LoopLag()
    for v in (0.001, 0.004, 0.03, 0.3, 10.0, -0.01):  # negative: the timer was early
        lag.observe(v)
    s = lag.state()
    assert s["count"] == 6 and len(s["buckets"]) == len(LAG_BUCKETS) + 1
    assert s["buckets"][0] == 3  # 0.001, 0.004 and the early one, all <= 5 ms
    assert s["buckets"][LAG_BUCKETS.index(0.05)] == 1 and s["buckets"][-1] == 1
    assert abs(s["sum"] - 10.335) < 1e-9 and s["last"] == 0.0


def test_workers_histograms_merge_by_adding_counts():
    a, b = LoopLag(), LoopLag()
    a.observe(0.002)
    b.observe(0.2)
    b.observe(0.002)
    merged = merge_lag([a.state(), b.state()])
    assert merged["count"] == 3 and merged["buckets"][0] == 2
    assert merged["last"] == 0.002 and abs(merged["sum"] - 0.204) < 1e-9
    assert merge_lag([]) == LoopLag().state()

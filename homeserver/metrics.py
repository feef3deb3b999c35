"""Prometheus metrics: one ``CollectorRegistry`` per Homeserver (several servers may run in one
process, e.g. the tests), served on a listener of its own by ``api/metrics.py``.

HTTP requests are counted as they finish (``observe_request``, called by the middleware in
``api/http.py``). Everything else is read at scrape time from numbers the parts keep anyway (the
notifier's wake-ups, the event store's count, the federation queue's backlog, the keyring's
fetches, the SFU's packet counters): nothing is added to the forwarding path but integer
increments, and ``federation/`` and ``media/`` know nothing of Prometheus.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterator

from prometheus_client import (
    CollectorRegistry,
    Counter,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from federation.keyring import Keyring
from federation.queue import OutboundQueue
from media.feedback import JITTER_BUCKETS, LOSS_BUCKETS
from media.forwarding import LAG_BUCKETS

from .handlers.notifier import Notifier
from .storage.events import EventStore

log = logging.getLogger(__name__)

PREFIX = "homeserver"
# Per-destination series are exported only for destinations with something waiting, the
# oldest first, at most this many: a server federating with thousands of others stays bounded.
MAX_DESTINATIONS = 100
# Latency buckets (seconds): fast API calls to long-polling /sync (up to its timeout).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
SFU_STATS_TIMEOUT_S = 5.0


class Metrics:
    """The server's metrics on ``registry``; ``refresh()`` before each scrape."""

    def __init__(self, registry: CollectorRegistry, notifier: Notifier, events: EventStore,
                 queue: OutboundQueue, keyring: Keyring,
                 sfu_stats: Callable[[], Awaitable[dict]]):
        self.registry = registry
        self.requests = Counter(
            f"{PREFIX}_http_requests", "HTTP requests answered, by servlet (the route's"
            " handler, not the raw path), method and status", ["servlet", "method", "status"],
            registry=registry)
        self.latency = Histogram(
            f"{PREFIX}_http_request_duration_seconds", "Time to answer HTTP requests, by"
            " servlet and method (long-polling /sync includes its wait)",
            ["servlet", "method"], buckets=LATENCY_BUCKETS, registry=registry)
        self.collector = ServerCollector(notifier, events, queue, keyring)
        registry.register(self.collector)
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        GCCollector(registry=registry)
        self._sfu_stats = sfu_stats

    def observe_request(self, servlet: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(servlet, method, str(status)).inc()
        self.latency.labels(servlet, method).observe(seconds)

    async def refresh(self) -> None:
        """Fetch what cannot be read synchronously at collect time (SFU worker processes)."""
        try:
            stats = await asyncio.wait_for(self._sfu_stats(), SFU_STATS_TIMEOUT_S)
        except Exception as e:  # a worker is down or slow: the scrape still answers
            log.warning("metrics: SFU stats unavailable: %s", e)
            self.collector.sfu = None
        else:
            self.collector.sfu = stats


class ServerCollector(Collector):
    """Reads the parts' own counters when scraped."""

    def __init__(self, notifier: Notifier, events: EventStore, queue: OutboundQueue,
                 keyring: Keyring):
        self.notifier = notifier
        self.events = events
        self.queue = queue
        self.keyring = keyring
        self.sfu: dict | None = None  # the SFU's stats at the last refresh

    def collect(self) -> Iterator[Metric]:
        yield from self._sync()
        yield CounterMetricFamily(f"{PREFIX}_events_persisted", "Room events stored (sent"
                                  " here, received over federation, backfilled)",
                                  value=self.events.persisted)
        yield from self._federation()
        yield from self._sfu_metrics()

    def _sync(self) -> Iterator[Metric]:
        n = self.notifier
        yield CounterMetricFamily(f"{PREFIX}_sync_wakeups", "Long-polling /sync requests"
                                  " woken because something arrived", value=n.wakeups)
        yield CounterMetricFamily(f"{PREFIX}_sync_timeouts", "Long-polling /sync requests"
                                  " that waited their whole timeout", value=n.timeouts)
        yield GaugeMetricFamily(f"{PREFIX}_sync_waiting", "Long-polling /sync requests"
                                " waiting now", value=n.waiting)

    def _federation(self) -> Iterator[Metric]:
        backlog = self.queue.backlog(int(time.time() * 1000), MAX_DESTINATIONS)
        pending = GaugeMetricFamily(
            f"{PREFIX}_federation_queue_pending", "Items (PDUs and EDUs) waiting for a"
            " destination (only destinations with some; at most"
            f" {MAX_DESTINATIONS}, oldest first)", labels=["destination"])
        age = GaugeMetricFamily(
            f"{PREFIX}_federation_queue_oldest_age_seconds", "Age of the oldest stored item"
            " waiting for a destination", labels=["destination"])
        failures = GaugeMetricFamily(
            f"{PREFIX}_federation_queue_failures", "Consecutive failed deliveries to a"
            " destination with items waiting", labels=["destination"])
        for dest, n, oldest_s, failed in backlog:
            pending.add_metric([dest], n)
            age.add_metric([dest], oldest_s)
            failures.add_metric([dest], failed)
        yield pending
        yield age
        yield failures
        yield GaugeMetricFamily(f"{PREFIX}_federation_queue_destinations", "Destinations"
                                f" with items waiting (counted up to {MAX_DESTINATIONS})",
                                value=len(backlog))
        yield GaugeMetricFamily(f"{PREFIX}_federation_queue_oldest_age_max_seconds", "Age"
                                " of the oldest item waiting for any destination",
                                value=max((b[2] for b in backlog), default=0.0))
        fetches = CounterMetricFamily(f"{PREFIX}_keyring_fetches", "Fetches of other"
                                      " servers' signing keys, by result", labels=["result"])
        for result, count in self.keyring.fetches.items():
            fetches.add_metric([result], count)
        yield fetches

    def _sfu_metrics(self) -> Iterator[Metric]:
        s = self.sfu
        yield GaugeMetricFamily(f"{PREFIX}_sfu_up", "1 if the SFU's stats were read at this"
                                " scrape (0: a worker did not answer)", value=int(s is not None))
        if s is None:
            return
        for key, text in (("rooms", "Rooms with audio on this server's SFU"),
                          ("sessions", "Participants' WebRTC sessions"),
                          ("relays", "Other servers' relays of rooms hosted here")):
            yield GaugeMetricFamily(f"{PREFIX}_sfu_{key}", text, value=s.get(key, 0))
        for key, name, text in (
                ("received", "packets_received", "RTP packets received from mics and relays"),
                ("forwarded", "packets_forwarded", "RTP packets sent to listeners and relays"),
                ("dropped", "packets_dropped", "RTP packets refused by the stage gate (from"
                 " listeners or muted speakers)"),
                ("received_bytes", "received_bytes", "RTP bytes received"),
                ("forwarded_bytes", "forwarded_bytes", "RTP bytes forwarded (each counted at"
                 " its incoming size)"),
                ("red_received", "red_packets_received", "RFC 2198 RED packets received from"
                 " mics"),
                ("red_malformed", "red_packets_malformed", "RED packets that did not parse"
                 " (dropped)"),
                ("red_forwarded", "red_packets_forwarded", "RED packets sent to listeners that"
                 " negotiated RED")):
            yield CounterMetricFamily(f"{PREFIX}_sfu_{name}", text, value=s.get(key, 0))
        lag = s.get("loop_lag")
        if isinstance(lag, dict):
            cumulative, buckets = 0, []
            for bound, n in zip((*LAG_BUCKETS, float("inf")), lag["buckets"], strict=False):
                cumulative += n
                buckets.append(("+Inf" if bound == float("inf") else repr(bound), cumulative))
            yield HistogramMetricFamily(
                f"{PREFIX}_sfu_loop_lag_seconds", "How late the forwarding loop's timer"
                " woke (a packet arriving meanwhile waited as long)", buckets=buckets,
                sum_value=lag["sum"])
            yield GaugeMetricFamily(f"{PREFIX}_sfu_loop_lag_last_seconds", "The forwarding"
                                    " loop's lag at its last tick (the worst worker's)",
                                    value=lag["last"])
        reports = s.get("listener_reports")
        if isinstance(reports, dict):
            for key, bounds, name, text in (
                    ("loss", LOSS_BUCKETS, "sfu_listener_loss_fraction", "Fraction lost in"
                     " listeners' receiver reports (one observation per slot per report)"),
                    ("jitter", JITTER_BUCKETS, "sfu_listener_jitter_seconds", "Interarrival"
                     " jitter in listeners' receiver reports")):
                h = reports.get(key)
                if isinstance(h, dict):
                    yield _histogram(f"{PREFIX}_{name}", text, bounds, h)


def _histogram(name: str, text: str, bounds: tuple[float, ...], h: dict) -> Metric:
    """A histogram from non-cumulative bucket counts (the SFU's ``state()`` form)."""
    cumulative, buckets = 0, []
    for bound, n in zip((*bounds, float("inf")), h["buckets"], strict=False):
        cumulative += n
        buckets.append(("+Inf" if bound == float("inf") else repr(bound), cumulative))
    return HistogramMetricFamily(name, text, buckets=buckets, sum_value=h["sum"])

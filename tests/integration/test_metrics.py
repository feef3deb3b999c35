"""Prometheus metrics on their own listener, scraped over HTTP and parsed with prometheus_client's
own parser: requests, events, the federation queue to a server that is down, an audio session's
forwarded packets; off unless enabled."""
from __future__ import annotations

import asyncio
from urllib.parse import quote

import aiohttp
import pytest
from aiohttp.test_utils import unused_port
from prometheus_client.parser import text_string_to_metric_families

from media.testing import AudioClient, ToneTrack
from tests.integration.federation_helpers import eventually, restart

U = "/_matrix/client/unstable/org.audiorooms"


class Scrape:
    def __init__(self, text: str):
        self.types = {}
        self.samples: dict[tuple[str, frozenset], float] = {}
        for fam in text_string_to_metric_families(text):
            self.types[fam.name] = fam.type
            for s in fam.samples:
                self.samples[(s.name, frozenset(s.labels.items()))] = s.value

    def get(self, name: str, **labels) -> float:
        """The sample's value (0 when absent: a counter not yet moved)."""
        return self.samples.get((name, frozenset(labels.items())), 0.0)

    def labelled(self, name: str, label: str) -> dict[str, float]:
        return {dict(k[1])[label]: v for k, v in self.samples.items()
                if k[0] == name and label in dict(k[1])}


async def scrape(session: aiohttp.ClientSession, port: int) -> Scrape:
    async with session.get(f"http://127.0.0.1:{port}/metrics") as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/plain")
        return Scrape(await resp.text())


async def with_metrics(make_homeserver, name: str = "a", **overrides):
    port = unused_port()
    hs = await make_homeserver(name, metrics={"enabled": True, "port": port}, **overrides)
    return hs, port


async def test_metrics_listener_is_off_by_default(make_homeserver, http_session):
    port = unused_port()
    hs = await make_homeserver("a", metrics={"port": port})  # a port, but not enabled
    assert hs.hs.metrics is None
    with pytest.raises(aiohttp.ClientConnectionError):
        await http_session.get(f"http://127.0.0.1:{port}/metrics")
    # and the client listener has no /metrics either
    resp = await http_session.get(f"{hs.url}/metrics")
    assert resp.status == 404


async def test_sending_a_message_moves_request_and_event_counters(make_homeserver, http_session):
    hs, port = await with_metrics(make_homeserver)
    alice = await hs.user("alice")
    room = await alice.create_room(preset="public_chat")
    before = await scrape(http_session, port)
    assert before.types["homeserver_http_requests"] == "counter"
    assert before.types["homeserver_http_request_duration_seconds"] == "histogram"

    await alice.send(room, "hello metrics")
    await alice.sync()
    for i in range(3):  # paths nobody routes: one label, however many different paths
        await alice.request("GET", f"/_matrix/client/v3/nothing-here-{i}")
    after = await scrape(http_session, port)

    send = {"servlet": "RoomServlets.send", "method": "PUT", "status": "200"}
    assert after.get("homeserver_http_requests_total", **send) == \
        before.get("homeserver_http_requests_total", **send) + 1
    hist = {"servlet": "RoomServlets.send", "method": "PUT"}
    assert after.get("homeserver_http_request_duration_seconds_count", **hist) >= 1
    assert after.get("homeserver_http_request_duration_seconds_sum", **hist) > 0
    assert after.get("homeserver_events_persisted_total") >= \
        before.get("homeserver_events_persisted_total") + 1
    unmatched = {"servlet": "unmatched", "method": "GET", "status": "404"}
    assert after.get("homeserver_http_requests_total", **unmatched) == 3
    # no label carries a raw path
    servlets = after.labelled("homeserver_http_requests_total", "servlet")
    assert not any("/" in s for s in servlets), servlets
    # process metrics of this process, on this server's registry
    assert after.get("process_cpu_seconds_total") > 0
    assert after.get("process_resident_memory_bytes") > 0
    assert ("python_info" in after.types)


async def test_federation_queue_grows_while_a_destination_is_down_then_drains(
        make_homeserver, http_session):
    ports = {"a": unused_port(), "b": unused_port()}
    names = {n: f"127.0.0.1:{p}" for n, p in ports.items()}
    fed = {"servers": {s: f"http://{s}" for s in names.values()}, "retry_base_seconds": 0.05,
           "retry_max_seconds": 0.5, "request_timeout_seconds": 5}
    metrics_port = unused_port()
    a = await make_homeserver("a", port=ports["a"], federation=fed,
                              metrics={"enabled": True, "port": metrics_port})
    b = await make_homeserver("b", port=ports["b"], federation=fed)
    alice = await a.user("alice")
    bob = await b.user("bob")
    room = await alice.create_room(preset="public_chat")
    await bob.join(room)
    await alice.send(room, "before")
    await eventually(lambda: queue_empty(http_session, metrics_port))

    await b.server.close()  # B goes down
    for i in range(5):
        await alice.send(room, f"while down {i}")
    await asyncio.sleep(0.3)
    down = await scrape(http_session, metrics_port)
    dest = b.server_name
    assert down.labelled("homeserver_federation_queue_pending", "destination")[dest] >= 5
    age = down.labelled("homeserver_federation_queue_oldest_age_seconds", "destination")[dest]
    assert age >= 0.2
    assert down.get("homeserver_federation_queue_destinations") == 1
    # A checked B's signatures (Bob's join) with B's key, fetched once
    assert down.get("homeserver_keyring_fetches_total", result="ok") >= 1
    assert down.get("homeserver_federation_queue_oldest_age_max_seconds") >= age
    assert await eventually(lambda: failures(http_session, metrics_port, dest))
    older = await scrape(http_session, metrics_port)
    assert older.labelled("homeserver_federation_queue_oldest_age_seconds",
                          "destination")[dest] > age  # it keeps ageing while B is down

    b = await restart(make_homeserver, b, "b")  # B is back: the queue drains
    assert await eventually(lambda: queue_empty(http_session, metrics_port), timeout=20)
    drained = await scrape(http_session, metrics_port)
    assert dest not in drained.labelled("homeserver_federation_queue_pending", "destination")
    assert drained.get("homeserver_federation_queue_oldest_age_max_seconds") == 0


async def queue_empty(session, port) -> bool:
    s = await scrape(session, port)
    return s.get("homeserver_federation_queue_destinations") == 0


async def failures(session, port, dest) -> bool:
    s = await scrape(session, port)
    return s.labelled("homeserver_federation_queue_failures", "destination").get(dest, 0) >= 1


async def test_audio_session_forwarding_moves_sfu_counters(make_homeserver, http_session):
    hs, port = await with_metrics(make_homeserver)
    alice = await hs.user("alice")  # the creator: a moderator, who may speak
    bob = await hs.user("bob")
    room = await alice.create_room(preset="public_chat",
                                   creation_content={"type": "org.audiorooms.audio"})
    await bob.join(room)
    idle = await scrape(http_session, port)
    assert idle.get("homeserver_sfu_up") == 1
    assert idle.get("homeserver_sfu_sessions") == 0
    clients = []
    try:
        for client, mic in ((alice, ToneTrack(440, 0.5)), (bob, None)):
            audio = AudioClient(mic=mic)
            clients.append(audio)
            answer = await client.ok("POST", f"{U}/rooms/{quote(room)}/media",
                                     {"type": "offer", "sdp": await audio.offer()})
            await audio.accept(answer["sdp"])
        await eventually(lambda: clients[1].first_packet_at is not None)

        async def forwarding():
            s = await scrape(http_session, port)
            return s if s.get("homeserver_sfu_packets_forwarded_total") >= 25 else None
        live = await eventually(forwarding)
        assert live.get("homeserver_sfu_sessions") == 2
        assert live.get("homeserver_sfu_rooms") == 1
        assert live.get("homeserver_sfu_packets_received_total") >= 25
        assert live.get("homeserver_sfu_forwarded_bytes_total") > \
            25 * 12  # RTP headers at least
        assert live.get("homeserver_sfu_received_bytes_total") > 0
        assert live.types["homeserver_sfu_loop_lag_seconds"] == "histogram"
        assert live.get("homeserver_sfu_loop_lag_seconds_count") >= 1
        assert live.get("homeserver_sfu_loop_lag_seconds_bucket", le="+Inf") == \
            live.get("homeserver_sfu_loop_lag_seconds_count")

        # the listener's receiver reports (aiortc sends them every few seconds): no loss here
        async def reported():
            s = await scrape(http_session, port)
            return s if s.get("homeserver_sfu_listener_loss_fraction_count") >= 1 else None
        rep = await eventually(reported, timeout=15)
        assert rep.types["homeserver_sfu_listener_loss_fraction"] == "histogram"
        assert rep.get("homeserver_sfu_listener_loss_fraction_bucket", le="0.0") == \
            rep.get("homeserver_sfu_listener_loss_fraction_count")
        assert rep.types["homeserver_sfu_listener_jitter_seconds"] == "histogram"
    finally:
        for c in clients:
            await c.close()

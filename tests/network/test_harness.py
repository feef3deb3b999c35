"""The namespace harness itself: isolation, the UDP firewall, the impairer's loss/delay/cut,
and a teardown that leaves nothing behind."""
from __future__ import annotations

import asyncio
import socket
import struct
import time

from tests.netns import Network, sh
from tests.network.conftest import start_impairer


async def udp_probe(net: Network, src: str, dst: str, dst_ip: str, count: int,
                    interval: float = 0.005) -> tuple[int, list[float]]:
    """Send ``count`` timestamped datagrams from namespace ``src`` to ``dst``; returns
    (received, one-way delays in seconds)."""
    rx_loop, tx_loop = net.loop(dst), net.loop(src)

    async def receive():
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((dst_ip, 40000))
        s.setblocking(False)
        got: list[float] = []
        loop = asyncio.get_running_loop()
        try:
            while True:
                data = await asyncio.wait_for(loop.sock_recv(s, 64), 1.0)
                got.append(time.monotonic() - struct.unpack("!d", data)[0])
        except TimeoutError:
            return got
        finally:
            s.close()

    async def send():
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for _ in range(count):
            s.sendto(struct.pack("!d", time.monotonic()), (dst_ip, 40000))
            await asyncio.sleep(interval)
        s.close()

    rx = asyncio.ensure_future(rx_loop.run(receive))
    await asyncio.sleep(0.1)
    await tx_loop.run(send)
    got = await rx
    return len(got), got


async def test_namespaces_are_isolated_and_udp_can_be_dropped(network):
    a, b = network.ns("a"), network.ns("b")
    ip_a, ip_b = network.link(a, b)
    # the test range exists only in the namespaces: the machine itself has no route to it
    assert "10.213." not in sh("ip", "-o", "addr")
    assert "default" not in sh("ip", "-n", a, "route")
    received, _ = await udp_probe(network, a, b, ip_b, 50)
    assert received == 50
    network.drop_udp(b)
    received, _ = await udp_probe(network, a, b, ip_b, 50)
    assert received == 0
    # TCP still passes the firewall: the test's own forwarder reaches a server inside b
    lb = network.loop(b)

    async def serve():
        async def echo(r, w):
            w.write(await r.readline())
            await w.drain()
            w.close()
        return await asyncio.start_server(echo, ip_b, 8000)

    server = await lb.run(serve)
    port = await network.forward(b, ip_b, 8000)
    r, w = await asyncio.open_connection("127.0.0.1", port)
    w.write(b"hello\n")
    assert await asyncio.wait_for(r.readline(), 5) == b"hello\n"
    w.close()
    lb.loop.call_soon_threadsafe(server.close)


async def test_impairer_loses_delays_and_cuts(network):
    a, r, b = network.ns("a"), network.ns("r"), network.ns("b")
    ip_a, ip_ra = network.link(a, r)
    ip_rb, ip_b = network.link(r, b)
    network.router(r)
    network.route(a, ip_ra)
    network.route(b, ip_rb)
    imp = await start_impairer(network, r, loss=10, delay_ms=50, jitter_ms=10)
    sent = 400
    received, delays = await udp_probe(network, a, b, ip_b, sent)
    delays.sort()
    median = delays[len(delays) // 2]
    stats = await imp.stats()
    print(f"impairer 10% loss, 50+-10 ms: received {received}/{sent}, one-way delay "
          f"min {delays[0] * 1000:.1f} median {median * 1000:.1f} max {delays[-1] * 1000:.1f} "
          f"ms; impairer {stats}")
    assert 0.80 * sent <= received <= 0.97 * sent, (received, sent)
    flows = await imp.command("flows")
    assert f'"{ip_a}:' in flows and f'>{ip_b}:40000": {sent}' in flows, flows
    # a busy machine adds scheduling delay at the receiver; the impairer never subtracts any
    p90 = delays[int(len(delays) * 0.9)]
    assert 0.039 <= delays[0] and 0.045 <= median <= 0.065 and p90 < 0.1, (delays[0], median, p90)
    await imp.command("cut")
    assert (await udp_probe(network, a, b, ip_b, 50))[0] == 0
    await imp.command("uncut")
    await imp.command("loss 0")
    assert (await udp_probe(network, a, b, ip_b, 50))[0] == 50


async def test_teardown_leaves_nothing_even_with_processes_running(tmp_path):
    from tests.netns import netns_unavailable
    from tests.network.conftest import _unavailable
    if reason := netns_unavailable():
        _unavailable(reason)
    net = Network(tmp_path)
    a, b = net.ns("a"), net.ns("b")
    net.link(a, b)
    net.drop_udp(a)
    net.popen(a, ["sleep", "600"])
    net.loop(b)
    await start_impairer(net, b)
    assert len(net.leftovers()) == 5  # 2 namespaces, 2 processes, 1 thread
    assert await asyncio.to_thread(net.close) == []
    assert not [n for n in sh("ip", "netns", "list").split() if n.startswith(net.prefix)]

"""The SFU's ICE-TCP port (media/ice_tcp.py) against hostile and slow peers, on real sockets,
the SDP answer's candidates with ``media.public_ip``, and session renegotiation (PUT) through
the client API. (Chromium over ICE-TCP and ICE restarts: tests/browser/test_ice_tcp.py.)"""
from __future__ import annotations

import asyncio
import os
import struct
import time
from urllib.parse import quote

import pytest

from media import stun
from media.ice_tcp import FrameDecoder, TcpIceServer, frame
from media.sfu import SFU
from media.testing import AudioClient, ToneTrack, wait_for

ROOM = "!stage:a"
U = "/_matrix/client/unstable/org.audiorooms"
AUDIO = {"type": "org.audiorooms.audio"}


@pytest.fixture
async def sfu():
    s = SFU(server_name="a", host_addresses=["127.0.0.1"], tcp_port=0)
    clients: list[AudioClient] = []
    s.test_clients = clients  # type: ignore[attr-defined]
    yield s
    for c in clients:
        await c.close()
    await s.close()


async def small_server(sfu: SFU, **kw) -> TcpIceServer:
    srv = TcpIceServer(0, "127.0.0.1", **kw)
    await srv.start()
    sfu.tcp = srv
    return srv


async def listener_session(sfu: SFU):
    client = AudioClient()
    sfu.test_clients.append(client)
    sid, answer = await sfu.open_session(ROOM, "@l:a", await client.offer(), False)
    await client.accept(answer)
    return sfu.rooms[ROOM].sessions[sid], answer


async def closed_by_server(reader: asyncio.StreamReader, timeout: float) -> bool:
    try:
        while True:
            data = await asyncio.wait_for(reader.read(4096), timeout)
            if not data:
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except TimeoutError:
        return False


def check(gen, *, use_candidate: bool = False, password: str | None = None,
          ufrag: str | None = None) -> tuple[bytes, bytes]:
    """A browser's connectivity check on the TCP candidate of ``gen``."""
    txid = os.urandom(12)
    username = f"{ufrag or gen.conn.local_username}:{gen.remote.ice_ufrag}"
    msg = stun.binding_request(txid, username, 12345, True, 99,
                               stun.Credentials(password or gen.conn.local_password))
    if use_candidate:  # USE-CANDIDATE goes before MESSAGE-INTEGRITY: rebuild the body
        body = stun._attr(stun.USERNAME, username.encode()) + \
            stun._attr(stun.PRIORITY, struct.pack("!I", 12345)) + \
            stun._attr(stun.ICE_CONTROLLING, struct.pack("!Q", 99)) + \
            stun._attr(stun.USE_CANDIDATE, b"")
        msg = stun._finish(stun.BINDING_REQUEST, txid, body,
                           stun.Credentials(password or gen.conn.local_password))
    return txid, frame(msg)


async def test_valid_checks_are_answered_and_garbage_unknown_ufrags_and_big_frames_closed(sfu):
    srv = await small_server(sfu)
    sess, answer = await listener_session(sfu)
    assert f" {srv.port} typ host tcptype passive" in answer
    gen = sess.tp.gen
    # garbage, an HTTP request, an oversized frame, an unknown ufrag, a bad signature:
    # each connection is closed at once
    hostile = [b"\x00\x10" + os.urandom(16), b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
               struct.pack("!H", 65000) + b"x" * 100,
               check(gen, ufrag="nobody")[1], check(gen, password="w" * 22)[1]]
    for data in hostile:
        reader, writer = await asyncio.open_connection("127.0.0.1", srv.port)
        writer.write(data)
        assert await closed_by_server(reader, 2.0), data[:20]
        writer.close()
    assert srv.refused >= len(hostile)
    assert not gen.links
    # a real check is answered, signed with our password, and the connection stays
    reader, writer = await asyncio.open_connection("127.0.0.1", srv.port)
    txid, data = check(gen)
    writer.write(data)
    dec = FrameDecoder()
    frames: list[bytes] = []
    while not frames:
        frames += dec.feed(await asyncio.wait_for(reader.read(4096), 2.0))
    parsed = stun.parse(frames[0])
    assert parsed is not None and parsed[0] == stun.BINDING_SUCCESS and parsed[1] == txid
    assert stun.integrity_ok(frames[0], parsed[3], parsed[2],
                             stun.Credentials(gen.conn.local_password))
    assert stun.FINGERPRINT in parsed[2]
    assert len(gen.links) == 1
    writer.close()


async def test_slowloris_connections_are_bounded_and_timed_out(sfu):
    srv = await small_server(sfu, max_pending=8, pending_timeout=0.5)
    await listener_session(sfu)
    conns = [await asyncio.open_connection("127.0.0.1", srv.port) for _ in range(12)]
    # one byte of a frame header each, never more
    for _r, w in conns:
        w.write(b"\x00")
    await asyncio.sleep(0.1)
    assert len(srv.pending) <= 8
    t0 = time.monotonic()
    results = await asyncio.gather(*(closed_by_server(r, 3.0) for r, _w in conns))
    assert all(results)
    assert time.monotonic() - t0 < 2.0
    assert not srv.pending and srv.refused >= 12
    for _r, w in conns:
        w.close()
    # and the port still serves a real check
    sess = next(iter(sfu.rooms[ROOM].sessions.values()))
    reader, writer = await asyncio.open_connection("127.0.0.1", srv.port)
    writer.write(check(sess.tp.gen)[1])
    assert await asyncio.wait_for(reader.read(4096), 2.0)
    writer.close()


async def test_a_tcp_listener_that_does_not_read_loses_its_own_packets_only(sfu):
    """The write buffer of a connection stays bounded: past the limit, sends to it are
    dropped (counted), and sending never blocks."""
    srv = await small_server(sfu, write_limit=16384)
    sess, _ = await listener_session(sfu)
    reader, writer = await asyncio.open_connection("127.0.0.1", srv.port)
    writer.write(check(sess.tp.gen, use_candidate=True)[1])
    await wait_for(lambda: sess.tp.gen.links, timeout=2)
    link = sess.tp.gen.links[0]
    t0 = time.perf_counter()
    for _ in range(20000):  # ~24 MB offered to a peer that reads nothing
        link.send(memoryview(b"\x80" + b"a" * 1199))
    elapsed = time.perf_counter() - t0
    buffered = link.transport.get_write_buffer_size()
    assert buffered <= srv.write_limit + 1202, buffered
    assert link.dropped > 15000
    assert elapsed < 2.0
    writer.close()


def candidates(answer: str) -> list[str]:
    """The answer's distinct candidates (each bundled section repeats them)."""
    return list(dict.fromkeys(ln for ln in answer.splitlines() if ln.startswith("a=candidate:")))


async def test_public_ip_advertises_one_candidate_per_transport():
    """Behind a 1:1 NAT, every local interface relabelled with the public address would be a
    dead candidate: one UDP socket (the wildcard) and the TCP port, each advertised once."""
    made = []
    try:
        for kw in ({}, {"host_addresses": ["127.0.0.1", "127.0.0.2"]}):
            s = SFU(server_name="a", public_ip="203.0.113.7", tcp_port=0, **kw)
            made.append(s)
            client = AudioClient()
            _sid, answer = await s.open_session(ROOM, "@l:a", await client.offer(), False)
            await client.close()
            cands = candidates(answer)
            udp = [c for c in cands if " udp " in c.lower()]
            tcp = [c for c in cands if " tcp " in c.lower()]
            assert len(udp) == 1 and len(tcp) == 1, cands
            assert all(" 203.0.113.7 " in c for c in cands), cands
            assert "tcptype passive" in tcp[0]
        # without a public address, each local address has its candidates
        s = SFU(server_name="a", tcp_port=0, host_addresses=["127.0.0.1", "127.0.0.2"])
        made.append(s)
        client = AudioClient()
        _sid, answer = await s.open_session(ROOM, "@l:a", await client.offer(), False)
        await client.close()
        cands = candidates(answer)
        assert sorted(c.split()[4] for c in cands if " udp " in c) == ["127.0.0.1", "127.0.0.2"]
        # one TCP port (on the wildcard), advertised on each address
        assert sorted(c.split()[4] for c in cands if " tcp " in c) == ["127.0.0.1", "127.0.0.2"]
        assert len({c.split()[5] for c in cands if " tcp " in c}) == 1
    finally:
        for s in made:
            await s.close()


async def test_renegotiation_put_is_for_the_owner_and_bad_offers_change_nothing(
        make_homeserver):
    server = await make_homeserver(media={"tcp_port": 0})
    alice = await server.user("alice")
    bob = await server.user("bob")
    room = await alice.create_room(preset="public_chat", creation_content=AUDIO, name="Live")
    await bob.join(room)
    await alice.put_state(room, "org.audiorooms.role", {"role": "speaker"}, bob.user_id)
    speaker = AudioClient(mic=ToneTrack(440, 0.5))
    listener = AudioClient()
    try:
        s_offer = await speaker.offer()
        ans = await bob.ok("POST", f"{U}/rooms/{quote(room)}/media",
                           {"type": "offer", "sdp": s_offer})
        await speaker.accept(ans["sdp"])
        offer = await listener.offer()
        ans = await alice.ok("POST", f"{U}/rooms/{quote(room)}/media",
                             {"type": "offer", "sdp": offer})
        await listener.accept(ans["sdp"])
        sid = ans["session_id"]
        sess = server.hs.sfu.rooms[room].sessions[sid]
        await wait_for(lambda: sess.connected, timeout=10)
        gen = sess.tp.gen
        path = f"{U}/rooms/{quote(room)}/media/{quote(sid)}"

        # not the owner: 404 (as for an unknown session); unknown session: 404
        status, body = await bob.request("PUT", path, {"type": "offer", "sdp": offer})
        assert status == 404 and body["errcode"] == "M_NOT_FOUND"
        status, body = await alice.request("PUT", f"{U}/rooms/{quote(room)}/media/nope",
                                           {"type": "offer", "sdp": offer})
        assert status == 404
        # bad bodies and bad SDP: 400, the session unchanged
        for bad in ({"type": "answer", "sdp": offer}, {"type": "offer"},
                    {"type": "offer", "sdp": "v=0\r\nnonsense"},
                    {"type": "offer", "sdp": s_offer}):  # a mic section it never had
            status, body = await alice.request("PUT", path, bad)
            assert status == 400 and body["errcode"] == "M_BAD_JSON", (bad, body)
        assert sess.tp.gen is gen and sess.connected and sid in server.hs.sfu.rooms[room].sessions
        # the same offer again (no ICE restart): answered with the same ICE credentials
        again = await alice.ok("PUT", path, {"type": "offer", "sdp": offer})
        assert again["session_id"] == sid

        def ufrag(sdp: str) -> str:
            return next(ln for ln in sdp.splitlines() if ln.startswith("a=ice-ufrag:"))
        assert ufrag(again["sdp"]) == ufrag(ans["sdp"])
        assert sess.tp.gen is gen
        # still hearing the speaker on the same session
        t = time.monotonic()
        await wait_for(lambda: any(r.packets_between(t, time.monotonic()) > 10
                                   for r in listener.records), timeout=10)
    finally:
        await speaker.close()
        await listener.close()


async def test_a_socket_level_tcp_listener_hears_the_speaker_and_keeps_consent():
    """Without a browser: bench/fanout_tcp.py's listener (framed STUN with USE-CANDIDATE,
    DTLS as the server, consent checks answered) gets the speaker's packets over the SFU's
    TCP port; when it goes silent, consent expires and the session closes."""
    from bench.fanout_clients import Counter
    from bench.fanout_tcp import join_tcp

    sfu = SFU(server_name="a", host_addresses=["127.0.0.1"], tcp_port=0,
              consent_interval=0.3, consent_timeout=1.5)
    speaker = AudioClient(mic=ToneTrack(440, 0.5))
    tcp_client = None
    try:
        _sid, answer = await sfu.open_session(ROOM, "@s:a", await speaker.offer(), True)
        await speaker.accept(answer)
        counter = Counter(time.time())

        async def signal(offer: str) -> str:
            return (await sfu.open_session(ROOM, "@l:a", offer, False))[1]
        tcp_client = await join_tcp(signal, 3, counter)
        sess = next(s for s in sfu.rooms[ROOM].sessions.values() if s.user_id == "@l:a")
        await wait_for(lambda: sess.connected, timeout=5)
        assert sess.tp.path == "tcp"
        counter.window = (time.time(), time.time() + 3.0)
        await asyncio.sleep(3.0)
        assert counter.count > 100, counter.count  # 50 packets/s
        assert sess.connected and not sess.closed  # consent answered over TCP for 3 s
        tcp_client.transport.pause_reading()  # silent from now on: no consent answers
        assert await wait_for(lambda: sess.closed, timeout=5)
    finally:
        if tcp_client is not None:
            await tcp_client.close()
        await speaker.close()
        await sfu.close()

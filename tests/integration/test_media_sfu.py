"""The SFU with real aiortc participants over loopback UDP (ICE, DTLS-SRTP, Opus), no HTTP.

Each participant is an ``AudioClient``: a speaker sends a sine tone from a ``ToneTrack``; a
listener decodes its slots and records RTP arrival times. Frequencies are measured with an FFT.
Cascade tests run two or three SFUs in this process, the remote ones relaying to the host
through ``relay_signaller`` (the homeserver wires that to the federation relay endpoint).
"""
from __future__ import annotations

import asyncio
import statistics
import time

import pytest

from media.sfu import SFU
from media.testing import (
    AudioClient,
    ToneTrack,
    hears,
    tone,
    tone_switch_latency,
    tones_heard,
    tones_of,
    wait_for,
)

ROOM = "!stage:a"


async def join(sfu: SFU, user: str, *, room: str = ROOM, mic: ToneTrack | None = None,
               may_send: bool | None = None, slots: int = 3) -> tuple[AudioClient, str]:
    client = AudioClient(slots=slots, mic=mic)
    sid, answer = await sfu.open_session(room, user, await client.offer(),
                                         may_send if may_send is not None else mic is not None)
    await client.accept(answer)
    return client, sid


@pytest.fixture
async def sfus():
    made: list[SFU] = []
    clients: list[AudioClient] = []

    def make(name: str = "a", **kw) -> SFU:
        sfu = SFU(server_name=name, **kw)
        made.append(sfu)
        return sfu

    make.clients = clients
    yield make
    for c in clients:
        await c.close()
    for s in made:
        await s.close()


def cascade(host: SFU, *remotes: SFU) -> dict[str, int]:
    """Wire each remote's relay signaller straight to the host's open_relay."""
    calls: dict[str, int] = {}

    for remote in remotes:
        async def signal(room_id, host_name, offer, origin=remote.server_name):
            assert host_name == host.server_name
            calls[origin] = calls.get(origin, 0) + 1
            _rid, answer = await host.open_relay(room_id, origin, offer)
            return answer
        remote.relay_signaller = signal
    return calls


def assert_joins_are_quick(seconds: list[float]) -> None:
    """Join to first audio, judged over several joins: the median under 300 ms (issue #5's
    target) and none reaching 1 s. One sample alone is at the mercy of a pause of the whole
    test process."""
    shown = ", ".join(f"{t:.3f}" for t in seconds)
    assert statistics.median(seconds) < 0.3, f"join to first audio took {shown} s"
    assert max(seconds) < 1.0, f"join to first audio took {shown} s"


async def test_listener_hears_the_speakers_tone_quickly(sfus):
    sfu = sfus()
    tone = ToneTrack(440, 0.5)
    speaker, _ = await join(sfu, "@speaker:a", mic=tone)
    sfus.clients.append(speaker)
    # Join to first audio, over five listeners joining one after another: the median must be
    # under 300 ms (issue #5's target; bench/fanout.py measures its p95) and none may take a
    # second. One sample alone is at the mercy of the shared machine: CI once saw a 0.59 s
    # join (a pause of the whole test process) where 0.05 s is usual.
    join_times = []
    for n in range(5):
        t0 = time.monotonic()
        listener, _ = await join(sfu, f"@listener{n}:a")
        sfus.clients.append(listener)
        assert await wait_for(lambda c=listener: c.first_packet_at is not None, 3)
        join_times.append(listener.first_packet_at - t0)
    assert_joins_are_quick(join_times)
    await asyncio.sleep(0.8)
    assert await wait_for(lambda: hears(listener, 0, 440), 2)
    # only slot 0 is used with one speaker; the speaker does not hear themself
    assert not listener.records[1].packets and not listener.records[2].packets
    assert all(not r.packets for r in speaker.records)
    # latency: the tone changes; the listener decodes the new one soon after
    tone.frequency = 880
    switched = time.monotonic()
    await asyncio.sleep(0.6)
    latency = tone_switch_latency(listener, 0, switched, 880)
    assert latency is not None and latency < 0.25, latency
    assert await wait_for(lambda: hears(listener, 0, 880, 0.3), 2)
    info = sfu.speakers(ROOM)
    assert info["slots"][0]["user_id"] == "@speaker:a" and info["talking"] == ["@speaker:a"]
    assert -12 < info["slots"][0]["level"] < -3  # a 0.5 amplitude sine is about -9 dBov


async def test_muted_speaker_is_silent_within_100ms_and_listener_mic_is_not_forwarded(sfus):
    sfu = sfus()
    speaker, _ = await join(sfu, "@speaker:a", mic=ToneTrack(440, 0.5))
    sneaky, _ = await join(sfu, "@sneaky:a", mic=ToneTrack(1000, 0.9), may_send=False)
    listener, _ = await join(sfu, "@listener:a")
    sfus.clients += [speaker, sneaky, listener]
    await asyncio.sleep(1.0)
    # the listener's own mic is dropped: one stream (the speaker's) on slot 0, nothing else
    assert await wait_for(lambda: hears(listener, 0, 440), 2)
    assert not listener.records[1].packets and not listener.records[2].packets
    assert sfu.stats()["dropped"] > 20
    # the speaker is muted by a moderator
    sfu.set_may_send(ROOM, "@speaker:a", False)
    muted_at = time.monotonic()
    await asyncio.sleep(0.5)
    last = listener.records[0].last_packet_time()
    assert last - muted_at < 0.1, f"audio went on for {last - muted_at:.3f} s"
    assert listener.records[0].packets_between(muted_at + 0.1, muted_at + 10) == 0
    assert sneaky.records[0].packets_between(muted_at + 0.1, muted_at + 10) == 0
    assert sfu.speakers(ROOM)["slots"][0]["user_id"] is None
    # unmuted: heard again, on the same slot and SSRC, sequence numbers continuing
    seq_before = listener.records[0].packets[-1][2]
    ssrc_before = listener.records[0].packets[-1][1]
    sfu.set_may_send(ROOM, "@speaker:a", True)
    assert await wait_for(lambda: listener.records[0].last_packet_time() > muted_at + 0.5, 2)
    first_after = next(p for p in listener.records[0].packets if p[0] > muted_at + 0.5)
    assert first_after[1] == ssrc_before and first_after[2] == (seq_before + 1) & 0xFFFF
    # a listener promoted to speaker is heard without renegotiating
    sfu.set_may_send(ROOM, "@sneaky:a", True)
    await asyncio.sleep(1.0)
    assert await wait_for(lambda: tones_of(listener, range(2)) == [440, 1000], 2)


async def test_fourth_louder_speaker_takes_the_quietest_slot_seamlessly(sfus):
    sfu = sfus()
    freqs = {"@s1:a": 300, "@s2:a": 500, "@s3:a": 700, "@s4:a": 1100}
    amps = {"@s1:a": 0.4, "@s2:a": 0.3, "@s3:a": 0.1, "@s4:a": 0.01}
    tones = {u: ToneTrack(f, amps[u]) for u, f in freqs.items()}
    speakers = {}
    for u in freqs:
        speakers[u], _ = await join(sfu, u, mic=tones[u])
    listener, _ = await join(sfu, "@listener:a")
    sfus.clients += [listener, *speakers.values()]
    await asyncio.sleep(1.5)
    top = sfu.speakers(ROOM)["slots"]
    assert sorted(s["user_id"] for s in top) == ["@s1:a", "@s2:a", "@s3:a"]
    slot_of_s3 = next(s["slot"] for s in top if s["user_id"] == "@s3:a")
    assert await wait_for(lambda: tones_of(listener, range(3)) == [300, 500, 700], 2)
    # every speaker hears the other three loudest, never themself
    for u, client in speakers.items():
        others = sorted(f for v, f in freqs.items() if v != u)
        assert await wait_for(lambda: None not in tones_of(client, range(3)), 2)
        got = tones_of(client, range(3))
        assert set(got) <= set(others) and freqs[u] not in got, (u, got)
    # s4 gets much louder: it takes s3's slot (the quietest) within a second, others stay
    ssrc = listener.records[slot_of_s3].packets[-1][1]
    tones["@s4:a"].amplitude = 0.9
    louder_at = time.monotonic()
    assert await wait_for(
        lambda: sfu.speakers(ROOM)["slots"][slot_of_s3]["user_id"] == "@s4:a", 2.0)
    switch_time = time.monotonic() - louder_at
    assert switch_time < 1.0, switch_time
    assert await wait_for(lambda: tone(listener, slot_of_s3, 0.2) == 1100, 1.0)
    await asyncio.sleep(0.3)
    others = [i for i in range(3) if i != slot_of_s3]
    assert await wait_for(lambda: tones_of(listener, others, 0.3) == [300, 500], 2)
    # one continuous stream on that slot: same SSRC, no sequence gap, no timestamp going back
    pk = [p for p in listener.records[slot_of_s3].packets if p[0] > louder_at - 0.5]
    assert {p[1] for p in pk} == {ssrc}
    assert all((b[2] - a[2]) & 0xFFFF == 1 for a, b in zip(pk, pk[1:], strict=False))
    assert all(0 < (b[3] - a[3]) & 0xFFFFFFFF < 48000 for a, b in zip(pk, pk[1:], strict=False))
    # no flapping afterwards
    layout = [s["user_id"] for s in sfu.speakers(ROOM)["slots"]]
    for _ in range(10):
        await asyncio.sleep(0.1)
        assert [s["user_id"] for s in sfu.speakers(ROOM)["slots"]] == layout


async def test_relay_carries_host_speaker_to_remote_listener(sfus):
    a, b = sfus("a"), sfus("b")
    calls = cascade(a, b)
    tone = ToneTrack(440, 0.5)
    speaker, _ = await join(a, "@speaker:a", mic=tone)
    local, _ = await join(a, "@local:a")
    t0 = time.monotonic()
    remote, remote_sid = await join(b, "@remote:b")
    sfus.clients += [speaker, local, remote]
    assert await wait_for(lambda: remote.first_packet_at is not None, 3)
    # first audio through a new relay: judged at the end, with two more rooms' relays
    relay_joins = [remote.first_packet_at - t0]
    await asyncio.sleep(0.8)
    assert await wait_for(lambda: hears(remote, 0, 440), 2)
    assert await wait_for(lambda: hears(local, 0, 440), 2)
    assert calls == {"b": 1} and a.stats()["relays"] == 1
    assert b.speakers(ROOM)["slots"][0]["user_id"] == "@speaker:a"
    # one relay per room however many listeners the remote has
    more = [(await join(b, f"@more{i}:b"))[0] for i in range(3)]
    sfus.clients += more
    await asyncio.sleep(0.6)
    assert calls == {"b": 1} and a.stats()["relays"] == 1
    assert await wait_for(lambda: all(hears(c, 0, 440) for c in more), 2)
    # latency through the relay
    tone.frequency = 880
    switched = time.monotonic()
    await asyncio.sleep(0.6)
    lat_local = tone_switch_latency(local, 0, switched, 880)
    lat_remote = tone_switch_latency(remote, 0, switched, 880)
    assert lat_local is not None and lat_remote is not None
    assert lat_remote < 0.3 and lat_remote - lat_local < 0.1, (lat_local, lat_remote)
    # muting on the host silences the remote listeners within 100 ms
    a.set_may_send(ROOM, "@speaker:a", False)
    muted_at = time.monotonic()
    await asyncio.sleep(0.4)
    for c in [remote, *more, local]:
        assert c.records[0].last_packet_time() - muted_at < 0.1
    # the relay goes when the remote's last participant leaves
    await b.close_session(ROOM, remote_sid)
    for c in more:
        await c.close()
    for sid in [s["session_id"] for s in b.sessions(ROOM)]:
        await b.close_session(ROOM, sid)
    assert await wait_for(lambda: a.stats()["relays"] == 0, 2)
    assert b.stats()["rooms"] == 0
    # Join to first audio through a new relay (the remote's first listener waits for the
    # relay's ICE and DTLS too), in three rooms: the median must be under 300 ms and none may
    # take a second. One sample alone is at the mercy of the shared machine (0.05-0.39 s seen
    # here under load).
    for n in (2, 3):
        room = f"!stage{n}:a"
        speaker_n, _ = await join(a, f"@speaker{n}:a", room=room, mic=ToneTrack(440, 0.5))
        t0 = time.monotonic()
        remote_n, _ = await join(b, f"@remote{n}:b", room=room)
        sfus.clients += [speaker_n, remote_n]
        assert await wait_for(lambda c=remote_n: c.first_packet_at is not None, 3)
        relay_joins.append(remote_n.first_packet_at - t0)
    assert_joins_are_quick(relay_joins)


async def test_speaker_on_remote_server_is_heard_on_host_and_third_server(sfus):
    a, b, c = sfus("a"), sfus("b"), sfus("c")
    cascade(a, b, c)
    stage = {"@bob:b", "@alice:a"}
    for s in (a, b, c):
        s.stage_policy = lambda room, user: user in stage
    bob_tone = ToneTrack(660, 0.5)
    bob, _ = await join(b, "@bob:b", mic=bob_tone)
    alice, _ = await join(a, "@alice:a", mic=ToneTrack(330, 0.3))
    on_a, _ = await join(a, "@la:a")
    on_b, _ = await join(b, "@lb:b")
    on_c, _ = await join(c, "@lc:c")
    sfus.clients += [bob, alice, on_a, on_b, on_c]
    await asyncio.sleep(1.5)
    for who in (on_a, on_b, on_c):
        assert await wait_for(lambda: tones_of(who, range(2)) == [330, 660], 2)
    # each speaker hears the other one, not themself
    assert tones_heard(bob) == [330] and tones_heard(alice) == [660]
    layout = a.speakers(ROOM)["slots"]
    assert {s["user_id"] for s in layout[:2]} == {"@bob:b", "@alice:a"}
    assert [s["user_id"] for s in c.speakers(ROOM)["slots"]] == [s["user_id"] for s in layout]
    # the host mutes bob: silent on a, b (his own server) and c within 100 ms
    slot_bob = next(s["slot"] for s in layout if s["user_id"] == "@bob:b")
    a.set_may_send(ROOM, "@bob:b", False)
    muted_at = time.monotonic()
    await asyncio.sleep(0.4)
    for who in (on_a, on_b, on_c):
        last = who.records[slot_bob].last_packet_time()
        assert last - muted_at < 0.1, last - muted_at
    assert await wait_for(lambda: tone(on_c, 1 - slot_bob, 0.3) == 330, 2)


async def test_relay_is_reestablished_after_a_failure(sfus):
    a, b = sfus("a"), sfus("b", relay_timeout=1.0)
    calls = cascade(a, b)
    speaker, _ = await join(a, "@speaker:a", mic=ToneTrack(440, 0.5))
    remote, _ = await join(b, "@remote:b")
    sfus.clients += [speaker, remote]
    assert await wait_for(lambda: remote.first_packet_at is not None, 3)
    # the host drops the relay (as after a restart of its SFU or a network failure)
    for rid in list(a.rooms[ROOM].relays):
        await a.close_relay(ROOM, rid)
    broken = time.monotonic()
    assert await wait_for(lambda: calls["b"] >= 2 and a.stats()["relays"] == 1, 5)
    assert await wait_for(lambda: remote.records[0].packets_between(
        broken + 0.05, time.monotonic()) > 10, 5)
    assert await wait_for(lambda: hears(remote, 0, 440, 0.2), 2)


async def test_host_refuses_unusable_offers_and_unknown_sessions(sfus):
    from media.sdp import SdpError
    a = sfus("a")
    with pytest.raises(SdpError):
        await a.open_session(ROOM, "@x:a", "v=0\r\nm=video 9 RTP/AVP 96\r\n", True)
    await a.close_session(ROOM, "nope")  # idempotent
    assert a.speakers("!unknown:a") == {"slots": [], "talking": []}


async def test_a_client_that_goes_away_is_cleaned_up(sfus):
    sfu = sfus(consent_interval=0.3, consent_timeout=1.0)
    speaker, _ = await join(sfu, "@speaker:a", mic=ToneTrack(440, 0.5))
    polite, _ = await join(sfu, "@polite:a")
    vanished, _ = await join(sfu, "@vanished:a")
    sfus.clients += [speaker]
    assert await wait_for(lambda: polite.first_packet_at and vanished.first_packet_at, 3)
    assert len(sfu.sessions(ROOM)) == 3
    # closing the peer connection (DTLS close_notify) ends the session at once
    await polite.close()
    assert await wait_for(lambda: len(sfu.sessions(ROOM)) == 2, 1.0)
    # a peer that vanishes without a word stops answering consent checks (RFC 7675)
    for t in vanished.pc.getTransceivers():
        for proto in t.receiver.transport.transport._connection._protocols:
            proto.transport.abort()
    gone_at = time.monotonic()
    assert await wait_for(lambda: len(sfu.sessions(ROOM)) == 1, 5)
    assert time.monotonic() - gone_at < 2.5
    assert [s["user_id"] for s in sfu.sessions(ROOM)] == ["@speaker:a"]
    await vanished.close()


async def test_public_ip_and_port_range_are_advertised(sfus):
    sfu = sfus(public_ip="203.0.113.7", udp_port_range=(41000, 41009))
    client = AudioClient(slots=1)
    sfus.clients.append(client)
    _sid, answer = await sfu.open_session(ROOM, "@x:a", await client.offer(), False)
    from media.sdp import SessionDescription
    cands = SessionDescription.parse(answer).media[0].candidates
    assert cands and all(c.host == "203.0.113.7" and 41000 <= c.port <= 41009 for c in cands)
    assert sfu.ice.addresses  # looked up once, not per session

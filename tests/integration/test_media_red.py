"""RFC 2198 RED through the SFU, with aiortc peers over loopback (ICE, DTLS-SRTP, Opus).

aiortc speaks no RED, so the speaker here offers it (``red/48000/2`` over its Opus, as
Chromium does) and wraps each Opus packet its encoder sends into RED itself (the previous frame as the
redundant block, the current one as the primary), as Chromium does once RED is negotiated. A
listener without RED must hear the primary as plain Opus (the tone); a listener that offered
RED must get RED packets with its RED PT whose primary decodes to the tone.
"""
from __future__ import annotations

import asyncio

import av

from media import red
from media.sfu import SFU
from media.testing import AudioClient, ToneTrack, dominant_frequency, hears, wait_for

ROOM = "!red:a"
RED_PT = 63
OPUS_PT = 96  # aiortc's


def offer_red(offer: str, red_pt: int = RED_PT) -> str:
    """aiortc's offer with RED over its Opus added to every audio section (Chromium's form)."""
    out = []
    for line in offer.split("\r\n"):
        if line.startswith("m=audio "):
            bits = line.split(" ")
            line = " ".join(bits[:4] + [str(red_pt)] + bits[4:])
        out.append(line)
        if line.startswith(f"a=rtpmap:{OPUS_PT} opus/48000/2"):
            out += [f"a=rtpmap:{red_pt} red/48000/2", f"a=fmtp:{red_pt} {OPUS_PT}/{OPUS_PT}"]
    return "\r\n".join(out)


class RedSender:
    """Wraps what a client's DTLS transport sends as RTP into RED (RFC 2198), as Chromium does;
    every ``corrupt_every``-th packet is sent as a hostile, truncated RED packet instead."""

    def __init__(self, client: AudioClient, corrupt_every: int = 0):
        self.prev: bytes | None = None
        self.sent = 0
        self.corrupted = 0
        self.corrupt_every = corrupt_every
        transport = client.mic_transceiver.sender.transport
        original = transport._send_rtp

        async def send(data: bytes) -> None:
            await original(self.wrap(data))

        transport._send_rtp = send

    def wrap(self, data: bytes) -> bytes:
        if data[1] & 0x7F != OPUS_PT:
            return data
        bounds = red.payload_bounds(data)
        assert bounds is not None
        pos, end = bounds
        cur = data[pos:end]
        blocks = [(960, self.prev), (0, cur)] if self.prev else [(0, cur)]
        self.prev = cur
        self.sent += 1
        head = bytes((data[0] & 0xDF, (data[1] & 0x80) | RED_PT)) + data[2:pos]
        if self.corrupt_every and self.sent % self.corrupt_every == 0:
            self.corrupted += 1  # a 4-byte block header claiming more bytes than there are
            return head + bytes((0x80 | OPUS_PT, 0x0F, 0x03, 0xFF, OPUS_PT)) + cur[:4]
        return head + red.encode(blocks, OPUS_PT)


async def _join(sfu: SFU, user: str, client: AudioClient, with_red: bool, may_send: bool):
    offer = await client.offer()
    _sid, answer = await sfu.open_session(ROOM, user, offer_red(offer) if with_red else offer,
                                          may_send)
    await client.accept(answer)
    return answer


async def test_red_speaker_heard_by_plain_and_red_listeners():
    sfu = SFU(server_name="a")
    clients: list[AudioClient] = []
    try:
        speaker = AudioClient(slots=1, mic=ToneTrack(440, 0.5))
        clients.append(speaker)
        answer = await _join(sfu, "@speaker:a", speaker, with_red=True, may_send=True)
        assert f"a=rtpmap:{RED_PT} red/48000/2" in answer
        assert f"UDP/TLS/RTP/SAVPF {RED_PT} {OPUS_PT}\r\n" in answer
        wrapper = RedSender(speaker, corrupt_every=10)

        plain = AudioClient(slots=2)  # aiortc: no RED
        clients.append(plain)
        plain_answer = await _join(sfu, "@plain:a", plain, with_red=False, may_send=False)
        assert "red/48000" not in plain_answer

        red_listener = AudioClient(slots=2, decode=False)  # offers RED, records raw packets
        clients.append(red_listener)
        await _join(sfu, "@red:a", red_listener, with_red=True, may_send=False)
        got: list[tuple[int, bytes]] = []  # (PT, payload) of every RTP packet it receives
        transport = red_listener._slot_transceivers[0].receiver.transport
        original = transport._handle_rtp_data

        async def handle(data: bytes, arrival_time_ms: int) -> None:
            bounds = red.payload_bounds(data)
            if bounds is not None:
                got.append((data[1] & 0x7F, data[bounds[0]:bounds[1]]))
            await original(data, arrival_time_ms)
        transport._handle_rtp_data = handle

        # the plain listener hears the primary: the speaker's tone, decoded by aiortc
        assert await wait_for(lambda: hears(plain, 0, 440), 8), "no 440 Hz at the plain listener"
        assert await wait_for(lambda: wrapper.sent > 60 and len(got) > 40, 8), \
            (wrapper.sent, len(got), sfu.stats())
        stats = sfu.stats()
        assert stats["red_received"] > 40
        assert stats["red_malformed"] >= 1 and stats["red_malformed"] <= wrapper.corrupted
        # the RED listener: RED with its PT, every block Opus, the redundant one = the previous
        # primary, and the primaries decode to the tone
        reds = [p for pt, p in got if pt == RED_PT]
        assert len(reds) > 30, f"RED packets at the RED listener: {len(reds)} of {len(got)}"
        decoded = [red.decode(p) for p in reds]
        assert all(d is not None and all(b[0] == OPUS_PT for b in d) for d in decoded)
        with_redundancy = [d for d in decoded if d is not None and len(d) == 2]
        assert len(with_redundancy) > 20
        assert all(d[0][1] == 960 for d in with_redundancy)
        pcm = _decode_opus([d[-1][2] for d in decoded if d is not None])
        freq = dominant_frequency(pcm)
        assert freq is not None and abs(freq - 440) < 30, freq
    finally:
        for c in clients:
            await c.close()
        await sfu.close()


def _decode_opus(frames: list[bytes]) -> bytes:
    dec = av.CodecContext.create("libopus", "r")
    dec.sample_rate = 48000
    dec.layout = "mono"
    out = bytearray()
    for f in frames:
        for frame in dec.decode(av.Packet(f)):
            arr = frame.to_ndarray()
            out += arr.astype("int16").tobytes() if arr.dtype.kind == "i" else \
                (arr * 32767).astype("int16").tobytes()
    return bytes(out)


async def test_plain_speaker_still_reaches_red_listener_as_opus():
    """A speaker without RED (aiortc as is): a listener that negotiated RED gets plain Opus
    with its Opus PT (RED is per packet: only RED from the mic is forwarded as RED)."""
    sfu = SFU(server_name="a")
    clients: list[AudioClient] = []
    try:
        speaker = AudioClient(slots=1, mic=ToneTrack(660, 0.5))
        clients.append(speaker)
        await _join(sfu, "@speaker:a", speaker, with_red=False, may_send=True)
        listener = AudioClient(slots=2)
        clients.append(listener)
        await _join(sfu, "@red:a", listener, with_red=True, may_send=False)
        assert await wait_for(lambda: hears(listener, 0, 660), 8)
        assert sfu.stats()["red_received"] == 0
    finally:
        for c in clients:
            await c.close()
        await sfu.close()
        await asyncio.sleep(0)


async def test_recorder_and_relay_get_the_primary_of_a_red_speaker(tmp_path):
    """The recording file and the cascade relay carry plain Opus: a recording of a RED speaker
    decodes to its tone, and a listener on another server (through the relay) hears it."""
    from media import recorder
    a, b = SFU(server_name="a"), SFU(server_name="b")

    async def signal(room_id, host_name, offer):
        _rid, answer = await a.open_relay(room_id, "b", offer)
        return answer
    b.relay_signaller = signal
    clients: list[AudioClient] = []
    path = tmp_path / "room.arrec"
    try:
        speaker = AudioClient(slots=1, mic=ToneTrack(440, 0.5))
        clients.append(speaker)
        await _join(a, "@speaker:a", speaker, with_red=True, may_send=True)
        wrapper = RedSender(speaker)
        await a.start_recording(ROOM, str(path), 0)
        remote = AudioClient(slots=2)
        clients.append(remote)
        _sid, answer = await b.open_session(ROOM, "@remote:b", await remote.offer(), False)
        await remote.accept(answer)
        assert await wait_for(lambda: hears(remote, 0, 440), 8), "no 440 Hz through the relay"
        assert await wait_for(lambda: wrapper.sent > 30 and a.stats()["red_received"] > 30, 5)
        await a.stop_recording(ROOM)
        frames = [p for kind, _i, _t, _ts, p in recorder.read_records(path)
                  if kind == recorder.PACKET]
        assert len(frames) > 20
        # plain Opus (a RED payload would start with an F=1 header byte 0x80 | 96)
        assert not any(f[0] == 0x80 | OPUS_PT for f in frames)
        freq = dominant_frequency(_decode_opus(frames[5:]))
        assert freq is not None and abs(freq - 440) < 30, freq
    finally:
        for c in clients:
            await c.close()
        await b.close()
        await a.close()

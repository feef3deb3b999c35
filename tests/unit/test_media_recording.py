"""The recorder's file (what a crash leaves readable) and the mixer's output (timing, tones,
gaps, clips), on real files, with Opus encoded and decoded by PyAV."""
from __future__ import annotations

import os

import pytest

from media import mixer, recorder
from media.testing import decode_audio, opus_tone_packets, rtp_packet, tone_windows

RATE = 48000


def feed(rec: recorder.Recorder, user: str, packets: list[bytes], t0: float, ssrc: int,
         ts0: int = 1000, seq0: int = 7, level: int | None = 30, jitter=None) -> float:
    """Hand ``packets`` to the recorder as a 20 ms-paced stream starting at ``t0``."""
    t = t0
    for i, p in enumerate(packets):
        t = t0 + 0.02 * i + (jitter(i) if jitter else 0.0)
        rec.packet(user, rtp_packet(p, seq0 + i, ts0 + 960 * i, ssrc, level=level), t)
    return t


def test_records_round_trip_with_rtp_headers_stripped(tmp_path):
    path = tmp_path / "r.rec"
    rec = recorder.Recorder(path, started_ms=1_700_000_000_000, now=100.0)
    rec.packet("@a:x", rtp_packet(b"\x01\x02\x03", 1, 5000, level=10), 100.5)
    rec.packet("@b:y", rtp_packet(b"\x04\x05", 9, 6000), 100.75)
    padded = bytearray(rtp_packet(b"\x06\x07\x00\x00\x03", 2, 5960))  # 3 bytes of padding
    padded[0] |= 0x20
    rec.packet("@a:x", bytes(padded), 101.0)
    rec.packet("@a:x", b"\x90" + bytes(11), 101.1)  # extension announced, not there: ignored
    rec.close(102.0)
    assert recorder.read_header(path) == 1_700_000_000_000
    records = list(recorder.read_records(path))
    assert [(k, i, t, ts, p) for k, i, t, ts, p in records if k == recorder.PACKET] == [
        (1, 0, 500, 5000, b"\x01\x02\x03"), (1, 1, 750, 6000, b"\x04\x05"),
        (1, 0, 1000, 5960, b"\x06\x07")]
    s = recorder.summary(path)
    assert s["speakers"] == {0: "@a:x", 1: "@b:y"} and s["packets"] == 3 and s["ended"]


def test_buffered_packets_reach_the_file_within_the_flush_interval(tmp_path):
    """What a SIGKILL would leave: everything older than the flush interval is on disk."""
    path = tmp_path / "r.rec"
    rec = recorder.Recorder(path, 0, now=0.0, flush_interval=0.5)
    packets = [b"\xfc" + bytes(40)] * 100  # two seconds
    feed(rec, "@a:x", packets, 0.0, 1)
    on_disk = recorder.summary(path)  # the process "dies" here: no close
    assert not on_disk["ended"]
    assert on_disk["packets"] >= 100 - 26  # at most 0.5 s (25 packets) + one are buffered
    rec.tick(2.6)  # the timer writes out a room gone quiet
    assert recorder.summary(path)["packets"] == 100
    assert rec.checkpoints[0] == (0, recorder.HEADER_SIZE)
    assert all(a[0] <= b[0] and a[1] < b[1]
               for a, b in zip(rec.checkpoints, rec.checkpoints[1:], strict=False))
    os.close(rec.fd)


def test_a_torn_last_record_is_ignored(tmp_path):
    path = tmp_path / "r.rec"
    rec = recorder.Recorder(path, 0, now=0.0)
    feed(rec, "@a:x", [b"\xfc" + bytes(40)] * 10, 0.0, 1)
    rec.close(1.0)
    data = path.read_bytes()
    path.write_bytes(data[:-20])  # cut inside the last records
    assert recorder.summary(path)["packets"] == 9
    path.write_bytes(data[:10])
    with pytest.raises(recorder.NotARecording):
        recorder.summary(path)


def test_an_existing_file_is_never_overwritten(tmp_path):
    path = tmp_path / "r.rec"
    path.write_bytes(b"precious")
    with pytest.raises(FileExistsError):
        recorder.Recorder(path, 0, now=0.0)
    assert path.read_bytes() == b"precious"


def test_mix_places_speakers_by_their_timing_with_gaps_as_silence(tmp_path):
    """A 440 Hz speaker for 0-2 s, silence, a 660 Hz speaker for 3-5 s (with jittered
    arrivals and a new SSRC halfway), both at once for 5-6 s."""
    path = tmp_path / "r.rec"
    rec = recorder.Recorder(path, 1000, now=10.0)
    a = opus_tone_packets(440, 2.0)
    b = opus_tone_packets(660, 3.0)
    feed(rec, "@a:x", a, 10.0, 1, jitter=lambda i: 0.015 * (i % 3))
    feed(rec, "@b:y", b[:50], 13.0, 2)
    feed(rec, "@b:y", b[50:], 14.0, 3, ts0=987654321)  # reconnected: new SSRC and timestamps
    feed(rec, "@a:x", opus_tone_packets(440, 1.0), 15.0, 1, ts0=1000 + 960 * 250)
    rec.close(16.1)
    out = tmp_path / "mix.ogg"
    res = mixer.mix(path, out)
    pcm, rate = decode_audio(out.read_bytes())
    seconds = len(pcm) / 2 / rate
    assert abs(seconds - 6.0) < 0.1 and abs(res.duration_ms - 6000) < 60
    assert res.started_ms == 1000 and abs(res.ended_ms - 7000) < 60 and res.size > 1000
    w = tone_windows(pcm, rate)  # half-second windows
    assert w[0:4] == [440] * 4
    assert w[4:6] == [None, None]
    assert w[6:10] == [660] * 4
    assert set(w[10:12]) <= {440, 660} and None not in w[10:12]


def test_a_clip_is_the_window_asked_for(tmp_path):
    path = tmp_path / "r.rec"
    rec = recorder.Recorder(path, 0, now=0.0, flush_interval=0.2)
    feed(rec, "@a:x", opus_tone_packets(440, 4.0), 0.0, 1)
    feed(rec, "@a:x", opus_tone_packets(880, 3.0), 4.0, 1, ts0=1000 + 960 * 200)
    rec.flush(7.0)
    state = rec.state()
    start_ms = state["now_ms"] - 3000
    offset = max(o for t, o in state["checkpoints"] if t <= start_ms - 1000)
    out = tmp_path / "clip.ogg"
    res = mixer.mix(path, out, start_ms=start_ms, end_ms=state["now_ms"], offset=offset)
    pcm, rate = decode_audio(out.read_bytes())
    assert abs(len(pcm) / 2 / rate - 3.0) < 0.1 and res.duration_ms == 3000
    assert set(tone_windows(pcm, rate)) == {880}
    os.close(rec.fd)


def test_garbage_payloads_are_silence_not_a_failure(tmp_path):
    path = tmp_path / "r.rec"
    rec = recorder.Recorder(path, 0, now=0.0)
    good = opus_tone_packets(440, 1.0)
    bad = [os.urandom(n) for n in (1, 3, 200, 1200)] * 5
    feed(rec, "@a:x", good + bad + good, 0.0, 1)
    rec.close(3.0)
    res = mixer.mix(path, tmp_path / "m.ogg")
    pcm, rate = decode_audio((tmp_path / "m.ogg").read_bytes())
    assert abs(len(pcm) / 2 / rate - res.duration_ms / 1000) < 0.1
    assert tone_windows(pcm, rate)[0] == 440

"""Mixing a recording (``recorder.py``) into one Ogg/Opus file, off the forwarding path.

Run in a thread or a process (``asyncio.to_thread(mix, ...)``): it decodes each speaker's Opus
with PyAV, places every packet on the recording's timeline, adds the speakers up, and encodes
one mono 48 kHz Ogg/Opus stream as it goes, so memory stays a few seconds of audio however
long the recording is.

Placement: a packet's place is its RTP timestamp relative to an anchor (the arrival time of
the speaker's first packet), which keeps a speaker's audio as smooth as it was sent despite
network jitter; when the arrival time and that place disagree by more than ``REANCHOR_S``
(a new stream after a reconnect, a new SSRC, a sender clock drifting), the speaker is
re-anchored on the arrival time. Gaps (nobody speaking, lost packets) are silence.
"""
from __future__ import annotations

import fractions
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from .recorder import HEADER_SIZE, PACKET, read_header, read_records

RATE = 48000
REANCHOR_S = 0.25
HOLD_S = 1.0  # audio this far behind the latest arrival is final (jitter allowance)
CHUNK = RATE  # encoded in chunks of one second
BITRATE = 48000


@dataclass
class MixResult:
    duration_ms: int
    size: int
    started_ms: int  # wall clock of the output's first sample
    ended_ms: int  # wall clock of its end
    packets: int


class _Speaker:
    __slots__ = ("decoder", "anchor_pos", "anchor_ts")

    def __init__(self) -> None:
        self.decoder = av.CodecContext.create("opus", "r")
        self.decoder.sample_rate = RATE
        self.decoder.layout = "mono"  # stereo streams (aiortc sends them) are downmixed
        self.anchor_pos: int | None = None
        self.anchor_ts = 0


class _Encoder:
    def __init__(self, out_path: str | Path, bitrate: int):
        self.container = av.open(str(out_path), "w", format="ogg")
        stream = self.container.add_stream("libopus", rate=RATE)
        stream.layout = "mono"
        stream.bit_rate = bitrate
        # libopus's complexity 2 of 10: a third of the default's CPU; speech stays clean
        stream.codec_context.options = {"compression_level": "2"}
        self.stream = stream
        self.pts = 0

    def write(self, samples: np.ndarray) -> None:
        pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = RATE
        frame.pts = self.pts
        frame.time_base = fractions.Fraction(1, RATE)
        self.pts += len(pcm)
        for packet in self.stream.encode(frame):
            self.container.mux(packet)

    def close(self) -> None:
        for packet in self.stream.encode(None):
            self.container.mux(packet)
        self.container.close()


def mix(path: str | Path, out_path: str | Path, start_ms: int = 0, end_ms: int | None = None,
        offset: int = HEADER_SIZE, bitrate: int = BITRATE) -> MixResult:
    """Mix the recording at ``path`` from ``start_ms`` to ``end_ms`` (ms since its start;
    None: its last packet) into ``out_path`` (Ogg/Opus). ``offset``: where in the file to start
    reading (a recorder checkpoint at or before ``start_ms``, for clips)."""
    started_wall = read_header(path)
    start = start_ms * RATE // 1000
    end = None if end_ms is None else end_ms * RATE // 1000
    speakers: dict[int, _Speaker] = {}
    buf = np.zeros(4 * RATE + 2 * CHUNK, dtype=np.float32)
    base = start  # timeline position of buf[0]
    last_end = start  # end of the furthest audio placed
    packets = 0
    enc = _Encoder(out_path, bitrate)
    try:
        for kind, idx, t, ts, payload in read_records(path, offset):
            if kind != PACKET:
                continue
            arrival = t * RATE // 1000
            if end is not None and arrival > end + HOLD_S * RATE:
                break
            sp = speakers.get(idx)
            if sp is None:
                sp = speakers[idx] = _Speaker()
            if sp.anchor_pos is None:
                pos = arrival
            else:
                d = (ts - sp.anchor_ts) & 0xFFFFFFFF
                pos = sp.anchor_pos + (d - 0x100000000 if d >= 0x80000000 else d)
            if sp.anchor_pos is None or abs(pos - arrival) > REANCHOR_S * RATE:
                sp.anchor_pos, sp.anchor_ts, pos = arrival, ts, arrival
            if arrival < start - HOLD_S * RATE:
                continue  # before the window (the decoder is warmed by the next ones)
            try:
                frames = sp.decoder.decode(av.Packet(payload))
            except (av.FFmpegError, ValueError):
                continue  # not Opus, or damaged: that packet is silence
            packets += 1
            for frame in frames:
                pcm = _samples(frame)
                n = len(pcm)
                # emit what is final (well behind the latest arrival) to make room
                while arrival - base > HOLD_S * RATE + CHUNK or pos + n - base > len(buf):
                    base = _emit(enc, buf, base, end)
                lo, hi = max(pos, base), pos + n
                if end is not None:
                    hi = min(hi, end)
                if hi > lo:
                    buf[lo - base:hi - base] += pcm[lo - pos:hi - pos]
                    last_end = max(last_end, hi)
                pos += n
        stop = end if end is not None else last_end
        while base < stop:
            base = _emit(enc, buf, base, stop)
    finally:
        enc.close()
    samples = max(0, (stop if stop is not None else start) - start)
    return MixResult(duration_ms=samples * 1000 // RATE, size=Path(out_path).stat().st_size,
                     started_ms=started_wall + start * 1000 // RATE,
                     ended_ms=started_wall + (start + samples) * 1000 // RATE,
                     packets=packets)


def _samples(frame: av.AudioFrame) -> np.ndarray:
    """A decoded frame as mono float32 (a view of the frame's buffer, used at once)."""
    if frame.format.name in ("flt", "fltp") and len(frame.layout.channels) == 1:
        return np.frombuffer(memoryview(frame.planes[0]), dtype=np.float32, count=frame.samples)
    pcm = frame.to_ndarray()
    if frame.format.is_planar:
        pcm = pcm.mean(axis=0)
    else:  # interleaved channels
        pcm = pcm.reshape(-1, len(frame.layout.channels)).mean(axis=1)
    if pcm.dtype != np.float32:
        pcm = pcm.astype(np.float32) / 32768
    return pcm


def _emit(enc: _Encoder, buf: np.ndarray, base: int, end: int | None) -> int:
    """Encode the buffer's first chunk (up to ``end``), shift the rest down; new base."""
    n = CHUNK if end is None else max(0, min(CHUNK, end - base))
    if n:
        enc.write(buf[:n])
    else:
        n = CHUNK  # past the end: discard
    buf[:-n] = buf[n:]
    buf[-n:] = 0
    return base + n

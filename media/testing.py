"""aiortc participants for tests and benchmarks (not used by the server).

``AudioClient`` joins like a browser does: it offers a mic (optional, a ``ToneTrack`` sine
generator) and K recvonly slots, decodes what it receives, and records both the decoded audio
and the arrival time of every RTP packet per slot, so tests can check what was heard and when.
"""
from __future__ import annotations

import array
import asyncio
import fractions
import math
import time
from dataclasses import dataclass, field

import av
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

SAMPLE_RATE = 48000
PTIME = 0.02


class ToneTrack(MediaStreamTrack):
    """A real-time paced sine tone (mono, 48 kHz, 20 ms frames). ``frequency`` and
    ``amplitude`` (0..1, 0 is digital silence) can be changed while it plays."""

    kind = "audio"

    def __init__(self, frequency: float = 440.0, amplitude: float = 0.5):
        super().__init__()
        self.frequency = frequency
        self.amplitude = amplitude
        self._phase = 0.0
        self._start: float | None = None
        self._pts = 0
        self.sent_frames = 0

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        samples = int(SAMPLE_RATE * PTIME)
        if self._start is None:
            self._start = time.monotonic()
        else:
            wait = self._start + self._pts / SAMPLE_RATE - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        step = 2 * math.pi * self.frequency / SAMPLE_RATE
        amp = 32767 * self.amplitude
        values = [int(amp * math.sin(self._phase + step * i)) for i in range(samples)]
        self._phase = (self._phase + step * samples) % (2 * math.pi)
        frame = av.AudioFrame(format="s16", layout="mono", samples=samples)
        frame.planes[0].update(array.array("h", values).tobytes())
        frame.sample_rate = SAMPLE_RATE
        frame.pts = self._pts
        frame.time_base = fractions.Fraction(1, SAMPLE_RATE)
        self._pts += samples
        self.sent_frames += 1
        return frame


@dataclass
class SlotRecord:
    """What one slot received: RTP arrivals and decoded audio."""
    packets: list[tuple[float, int, int, int]] = field(default_factory=list)  # t, ssrc, seq, ts
    frames: list[tuple[float, bytes, int]] = field(default_factory=list)  # t, mono s16, rate

    def packets_between(self, t0: float, t1: float) -> int:
        return sum(1 for p in self.packets if t0 <= p[0] < t1)

    def last_packet_time(self) -> float | None:
        return self.packets[-1][0] if self.packets else None

    def audio_between(self, t0: float, t1: float) -> bytes:
        return b"".join(f for t, f, _ in self.frames if t0 <= t < t1)


class AudioClient:
    def __init__(self, slots: int = 3, mic: MediaStreamTrack | None = None,
                 decode: bool = True):
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.mic = mic
        self.decode = decode
        self.records: list[SlotRecord] = [SlotRecord() for _ in range(slots)]
        self._slot_transceivers = []
        self._tasks: list[asyncio.Task] = []
        if mic is not None:
            self.mic_transceiver = self.pc.addTransceiver(mic, direction="sendonly")
        for _ in range(slots):
            self._slot_transceivers.append(self.pc.addTransceiver("audio", direction="recvonly"))
        self.connected = asyncio.Event()
        self.first_packet_at: float | None = None

        @self.pc.on("connectionstatechange")
        def _state():
            if self.pc.connectionState == "connected":
                self.connected.set()

    async def offer(self) -> str:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return self.pc.localDescription.sdp

    async def accept(self, answer: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
        for i, tr in enumerate(self._slot_transceivers):
            self._hook(tr.receiver, self.records[i])
            if self.decode:
                self._tasks.append(asyncio.ensure_future(
                    self._read(tr.receiver.track, self.records[i])))

    def _hook(self, receiver, record: SlotRecord) -> None:
        original = receiver._handle_rtp_packet

        async def handle(packet, arrival_time_ms):
            now = time.monotonic()
            if self.first_packet_at is None:
                self.first_packet_at = now
            record.packets.append((now, packet.ssrc, packet.sequence_number, packet.timestamp))
            if self.decode:
                await original(packet, arrival_time_ms)

        receiver._handle_rtp_packet = handle

    async def _read(self, track, record: SlotRecord) -> None:
        try:
            while True:
                frame = await track.recv()
                arr = frame.to_ndarray()
                channels = len(frame.layout.channels)
                data = arr.tobytes()
                if channels > 1:  # keep the first channel of interleaved s16
                    data = b"".join(data[i:i + 2] for i in range(0, len(data), 2 * channels))
                record.frames.append((time.monotonic(), data, frame.sample_rate))
        except (MediaStreamError, asyncio.CancelledError):
            pass

    async def close(self) -> None:
        for t in self._tasks:
            t.cancel()
        await self.pc.close()


# what a client heard (tests) ------------------------------------------------------------

def dominant_frequency(pcm: bytes, rate: int = 48000) -> float | None:
    """The strongest frequency in mono s16 audio (FFT; numpy is a test-only dependency)."""
    import numpy
    x = numpy.frombuffer(pcm, dtype=numpy.int16).astype(numpy.float64)
    if len(x) < rate // 20:
        return None  # not enough audio to analyse
    x = x * numpy.hanning(len(x))
    spectrum = numpy.abs(numpy.fft.rfft(x))
    spectrum[:5] = 0  # no DC
    return float(numpy.argmax(spectrum) * rate / len(x))


def level_db(pcm: bytes) -> float:
    import numpy
    x = numpy.frombuffer(pcm, dtype=numpy.int16).astype(numpy.float64)
    rms = numpy.sqrt(numpy.mean(x ** 2)) if len(x) else 0.0
    return 20 * numpy.log10(max(rms, 1e-9) / 32768)


async def wait_for(predicate, timeout: float = 5.0, step: float = 0.01):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(step)
    return predicate()


def frequency_heard(client: AudioClient, slot: int, seconds: float = 0.4) -> float | None:
    rec = client.records[slot]
    now = time.monotonic()
    return dominant_frequency(rec.audio_between(now - seconds, now))


def tone(client: AudioClient, slot: int, seconds: float = 0.4) -> int | None:
    """The tone on a slot, to the nearest 10 Hz (the FFT's bins are 2.5 Hz wide)."""
    f = frequency_heard(client, slot, seconds)
    return None if f is None else int(round(f / 10) * 10)


def tones_of(client: AudioClient, slots, seconds: float = 0.4) -> list:
    """The tones on the given slots, sorted (None for a slot without enough audio)."""
    return sorted((tone(client, i, seconds) for i in slots), key=lambda t: (t is None, t or 0))


def hears(client: AudioClient, slot: int, freq: float, seconds: float = 0.4) -> bool:
    f = frequency_heard(client, slot, seconds)
    return f is not None and abs(f - freq) < 5


def tones_heard(client: AudioClient, seconds: float = 0.4) -> list[int]:
    """The tones on the slots that carried audio in the last ``seconds``."""
    now = time.monotonic()
    return sorted(t for t in (tone(client, i, seconds) for i, r in enumerate(client.records)
                              if len(r.audio_between(now - seconds, now)) >= 9600)
                  if t is not None)


def tone_switch_latency(client: AudioClient, slot: int, switched_at: float,
                        freq: float) -> float | None:
    """Seconds from the speaker's switch to ``freq`` until the listener decoded a frame of it."""
    for t, pcm, _rate in client.records[slot].frames:
        if t >= switched_at and len(pcm) >= 1920:
            f = dominant_frequency(pcm * 5)  # 20 ms: repeat for a usable window
            if f is not None and abs(f - freq) < 60:
                return t - switched_at
    return None


# recordings (tests and bench) ------------------------------------------------------------

def opus_tone_packets(frequency: float, seconds: float, amplitude: float = 0.5) -> list[bytes]:
    """Opus packets (20 ms, mono, 48 kHz) of a sine tone, encoded with PyAV."""
    import numpy
    enc = av.CodecContext.create("libopus", "w")
    enc.sample_rate = SAMPLE_RATE
    enc.layout = "mono"
    enc.format = av.AudioFormat("s16")
    enc.bit_rate = 32000
    enc.open()
    n = int(seconds * SAMPLE_RATE) // 960 * 960
    t = numpy.arange(n) / SAMPLE_RATE
    pcm = (amplitude * 32767 * numpy.sin(2 * math.pi * frequency * t)).astype(numpy.int16)
    out: list[bytes] = []
    for i in range(0, n, 960):
        frame = av.AudioFrame.from_ndarray(pcm[i:i + 960].reshape(1, -1), format="s16",
                                           layout="mono")
        frame.sample_rate = SAMPLE_RATE
        frame.pts = i
        frame.time_base = fractions.Fraction(1, SAMPLE_RATE)
        out.extend(bytes(p) for p in enc.encode(frame))
    return out  # the encoder's tail (its lookahead) is left out: n / 960 packets exactly


def rtp_packet(payload: bytes, seq: int, ts: int, ssrc: int = 1234, pt: int = 111,
               level: int | None = None) -> bytes:
    """An RTP packet (with a one-byte audio-level extension, ID 1, if ``level`` is given)."""
    import struct
    if level is None:
        return struct.pack("!BBHII", 0x80, pt, seq & 0xFFFF, ts & 0xFFFFFFFF, ssrc) + payload
    return struct.pack("!BBHIIHHBBH", 0x90, pt, seq & 0xFFFF, ts & 0xFFFFFFFF, ssrc,
                       0xBEDE, 1, 0x10, level, 0) + payload


def decode_audio(data_or_path) -> tuple[bytes, int]:
    """Decode an audio file (bytes or path) with PyAV: (mono s16 PCM, sample rate)."""
    import io

    import numpy
    src = io.BytesIO(data_or_path) if isinstance(data_or_path, bytes) else str(data_or_path)
    chunks = []
    rate = SAMPLE_RATE
    with av.open(src, "r") as container:
        resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
        for frame in container.decode(audio=0):
            for out in resampler.resample(frame):
                chunks.append(out.to_ndarray().reshape(-1))
        for out in resampler.resample(None):
            chunks.append(out.to_ndarray().reshape(-1))
    pcm = numpy.concatenate(chunks) if chunks else numpy.zeros(0, dtype=numpy.int16)
    return pcm.astype(numpy.int16).tobytes(), rate


def tone_windows(pcm: bytes, rate: int = SAMPLE_RATE, window: float = 0.5) -> list:
    """The dominant frequency (to the nearest 10 Hz) of each ``window`` of audio, None where
    it is (nearly) silent."""
    step = int(rate * window) * 2
    out: list[int | None] = []
    for i in range(0, len(pcm) - step + 1, step):
        chunk = pcm[i:i + step]
        if level_db(chunk) < -40:
            out.append(None)
            continue
        f = dominant_frequency(chunk, rate)
        out.append(None if f is None else int(round(f / 10) * 10))
    return out

"""Recording a room's stage: its speakers' Opus packets, appended to one file as they arrive.

Nothing is decoded here: ``Recorder.packet`` strips the RTP header, appends one small record
(speaker, arrival time, RTP timestamp, payload) to an in-memory buffer, and every
``flush_interval`` writes the buffer to the file (plain ``write``: a SIGKILLed process's
writes are in the kernel's page cache and survive it; the SFU's timer flushes too, so a quiet
room is written out as well). A crash therefore loses at most the last ``flush_interval`` plus
one timer tick. ``mixer.py`` turns a file into Ogg/Opus, off the forwarding path.

The file (little-endian)::

    header  b"ARREC01\\n" + u64 wall-clock start in ms                          (16 bytes)
    record  u8 kind, u16 speaker, u32 t_ms, u32 rtp_ts, u16 length, payload  (13 + length)

``t_ms`` is the arrival time in ms since the start (the SFU's monotonic clock), ``rtp_ts`` the
packet's RTP timestamp (48 kHz). Kinds: ``PACKET`` (payload: Opus), ``SPEAKER`` (declares a
speaker index; payload: the user ID in UTF-8), ``END`` (recording stopped cleanly). A file cut
off mid-record (a crash) is read up to its last whole record.
"""
from __future__ import annotations

import logging
import os
import struct
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger(__name__)
MAGIC = b"ARREC01\n"
HEADER = struct.Struct("<8sQ")
RECORD = struct.Struct("<BHIIH")
HEADER_SIZE = HEADER.size
PACKET, SPEAKER, END = 1, 2, 3
MAX_SPEAKERS = 0xFFFF
MAX_PAYLOAD = 1500
DEFAULT_MAX_BYTES = 4 << 30  # ~ 70 hours of three speakers; then the recorder stops keeping


class Recorder:
    """Appends a room's stage audio to ``path`` (a new file). Not thread-safe: the SFU's
    event loop calls ``packet`` (per packet), ``tick`` (its timer) and ``close``."""

    def __init__(self, path: str | Path, started_ms: int, now: float,
                 flush_interval: float = 0.5, max_bytes: int = DEFAULT_MAX_BYTES):
        self.path = str(path)
        self.started_ms = started_ms
        self.t0 = now
        self.flush_interval = flush_interval
        self.max_bytes = max_bytes
        self.fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        self.buf = bytearray(HEADER.pack(MAGIC, started_ms))
        self.offset = 0  # bytes in the file
        self.speakers: dict[str, int] = {}
        self.packets = 0
        self.full = False
        self.closed = False
        self.next_flush = now + flush_interval
        self.last_ms = 0
        # (t_ms, offset): every record from offset on arrived at t_ms or later (for clips)
        self.checkpoints: list[tuple[int, int]] = [(0, HEADER_SIZE)]
        self.flush(now)

    def _declare(self, user_id: str, now: float) -> int:
        idx = len(self.speakers)
        self.speakers[user_id] = idx
        name = user_id.encode()[:MAX_PAYLOAD]
        self.buf += RECORD.pack(SPEAKER, idx, self._ms(now), 0, len(name))
        self.buf += name
        return idx

    def _ms(self, now: float) -> int:
        return min(0xFFFFFFFF, max(0, int((now - self.t0) * 1000)))

    def packet(self, user_id: str, data: bytes, now: float) -> None:
        """One RTP packet of a stage speaker, as it arrived (already through the stage gate)."""
        if self.full:
            return
        idx = self.speakers.get(user_id)
        if idx is None:
            if len(self.speakers) >= MAX_SPEAKERS:
                return
            idx = self._declare(user_id, now)
        b0 = data[0]
        pos = 12 + 4 * (b0 & 0x0F)
        if b0 & 0x10:
            if len(data) < pos + 4:
                return
            pos += 4 + 4 * ((data[pos + 2] << 8) | data[pos + 3])
        end = len(data) - data[-1] if b0 & 0x20 else len(data)
        if pos >= end or end - pos > MAX_PAYLOAD:
            return
        ms = int((now - self.t0) * 1000)
        buf = self.buf
        buf += RECORD.pack(PACKET, idx, ms, int.from_bytes(data[4:8], "big"), end - pos)
        buf += data[pos:end]
        self.packets += 1
        if now >= self.next_flush:
            self.flush(now)

    def tick(self, now: float) -> None:
        """The SFU's timer: write out what a quiet room buffered."""
        if now >= self.next_flush:
            self.flush(now)

    def flush(self, now: float) -> None:
        self.next_flush = now + self.flush_interval
        if self.closed:
            return
        buf = self.buf
        if buf:
            view = memoryview(buf)
            done = 0
            try:
                while done < len(buf):
                    done += os.write(self.fd, view[done:])
            except OSError:  # disk full...: keep what is written, forward on regardless
                log.exception("recording to %s failed; it stops here", self.path)
                self.full = True
                done = len(buf)
            finally:
                view.release()
                self.offset += done
                del buf[:done]
            if self.offset >= self.max_bytes:
                self.full = True
        ms = self._ms(now)
        self.last_ms = ms
        if self.checkpoints[-1][1] != self.offset:
            self.checkpoints.append((ms, self.offset))

    def close(self, now: float) -> None:
        """Stop: write what is buffered and an END record; the file is then complete."""
        if self.closed:
            return
        self.buf += RECORD.pack(END, 0, self._ms(now), 0, 0)
        self.full = False
        self.flush(now)
        self.closed = True
        os.close(self.fd)

    def state(self) -> dict:
        """What a clip needs (JSON-able, so a cluster's worker can answer it)."""
        return {"path": self.path, "started_ms": self.started_ms, "now_ms": self.last_ms,
                "checkpoints": self.checkpoints[-200:], "speakers": dict(self.speakers)}


# reading ----------------------------------------------------------------------------------

class NotARecording(ValueError):
    pass


def read_header(path: str | Path) -> int:
    """The wall-clock start (ms) of a recording file."""
    with open(path, "rb") as f:
        head = f.read(HEADER_SIZE)
    if len(head) < HEADER_SIZE:
        raise NotARecording("truncated header")
    magic, started = HEADER.unpack(head)
    if magic != MAGIC:
        raise NotARecording("not a recording file")
    return started


def read_records(path: str | Path, offset: int = HEADER_SIZE,
                 chunk: int = 1 << 20) -> Iterator[tuple[int, int, int, int, bytes]]:
    """(kind, speaker, t_ms, rtp_ts, payload) from ``offset`` to the last whole record."""
    unpack = RECORD.unpack_from
    size = RECORD.size
    with open(path, "rb") as f:
        f.seek(offset)
        data = b""
        pos = 0
        while True:
            more = f.read(chunk)
            data = data[pos:] + more
            pos = 0
            n = len(data)
            while pos + size <= n:
                kind, idx, t, ts, length = unpack(data, pos)
                if pos + size + length > n:
                    break
                if kind not in (PACKET, SPEAKER, END) or length > MAX_PAYLOAD:
                    return  # garbage (a torn write): stop at the last good record
                yield kind, idx, t, ts, data[pos + size:pos + size + length]
                pos += size + length
            if not more:
                return


def summary(path: str | Path) -> dict:
    """Start, last arrival time, speakers and packets of a recording file, and whether it
    was stopped cleanly."""
    started = read_header(path)
    last = 0
    packets = 0
    speakers: dict[int, str] = {}
    ended = False
    for kind, idx, t, _ts, payload in read_records(path):
        last = max(last, t)
        if kind == PACKET:
            packets += 1
        elif kind == SPEAKER:
            speakers[idx] = payload.decode("utf-8", "replace")
        else:
            ended = True
    return {"started_ms": started, "last_ms": last, "packets": packets,
            "speakers": speakers, "ended": ended}

"""Recording a room's stage: its speakers' Opus packets, appended to one file as they arrive.

Nothing is decoded here: ``Recorder.packet`` appends one small record (speaker, arrival time,
the RTP packet) to an in-memory buffer, and every
``flush_interval`` writes the buffer to the file (plain ``write``: a SIGKILLed process's
writes are in the kernel's page cache and survive it; the SFU's timer flushes too, so a quiet
room is written out as well). A crash therefore loses at most the last ``flush_interval`` plus
one timer tick. ``mixer.py`` turns a file into Ogg/Opus, off the forwarding path.

The file (little-endian)::

    header  b"ARREC01\\n" + u64 wall-clock start in ms                          (16 bytes)
    record  u8 kind, u16 speaker, u32 t_ms, u16 length, payload                (9 + length)

``t_ms`` is the arrival time in ms since the start (the SFU's monotonic clock). Kinds:
``PACKET`` (payload: the RTP packet as received, so recording costs two appends and no
parsing; ``read_records`` strips the header and gives its RTP timestamp), ``SPEAKER``
(declares a speaker index; payload: the user ID in UTF-8), ``END`` (recording stopped
cleanly). A file cut off mid-record (a crash) is read up to its last whole record.
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
RECORD = struct.Struct("<BHIH")
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
        self.buf += RECORD.pack(SPEAKER, idx, self._ms(now), len(name))
        self.buf += name
        return idx

    def _ms(self, now: float) -> int:
        return min(0xFFFFFFFF, max(0, int((now - self.t0) * 1000)))

    def packet(self, user_id: str, data: bytes, now: float) -> None:
        """One RTP packet of a stage speaker, as it arrived (already through the stage gate).
        Kept whole (its header is parsed when the file is read, not here)."""
        if self.full:
            return
        idx = self.speakers.get(user_id)
        if idx is None:
            if len(self.speakers) >= MAX_SPEAKERS:
                return
            idx = self._declare(user_id, now)
        n = len(data)
        if n > MAX_PAYLOAD:
            return
        buf = self.buf
        buf += RECORD.pack(PACKET, idx, int((now - self.t0) * 1000), n)
        buf += data
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
        self.buf += RECORD.pack(END, 0, self._ms(now), 0)
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
    """(kind, speaker, t_ms, rtp_ts, payload) from ``offset`` to the last whole record; for
    ``PACKET`` the payload is the Opus data (RTP header and padding stripped; a packet whose
    header does not parse is skipped), for the others ``rtp_ts`` is 0."""
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
                kind, idx, t, length = unpack(data, pos)
                start = pos + size
                if start + length > n:
                    break
                if kind not in (PACKET, SPEAKER, END) or length > MAX_PAYLOAD:
                    return  # garbage (a torn write): stop at the last good record
                pos = start + length
                if kind != PACKET:
                    yield kind, idx, t, 0, data[start:pos]
                    continue
                opus = _rtp_payload(data, start, pos)
                if opus is not None:
                    yield kind, idx, t, int.from_bytes(data[start + 4:start + 8], "big"), opus
            if not more:
                return


def _rtp_payload(data: bytes, start: int, end: int) -> bytes | None:
    if end - start < 13:
        return None
    b0 = data[start]
    pos = start + 12 + 4 * (b0 & 0x0F)
    if b0 & 0x10:
        if end < pos + 4:
            return None
        pos += 4 + 4 * ((data[pos + 2] << 8) | data[pos + 3])
    if b0 & 0x20:
        end -= data[end - 1]
    if pos >= end:
        return None
    return data[pos:end]


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

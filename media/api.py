"""What the homeserver may ask of an SFU: ``SFU`` (sfu.py, in the caller's event loop) and
``SFUCluster`` (cluster.py, worker processes) both satisfy ``AudioSFU``.

Errors: the coroutines raise ``errors.MediaError`` subclasses for requests they refuse
(``SdpError`` for an unusable offer, ``CapacityExceeded``, ``Unavailable``); closing an unknown
session or relay is not an error.
"""
from __future__ import annotations

from collections.abc import Container
from typing import Protocol


class AudioSFU(Protocol):
    @property
    def rooms(self) -> Container[str]:
        """The rooms with audio here (``room_id in sfu.rooms``)."""
        ...

    async def open_session(self, room_id: str, user_id: str, offer_sdp: str,
                           may_send: bool) -> tuple[str, str]:
        """Answer a participant's offer: (session_id, answer_sdp)."""
        ...

    async def renegotiate_session(self, room_id: str, session_id: str, offer_sdp: str) -> str:
        """A new offer on an open session (an ICE restart): the answer SDP; the session keeps
        its id, slots and stage rights."""
        ...

    async def close_session(self, room_id: str, session_id: str) -> None: ...

    def set_may_send(self, room_id: str, user_id: str, may_send: bool) -> None:
        """The stage changed: effective before the next packet is forwarded."""
        ...

    def speakers(self, room_id: str) -> dict: ...

    async def get_speakers(self, room_id: str) -> dict: ...

    async def get_stats(self) -> dict: ...

    async def open_relay(self, room_id: str, origin_server: str,
                         offer_sdp: str) -> tuple[str, str]:
        """Another server's relay for a room we host: (relay_id, answer_sdp)."""
        ...

    async def close_relay(self, room_id: str, relay_id: str) -> None: ...

    async def close_room(self, room_id: str) -> None:
        """Closes its sessions and relays, and its recording (the file is then complete)."""
        ...

    async def start_recording(self, room_id: str, path: str, started_ms: int) -> None:
        """Keep the stage's Opus packets in a new file (recorder.py) until stopped."""
        ...

    async def stop_recording(self, room_id: str) -> dict | None:
        """Stop recording: the file is complete; ``Recorder.state()`` or None."""
        ...

    async def recording_state(self, room_id: str) -> dict | None:
        """Flush the recording and describe it (for clips); None when not recorded."""
        ...

    async def close(self) -> None: ...

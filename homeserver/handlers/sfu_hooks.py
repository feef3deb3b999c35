"""What the SFU asks of the homeserver: the SFU (media/) knows nothing of rooms or federation.

Built before the SFU and handed to it, so the SFU and the ``MediaHandler`` that drives it need
not be wired into each other after construction.
"""
from __future__ import annotations

from urllib.parse import quote

from federation.client import FederationClient

from .. import stage
from ..errors import MatrixError
from .rooms import RoomHandler


class SFUHooks:
    def __init__(self, rooms: RoomHandler, client: FederationClient):
        self.rooms = rooms
        self.client = client

    def may_publish(self, room_id: str, user_id: str) -> bool:
        """For users the SFU has not been told about (e.g. speakers relayed from another
        server): the stage's rule over the room's current state."""
        return stage.may_publish(self.rooms.state_view(room_id), user_id)

    async def relay_signaller(self, room_id: str, host: str, offer_sdp: str) -> str:
        """Remote side of the cascade: ask the host's SFU for a relay of this room (X-Matrix
        signed like every federation request)."""
        answer = await self.client.request(
            host, "POST", "/_matrix/federation/unstable/org.audiorooms/media/"
            f"{quote(room_id, safe='')}/relay", {"type": "offer", "sdp": offer_sdp})
        if not isinstance(answer.get("sdp"), str):
            raise MatrixError(f"{host} answered the relay without SDP", "M_UNKNOWN", 502)
        return answer["sdp"]

"""The audio SFU: sessions, Opus RTP forwarding without decoding, audio slots, cascade relays.

    from media import SFU, SFUCluster, MediaError, SdpError

``SFU`` runs in the caller's event loop; ``SFUCluster`` has the same interface and spreads
rooms and listeners over worker processes (or hosts). Neither imports aiohttp: the
homeserver's handlers call them. See ``media/README.md``.
"""
from .cluster import SFUCluster
from .sdp import SdpError
from .sfu import SFU, MediaError

__all__ = ["SFU", "SFUCluster", "MediaError", "SdpError"]

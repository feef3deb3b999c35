"""The audio SFU: sessions, Opus RTP forwarding without decoding, audio slots, cascade relays.

    from media import SFU, SFUCluster, AudioSFU, MediaError, SdpError

``SFU`` runs in the caller's event loop; ``SFUCluster`` has the same interface (``AudioSFU``)
and spreads rooms and listeners over worker processes (or hosts). Neither imports aiohttp: the
homeserver's handlers call them, and map ``errors.py``'s errors to Matrix errors.
See ``media/README.md``.
"""
from .api import AudioSFU
from .cluster import SFUCluster
from .errors import CapacityExceeded, MediaError, SdpError, Unavailable
from .sfu import SFU

__all__ = ["SFU", "SFUCluster", "AudioSFU", "MediaError", "SdpError", "CapacityExceeded",
           "Unavailable"]

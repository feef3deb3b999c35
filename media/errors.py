"""What the SFU refuses, as types: the homeserver maps each to a Matrix error.

    MediaError                 the base: a request the SFU (or cluster) cannot serve
    ├── SdpError               an unusable offer or answer (also a ValueError)
    ├── CapacityExceeded       no room for another connection (UDP ports, sockets)
    └── Unavailable            the SFU is closing, or a cluster worker is gone or failed

Errors cross the cluster's RPC by class name (``kind``); ``from_kind`` rebuilds them.
"""
from __future__ import annotations


class MediaError(Exception):
    """A request the SFU refuses."""


class SdpError(MediaError, ValueError):
    """The offer or answer cannot be used (malformed, no BUNDLE, no Opus audio section...)."""


class CapacityExceeded(MediaError):
    """No room for another connection: the UDP port range (or the process's sockets) is
    used up."""


class Unavailable(MediaError):
    """The SFU cannot serve now: it is closing, or a cluster worker is gone or failed."""


_KINDS: dict[str, type[MediaError]] = {
    cls.__name__: cls for cls in (MediaError, SdpError, CapacityExceeded, Unavailable)}


def kind_of(error: MediaError) -> str:
    """The name ``error`` travels under (its class, or the nearest one ``from_kind`` knows)."""
    for cls in type(error).__mro__:
        if cls.__name__ in _KINDS and _KINDS[cls.__name__] is cls:
            return cls.__name__
    return "MediaError"


def from_kind(kind: str, message: str) -> MediaError:
    """The local error for one reported by a worker as ``kind``: the same class if it is one of
    ours, else ``Unavailable`` (the worker failed in a way the request is not to blame for)."""
    return _KINDS.get(kind, Unavailable)(message)

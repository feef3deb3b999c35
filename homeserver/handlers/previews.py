"""Room previews for shareable links (``/r/<alias or room ID>``) and visitors with no account.

Only what the public directory already shows: a room we host and publish, or a room of a server
we federate with, as that server's directory (the hallway's data) lists it. Anything else,
private rooms included, gets no preview at all (the caller shows a generic page / 404), so a
link never tells a visitor more than the hallway would.
"""
from __future__ import annotations

import asyncio
import logging

from federation.pdus import server_of

from ..errors import MatrixError
from .audio import NS, AudioRoomHandler
from .directory import DirectoryHandler
from .rooms import ALIAS, ROOM_ID

log = logging.getLogger(__name__)
REMOTE_TIMEOUT_S = 5.0
MAX_STAGE = 20


def parse_ref(ref: str) -> str | None:
    """A link's room reference: ``!id:server``, ``#alias:server``, or ``alias:server`` (a
    browser never sends a URL's ``#...``, so the readable form may leave the ``#`` out)."""
    if not isinstance(ref, str) or len(ref) > 255:
        return None
    if ref.startswith("!"):
        return ref if ROOM_ID.match(ref) else None
    alias = ref if ref.startswith("#") else "#" + ref
    return alias if ALIAS.match(alias) else None


class RoomPreviews:
    def __init__(self, server_name: str, directory: DirectoryHandler, audio: AudioRoomHandler):
        self.server_name = server_name
        self.directory = directory
        self.audio = audio

    async def preview(self, ref: str) -> dict | None:
        """The preview of a public room, or None (unknown, private, or unreachable)."""
        target = parse_ref(ref)
        if target is None:
            return None
        alias = target if target.startswith("#") else None
        host = server_of(target)
        if host != self.server_name and host not in self.audio.known_servers():
            return None  # a visitor does not get to make us dial any server it names
        try:
            room_id = target if alias is None else (await asyncio.wait_for(
                self.directory.get_alias_async(alias), REMOTE_TIMEOUT_S))["room_id"]
        except (TimeoutError, MatrixError, OSError):
            return None
        except Exception as e:  # a remote server's odd answer: no preview, not a 500
            log.info("preview: cannot resolve %s: %s", alias, e)
            return None
        if not isinstance(room_id, str) or not ROOM_ID.match(room_id):
            return None
        room_server = server_of(room_id)
        entry: dict | None
        if room_server == self.server_name:
            if not self.directory.is_public(room_id):
                return None
            entry = self.directory.room_summary(room_id)
        else:
            if room_server not in self.audio.known_servers():
                return None
            try:
                entry = await asyncio.wait_for(self.audio.remote_entry(room_server, room_id),
                                               REMOTE_TIMEOUT_S)
            except (TimeoutError, MatrixError, OSError):
                entry = None
            if entry is None:
                return None
        return shape(entry, alias)


def _str(v, limit: int) -> str | None:
    return v[:limit] if isinstance(v, str) and v else None


def shape(entry: dict, alias: str | None) -> dict:
    """The preview's JSON (the web client's link view reads it): names, not IDs, on stage."""
    room_id = entry["room_id"]
    speakers = entry.get(NS + "speakers")
    stage = [s["displayname"] if isinstance(s.get("displayname"), str) and s["displayname"]
             else s.get("user_id") for s in speakers if isinstance(s, dict)] \
        if isinstance(speakers, list) else []
    out = {
        "room_id": room_id,
        "alias": alias or _str(entry.get("canonical_alias"), 255),
        "name": _str(entry.get("name"), 255),
        "topic": _str(entry.get("topic"), 1000),
        "live": entry.get(NS + "live") is True,
        "stage": [s[:255] for s in stage if isinstance(s, str)][:MAX_STAGE],
        "speaker_count": entry.get(NS + "speaker_count", len(stage)),
        "listener_count": entry.get(NS + "listener_count",
                                    entry.get("num_joined_members", 0)),
        "num_joined_members": entry.get("num_joined_members", 0),
        "host": entry.get(NS + "host") or server_of(room_id),
        "guest_access": "can_join" if entry.get("guest_can_join") else "forbidden",
        "audio_room": entry.get("room_type") == "org.audiorooms.audio",
    }
    if isinstance(entry.get(NS + "scheduled_for"), int):
        out["scheduled_for"] = entry[NS + "scheduled_for"]
    return out

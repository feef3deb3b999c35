"""Audio rooms: summaries (live, stage, counts), the federated hallway, and go-live notices.

The hallway is built from the public room directory: our own public audio rooms, plus those of
every server we federate with, pulled through federated ``publicRooms`` (whose entries carry
the ``org.audiorooms.*`` fields below) and cached for ``hallway_refresh_seconds``.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from federation.pdus import server_of

from .. import stage
from ..errors import InvalidParam
from ..storage.events import EventStore
from . import hallway_schema as schema
from .accounts import Requester
from .directory import DirectoryHandler
from .remote import RemoteQueries
from .rooms import RoomHandler

log = logging.getLogger(__name__)
NS = "org.audiorooms."
CLUB_LIVE = "org.audiorooms.club_live"  # in a club (space), keyed by the audio room's ID
NOTICE_NAME_MAX = 80  # characters of a room's name in a notice
NAME_REFRESH_S = 2.0  # a club notice may refresh a host's directory at most this often


class AudioRoomHandler:
    def __init__(self, server_name: str, store: EventStore, rooms: RoomHandler,
                 directory: DirectoryHandler, notices: NoticeSender,
                 remote: RemoteQueries | None, known_servers: Callable[[], set[str]],
                 refresh_seconds: float = 30.0, clock: Callable[[], float] = time.monotonic):
        self.server_name = server_name
        self.store = store
        self.rooms = rooms
        self.directory = directory
        self.notices = notices
        self.known_servers = known_servers
        self.refresh_seconds = refresh_seconds
        self.clock = clock
        self.remote = remote
        self._remote: dict[str, tuple[float, list[dict]]] = {}  # server -> (fetched, entries)
        self._tasks: set[asyncio.Task] = set()
        # make_app connects the SFU's handler here.
        self.room_ended_listeners: list[Callable[[str], None]] = []
        self.stage_changed_listeners: list[Callable[[str, dict], None]] = []

    # summaries -----------------------------------------------------------------------------

    def summary_fields(self, room_id: str, view) -> dict:
        if not stage.is_audio_room(view):
            return {}
        members = stage.stage_members(view)
        on_stage = [u for r in ("moderator", "speaker") for u in members[r]]
        mods = stage.moderators(view)
        on_stage += [m for m in mods if m not in on_stage]  # a derived moderator is on stage
        listeners = [u for u in members["listener"] if u not in on_stage]
        live = stage.live_state(view)
        live_ev = view.get((stage.LIVE, ""))
        out = {
            NS + "live": live.get("live", False),
            NS + "host": server_of(room_id),
            NS + "speakers": [{"user_id": u, "displayname": self._name(view, u),
                               "moderator": u in mods} for u in on_stage],
            NS + "speaker_count": len(on_stage),
            NS + "listener_count": len(listeners),
            NS + "clubs": sorted(k[1] for k in view if k[0] == "m.space.parent"),
            NS + "live_since": (live_ev or view[("m.room.create", "")])["origin_server_ts"],
        }
        if isinstance(live.get("scheduled_for"), int):
            out[NS + "scheduled_for"] = live["scheduled_for"]
        return out

    @staticmethod
    def _name(view, user_id: str) -> str:
        ev = view.get(("m.room.member", user_id))
        name = ev["content"].get("displayname") if ev else None
        return name if isinstance(name, str) and name else user_id

    # hallway -------------------------------------------------------------------------------

    async def hallway(self, limit: int = 20, since: str | None = None,
                      club: str | None = None, refresh: bool = False) -> dict:
        entries = [e for e in self.directory.public_rooms()["chunk"] if NS + "live" in e]
        for server in sorted(self.known_servers() - {self.server_name}):
            entries.extend(await self._remote_entries(server, refresh))
        if club:
            entries = [e for e in entries if club in e.get(NS + "clubs", [])]
        live = [e for e in entries if e[NS + "live"]]
        live.sort(key=lambda e: (-e[NS + "listener_count"], -e[NS + "live_since"],
                                 e["room_id"]))
        now_ms = int(time.time() * 1000)
        upcoming = [e for e in entries if not e[NS + "live"]
                    and e.get(NS + "scheduled_for", 0) >= now_ms - 3600_000]
        upcoming.sort(key=lambda e: (e[NS + "scheduled_for"], e["room_id"]))
        try:
            offset = int(since) if since else 0
        except ValueError:
            raise InvalidParam("since is not a valid hallway token") from None
        if offset < 0 or limit < 1:
            raise InvalidParam("since must be >= 0 and limit >= 1")
        page = live[offset:offset + limit]
        out = {"live": page, "upcoming": upcoming[:limit], "total_live": len(live)}
        if offset + limit < len(live):
            out["next_batch"] = str(offset + limit)
        return out

    async def _remote_entries(self, server: str, refresh: bool) -> list[dict]:
        cached = self._remote.get(server)
        if cached and not refresh and self.clock() - cached[0] < self.refresh_seconds:
            return cached[1]
        if self.remote is None:
            return []
        try:
            answer = await asyncio.wait_for(
                self.remote.remote_public_rooms(server, schema.MAX_ENTRIES, None, None), 5)
            # Each entry checked field by field: a bad one is dropped, not served or cached.
            entries = schema.hallway_entries(answer, server)
        except Exception as e:  # unreachable or no directory answer: keep the last good list
            log.info("hallway: cannot refresh %s: %s", server, e)
            return cached[1] if cached else []
        self._remote[server] = (self.clock(), entries)
        return entries

    # reacting to the stage -----------------------------------------------------------------

    def on_event(self, event: dict, stream: int) -> None:
        etype = event["type"]
        if etype == CLUB_LIVE:
            if event["content"].get("live") is True:
                asyncio.get_running_loop().call_soon(self._notify_club, event)
            return
        if etype not in (stage.LIVE, stage.ROLE, "m.room.member"):
            return
        view = self.rooms.state_view(event["room_id"])
        if not stage.is_audio_room(view):
            return
        for listener in self.stage_changed_listeners:
            listener(event["room_id"], event)
        if etype != stage.LIVE:
            return
        unsigned = event.get("unsigned") or {}
        before = unsigned.get("prev_content") or {}
        now_live = event["content"].get("live") is True
        if now_live and before.get("live") is not True and "prev_content" in unsigned:
            asyncio.get_running_loop().call_soon(self._announce_live, event)
        if not now_live and before.get("live") is True:
            for ended in self.room_ended_listeners:
                ended(event["room_id"])

    @staticmethod
    def _room_name(view) -> str | None:
        """The room's name from its state, as data for a notice: cleaned and bounded."""
        name = (view.get(("m.room.name", "")) or {}).get("content", {}).get("name")
        return _notice_name(name)

    def _announce_live(self, event: dict) -> None:
        """RSVP'd users on this server hear that the room went live; the server of whoever
        started it tells the room's clubs, whose members may be on servers not in the room."""
        room_id = event["room_id"]
        view = self.rooms.state_view(room_id)
        name = self._room_name(view)
        rsvps = {k[1] for k, ev in view.items() if k[0] == stage.RSVP
                 and ev["content"].get("going") is True}
        self._notify_local(rsvps, name, room_id)
        sender = event["sender"]
        if server_of(sender) != self.server_name:
            return
        for (etype, space_id) in list(view):
            if etype != "m.space.parent":
                continue
            if (self.store.membership(space_id, sender) or ("",))[0] != "join":
                continue
            try:
                self.rooms.send_event(space_id, sender, CLUB_LIVE,
                                      {"live": True, "name": name or room_id}, room_id)
            except Exception as e:  # e.g. no power in the club: the room still went live
                log.info("cannot announce %s in club %s: %s", room_id, space_id, e)

    def _notify_club(self, event: dict) -> None:
        task = asyncio.ensure_future(self._club_notice(event))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _club_notice(self, event: dict) -> None:
        """A club says one of its rooms went live. Whoever posted it chose the event's content,
        so the notice's words are ours: the room's name comes from the room's own state if we
        hold it, else from its host's directory entry (checked), else there is none."""
        room_id = event["state_key"]
        if not isinstance(room_id, str) or not schema.ROOM_ID.match(room_id):
            return
        in_room = set(self.store.room_members(room_id))
        members = set(self.store.room_members(event["room_id"])) - in_room - {event["sender"]}
        if not any(server_of(u) == self.server_name for u in members):
            return
        try:
            name = await self._trusted_room_name(room_id)
        except Exception as e:  # the notice goes out without a name
            log.info("no name for %s: %s", room_id, e)
            name = None
        self._notify_local(members, name, room_id)

    async def _trusted_room_name(self, room_id: str) -> str | None:
        if self.store.current_state_ids(room_id):
            return self._room_name(self.rooms.state_view(room_id))
        host = schema.room_server(room_id)
        if host == self.server_name or host not in self.known_servers():
            return None
        for refresh in (False, True):
            entry = next((e for e in await self._remote_entries(host, refresh)
                          if e["room_id"] == room_id), None)
            if entry is not None:
                return _notice_name(entry.get("name"))
            fetched = self._remote.get(host, (0.0, []))[0]
            if self.clock() - fetched < NAME_REFRESH_S:
                break  # asked just now: do not let a club make us ask again and again
        return None

    def _notify_local(self, users, name: str | None, room_id: str) -> None:
        # A fixed template; the name is data (also a field of its own), never the message.
        what = name if name else "An audio room"
        extra = {NS + "room_id": room_id, **({NS + "room_name": name} if name else {})}
        for user_id in sorted(u for u in users if server_of(u) == self.server_name):
            try:
                self.notices.send(user_id, f"🎙 {what} is live now. Join: {room_id}", extra)
            except Exception:
                log.exception("could not notify %s that %s went live", user_id, room_id)


def _notice_name(name) -> str | None:
    if not isinstance(name, str):
        return None
    return schema.clean_text(name, NOTICE_NAME_MAX) or None


class NoticeSender:
    """Server notices: a DM from ``@notices:<server>`` that the user is joined to."""

    def __init__(self, server_name: str, rooms: RoomHandler, users, account_data):
        self.server_name = server_name
        self.rooms = rooms
        self.users = users
        self.account_data = account_data
        self.user_id = f"@notices:{server_name}"

    def send(self, user_id: str, body: str, extra: dict | None = None) -> str:
        if not self.users.user_exists(self.user_id):
            self.users.create_user(self.user_id, None, "Server notices")
        me = Requester(self.user_id, "server", b"")
        direct = self.account_data.get(self.user_id, "", "m.direct") or {}
        room_id = next((r for r in direct.get(user_id, [])
                        if (self.rooms.store.membership(r, user_id) or ("",))[0] == "join"),
                       None)
        if room_id is None:
            room_id = self.rooms.create_room(me, {"is_direct": True, "invite": [user_id],
                                                  "preset": "trusted_private_chat",
                                                  "name": "Server notices"})["room_id"]
            self.rooms.join(Requester(user_id, "server", b""), room_id)
        content = {"msgtype": "m.notice", "body": body, **(extra or {})}
        return self.rooms.send_event(room_id, self.user_id, "m.room.message", content)["event_id"]

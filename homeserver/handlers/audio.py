"""Audio rooms: summaries (live, stage, counts), the federated hallway, and go-live notices.

The hallway is built from the public room directory: our own public audio rooms, plus those of
every server we federate with, pulled through federated ``publicRooms`` (whose entries carry
the ``org.audiorooms.*`` fields below) and cached for ``hallway_refresh_seconds``. Between
pulls, servers push changes to their rooms (``org.audiorooms.hallway`` EDUs, see
hallway_push.py) and ``on_hallway_edu`` lays them over the cached lists (hallway_cache.py).
A room whose own "ended" event we hold (we are in it) is never listed live on a cached word.
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
from .background import soon
from .directory import DirectoryHandler
from .hallway_cache import RemoteHallways
from .remote import RemoteQueries
from .rooms import RoomHandler

log = logging.getLogger(__name__)
NS = "org.audiorooms."
CLUB_LIVE = "org.audiorooms.club_live"  # in a club (space), keyed by the audio room's ID
RECORDING = "org.audiorooms.recording"
REPLAY = "org.audiorooms.replay"
NOTICE_NAME_MAX = 80  # characters of a room's name in a notice
NAME_REFRESH_S = 2.0  # a club notice may refresh a host's directory at most this often
PULL_BACKOFF_S = 5.0  # a server whose directory could not be pulled is not asked again sooner
KNOWN_TTL_S = 1.0  # who we federate with, as the push receiver checks it, is this fresh
MAX_HALLWAY_REPLAYS = 50
REPLAY_SCAN = 20  # a room's newest replay messages read to find its MAX_REPLAYS good ones


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
        self.hallways = RemoteHallways()  # other servers' lists, pulled and pushed
        self.pulls = 0  # pulls of other servers' directories made (for tests and metrics)
        self._ended: dict[str, int] | None = None  # room -> ts of the "ended" event we hold
        self._known: tuple[float, set[str]] = (-KNOWN_TTL_S, set())
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
            NS + "speakers": [self._speaker(view, u, u in mods)
                              for u in on_stage[:schema.MAX_SPEAKERS]],
            NS + "speaker_count": len(on_stage),
            NS + "listener_count": len(listeners),
            NS + "clubs": sorted(k[1] for k in view if k[0] == "m.space.parent"),
            NS + "live_since": (live_ev or view[("m.room.create", "")])["origin_server_ts"],
        }
        if isinstance(live.get("scheduled_for"), int):
            out[NS + "scheduled_for"] = live["scheduled_for"]
        replays = self._replays(room_id, view, mods)
        if replays:
            out[NS + "replays"] = replays
        return out

    def _replays(self, room_id: str, view, mods: list[str]) -> list[dict]:
        """The room's newest recordings, as the design's ``m.audio`` replay events posted by
        a moderator or the room's creator (who may start a recording: the stage rules, not
        power levels, which audio rooms open to everyone for stage events), the file in our
        own media repository; each checked like a remote server's, so what we serve is
        well-formed."""
        if server_of(room_id) != self.server_name:
            return []
        create = view.get(("m.room.create", ""))
        creator = (create or {}).get("sender")
        out = []
        for ev in self.store.replay_events(room_id, REPLAY_SCAN):
            content, sender = ev.get("content") or {}, ev.get("sender")
            if content.get("msgtype") != "m.audio" or not isinstance(sender, str) or not (
                    sender in mods or sender == creator):
                continue
            info, times = content.get("info"), content.get(REPLAY) or {}
            try:
                item = schema.replay({
                    "event_id": ev.get("event_id"), "url": content.get("url"),
                    "duration": info.get("duration") if isinstance(info, dict) else None,
                    "started_ts": times.get("started_ts"), "ended_ts": times.get("ended_ts")})
            except ValueError:
                continue
            if schema.mxc_server(item["url"]) == self.server_name:
                out.append(item)
                if len(out) >= schema.MAX_REPLAYS:
                    break
        return out

    @classmethod
    def _speaker(cls, view, user_id: str, moderator: bool) -> dict:
        """A face in the hallway: name, moderator flag, and their photo (an mxc URI from
        their member event) when they have one; checked as other servers' entries are."""
        ev = view.get(("m.room.member", user_id))
        out = {"user_id": user_id, "displayname": cls._name(view, user_id),
               "moderator": moderator}
        avatar = schema.face_url(ev["content"].get("avatar_url") if ev else None)
        if avatar is not None:
            out["avatar_url"] = avatar
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
        ended = self._ended_rooms()
        for server in sorted(self.known_servers() - {self.server_name}):
            for e in await self._remote_entries(server, refresh):
                if self.directory.hidden(e["room_id"]):  # blocked here by an admin
                    continue
                if e[NS + "live"] and ended.get(e["room_id"], -1) >= e[NS + "live_since"]:
                    e = {**e, NS + "live": False}  # we hold its "ended": a cached word is old
                entries.append(e)
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
        out = {"live": page, "upcoming": upcoming[:limit], "total_live": len(live),
               "replays": _hallway_replays(entries, min(limit, MAX_HALLWAY_REPLAYS))}
        if offset + limit < len(live):
            out["next_batch"] = str(offset + limit)
        return out

    async def _remote_entries(self, server: str, refresh: bool) -> list[dict]:
        now = self.clock()
        if self.remote is None or not refresh and (
                self.hallways.fresh(server, now, self.refresh_seconds)
                or self.hallways.failed_recently(server, now, PULL_BACKOFF_S)):
            return self.hallways.entries(server)
        self.pulls += 1
        try:
            answer = await asyncio.wait_for(
                self.remote.remote_public_rooms(server, schema.MAX_ENTRIES, None, None), 5)
            # Each entry checked field by field: a bad one is dropped, not served or cached.
            entries = schema.hallway_entries(answer, server)
        except Exception as e:  # unreachable or no directory answer: keep the last good list
            log.info("hallway: cannot refresh %s: %s", server, e)
            self.hallways.pull_failed(server, self.clock())
            return self.hallways.entries(server)
        self.hallways.pulled(server, now, entries)
        return self.hallways.entries(server)

    async def remote_entry(self, server: str, room_id: str) -> dict | None:
        """A room of another server as its directory lists it (the hallway's cached copy)."""
        for e in await self._remote_entries(server, False):
            if e.get("room_id") == room_id:
                return e
        return None

    def on_hallway_edu(self, origin: str, content: dict) -> None:
        """A server we federate with pushed changes to its hallway (``org.audiorooms.hallway``:
        see hallway_push.py). Only its own rooms, each checked like a pulled entry; a server
        we do not list is not listened to (so this keeps nothing for strangers)."""
        now = self.clock()
        if now - self._known[0] >= KNOWN_TTL_S:
            self._known = (now, self.known_servers())
        if origin == self.server_name or origin not in self._known[1]:
            log.info("ignored a hallway push from %s, a server we do not list", origin)
            return
        try:
            boot, seq, updates = schema.hallway_push(content, origin)
        except schema.Invalid as e:
            log.info("ignored a malformed hallway push from %s: %s", origin, e)
            return
        self.hallways.pushed(origin, boot, seq, updates, now)

    def _ended_rooms(self) -> dict[str, int]:
        if self._ended is None:  # once, then kept by on_event
            self._ended = self.store.ended_audio_rooms()
        return self._ended

    # reacting to the stage -----------------------------------------------------------------

    def on_event_elsewhere(self, event: dict, stream: int) -> None:
        """An event another process of this server committed: only this process's own state
        follows (ended rooms, the SFU's stage rights); notices went out from that process."""
        etype = event["type"]
        if etype not in (stage.LIVE, stage.ROLE, "m.room.member"):
            return
        if etype == stage.LIVE and event.get("state_key") == "" and self._ended is not None:
            if event["content"].get("live") is False:
                self._ended[event["room_id"]] = event["origin_server_ts"]
            else:
                self._ended.pop(event["room_id"], None)
        view = self.rooms.state_view(event["room_id"])
        if not stage.is_audio_room(view):
            return
        for listener in self.stage_changed_listeners:
            listener(event["room_id"], event)
        if etype == stage.LIVE and event["content"].get("live") is not True and \
                ((event.get("unsigned") or {}).get("prev_content") or {}).get("live") is True:
            for ended in self.room_ended_listeners:
                ended(event["room_id"])

    def on_event(self, event: dict, stream: int) -> None:
        etype = event["type"]
        if etype == CLUB_LIVE:
            if event["content"].get("live") is True:
                soon(self._notify_club, event)
            return
        if etype == stage.LIVE and event.get("state_key") == "":
            ended_at = self._ended_rooms()
            if event["content"].get("live") is False:
                ended_at[event["room_id"]] = event["origin_server_ts"]
            else:
                ended_at.pop(event["room_id"], None)
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
            soon(self._announce_live, event)
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
            fetched = self.hallways.fetched(host)
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


def _hallway_replays(entries: list[dict], limit: int) -> list[dict]:
    """The replays of the listed rooms, newest first: each with its room's ID, name, host."""
    out = []
    for e in entries:
        for r in e.get(NS + "replays", []):
            out.append({**r, "room_id": e["room_id"], "host": e[NS + "host"],
                        **({"name": e["name"]} if "name" in e else {})})
    out.sort(key=lambda r: (-r["ended_ts"], -r["started_ts"], r["event_id"]))
    return out[:limit]


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
        room_id = self.room_for(user_id)
        content = {"msgtype": "m.notice", "body": body, **(extra or {})}
        return self.rooms.send_event(room_id, self.user_id, "m.room.message", content)["event_id"]

    def room_for(self, user_id: str) -> str:
        """The user's server-notices room (created, with the user joined, on first use)."""
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
        return room_id

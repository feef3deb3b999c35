"""Recording audio rooms with consent, their replays, and clips.

``org.audiorooms.recording`` (state, moderators only: stage.py) turns recording on and off.
The host's SFU keeps the stage's Opus packets in a file per recording (media/recorder.py); when
recording stops or the room ends, the file is mixed in a thread (media/mixer.py) into one
Ogg/Opus file, stored in the media repository, and announced in the room with an ``m.audio``
message carrying ``org.audiorooms.replay``. A recording cut off by a crash (or a shutdown) is
mixed at the next start from what reached its file, and recording resumes if the room still
says so.

Who posts the replay: the room's creator (the host's own user, a moderator from the start and
on every server the same identity, also when a crash left nobody to ask); when the creator has
left, a local moderator still in the room; failing that, a local member who started or stopped
the recording. Every server tells its own users who step onto the stage of a recorded room
(and those already on stage when recording starts) with a server notice.

Clips: the last 1-60 seconds of the recording, mixed from the file's tail, for any joined
member while the room is recorded; members of other servers ask their own server, which asks
the host over federation (the clip is the host's media).
"""
from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

from federation.client import RemoteServerError
from federation.exceptions import FederationError
from federation.pdus import server_of
from media import mixer, recorder
from media.api import AudioSFU
from media.errors import MediaError

from .. import stage
from ..config import RateLimit
from ..errors import Forbidden, InvalidParam, MatrixError
from ..storage.events import EventStore
from ..storage.recordings import RecordingRow, RecordingStore
from .accounts import Requester
from .audio import NoticeSender
from .background import soon
from .content_repo import ContentRepository
from .media_rules import valid_media_id
from .ratelimit import RateLimiter
from .remote import RemoteQueries
from .rooms import RoomHandler

log = logging.getLogger(__name__)
NOT_RECORDING = "ORG.AUDIOROOMS_NOT_RECORDING"
MAX_CLIP_S = 60
ALLOWED_REMOTE_ERRORS = (NOT_RECORDING, "M_FORBIDDEN", "M_INVALID_PARAM", "M_LIMIT_EXCEEDED",
                         "M_NOT_FOUND")
CLIP_LIMIT = RateLimit(per_second=0.2, burst=3)  # per user: 3 at once, then one per 5 s
SERVER_CLIP_LIMIT = RateLimit(per_second=2.0, burst=10)  # per remote server, all its users
MIXERS = 2  # mixes running at once (each a thread)
CLIP_PATH = "/_matrix/federation/unstable/org.audiorooms/clip/"
RECORDING_NOTICE = ("🔴 {what} is being recorded: what you say on its stage will be in its "
                    "replay. Room: {room_id}")


class NotRecording(MatrixError):
    status, errcode = 403, NOT_RECORDING


def _mix_file(src: str, out: Path, start_ms: int = 0, end_ms: int | None = None,
              offset: int = recorder.HEADER_SIZE) -> tuple[mixer.MixResult, str]:
    """In a worker thread: mix, then hash the output (nothing here touches the loop)."""
    res = mixer.mix(src, out, start_ms, end_ms, offset)
    h = hashlib.sha256()
    with open(out, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return res, h.hexdigest()


class RecordingHandler:
    def __init__(self, server_name: str, store: EventStore, rooms: RoomHandler,
                 recordings: RecordingStore, sfu: AudioSFU, content: ContentRepository,
                 notices: NoticeSender, folder: Path, clip_limiter: RateLimiter,
                 remote: RemoteQueries | None = None,
                 clock: Callable[[], float] = time.time):
        self.server_name = server_name
        self.store = store
        self.rooms = rooms
        self.recordings = recordings
        self.sfu = sfu
        self.content = content
        self.notices = notices
        self.folder = folder
        self.clip_limiter = clip_limiter
        self.server_clip_limiter = RateLimiter(SERVER_CLIP_LIMIT)
        self.remote = remote
        self.clock = clock
        folder.mkdir(parents=True, exist_ok=True)
        self._mixers = asyncio.Semaphore(MIXERS)
        self._chains: dict[str, asyncio.Future] = {}  # room -> its last start/stop
        self._tasks: set[asyncio.Future] = set()

    def _now_ms(self) -> int:
        return int(self.clock() * 1000)

    # lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        """Recordings a crash (or a shutdown) left unfinished: mixed now, in the background;
        recording resumes where the room still says so."""
        for row in self.recordings.unfinished():
            self._chain(row.room_id, lambda row=row: self._recover(row))

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            try:
                await task
            except BaseException:  # noqa: S110 - stopping: whatever they were doing is redone
                pass

    def _chain(self, room_id: str, make) -> None:
        """Run ``make()`` after the room's previous recording step (starts, stops and mixes of
        one room happen in order)."""
        before = self._chains.get(room_id)

        async def run():
            if before is not None and not before.done():
                try:
                    await asyncio.shield(before)
                except BaseException:  # noqa: S110 - its failure was logged by it
                    pass
            try:
                await make()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("recording step for %s failed", room_id)

        task = asyncio.ensure_future(run())
        self._chains[room_id] = task
        self._tasks.add(task)

        def done(t):
            self._tasks.discard(t)
            if self._chains.get(room_id) is t:
                del self._chains[room_id]
        task.add_done_callback(done)

    # the room's events ---------------------------------------------------------------------

    def on_event(self, event: dict, stream: int) -> None:
        etype = event["type"]
        if etype not in (stage.RECORDING, stage.LIVE, stage.ROLE):
            return
        room_id = event["room_id"]
        view = self.rooms.state_view(room_id)
        if not stage.is_audio_room(view):
            return
        content = event.get("content") or {}
        prev = (event.get("unsigned") or {}).get("prev_content") or {}
        host = self.rooms.is_host(room_id)
        if etype == stage.RECORDING:
            if content.get("recording") is True and prev.get("recording") is not True:
                if host:
                    self._chain(room_id, lambda: self._start(room_id, event["sender"]))
                on_stage = [u for u in stage.publishers(view) | set(stage.moderators(view))
                            if u != event["sender"]]
                self._notify_soon(view, room_id, on_stage)
            elif content.get("recording") is False and host:
                self._chain(room_id, lambda: self._stop(room_id, event["sender"]))
        elif etype == stage.LIVE:
            if content.get("live") is False and host and stage.is_recorded(view):
                self._chain(room_id, lambda: self._stop(room_id, event["sender"]))
            elif content.get("live") is True and host and stage.is_recorded(view):
                self._chain(room_id, lambda: self._start(room_id, event["sender"]))
        elif stage.is_recorded(view):  # ROLE: someone stepping onto the stage is told
            if content.get("role") in stage.STAGE_ROLES and \
                    prev.get("role") not in stage.STAGE_ROLES:
                self._notify_soon(view, room_id, [event["state_key"]])

    def _notify_soon(self, view, room_id: str, users) -> None:
        # not from inside the event listener: a notice is itself an event (and maybe a room)
        soon(self._notify, view, room_id, list(users))

    def _notify(self, view, room_id: str, users) -> None:
        name = (view.get(("m.room.name", "")) or {}).get("content", {}).get("name")
        what = "This room"
        if isinstance(name, str) and name.strip() and len(name) <= 80 and name.isprintable():
            what = f"“{name.strip()}”"
        body = RECORDING_NOTICE.format(what=what, room_id=room_id)
        for user_id in sorted(set(users)):
            if server_of(user_id) != self.server_name:
                continue  # its own server tells it
            try:
                self.notices.send(user_id, body, {"org.audiorooms.room_id": room_id,
                                                  "org.audiorooms.recording": True})
            except Exception:
                log.exception("could not tell %s that %s is recorded", user_id, room_id)

    # start, stop, mix ----------------------------------------------------------------------

    async def _start(self, room_id: str, by: str) -> None:
        view = self.rooms.state_view(room_id)
        if not stage.is_recorded(view) or stage.live_state(view).get("live") is False:
            return
        if self.recordings.active(room_id) is not None:
            return
        rec_id = secrets.token_hex(12)
        path = self.folder / f"{rec_id}.rec"
        started = self._now_ms()
        self.recordings.add(rec_id, room_id, str(path), started, by)
        try:
            await self.sfu.start_recording(room_id, str(path), started)
        except MediaError as e:
            log.warning("cannot record %s: %s", room_id, e)
            self.recordings.stopped(rec_id, started, None)
            self.recordings.finished(rec_id, "failed", None, None)

    async def _stop(self, room_id: str, by: str | None) -> None:
        row = self.recordings.active(room_id)
        if row is None:
            return
        try:
            await self.sfu.stop_recording(room_id)
        except MediaError as e:  # the file holds what was flushed
            log.warning("stopping the recording of %s: %s", room_id, e)
        self.recordings.stopped(row.id, self._now_ms(), by)
        await self._finish(self.recordings.get(row.id) or row)

    async def _recover(self, row: RecordingRow) -> None:
        log.info("finishing recording %s of %s left by a restart", row.id, row.room_id)
        if row.state == "recording":
            self.recordings.stopped(row.id, self._now_ms(), None)
        await self._finish(self.recordings.get(row.id) or row)
        if self.rooms.is_host(row.room_id):
            await self._start(row.room_id, row.started_by)

    async def _finish(self, row: RecordingRow) -> None:
        """Mix the file into a replay, store it, announce it in the room."""
        out = self.content.temp_path("replay-")
        try:
            async with self._mixers:
                res, sha = await asyncio.to_thread(_mix_file, row.path, out)
        except (OSError, recorder.NotARecording, ValueError) as e:
            log.warning("recording %s cannot be mixed: %s", row.id, e)
            out.unlink(missing_ok=True)
            self.recordings.finished(row.id, "failed", None, None)
            return
        except BaseException:
            out.unlink(missing_ok=True)
            raise
        if res.packets == 0:
            out.unlink(missing_ok=True)
            self.recordings.finished(row.id, "empty", None, None)
            Path(row.path).unlink(missing_ok=True)
            return
        poster = self._poster(row)
        uri = self.content.store_file(out, "audio/ogg", "replay.ogg", poster, sha)
        event_id = None
        if poster is None:
            log.warning("nobody here can post the replay of %s (%s)", row.room_id, uri)
        else:
            view = self.rooms.state_view(row.room_id)
            name = (view.get(("m.room.name", "")) or {}).get("content", {}).get("name")
            title = name if isinstance(name, str) and 0 < len(name) <= 200 else "the room"
            content = {
                "msgtype": "m.audio", "body": f"Replay of {title}", "url": uri,
                "info": {"mimetype": "audio/ogg", "duration": res.duration_ms,
                         "size": res.size},
                "org.audiorooms.replay": {"started_ts": res.started_ms,
                                          "ended_ts": res.ended_ms},
            }
            event_id = self.rooms.send_event(row.room_id, poster, "m.room.message",
                                             content)["event_id"]
        self.recordings.finished(row.id, "done", uri, event_id)
        Path(row.path).unlink(missing_ok=True)

    def _joined_here(self, room_id: str, user_id: str | None) -> bool:
        return user_id is not None and server_of(user_id) == self.server_name and \
            (self.store.membership(room_id, user_id) or ("",))[0] == "join"

    def _poster(self, row: RecordingRow) -> str | None:
        room = self.store.get_room(row.room_id) or {}
        view = self.rooms.state_view(row.room_id)
        candidates = [room.get("creator")] + sorted(stage.moderators(view)) + \
            [row.stopped_by, row.started_by]
        return next((u for u in candidates if self._joined_here(row.room_id, u)), None)

    # clips ---------------------------------------------------------------------------------

    def _check_clip(self, room_id: str, user_id: str, body: dict) -> int:
        seconds = body.get("seconds") if isinstance(body, dict) else None
        if not isinstance(seconds, int) or isinstance(seconds, bool) or \
                not 1 <= seconds <= MAX_CLIP_S:
            raise InvalidParam(f"seconds must be a whole number from 1 to {MAX_CLIP_S}")
        self.rooms.known_room(room_id)
        if (self.store.membership(room_id, user_id) or ("",))[0] != "join":
            raise Forbidden("You are not in this room")
        view = self.rooms.state_view(room_id)
        if not stage.is_audio_room(view):
            raise InvalidParam("This is not an audio room")
        if not stage.is_recorded(view):
            raise NotRecording("This room is not being recorded")
        return seconds

    async def clip(self, req: Requester, room_id: str, body: dict) -> dict:
        """POST .../rooms/{roomId}/clip: the room's last N seconds as Ogg/Opus media."""
        seconds = self._check_clip(room_id, req.user_id, body)
        self.clip_limiter.check(req.user_id)
        if self.rooms.is_host(room_id):
            return await self._make_clip(room_id, req.user_id, seconds)
        if self.remote is None:
            raise NotRecording("The room's host cannot be asked for a clip")
        host = server_of(room_id)
        try:
            answer = await self.remote.client.request(
                host, "POST", CLIP_PATH + quote(room_id, safe=""),
                {"user_id": req.user_id, "seconds": seconds})
        except RemoteServerError as e:
            code = e.body.get("errcode")
            if e.status in (400, 403, 404, 429) and code in ALLOWED_REMOTE_ERRORS:
                raise MatrixError(f"{host}: {str(e.body.get('error'))[:200]}", code,
                                  e.status) from None
            raise MatrixError(f"{host} could not make the clip", "M_UNKNOWN", 502) from None
        except FederationError:
            raise MatrixError(f"{host} could not make the clip", "M_UNKNOWN", 502) from None
        if not isinstance(answer, dict):
            raise MatrixError(f"{host} answered the clip badly", "M_UNKNOWN", 502)
        uri, duration = answer.get("content_uri"), answer.get("duration")
        prefix = f"mxc://{host}/"
        if not isinstance(uri, str) or not uri.startswith(prefix) or \
                not valid_media_id(uri[len(prefix):]) or \
                not isinstance(duration, int) or isinstance(duration, bool):
            raise MatrixError(f"{host} answered the clip badly", "M_UNKNOWN", 502)
        return {"content_uri": uri, "duration": duration}

    async def clip_for_remote(self, origin: str, room_id: str, body: dict) -> dict:
        """The host's side of a remote member's clip (origin verified by X-Matrix)."""
        user_id = body.get("user_id") if isinstance(body, dict) else None
        if not isinstance(user_id, str) or server_of(user_id) != origin:
            raise Forbidden("user_id must be a user of the requesting server")
        if not self.rooms.is_host(room_id):
            raise InvalidParam(f"{self.server_name} does not host {room_id}")
        seconds = self._check_clip(room_id, user_id, body)
        self.server_clip_limiter.check(origin)  # a server inventing users gains nothing
        self.clip_limiter.check(user_id)
        return await self._make_clip(room_id, user_id, seconds)

    async def _make_clip(self, room_id: str, user_id: str, seconds: int) -> dict:
        try:
            state = await self.sfu.recording_state(room_id)
        except MediaError:
            state = None
        if state is None:
            raise NotRecording("This room is not being recorded")
        end_ms = int(state["now_ms"])
        start_ms = max(0, end_ms - seconds * 1000)
        offset = max((o for t, o in state["checkpoints"] if t <= start_ms - 1000),
                     default=recorder.HEADER_SIZE)
        out = self.content.temp_path("clip-")
        try:
            async with self._mixers:
                res, sha = await asyncio.to_thread(_mix_file, state["path"], out, start_ms,
                                                   end_ms, offset)
        except BaseException:
            out.unlink(missing_ok=True)
            raise
        uri = self.content.store_file(out, "audio/ogg", "clip.ogg", user_id, sha)
        return {"content_uri": uri, "duration": res.duration_ms}

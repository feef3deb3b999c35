"""An SFU spread over worker processes (one per core by default) or over other hosts.

``SFUCluster`` has the ``SFU`` interface, so the homeserver uses either. Each room has a
*primary* worker; sessions go there until it holds ``sessions_per_worker``, then to the least
loaded worker, which joins the room as a relay of the primary, exactly like a remote server's
SFU relays a room from its host (``sfu.py``: the secondary forwards its speakers up and fans
the primary's streams out to its own listeners). So one room can use every core, and a room
hosted on another server is relayed once per server: the primary holds the uplink to the
remote host, the other workers relay through it.

Workers are ``python -m media.worker`` processes: spawned here (``workers=4``) or already
running on other hosts (``workers=["10.0.0.7:7400", ...]``, same shared ``secret``; the RPC is
not encrypted, so use a private network).

Shared workers (several homeserver processes of one server). Workers given as addresses are
*shared*: every ``homeserver run`` process of the server (one config, on PostgreSQL) connects
to the same workers, so a speaker whose session was POSTed to process 1 and a listener whose
session went to process 2 meet in one worker's room. Nothing is coordinated between the
processes; what keeps them in agreement:

* a room's primary worker is chosen by rendezvous hashing of the room ID over the workers'
  addresses (``rendezvous``), so every process picks the same one without talking, and a
  room moves only when its own primary leaves the list;
* a worker is named by its address (the name is what workers relay to each other by), and
  refuses a second front that calls it by another name: the processes' lists must agree;
* overflow stays on, decided by the workers' real load: before each placement the primary
  is asked for its session count (``load``), and only when it is full are the other workers
  asked and the least loaded one joins the room as a relay of the primary. Two processes
  placing at once may push a primary a little past ``sessions_per_worker`` (the limit is
  soft) or open the room on two secondaries; both relay from the one primary, so everyone
  still hears everyone. (Each process counting only its own sessions would let N processes
  fill a primary N times over, and turning overflow off would cap a room at one worker.)
* the stage is pushed by every process: each learns of stage changes (its own and, through
  LISTEN/NOTIFY, the others') and sends ``set_may_send`` with the rights it computes from the
  room's current state to every worker that has the room (``only_if_present``: a worker
  without the room does not create it). A push sets a value, so the same push from two
  processes is harmless, and each process's last push follows the room's latest state, so
  the workers end on it whichever order the pushes arrive in. The ``room`` call, sent
  before every placement (another process may have closed the room there meanwhile), carries
  no rights from this process's cache (they may be older than another process's pushes); the
  session's own right comes with ``open_session``, other users' from the workers' own state
  or, for a user a worker has never heard of, from asking a front (the room's current state).
* a session opened through one process may be renegotiated or closed through another: a
  process that did not place it asks the workers (``session_user``, ``_find``).
* a process that stops leaves the workers and their sessions running (its listeners keep
  hearing; a session whose client went away ends on ICE consent failure), and a room that
  ends is closed on every worker, whoever placed its sessions.
"""
from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import logging
import os
import secrets
import sys
import time
from collections.abc import Callable, Container
from typing import Any

from . import feedback, rpc
from .errors import MediaError, Unavailable, from_kind
from .forwarding import LoopLag
from .sfu import RelaySignaller, StagePolicy, host_of

log = logging.getLogger(__name__)


class _Worker:
    def __init__(self, name: str, peer: rpc.RpcPeer, process=None):
        self.name = name
        self.peer = peer
        self.process = process
        self.sessions = 0
        self.rooms: set[str] = set()


class _AnyRoom:
    def __contains__(self, room_id: object) -> bool:
        return isinstance(room_id, str)


def rendezvous(room_id: str, names: list[str]) -> str:
    """The room's primary among workers ``names``: the highest hash of (name, room), so every
    process with the same list picks the same worker, and removing a worker moves only the
    rooms it was primary of."""
    def score(name: str) -> bytes:
        return hashlib.sha256(f"{name}\n{room_id}".encode()).digest()
    return max(names, key=score)


class SFUCluster:
    def __init__(self, audio_slots: int = 3, public_ip: str | None = None,
                 udp_port_range: tuple[int, int] | None = None, clock=time.monotonic, *,
                 workers: int | list[str] | None = None, secret: str | None = None,
                 server_name: str | None = None, relay_signaller: RelaySignaller | None = None,
                 stage_policy: StagePolicy | None = None,
                 host_addresses: list[str] | None = None, relay_timeout: float = 5.0,
                 sessions_per_worker: int = 250,
                 room_host: Callable[[str], str | None] | None = None,
                 loss_feedback: bool = True):
        self.audio_slots = audio_slots
        self.loss_feedback = loss_feedback
        self.public_ip = public_ip
        self.udp_port_range = udp_port_range
        self.clock = clock
        self.spec = workers if workers is not None else (os.cpu_count() or 1)
        # workers at addresses are shared with the server's other processes (module docstring)
        self.shared = isinstance(self.spec, list)
        self.secret = secret if secret is not None else secrets.token_urlsafe(16)
        self.server_name = server_name
        self.relay_signaller = relay_signaller
        self.stage_policy = stage_policy
        self.host_addresses = host_addresses
        self.relay_timeout = relay_timeout
        self.sessions_per_worker = sessions_per_worker
        self.room_host = room_host or host_of
        self.workers: list[_Worker] = []
        self.primary: dict[str, _Worker] = {}
        self.placed: dict[str, tuple[_Worker, str]] = {}  # session/relay id -> (worker, room)
        self.may_send: dict[str, dict[str, bool]] = {}
        self._speakers: dict[str, dict] = {}
        self._refresher: asyncio.Task | None = None
        self._started = False

    @property
    def rooms(self) -> Container[str]:
        """The rooms with audio here (room ID -> primary worker), like ``SFU.rooms``. Shared
        workers: any room may have audio there (another process may have placed it), so
        every room is in (stage pushes are then sent for every audio room's changes)."""
        if self.shared:
            return _AnyRoom()
        return {room: w.name for room, w in self.primary.items()}

    # lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        if self._started:
            return
        self._started = True
        if isinstance(self.spec, int):
            ranges = _split(self.udp_port_range, self.spec)
            for i in range(self.spec):
                await self._spawn(f"w{i}", ranges[i])
        else:
            ranges = _split(self.udp_port_range, len(self.spec))
            for i, address in enumerate(self.spec):
                host, _, port = address.rpartition(":")
                peer = await rpc.connect(host, int(port))
                await self._hello(_Worker(address, peer), ranges[i])

    async def _spawn(self, name: str, port_range) -> None:
        env = dict(os.environ, MEDIA_WORKER_SECRET=self.secret)
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "media.worker", "--listen", "127.0.0.1:0",
            "--exit-with-front", stdout=asyncio.subprocess.PIPE, env=env)
        assert proc.stdout is not None  # stdout=PIPE
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        port = json.loads(line)["port"]
        peer = await rpc.connect("127.0.0.1", port)
        await self._hello(_Worker(name, peer, proc), port_range)

    async def _hello(self, w: _Worker, port_range) -> None:
        w.peer.handler = functools.partial(self._handle, w)
        await w.peer.call("hello", secret=self.secret, name=w.name,
                          audio_slots=self.audio_slots, public_ip=self.public_ip,
                          udp_port_range=list(port_range) if port_range else None,
                          host_addresses=self.host_addresses, relay_timeout=self.relay_timeout,
                          loss_feedback=self.loss_feedback)
        self.workers.append(w)

    async def close(self) -> None:
        for w in self.workers:
            if not self.shared:  # shared workers serve the other processes on
                try:
                    await asyncio.wait_for(w.peer.call("close"), 10)
                except Exception:
                    pass
            await w.peer.close()
            if w.process is not None:
                try:
                    await asyncio.wait_for(w.process.wait(), 10)
                except TimeoutError:
                    w.process.kill()
        self.workers = []
        if self._refresher is not None:
            self._refresher.cancel()

    async def _refresh_speakers(self) -> None:
        """Keep a copy of each room's layout, for the synchronous ``speakers``."""
        while True:
            await asyncio.sleep(0.25)
            for room_id, w in list(self.primary.items()):
                try:
                    self._speakers[room_id] = await w.peer.call("speakers", room_id=room_id)
                except Exception:
                    pass

    # calls from workers --------------------------------------------------------------------

    async def _handle(self, caller: _Worker, method: str, p: dict):
        if method == "relay_signal":
            origin = caller.name
            host = p["host"]
            target = next((w for w in self.workers if w.name == host), None)
            if target is not None:  # a secondary worker relaying from the primary
                rid, answer = await target.peer.call("open_relay", room_id=p["room_id"],
                                                     origin=origin, offer=p["offer"])
                return answer
            if self.relay_signaller is None:
                raise rpc.RemoteError("MediaError", "no federation relay signaller")
            return await self.relay_signaller(p["room_id"], host, p["offer"])
        if method == "stage_policy":
            allowed = self.may_send.get(p["room_id"], {}).get(p["user_id"])
            if allowed is None and self.stage_policy is not None:
                allowed = bool(self.stage_policy(p["room_id"], p["user_id"]))
            return bool(allowed)
        raise rpc.RemoteError("NotImplemented", method)

    # placement -----------------------------------------------------------------------------

    def _hosted_here(self, room_id: str) -> bool:
        host = self.room_host(room_id)
        return self.server_name is None or host is None or host == self.server_name

    async def _place(self, room_id: str, relay: bool = False) -> _Worker:
        """The worker for a new session (or, ``relay``, another server's relay: always the
        primary) in ``room_id``, told about the room if it is new to it."""
        await self.start()
        if not self.workers:
            raise Unavailable("no SFU workers")
        primary = self.primary.get(room_id)
        if primary is None:
            shared = self._primary_of(room_id) if self.shared else None
            primary = shared or min(self.workers, key=lambda w: w.sessions)
            self.primary[room_id] = primary
        if relay or len(self.workers) == 1:
            chosen = primary
        elif self.shared:
            chosen = await self._shared_choice(primary)
        elif primary.sessions < self.sessions_per_worker:
            chosen = primary
        else:
            chosen = min(self.workers, key=lambda w: (w.sessions, w is not primary))
        # shared: every time (another process may have closed the room there meanwhile)
        if self.shared or room_id not in chosen.rooms:
            if chosen is primary:
                host = chosen.name if self._hosted_here(room_id) else self.room_host(room_id)
            else:
                host = primary.name
            # shared workers: no rights from this process's cache (module docstring)
            await _call(chosen, "room", room_id=room_id, host=host,
                        may_send={} if self.shared else self.may_send.get(room_id, {}))
            chosen.rooms.add(room_id)
        return chosen

    async def _shared_choice(self, primary: _Worker) -> _Worker:
        """Shared workers: the primary unless its real load (every process's sessions) is at
        ``sessions_per_worker``; then the least loaded worker."""
        if await self._load(primary) < self.sessions_per_worker:
            return primary
        loads = {}
        for w in self.workers:
            if w is not primary:
                try:
                    loads[w.name] = await self._load(w)
                except Unavailable:
                    continue  # a lost worker takes nothing
        best = min(self.workers, key=lambda w: (loads.get(w.name, self.sessions_per_worker),
                                                w is not primary))
        return best

    async def _load(self, w: _Worker) -> int:
        """The sessions a worker holds, for every process that uses it."""
        return int((await _call(w, "load")).get("sessions", 0))

    # the SFU interface ---------------------------------------------------------------------

    async def open_session(self, room_id: str, user_id: str, offer_sdp: str,
                           may_send: bool) -> tuple[str, str]:
        self.may_send.setdefault(room_id, {})[user_id] = bool(may_send)
        w = await self._place(room_id)
        sid, answer = await _call(w, "open_session", room_id=room_id, user_id=user_id,
                                  offer=offer_sdp, may_send=bool(may_send))
        w.sessions += 1
        self.placed[sid] = (w, room_id)
        for other in self.workers:  # the stage is the same everywhere
            if other is not w and (self.shared or room_id in other.rooms):
                await _call(other, "set_may_send", room_id=room_id, user_id=user_id,
                            may_send=bool(may_send), only_if_present=True)
        return sid, answer

    async def _find(self, room_id: str, session_id: str) -> _Worker | None:
        """The worker holding a session this process did not place (shared workers: another
        process of the server placed it)."""
        if not self.shared:
            return None
        for w in self.workers:
            try:
                found = await _call(w, "sessions", room_id=room_id)
            except Unavailable:
                continue
            if any(s.get("session_id") == session_id for s in found):
                return w
        return None

    async def session_user(self, room_id: str, session_id: str) -> str | None:
        """Whose session it is, wherever it was placed (None: no such session)."""
        for w in self.workers:
            if self.shared or room_id in w.rooms:
                try:
                    found = await _call(w, "sessions", room_id=room_id)
                except Unavailable:
                    continue
                for s in found:
                    if s.get("session_id") == session_id:
                        return s.get("user_id")
        return None

    async def renegotiate_session(self, room_id: str, session_id: str, offer_sdp: str) -> str:
        w, _room = self.placed.get(session_id, (None, None))
        if w is None:
            w = await self._find(room_id, session_id)
        if w is None:
            raise MediaError("no such session")
        return await _call(w, "renegotiate_session", room_id=room_id, session_id=session_id,
                           offer=offer_sdp)

    async def close_session(self, room_id: str, session_id: str) -> None:
        w, _room = self.placed.pop(session_id, (None, None))
        if w is None:
            w = await self._find(room_id, session_id)
            if w is None:
                return
        else:
            w.sessions = max(0, w.sessions - 1)
        await _call(w, "close_session", room_id=room_id, session_id=session_id)

    def set_may_send(self, room_id: str, user_id: str, may_send: bool) -> None:
        """Idempotent: sets the value. Shared workers all hear it (another process may have
        put the room on any of them); a worker without the room ignores it."""
        if room_id in self.primary:
            self.may_send.setdefault(room_id, {})[user_id] = bool(may_send)
        for w in self.workers:
            if (self.shared or room_id in w.rooms) and not w.peer.closed.is_set():
                # ordered on each connection: effective before that worker's next request
                w.peer._send({"id": 0, "m": "set_may_send",
                              "p": {"room_id": room_id, "user_id": user_id,
                                    "may_send": bool(may_send), "only_if_present": True}})

    def _primary_of(self, room_id: str) -> _Worker | None:
        """The room's primary, without placing anything there: shared workers may hold a room
        another process placed (its primary is the same by ``rendezvous``)."""
        w = self.primary.get(room_id)
        if w is None and self.shared and self.workers:
            name = rendezvous(room_id, [x.name for x in self.workers])
            w = next(x for x in self.workers if x.name == name)
        return w

    async def get_speakers(self, room_id: str) -> dict:
        w = self._primary_of(room_id)
        if w is None:
            return {"slots": [], "talking": []}
        out = self._speakers[room_id] = await _call(w, "speakers", room_id=room_id)
        return out

    def speakers(self, room_id: str) -> dict:
        """The room's layout as of at most 250 ms ago (``get_speakers`` asks the worker)."""
        if self._refresher is None or self._refresher.done():
            self._refresher = asyncio.ensure_future(self._refresh_speakers())
        if room_id not in self.primary:
            return {"slots": [], "talking": []}
        return self._speakers.get(room_id, {"slots": [], "talking": []})

    async def sessions(self, room_id: str) -> list[dict]:
        out = []
        for w in self.workers:
            if self.shared or room_id in w.rooms:
                for s in await _call(w, "sessions", room_id=room_id):
                    out.append(dict(s, worker=w.name))
        return out

    async def close_room(self, room_id: str) -> None:
        for w in self.workers:
            if self.shared or room_id in w.rooms:  # shared: placed by any process
                try:
                    await _call(w, "close_room", room_id=room_id)
                except Unavailable:
                    log.warning("SFU worker %s is gone; %s not closed there", w.name, room_id)
                w.rooms.discard(room_id)
        self.primary.pop(room_id, None)
        self.may_send.pop(room_id, None)
        self._speakers.pop(room_id, None)
        for ident, (w, room) in list(self.placed.items()):
            if room == room_id:
                del self.placed[ident]
                if w.sessions:
                    w.sessions -= 1

    async def open_relay(self, room_id: str, origin_server: str,
                         offer_sdp: str) -> tuple[str, str]:
        """Another server's relay: to the room's primary worker."""
        w = await self._place(room_id, relay=True)
        rid, answer = await _call(w, "open_relay", room_id=room_id, origin=origin_server,
                                  offer=offer_sdp)
        self.placed[rid] = (w, room_id)
        return rid, answer

    async def close_relay(self, room_id: str, relay_id: str) -> None:
        w, _room = self.placed.pop(relay_id, (None, None))
        if w is not None:
            await _call(w, "close_relay", room_id=room_id, relay_id=relay_id)

    # recording: the room's primary worker has every speaker (the others relay through it);
    # it writes the file, so workers on other hosts need the path on a shared filesystem.

    async def start_recording(self, room_id: str, path: str, started_ms: int) -> None:
        w = await self._place(room_id, relay=True)
        await _call(w, "start_recording", room_id=room_id, path=path, started_ms=started_ms)

    async def stop_recording(self, room_id: str) -> dict | None:
        w = self._primary_of(room_id)
        return None if w is None else await _call(w, "stop_recording", room_id=room_id)

    async def recording_state(self, room_id: str) -> dict | None:
        w = self._primary_of(room_id)
        return None if w is None else await _call(w, "recording_state", room_id=room_id)

    async def get_stats(self) -> dict:
        per = {w.name: await _call(w, "stats") for w in self.workers}
        total = {k: sum(s.get(k, 0) for s in per.values()) for k in
                 ("received", "forwarded", "dropped", "sessions", "relays", "rooms",
                  "received_bytes", "forwarded_bytes", "red_received", "red_malformed",
                  "red_forwarded")}
        return dict(total, workers=per, loop_lag=merge_lag(
            [s["loop_lag"] for s in per.values() if isinstance(s.get("loop_lag"), dict)]),
            listener_reports=feedback.merge_states(
                [s["listener_reports"] for s in per.values()
                 if isinstance(s.get("listener_reports"), dict)]))


def merge_lag(states: list[dict]) -> dict:
    """The workers' loop-lag histograms (``LoopLag.state``) as one: counts added, the last
    lag the worst of the workers' last."""
    if not states:
        return LoopLag().state()
    return {"buckets": [sum(b) for b in zip(*(s["buckets"] for s in states), strict=True)],
            "count": sum(s["count"] for s in states), "sum": sum(s["sum"] for s in states),
            "last": max(s["last"] for s in states)}


async def _call(w: _Worker, method: str, **params: Any) -> Any:
    """One call to a worker; its failures as the SFU's errors (``errors.py``): the worker's
    own (an unusable offer...) as they are, a lost worker as ``Unavailable``."""
    try:
        return await w.peer.call(method, **params)
    except rpc.RemoteError as e:
        raise from_kind(e.kind, e.message) from None
    except ConnectionError as e:
        raise Unavailable(f"SFU worker {w.name} is gone") from e


def _split(port_range, n: int) -> list:
    if not port_range:
        return [None] * n
    low, high = port_range
    span = (high - low + 1) // n
    if span < 1:
        raise ValueError("udp_port_range is too small for the number of workers")
    return [(low + i * span, low + (i + 1) * span - 1) for i in range(n)]

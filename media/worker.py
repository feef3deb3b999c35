"""An SFU worker process: one ``SFU`` driven over RPC by a cluster front (``cluster.py``).

    python -m media.worker --listen 127.0.0.1:0 [--secret-env MEDIA_WORKER_SECRET]

Prints ``{"port": N}`` on stdout once listening. The front says ``hello`` first (its shared
secret, this worker's name and the SFU settings); then it places rooms and sessions here.
A worker started by a front (``--exit-with-front``) exits when that connection closes; one
started on another host for a front to use keeps serving.

Several fronts may use one worker (the processes of one homeserver, ``cluster.py``): they
share its one ``SFU``, so sessions placed by any of them meet in the same rooms. The first
hello's settings and name build the SFU; a later front must call the worker by the same name
(its address), or it is refused. The worker's own questions (a relay to open, a user's stage
rights) go to the most recent front still connected.
"""
from __future__ import annotations

import argparse
import asyncio
import hmac
import json
import logging
import os
import sys

from . import rpc
from .errors import MediaError, Unavailable, kind_of
from .sfu import SFU

log = logging.getLogger(__name__)


class Worker:
    def __init__(self, secret: str = "", exit_with_front: bool = False):
        self.secret = secret
        self.exit_with_front = exit_with_front
        self.sfu: SFU | None = None
        self.hosts: dict[str, str | None] = {}
        self.name: str | None = None
        self.fronts: list[rpc.RpcPeer] = []  # said hello, most recent last
        self.done = asyncio.Event()

    async def on_connect(self, reader, writer) -> None:
        peer = rpc.RpcPeer(reader, writer)
        authed = {"ok": False}

        async def handle(method: str, p: dict):
            if method == "hello":
                if not hmac.compare_digest(str(p.get("secret", "")), self.secret):
                    raise rpc.RemoteError("Forbidden", "bad secret")
                name = str(p.get("name", ""))
                if self.name is not None and name != self.name:
                    raise rpc.RemoteError("Forbidden", f"this worker is {self.name!r} to another "
                                          f"front, not {name!r}: the fronts' worker lists differ")
                authed["ok"] = True
                if peer not in self.fronts:
                    self.fronts.append(peer)
                if self.sfu is None:
                    self.name = name
                    self.sfu = self._make_sfu(p)
                return {"pid": os.getpid(), "name": self.name}
            if not authed["ok"]:
                raise rpc.RemoteError("Forbidden", "say hello first")
            return await self._call(method, p)

        peer.handler = handle
        await peer.closed.wait()
        if peer in self.fronts:
            self.fronts.remove(peer)
            if self.exit_with_front and not self.fronts:
                self.done.set()

    def _front(self) -> rpc.RpcPeer:
        for peer in reversed(self.fronts):
            if not peer.closed.is_set():
                return peer
        raise Unavailable("no cluster front is connected")

    def _make_sfu(self, p: dict) -> SFU:
        def relay_signaller(room_id, host, offer):
            return self._front().call("relay_signal", room_id=room_id, host=host, offer=offer)

        def stage_policy(room_id, user_id):
            # unknown users are refused until the front answers (one round trip)
            asyncio.ensure_future(self._ask_stage(room_id, user_id))
            return False

        rng = p.get("udp_port_range")
        return SFU(audio_slots=p.get("audio_slots", 3), public_ip=p.get("public_ip"),
                   udp_port_range=tuple(rng) if rng else None, server_name=p["name"],
                   relay_signaller=relay_signaller, stage_policy=stage_policy,
                   host_addresses=p.get("host_addresses"),
                   relay_timeout=p.get("relay_timeout", 5.0),
                   room_host=lambda room_id: self.hosts.get(room_id),
                   loss_feedback=bool(p.get("loss_feedback", True)))

    async def _ask_stage(self, room_id: str, user_id: str) -> None:
        try:
            allowed = await self._front().call("stage_policy", room_id=room_id, user_id=user_id)
        except Exception:
            return
        if allowed and self.sfu is not None:
            self.sfu.set_may_send(room_id, user_id, True)

    async def _call(self, method: str, p: dict):
        sfu = self.sfu
        if sfu is None:
            raise rpc.RemoteError("Unavailable", "say hello first")
        try:
            if method == "room":
                self.hosts[p["room_id"]] = p.get("host")
                for user, allowed in (p.get("may_send") or {}).items():
                    sfu.set_may_send(p["room_id"], user, allowed)
                return None
            if method == "open_session":
                return list(await sfu.open_session(p["room_id"], p["user_id"], p["offer"],
                                                   p["may_send"]))
            if method == "renegotiate_session":
                return await sfu.renegotiate_session(p["room_id"], p["session_id"], p["offer"])
            if method == "close_session":
                return await sfu.close_session(p["room_id"], p["session_id"])
            if method == "set_may_send":
                if p.get("only_if_present") and p["room_id"] not in sfu.rooms:
                    return None  # a stage push for a room without audio here
                return sfu.set_may_send(p["room_id"], p["user_id"], p["may_send"])
            if method == "load":
                return {"sessions": sum(len(r.sessions) for r in sfu.rooms.values()),
                        "rooms": len(sfu.rooms)}
            if method == "speakers":
                return sfu.speakers(p["room_id"])
            if method == "sessions":
                return sfu.sessions(p["room_id"])
            if method == "open_relay":
                return list(await sfu.open_relay(p["room_id"], p["origin"], p["offer"]))
            if method == "close_relay":
                return await sfu.close_relay(p["room_id"], p["relay_id"])
            if method == "close_room":
                await sfu.close_room(p["room_id"])
                self.hosts.pop(p["room_id"], None)
                return None
            if method == "stats":
                return sfu.stats()
            if method == "start_recording":
                return await sfu.start_recording(p["room_id"], p["path"], p["started_ms"])
            if method == "stop_recording":
                return await sfu.stop_recording(p["room_id"])
            if method == "recording_state":
                return await sfu.recording_state(p["room_id"])
            if method == "close":
                await sfu.close()
                self.done.set()
                return None
        except MediaError as e:  # rebuilt on the front's side (cluster.py)
            raise rpc.RemoteError(kind_of(e), str(e)) from None
        raise rpc.RemoteError("NotImplemented", method)


async def serve(listen: str, secret: str, exit_with_front: bool) -> None:
    host, _, port = listen.rpartition(":")
    worker = Worker(secret, exit_with_front)
    server = await asyncio.start_server(worker.on_connect, host or "127.0.0.1", int(port),
                                        limit=rpc.MAX_LINE)
    print(json.dumps({"port": server.sockets[0].getsockname()[1]}), flush=True)
    try:
        await worker.done.wait()
    finally:
        server.close()
        if worker.sfu is not None:
            await worker.sfu.close()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="SFU worker process")
    ap.add_argument("--listen", default="127.0.0.1:0")
    ap.add_argument("--secret-env", default="MEDIA_WORKER_SECRET",
                    help="environment variable holding the shared secret")
    ap.add_argument("--exit-with-front", action="store_true")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    secret = os.environ.get(args.secret_env, "")
    try:
        asyncio.run(serve(args.listen, secret, args.exit_with_front))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The remote side of cascade relays: one uplink per remote room, kept up while we have
participants in it.

When someone here joins a room another server hosts, the SFU asks ``Uplinks.ensure`` for a relay
to the host: a task offers a connection (``start_offer``), sends the offer through the SFU's
``relay_signaller`` (the homeserver POSTs it to the host's federation relay endpoint), applies
the answer (``finish``) and, when the connection fails, times out or is closed by the host,
offers again with backoff until the room empties here. The host's side is the SFU's
``open_relay``; the state of each end is in ``cascade.py``.
"""
from __future__ import annotations

import asyncio
import functools
import logging
import random
from typing import TYPE_CHECKING

from . import sdp
from .cascade import Uplink
from .errors import MediaError, Unavailable
from .room import Room
from .transport import PeerTransport, gather_or_release

if TYPE_CHECKING:
    from .sfu import SFU

log = logging.getLogger(__name__)

FIRST_BACKOFF = 0.25  # seconds before the first retry; doubled up to MAX_BACKOFF
MAX_BACKOFF = 5.0


class Uplinks:
    """The uplinks of ``sfu``'s remote rooms. It reads the SFU's signaller, certificate, ICE
    options and clock when it needs them, so tests may rewire ``sfu.relay_signaller``."""

    def __init__(self, sfu: SFU):
        self.sfu = sfu

    def ensure(self, room: Room) -> None:
        """A relay to the host of ``room`` (a remote room) is kept up from now on."""
        if room.uplink is None:
            room.uplink = Uplink()
        up = room.uplink
        if self.sfu.relay_signaller is not None and (up.task is None or up.task.done()):
            up.task = asyncio.ensure_future(self._run(room, up))

    async def start_offer(self, room_id: str) -> str:
        """A fresh relay offer for ``room_id``, to POST to the host."""
        sfu = self.sfu
        room = sfu._room(room_id)
        if room.local:
            raise MediaError("this server hosts the room")
        if room.uplink is None:
            room.uplink = Uplink()
        up = room.uplink
        if up.pending is not None:
            await up.pending.close()
        tp = PeerTransport(sfu.certificate, sfu.ice, controlling=True,
                           on_rtp=lambda data: None, on_rtcp=lambda data: None)
        # the handlers name the transport itself, which exists only now
        tp.dtls._on_rtp = tp._on_rtp = functools.partial(room.uplink_rtp, up, tp)
        tp.dtls._on_rtcp = tp._on_rtcp = functools.partial(room.uplink_rtcp, up, tp)
        tp._on_state = functools.partial(self._state, room, up, tp)
        await gather_or_release(tp)
        up.pending = tp
        return sdp.write_relay_offer(tp.local("actpass", random.getrandbits(62)),
                                     "sfu-" + (sfu.server_name or "remote"))

    async def finish(self, room_id: str, answer_sdp: str) -> None:
        """Apply the host's answer; the relay connects in the background."""
        room = self.sfu.rooms.get(room_id)
        up = room.uplink if room else None
        if room is None or up is None or up.pending is None:
            raise MediaError("no relay offer is pending for this room")
        plan = sdp.parse_answer(answer_sdp)
        role = sdp.dtls_role_for_offer(plan.transport.setup)
        sec = sdp.accepted_section(plan)
        tp, up.pending = up.pending, None
        if up.tp is not None and up.tp is not tp:
            await up.tp.close()
        up.tp = tp
        up.pt = sec.payload_type or sdp.RELAY_PT
        up.level_id = sec.audio_level_id
        up.outs = {}
        up.ssrc_users = {}
        room.drop_uplink_sources(up)
        tp.start(plan.transport, role)
        self.sfu._ensure_ticker()

    def _state(self, room: Room, up: Uplink, tp: PeerTransport, state: str) -> None:
        if tp is not up.tp or room.uplink is not up:
            return
        clock = self.sfu.clock
        if state == "connected":
            up.connected = True
            up.connects += 1
            up.last_heard = clock()
            room.rebuild()
            up.send_map(clock())
        else:
            up.connected = False
            room.drop_uplink_sources(up)
            room.top = [None] * len(room.top)
            room.spare = None
            room.rebuild()
            room.send_layout()

    async def _run(self, room: Room, up: Uplink) -> None:
        """Keep one relay to the host while we have participants in the room: (re)connect
        with backoff after a failure, a timeout or the host closing it."""
        sfu = self.sfu

        def stop() -> bool:
            return sfu._closed or room.empty() or room.uplink is not up

        backoff = FIRST_BACKOFF
        while not stop():
            up.attempts += 1
            try:
                signaller, host = sfu.relay_signaller, room.host
                if signaller is None or host is None:
                    raise Unavailable("no way to reach the room's host")
                offer = await self.start_offer(room.id)
                answer = await signaller(room.id, host, offer)
                if stop():
                    break
                await self.finish(room.id, answer)
                tp = up.tp
                if tp is not None and tp._task is not None:
                    await tp._task
                if tp is not None and tp.state == "connected":
                    backoff = FIRST_BACKOFF
                    while tp.state == "connected" and not stop():
                        await asyncio.sleep(0.1)
            except asyncio.CancelledError:
                raise
            except Exception as e:
                log.info("relay for %s to %s failed: %r", room.id, room.host, e)
            if stop():
                break
            if up.tp is not None:
                await up.tp.close()
            up.connected = False
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF)

    async def close(self, room: Room) -> None:
        """Stop keeping the room's uplink and close its connections."""
        up = room.uplink
        if up is None:
            return
        room.uplink = None
        if up.task is not None and not up.task.done():
            up.task.cancel()
            try:
                await up.task
            except (asyncio.CancelledError, Exception):
                pass
        for tp in (up.pending, up.tp):
            if tp is not None:
                await tp.close()
        up.connected = False
        room.drop_uplink_sources(up)

"""Links between Matrix rooms and audio rooms: the bridge's commands (help, link, unlink,
status) and what making or removing a link does on both homeservers."""
from __future__ import annotations

import hashlib
import logging

from .commands import HELP, PRIVILEGED, Command, permission_error
from .config import BridgeConfig
from .formatting import join_link, notice
from .matrix import MatrixApi, MatrixError
from .stage import snapshot_from_state, status_text
from .store import BridgeStore

log = logging.getLogger(__name__)


class LinkError(Exception):
    """A link or unlink request refused; the message is the answer shown in the room."""


def txn_for(kind: str, event_id: str) -> str:
    """A transaction ID derived from the source event: resending it is a no-op."""
    return f"{kind}-{hashlib.sha256(event_id.encode()).hexdigest()[:32]}"


class Linker:
    def __init__(self, config: BridgeConfig, store: BridgeStore, matrix: MatrixApi,
                 audio: MatrixApi):
        self.cfg = config
        self.opts = config.bridge
        self.store = store
        self.matrix = matrix
        self.audio = audio
        self.audio_user = config.audiorooms.user_id

    # commands -------------------------------------------------------------------------------

    def help_text(self) -> str:
        return HELP.format(p=self.opts.command_prefix, level=self.opts.link_power_level)

    async def reply(self, ev: dict, text: str, link: str | None = None) -> None:
        await self.matrix.send(ev["room_id"], "m.room.message", notice(text, link),
                               txn_for("reply", ev["event_id"]))

    async def command(self, ev: dict, cmd: Command) -> None:
        eid, room, sender = ev["event_id"], ev["room_id"], ev["sender"]
        if self.store.is_handled(eid):
            return
        if cmd.name in PRIVILEGED:
            levels, create = await self._power_levels(room)
            refusal = permission_error(cmd, levels, sender, self.opts.link_power_level, create)
            if refusal:
                await self.reply(ev, refusal)
                self.store.mark_handled(eid)
                return
        link_url = None
        try:
            if cmd.name == "help":
                text = self.help_text()
            elif cmd.name == "link":
                text, link_url = await self.link(room, cmd.arg or "", sender, "command")
            elif cmd.name == "unlink":
                text = await self.unlink(room)
            else:
                text, link_url = await self._status(room)
        except LinkError as e:
            text = str(e)
        await self.reply(ev, text, link_url)
        self.store.mark_handled(eid)

    async def _power_levels(self, room_id: str) -> tuple[dict | None, dict | None]:
        """The Matrix room's m.room.power_levels content and m.room.create event (whose
        sender outranks everyone from room version 12 on)."""
        levels = create = None
        for ev in await self.matrix.state(room_id):
            if ev.get("type") == "m.room.power_levels" and ev.get("state_key") == "":
                levels = ev.get("content")
            elif ev.get("type") == "m.room.create" and ev.get("state_key") == "":
                create = ev
        return levels, create

    async def link(self, matrix_room: str, target: str, creator: str | None,
                   source: str) -> tuple[str, str]:
        """Link ``matrix_room`` to the audio room ``target`` (ID or alias); returns the answer
        and the join link. LinkError says why not."""
        current = self.store.link_for_matrix(matrix_room)
        if current is not None:
            raise LinkError(f"This room is already linked to {current.audio_room}; "
                            f"{self.opts.command_prefix} unlink first.")
        try:
            audio_room = await self.audio.join(target)
        except MatrixError as e:
            if e.status == 0:
                raise  # our homeserver is unreachable: retried later
            if e.status == 404:
                raise LinkError(f"Cannot link: the audio room {target} does not exist.") from e
            if e.status == 403:
                raise LinkError(f"Cannot link: the bridge ({self.audio_user}) may not join "
                                f"{target} ({e.error}). Invite it there first.") from e
            raise LinkError(f"Cannot link {target}: {e.error or e.errcode}") from e
        other = self.store.link_for_audio(audio_room)
        if other is not None:
            raise LinkError(f"Cannot link: {target} is already linked to another Matrix "
                            f"room ({other.matrix_room}).")
        state = await self.audio.state(audio_room)
        snap = snapshot_from_state(state)
        if not snap.is_audio_room:
            await self._leave_audio(audio_room)
            raise LinkError(f"Cannot link: {target} is not an audio room.")
        join_event = next((e.get("event_id") for e in state if e.get("type") == "m.room.member"
                           and e.get("state_key") == self.audio_user), None)
        self.store.add_link(matrix_room, audio_room, creator, source, join_event, snap)
        log.info("linked %s <-> %s (%s)", matrix_room, audio_room, source)
        url = join_link(self.cfg.audiorooms.join_base, audio_room)
        return (f"Linked to the audio room {snap.title()} ({audio_room}): chat is bridged both "
                f"ways. {self.opts.command_prefix} status shows who is on stage.", url)

    async def unlink(self, matrix_room: str) -> str:
        link = self.store.link_for_matrix(matrix_room)
        if link is None:
            raise LinkError("This room is not linked to an audio room.")
        self.store.remove_link(matrix_room)
        await self._leave_audio(link.audio_room)
        log.info("unlinked %s from %s", matrix_room, link.audio_room)
        return f"Unlinked from the audio room {link.snapshot.title()} ({link.audio_room})."

    async def _leave_audio(self, room_id: str) -> None:
        try:
            await self.audio.leave(room_id)
        except MatrixError as e:
            log.warning("could not leave %s on our homeserver: %s", room_id, e)

    async def _status(self, matrix_room: str) -> tuple[str, str | None]:
        link = self.store.link_for_matrix(matrix_room)
        if link is None:
            raise LinkError(f"This room is not linked to an audio room; "
                            f"{self.opts.command_prefix} link <room> links one.")
        try:
            snap = snapshot_from_state(await self.audio.state(link.audio_room))
        except MatrixError as e:
            raise LinkError(f"Cannot reach the audio room right now ({e.errcode}).") from e
        return (status_text(snap, frozenset({self.audio_user})),
                join_link(self.cfg.audiorooms.join_base, link.audio_room))

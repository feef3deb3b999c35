"""The bridge: Matrix appservice transactions on one side, our homeserver's /sync on the other.

Matrix -> audio room: events arrive in appservice transactions (processed once per txnId);
messages are posted by our bot with the Matrix sender's name, commands are answered.
Audio room -> Matrix: a /sync loop on our homeserver, resuming from the stored token; messages
are posted by puppets, stage changes become notices. Every relayed event is recorded (its ID on
both sides) before the position moves on, and every send uses a transaction ID derived from
the source event, so a retry or a restart neither loses nor duplicates anything. Events from
our own bot or puppets are echoes and are never relayed back.
"""
from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from functools import partial
from typing import TypeVar

from .appservice import AppserviceServer, TransientError
from .backoff import backoff_delay
from .commands import CommandError, parse_command
from .config import BridgeConfig
from .formatting import (
    audio_to_matrix,
    content_size,
    edit_target,
    join_link,
    matrix_to_audio,
    notice,
    redaction_target,
    too_large_text,
)
from .links import Linker, LinkError, txn_for
from .matrix import MatrixApi, MatrixError
from .registration import namer_for
from .stage import apply_event
from .store import BridgeStore, Link

log = logging.getLogger(__name__)
T = TypeVar("T")

SYNC_FILTER = json.dumps({"room": {"timeline": {"limit": 50}}, "presence": {"types": []}},
                         separators=(",", ":"))
BACKFILL_MAX = 1000


def events_after_join(events: list[dict], join_event: str | None) -> list[dict]:
    """Drop what precedes the bot's own join in a room's timeline: that is history from
    before the link and must not be bridged. Without the join in view, all is new."""
    for i, ev in enumerate(events):
        if join_event is not None and ev.get("event_id") == join_event:
            return events[i + 1:]
    return events


def localpart(user_id: str) -> str:
    return user_id.lstrip("@").split(":", 1)[0]


class Bridge:
    def __init__(self, config: BridgeConfig, store: BridgeStore, matrix: MatrixApi,
                 audio: MatrixApi):
        if not (config.appservice.as_token and config.appservice.hs_token):
            raise ValueError("the appservice tokens are not set (see config.resolve_tokens)")
        self.cfg = config
        self.opts = config.bridge
        self.store = store
        self.matrix = matrix          # the Matrix homeserver, with the as_token
        self.audio = audio            # our homeserver, as the bridge's bot user
        self.namer = namer_for(config)
        self.bot = self.namer.bot_user_id
        self.audio_user = config.audiorooms.user_id
        self.appservice = AppserviceServer(
            config.appservice.hs_token, self.handle_transaction, self.query_user,
            store.txn_done, store.mark_txn_done, config.appservice.max_transaction_bytes)
        self.audio_ready = asyncio.Event()
        self.matrix_ready = asyncio.Event()
        self._names: dict[tuple[str, str], str] = {}
        self._redact_endpoint = True
        self._tasks: list[asyncio.Task] = []
        self.links = Linker(config, store, matrix, audio)

    @classmethod
    def from_config(cls, config: BridgeConfig) -> Bridge:
        store = BridgeStore(config.bridge.database)
        matrix = MatrixApi(config.matrix.homeserver_url, config.appservice.as_token,
                           user_id=namer_for(config).bot_user_id)
        audio = MatrixApi(config.audiorooms.homeserver_url, config.audiorooms.access_token,
                          user_id=config.audiorooms.user_id)
        return cls(config, store, matrix, audio)

    # lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        a = self.cfg.appservice
        await self.appservice.start(a.bind_address, a.port)
        self._tasks = [asyncio.create_task(self._matrix_setup(), name="bridge-matrix-setup"),
                       asyncio.create_task(self._audio_loop(), name="bridge-audio-sync"),
                       asyncio.create_task(self._config_links(), name="bridge-config-links")]
        log.info("appservice listening on %s:%s; bot %s; our side %s", a.bind_address, a.port,
                 self.bot, self.audio_user)

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        await self.appservice.stop()
        await self.matrix.close()
        await self.audio.close()
        self.store.close()

    async def _retrying(self, what: str, fn: Callable[[], Awaitable[T]],
                        attempts: int | None = None) -> T:
        """Call ``fn`` until it succeeds, backing off on transient errors (network, 5xx);
        after ``attempts`` tries the last transient error is raised."""
        attempt = 0
        while True:
            try:
                return await fn()
            except MatrixError as e:
                if not e.transient:
                    raise
                attempt += 1
                if attempts is not None and attempt >= attempts:
                    raise
                delay = backoff_delay(attempt, self.opts.retry_base_seconds,
                                      self.opts.retry_max_seconds)
                log.warning("%s failed (%s); retry in %.1f s", what, e, delay)
                await asyncio.sleep(delay)

    async def _matrix_setup(self) -> None:
        """The bot exists on the Matrix homeserver; then ask it to deliver what it holds."""
        await self._retrying("registering the bot",
                             lambda: self.matrix.register_appservice_user(
                                 self.cfg.appservice.bot_localpart))
        name = self.cfg.appservice.bot_displayname
        if self.store.get("bot_displayname") != name:
            try:
                await self._retrying("setting the bot's name",
                                     lambda: self.matrix.set_displayname(self.bot, name))
                self.store.put("bot_displayname", name)
            except MatrixError as e:
                log.warning("cannot set the bot's display name: %s", e)
        self.matrix_ready.set()
        await self._ping_matrix()

    async def _ping_matrix(self) -> None:
        """Synapse retries failed transactions with a growing backoff; a ping makes it retry
        now (used after our homeserver comes back)."""
        try:
            await self.matrix.ping_appservice(self.cfg.appservice.id)
        except MatrixError as e:
            log.info("appservice ping not answered: %s", e)

    async def _audio_login(self) -> None:
        cfg = self.cfg.audiorooms
        key = f"audio_token:{cfg.homeserver_url}:{cfg.user_id}"
        token = cfg.access_token or self.store.get(key)
        if token:
            self.audio.access_token = token
            try:
                who = await self._retrying("checking our access token", self.audio.whoami)
                if who.get("user_id") != cfg.user_id:
                    log.warning("access token is for %s, not %s", who.get("user_id"),
                                cfg.user_id)
                return
            except MatrixError as e:
                if cfg.access_token or not cfg.password:
                    raise
                log.info("stored access token refused (%s); logging in again", e)
        self.audio.access_token = None
        password = cfg.password or ""
        resp = await self._retrying("logging in to the audio homeserver", lambda: self.audio.login(
            cfg.user_id, password, "audiorooms Matrix bridge"))
        self.audio.access_token = resp["access_token"]
        # Keep the token (and so the device): transaction IDs are per device, which is what
        # makes a resend after a restart a no-op.
        self.store.put(key, resp["access_token"])

    # our homeserver -> Matrix ---------------------------------------------------------------

    async def _audio_loop(self) -> None:
        failures = 0
        while True:
            try:
                if self.audio.access_token is None:
                    await self._audio_login()
                since = self.store.get("audio_since")
                resp = await self.audio.sync(
                    since, self.opts.sync_timeout_ms if since and self.audio_ready.is_set()
                    else 0, SYNC_FILTER)
                await self._process_audio_sync(resp, since)
                self.store.put("audio_since", resp["next_batch"])
                # Ready once the position is known: links made from now on see every event
                # after their join.
                self.audio_ready.set()
                if failures:
                    failures = 0
                    log.info("audio homeserver reachable again; caught up")
                    await self._ping_matrix()
            except asyncio.CancelledError:
                raise
            except Exception as e:
                if isinstance(e, MatrixError) and e.errcode == "M_UNKNOWN_TOKEN":
                    self.audio.access_token = None
                    self.store.put(f"audio_token:{self.cfg.audiorooms.homeserver_url}:"
                                   f"{self.cfg.audiorooms.user_id}", None)
                failures += 1
                delay = backoff_delay(failures, self.opts.retry_base_seconds,
                                      self.opts.retry_max_seconds)
                if isinstance(e, MatrixError):
                    log.warning("syncing or relaying from our homeserver failed (%s); "
                                "retry in %.1f s", e, delay)
                else:
                    log.exception("syncing from our homeserver failed; retry in %.1f s", delay)
                await asyncio.sleep(delay)

    async def _process_audio_sync(self, resp: dict, since: str | None) -> None:
        if since is None:
            return  # first start: learn the position, bridge nothing from before it
        for room_id, room in (resp.get("rooms") or {}).get("join", {}).items():
            link = self.store.link_for_audio(room_id)
            if link is None:
                continue
            timeline = room.get("timeline") or {}
            events = list(timeline.get("events") or [])
            if timeline.get("limited") and timeline.get("prev_batch"):
                events = await self._backfill(room_id, timeline["prev_batch"], since) + events
            for ev in events_after_join(events, link.join_event):
                await self._handle_audio_event(link, ev)
        for room_id in (resp.get("rooms") or {}).get("leave", {}):
            link = self.store.link_for_audio(room_id)
            if link is None:
                continue  # we left on purpose (unlink): the link was removed first
            # Kicked or banned from the audio room: the link cannot work any more.
            await self.matrix.send(link.matrix_room, "m.room.message", notice(
                f"The bridge was removed from the audio room {link.snapshot.title()} "
                f"({room_id}), so this room is no longer linked to it."),
                txn_for("removed", f"{room_id} {since}"))
            self.store.remove_link(link.matrix_room)
            log.warning("removed from %s: unlinked %s", room_id, link.matrix_room)

    async def _backfill(self, room_id: str, from_token: str, since: str) -> list[dict]:
        """Events between ``since`` and a limited timeline's start, oldest first."""
        out: list[dict] = []
        while len(out) < BACKFILL_MAX:
            page = await self.audio.messages(room_id, from_token, "b", 100, since)
            chunk = page.get("chunk") or []
            out.extend(chunk)
            if not chunk or not page.get("end"):
                break
            from_token = page["end"]
        return list(reversed(out))

    async def _handle_audio_event(self, link: Link, ev: dict) -> None:
        try:
            if "state_key" in ev:
                await self._audio_state(link, ev)
            elif ev.get("sender") == self.audio_user:
                return  # our own relays: an echo
            elif ev.get("type") == "m.room.message":
                await self._relay_audio_message(link, ev)
            elif ev.get("type") == "m.room.redaction":
                await self._relay_audio_redaction(link, ev)
        except MatrixError as e:
            if e.transient:
                raise  # the batch is retried; what was done is recorded and skipped then
            log.warning("not bridged to Matrix: %s %s: %s", ev.get("type"), ev.get("event_id"),
                        e)
            self.store.mark_handled(ev.get("event_id", ""))
        except Exception:  # a bug must not wedge the bridge on one event forever
            log.exception("not bridged to Matrix: %s %s", ev.get("type"), ev.get("event_id"))
            self.store.mark_handled(ev.get("event_id", ""))

    async def _audio_state(self, link: Link, ev: dict) -> None:
        new, stage_notice = apply_event(link.snapshot, ev, frozenset({self.audio_user}))
        if stage_notice is not None and self.store.by_audio_event(ev["event_id"]) is None:
            content = notice(stage_notice.text, join_link(self.cfg.audiorooms.join_base,
                                                          link.audio_room))
            mx = await self.matrix.send(link.matrix_room, "m.room.message", content,
                                        txn_for("notice", ev["event_id"]))
            self.store.add_mapping(mx, ev["event_id"], link.matrix_room, link.audio_room,
                                   "notice", self.bot)
        if new != link.snapshot:
            link.snapshot = new
            self.store.save_snapshot(link.audio_room, new)

    async def _relay_audio_message(self, link: Link, ev: dict) -> None:
        eid, sender = ev["event_id"], ev["sender"]
        if self.store.by_audio_event(eid) or self.store.is_handled(eid):
            return
        content = ev.get("content") or {}
        size = content_size(content)
        name = link.snapshot.display_name(sender)
        if size > self.opts.max_message_bytes:
            await self.audio.send(link.audio_room, "m.room.message", notice(too_large_text(
                name, size, self.opts.max_message_bytes, "Matrix")), txn_for("toolarge", eid))
            self.store.mark_handled(eid)
            return
        converted = audio_to_matrix(content, self.store.matrix_for_audio)
        if converted is None:
            self.store.mark_handled(eid)
            return
        puppet = self.namer.puppet_for(sender)
        await self._ensure_puppet(sender, name, link.matrix_room)
        txn = txn_for("audio", eid)
        try:
            mx = await self.matrix.send(link.matrix_room, "m.room.message", converted, txn,
                                        as_user=puppet)
        except MatrixError as e:
            if e.status != 403:
                raise
            # Kicked or left since we last looked: join again and resend once.
            self.store.set_puppet_in_room(puppet, link.matrix_room, False)
            await self._ensure_puppet(sender, name, link.matrix_room)
            mx = await self.matrix.send(link.matrix_room, "m.room.message", converted, txn,
                                        as_user=puppet)
        self.store.add_mapping(mx, eid, link.matrix_room, link.audio_room, "message", puppet)

    async def _relay_audio_redaction(self, link: Link, ev: dict) -> None:
        eid = ev["event_id"]
        if self.store.by_audio_event(eid) or self.store.is_handled(eid):
            return
        target = redaction_target(ev)
        m = self.store.by_audio_event(target) if target else None
        if m is None or m.matrix_event is None or m.kind != "message":
            self.store.mark_handled(eid)
            return
        # A puppet's message is redacted by that puppet (always allowed); a Matrix user's
        # by the bot (needs power in the Matrix room).
        as_user = m.matrix_sender if m.matrix_sender and self.namer.is_puppet(
            m.matrix_sender) else None
        reason = (ev.get("content") or {}).get("reason")
        mx = await self.matrix.redact(link.matrix_room, m.matrix_event, txn_for("redact", eid),
                                      reason if isinstance(reason, str) else None,
                                      as_user=as_user)
        self.store.add_mapping(mx, eid, link.matrix_room, link.audio_room, "redaction",
                               as_user or self.bot)

    async def _ensure_puppet(self, our_user: str, name: str, room_id: str) -> None:
        """The puppet of ``our_user`` exists, is named after them and is in ``room_id``."""
        puppet = self.namer.puppet_for(our_user)
        registered, current = self.store.puppet_displayname(puppet)
        if not registered:
            await self.matrix.register_appservice_user(self.namer.localpart_for(our_user))
            self.store.set_puppet(puppet, None)
        want = self.cfg.appservice.puppet_displayname.format(displayname=name)
        if current != want:
            await self.matrix.set_displayname(puppet, want, as_user=puppet)
            self.store.set_puppet(puppet, want)
        if not self.store.puppet_in_room(puppet, room_id):
            try:
                await self.matrix.join(room_id, as_user=puppet)
            except MatrixError as e:
                if e.status != 403:
                    raise
                await self.matrix.invite(room_id, puppet)  # an invite-only room: the bot asks
                await self.matrix.join(room_id, as_user=puppet)
            self.store.set_puppet_in_room(puppet, room_id, True)

    # Matrix -> our homeserver ---------------------------------------------------------------

    async def handle_transaction(self, txn_id: str, events: list[dict]) -> None:
        """One appservice transaction, in order. A transient failure (our homeserver down)
        refuses the whole transaction (503); Synapse retries it and what was already done is
        recognised and skipped."""
        if not self.audio_ready.is_set():
            try:
                await asyncio.wait_for(self.audio_ready.wait(), 5)
            except TimeoutError:
                raise TransientError("not yet connected to the audio homeserver") from None
        for ev in events:
            try:
                await self._handle_matrix_event(ev)
            except MatrixError as e:
                if e.transient:
                    raise TransientError(str(e)) from e
                log.warning("not bridged from Matrix: %s %s: %s", ev["type"], ev["event_id"], e)
                self.store.mark_handled(ev["event_id"])
            except (TransientError, asyncio.CancelledError):
                raise
            except Exception:  # a bug must not wedge the transaction queue forever
                log.exception("not bridged from Matrix: %s %s", ev["type"], ev["event_id"])
                self.store.mark_handled(ev["event_id"])

    async def query_user(self, user_id: str) -> bool:
        """The Matrix homeserver asks whether a user in our namespace exists: a puppet does
        as soon as someone looks for it (the spec's way of creating users on demand)."""
        our_user = self.namer.our_user_for(user_id)
        if our_user is None:
            return False
        try:
            await self.matrix.register_appservice_user(self.namer.localpart_for(our_user))
        except MatrixError as e:
            if e.transient:
                raise TransientError(str(e)) from e
            return False
        return True

    async def _handle_matrix_event(self, ev: dict) -> None:
        etype, room, sender = ev["type"], ev["room_id"], ev["sender"]
        content = ev.get("content") or {}
        if etype == "m.room.member":
            await self._matrix_member(ev, content)
            return
        if self.namer.is_bridge_user(sender):
            return  # our bot's and puppets' own events: an echo
        link = self.store.link_for_matrix(room)
        if etype == "m.room.message":
            if edit_target(content) is None:
                try:
                    cmd = parse_command(content.get("body"), self.opts.command_prefix)
                except CommandError as e:
                    if not self.store.is_handled(ev["event_id"]):
                        await self.links.reply(ev, str(e))
                        self.store.mark_handled(ev["event_id"])
                    return
                if cmd is not None:
                    await self.links.command(ev, cmd)
                    return
            if link is not None:
                await self._relay_matrix_message(link, ev)
        elif etype == "m.room.redaction" and link is not None:
            await self._relay_matrix_redaction(link, ev)

    async def _matrix_member(self, ev: dict, content: dict) -> None:
        room, target = ev["room_id"], ev.get("state_key")
        membership = content.get("membership")
        if target == self.bot:
            if membership == "invite" and not self.store.is_handled(ev["event_id"]):
                await self.matrix.join(room)
                self.store.mark_handled(ev["event_id"])
                await self.matrix.send(room, "m.room.message", notice(
                    "Hello! " + self.links.help_text()), txn_for("hello", ev["event_id"]))
            elif membership in ("leave", "ban") and \
                    (link := self.store.link_for_matrix(room)) is not None:
                log.warning("bot removed from %s: unlinking it from %s", room, link.audio_room)
                self.store.remove_link(room)
            return
        if not isinstance(target, str):
            return
        if self.namer.is_puppet(target):
            if membership in ("leave", "ban"):
                self.store.set_puppet_in_room(target, room, False)
            return
        if membership == "join" and isinstance(content.get("displayname"), str):
            self._names[(room, target)] = content["displayname"]
        else:
            self._names.pop((room, target), None)

    async def _matrix_name(self, room_id: str, user_id: str) -> str:
        if (room_id, user_id) not in self._names:
            name = None
            try:
                member = await self.matrix.state_event(room_id, "m.room.member", user_id)
                name = member.get("displayname")
            except MatrixError as e:
                if e.transient:
                    raise
            self._names[(room_id, user_id)] = name if isinstance(name, str) and name \
                else localpart(user_id)
        return self._names[(room_id, user_id)]

    async def _relay_matrix_message(self, link: Link, ev: dict) -> None:
        eid, sender = ev["event_id"], ev["sender"]
        if self.store.by_matrix_event(eid) or self.store.is_handled(eid):
            return
        content = ev.get("content") or {}
        name = await self._matrix_name(link.matrix_room, sender)
        size = content_size(content)
        if size > self.opts.max_message_bytes:
            await self.links.reply(ev, too_large_text(name, size, self.opts.max_message_bytes,
                                                 "the audio room"))
            self.store.mark_handled(eid)
            return
        converted = matrix_to_audio(content, sender, name, self.store.audio_for_matrix)
        if converted is None:
            self.store.mark_handled(eid)
            return
        audio_id = await self._retrying("sending to the audio room", lambda: self.audio.send(
            link.audio_room, "m.room.message", converted, txn_for("matrix", eid)), attempts=3)
        self.store.add_mapping(eid, audio_id, link.matrix_room, link.audio_room, "message",
                               sender)

    async def _relay_matrix_redaction(self, link: Link, ev: dict) -> None:
        eid = ev["event_id"]
        if self.store.by_matrix_event(eid) or self.store.is_handled(eid):
            return
        target = redaction_target(ev)
        m = self.store.by_matrix_event(target) if target else None
        if m is None or m.audio_event is None or m.kind != "message":
            self.store.mark_handled(eid)
            return
        reason = (ev.get("content") or {}).get("reason")
        audio_event = m.audio_event
        audio_id = await self._retrying("redacting in the audio room", lambda: self._audio_redact(
            link.audio_room, audio_event, txn_for("redact", eid),
            reason if isinstance(reason, str) else None), attempts=3)
        self.store.add_mapping(eid, audio_id, link.matrix_room, link.audio_room, "redaction",
                               ev["sender"])

    async def _audio_redact(self, room_id: str, event_id: str, txn: str,
                            reason: str | None) -> str:
        if self._redact_endpoint:
            try:
                return await self.audio.redact(room_id, event_id, txn, reason)
            except MatrixError as e:
                if not e.unknown_endpoint:
                    raise
                log.info("our homeserver has no /redact endpoint; sending m.room.redaction")
                self._redact_endpoint = False
        # Room version 11 form: the target in content.redacts.
        return await self.audio.send(room_id, "m.room.redaction", {
            "redacts": event_id, **({"reason": reason} if reason else {})}, txn)

    async def _config_links(self) -> None:
        """Links from the config file, made once both homeservers answer."""
        await self.matrix_ready.wait()
        await self.audio_ready.wait()
        for lc in self.opts.links:
            existing = self.store.link_for_matrix(lc.matrix_room)
            if existing is not None:
                continue
            try:
                room, target = lc.matrix_room, lc.audio_room
                await self._retrying(f"joining {room}", partial(self.matrix.join, room))
                await self._retrying(f"linking {room}",
                                     partial(self.links.link, room, target, None, "config"))
            except (LinkError, MatrixError) as e:
                log.error("configured link %s <-> %s not made: %s", lc.matrix_room,
                          lc.audio_room, e)

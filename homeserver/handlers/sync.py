"""/sync (initial and incremental, long-poll), /messages pagination and member lists.

Tokens are positions on the one stream shared by events and account data: ``s<N>`` means "every
event with stream_ordering <= N is before this point". next_batch is the current position;
prev_batch is just before the first event of a timeline.
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from ..errors import InvalidParam, NotFound
from ..storage.events import AccountDataStore, EventStore, StreamCounter
from .accounts import Requester
from .e2e_keys import E2EKeysHandler
from .ephemeral import EphemeralEvents
from .events import client_event
from .notifications import NotificationCounter
from .notifier import Notifier
from .presence import PresenceHandler
from .rooms import RoomHandler
from .to_device import ToDeviceHandler

MAX_TIMEOUT_MS = 120_000


def parse_token(token: str | None, what: str = "since") -> int | None:
    if token is None or token == "":
        return None
    # Accept the bare integer too: a few clients strip prefixes from opaque tokens.
    raw = token[1:] if token.startswith("s") else token
    raw = raw.split("_", 1)[0]  # "_..." parts are for other streams (to-device's "_td<N>")
    try:
        pos = int(raw)
    except ValueError:
        raise InvalidParam(f"'{what}' is not a valid pagination token") from None
    if pos < 0:
        raise InvalidParam(f"'{what}' is not a valid pagination token")
    return pos


def make_token(pos: int) -> str:
    return f"s{pos}"


def _filter(filter_param: str | None, saved: dict | None) -> Any:
    """The sync filter: inline JSON, or the saved one its ID names."""
    if filter_param and filter_param.startswith("{"):
        try:
            return json.loads(filter_param)
        except ValueError:
            raise InvalidParam("filter is not valid JSON") from None
    return saved


def _timeline_filter_field(filt: Any, key: str) -> Any:
    try:
        return filt["room"]["timeline"][key]
    except (TypeError, KeyError):
        return None


def timeline_limit_from_filter(filter_param: str | None, default: int,
                               saved: dict | None = None) -> int:
    """Honour room.timeline.limit from an inline JSON filter or a saved one."""
    limit = _timeline_filter_field(_filter(filter_param, saved), "limit")
    if limit is None:
        return default
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
        raise InvalidParam("room.timeline.limit must be a non-negative integer")
    return min(limit, 100)


def thread_counts_from_filter(filter_param: str | None, saved: dict | None = None) -> bool:
    """room.timeline.unread_thread_notifications: unread counts by thread (MSC3773)."""
    value = _timeline_filter_field(_filter(filter_param, saved), "unread_thread_notifications")
    if value is not None and not isinstance(value, bool):
        raise InvalidParam("room.timeline.unread_thread_notifications must be a boolean")
    return value is True


class SyncHandler:
    def __init__(self, store: EventStore, account_data: AccountDataStore, stream: StreamCounter,
                 rooms: RoomHandler, notifier: Notifier, timeline_limit: int = 20,
                 ephemeral: EphemeralEvents | None = None, *,
                 unread: NotificationCounter,
                 bundle: Callable[[str, str, list[dict], int | None], None] | None = None,
                 presence: PresenceHandler | None = None,
                 to_device: ToDeviceHandler | None = None,
                 e2e_keys: E2EKeysHandler | None = None):
        self.store = store
        self.account_data = account_data
        self.stream = stream
        self.rooms = rooms
        self.notifier = notifier
        self.timeline_limit = timeline_limit
        self.unread = unread  # push-rule counts for unread_notifications
        self.ephemeral = ephemeral
        # Adds bundled aggregations (unsigned["m.relations"]) to rendered timeline events:
        # (user_id, room_id, events, visible up to).
        self.bundle = bundle or (lambda user_id, room_id, events, upto: None)
        self.presence = presence
        self.to_device = to_device
        self.e2e_keys = e2e_keys  # device_lists, one-time key counts

    async def sync(self, req: Requester, since: str | None, timeout_ms: int = 0,
                   full_state: bool = False, timeline_limit: int | None = None,
                   set_presence: str = "online", thread_counts: bool = False) -> dict:
        """``thread_counts``: the filter asked for unread counts by thread."""
        if set_presence not in ("online", "offline", "unavailable"):
            raise InvalidParam("set_presence must be online, offline or unavailable")
        since_pos = parse_token(since)
        if since_pos is not None and since_pos > self.stream.current:
            since_pos = self.stream.current  # a token from the future (e.g. restored backup)
        limit = self.timeline_limit if timeline_limit is None else timeline_limit
        deadline = time.monotonic() + min(max(timeout_ms, 0), MAX_TIMEOUT_MS) / 1000
        presence = self.presence is not None and \
            self.presence.sync_started(req.user_id, set_presence)
        # To-device: what the device got (up to the since token) is deleted now, once.
        td_since = self.to_device.acknowledge(req, since, self.stream.current) \
            if self.to_device is not None else None
        try:
            while True:
                mark = self.notifier.mark()
                result, empty = self._compute(req, since_pos, full_state, limit, thread_counts,
                                              td_since)
                remaining = deadline - time.monotonic()
                if not empty or since_pos is None or full_state or remaining <= 0:
                    return result
                # Nothing yet: wait for a notification (any since the mark counts).
                await self.notifier.wait_for(req.user_id, remaining, mark)
        finally:
            if presence and self.presence is not None:
                self.presence.sync_ended(req.user_id)

    def _compute(self, req: Requester, since: int | None, full_state: bool,
                 limit: int, thread_counts: bool = False,
                 td_since: int | None = None) -> tuple[dict, bool]:
        pos = self.stream.current
        join, invite, leave = {}, {}, {}
        # One query for the user's account data changes, split by room (not one per room).
        changed: dict[str, list[dict]] = {}
        for r, t, c in self.account_data.changed_since(req.user_id, since):
            changed.setdefault(r, []).append({"type": t, "content": c})
        joined_rooms = []
        for room_id, membership, mstream in self.store.rooms_for_user(req.user_id):
            new_membership = since is None or mstream > since
            if membership == "join":
                joined_rooms.append(room_id)
                room = self._joined_room(req, room_id, since, full_state or new_membership,
                                         limit, pos, changed.get(room_id, []), thread_counts)
                if room is not None:
                    join[room_id] = room
            elif membership == "invite" and (new_membership or full_state):
                ev = self.store.state_event(room_id, "m.room.member", req.user_id)
                if ev is not None:
                    invite[room_id] = {"invite_state": {
                        "events": self.rooms.invite_state(room_id, ev)}}
            elif membership in ("leave", "ban") and since is not None and new_membership:
                leave[room_id] = self._left_room(req, room_id, since, mstream, limit)
        global_ad = changed.get("", [])
        if since is None and not any(ev["type"] == "m.push_rules" for ev in global_ad):
            # Clients read their rules from account data (Synapse always sends them); ours
            # are mirrored there only once the user changes one.
            global_ad.append({"type": "m.push_rules",
                              "content": self.unread.rules.all_rules(req)})
        presence = self.presence.presence_events(
            req.user_id, joined_rooms, None if full_state else since, pos) \
            if self.presence is not None else []
        to_device, td_token = self.to_device.for_sync(req, td_since, pos) \
            if self.to_device is not None else ([], "")
        result = {
            "next_batch": make_token(pos) + td_token,
            "rooms": {"join": join, "invite": invite, "leave": leave, "knock": {}},
            "account_data": {"events": global_ad},
            "presence": {"events": presence},
            "to_device": {"events": to_device},
            "device_lists": {"changed": [], "left": []},
            "device_one_time_keys_count": {},
        }
        if self.e2e_keys is not None:  # device lists and one-time key counts
            keys = self.e2e_keys.sync_fields(req, since, pos)
            result.update(keys)
            if keys["device_lists"]["changed"] or keys["device_lists"]["left"]:
                return result, False
        return result, not (join or invite or leave or global_ad or presence or to_device)

    def _joined_room(self, req: Requester, room_id: str, since: int | None, full: bool,
                     limit: int, pos: int, room_ad: list[dict],
                     thread_counts: bool = False) -> dict | None:
        latest = self.store.latest_event(room_id)
        ephemeral = self.ephemeral.for_room(req.user_id, room_id, None if full else since,
                                            pos) if self.ephemeral else []
        if not full and (latest is None or (since is not None and latest[2] <= since)) \
                and not room_ad and not ephemeral:
            return None
        after = None if full else since
        rows = self.store.room_events(room_id, after=after, upto=pos, limit=limit + 1,
                                      backwards=True)
        limited = len(rows) > limit or (full and len(rows) > 0 and limit == 0)
        rows = list(reversed(rows[:limit]))
        timeline = [client_event(ev) for _, ev in rows]
        self.bundle(req.user_id, room_id, timeline, None)
        self._add_transaction_ids(req, timeline)
        in_timeline = {ev["event_id"] for ev in timeline}
        state = []
        if full or limited:
            # State the client would otherwise miss: the current state not in the timeline.
            state = [client_event(ev) for ev in self.rooms.state_view(room_id).values()
                     if ev["event_id"] not in in_timeline]
        first = rows[0][0] if rows else pos + 1
        members = self.store.count_members(room_id)
        unread, by_thread = self.unread.unread_notifications(req.user_id, room_id,
                                                             thread_counts)
        out = {
            "timeline": {"events": timeline, "limited": limited,
                         "prev_batch": make_token(first - 1)},
            "state": {"events": state},
            "account_data": {"events": room_ad},
            "ephemeral": {"events": ephemeral},
            "unread_notifications": unread,
            "summary": {"m.joined_member_count": members},
        }
        if by_thread is not None:
            out["unread_thread_notifications"] = by_thread
        return out

    def _add_transaction_ids(self, req: Requester, events: list[dict]) -> None:
        """The sending device gets its transaction ID back on its own events (local echo)."""
        mine = [e["event_id"] for e in events if e["sender"] == req.user_id]
        if not mine:
            return
        txns = self.store.txn_ids_for(req.user_id, req.device_id, mine)
        for e in events:
            if e["event_id"] in txns:
                # Stored scoped as room/type/txnId; the client knows only its txnId.
                e["unsigned"]["transaction_id"] = txns[e["event_id"]].rsplit("/", 1)[-1]

    def _left_room(self, req: Requester, room_id: str, since: int, upto: int,
                   limit: int) -> dict:
        rows = self.store.room_events(room_id, after=since, upto=upto, limit=limit + 1,
                                      backwards=True)
        limited = len(rows) > limit
        rows = list(reversed(rows[:limit]))
        first = rows[0][0] if rows else upto
        timeline = [client_event(ev) for _, ev in rows]
        self.bundle(req.user_id, room_id, timeline, upto)
        return {"timeline": {"events": timeline,
                             "limited": limited, "prev_batch": make_token(first - 1)},
                "state": {"events": []}, "account_data": {"events": []}}

    # /messages -----------------------------------------------------------------------------

    def messages(self, req: Requester, room_id: str, from_token: str | None, direction: str,
                 limit: int, to_token: str | None = None) -> dict:
        visible = self.rooms.visible_upto(req, room_id)
        if direction not in ("b", "f"):
            raise InvalidParam("dir must be 'b' or 'f'")
        limit = max(1, min(limit, 1000))
        start = parse_token(from_token, "from")
        to = parse_token(to_token, "to")
        if direction == "b":
            if start is None:
                start = self.stream.current
            upto = start if visible is None else min(start, visible)
            rows = self.store.room_events(room_id, after=to, upto=upto, limit=limit,
                                          backwards=True)
            end = rows[-1][0] - 1 if len(rows) == limit else None
        else:
            if start is None:
                start = 0
            upto = visible if to is None else (to if visible is None else min(to, visible))
            rows = self.store.room_events(room_id, after=start, upto=upto, limit=limit)
            end = rows[-1][0] if rows else None
        chunk = [client_event(ev) for _, ev in rows]
        self.bundle(req.user_id, room_id, chunk, visible)
        out = {"chunk": chunk, "start": make_token(start)}
        if end is not None:
            out["end"] = make_token(end)
        return out

    def members(self, req: Requester, room_id: str, membership: str | None = None,
                not_membership: str | None = None) -> list[dict]:
        out = []
        for (etype, _), ev in self.rooms.visible_state(req, room_id).items():
            if etype != "m.room.member":
                continue
            m = ev["content"].get("membership")
            if membership and m != membership:
                continue
            if not_membership and m == not_membership:
                continue
            out.append(client_event(ev))
        return out

    def joined_members(self, req: Requester, room_id: str) -> dict:
        self.rooms.visible_upto(req, room_id)
        joined = {}
        for uid in self.store.room_members(room_id):
            ev = self.store.state_event(room_id, "m.room.member", uid)
            c = ev["content"] if ev else {}
            joined[uid] = {"display_name": c.get("displayname"),
                           "avatar_url": c.get("avatar_url")}
        return {"joined": joined}

    def event(self, req: Requester, room_id: str, event_id: str) -> dict:
        visible = self.rooms.visible_upto(req, room_id)
        ev = self.store.get_event(event_id)
        if ev is None or ev["room_id"] != room_id:
            raise NotFound("Event not found")
        if visible is not None and (self.store.stream_ordering_of(event_id) or 0) > visible:
            raise NotFound("Event not found")
        out = client_event(ev)
        self.bundle(req.user_id, room_id, [out], visible)
        return out

"""What another server's directory answer may contain, checked field by field (pure, no I/O).

A remote ``publicRooms`` answer feeds two things: the client ``publicRooms?server=`` answer and
the hallway, which sorts and filters entries by their ``org.audiorooms.*`` fields. One entry of
the wrong type must not break either for every user, and a server must not list rooms of other
servers in the hallway. So each entry is rebuilt from the fields below, each of the right type,
range and length; an entry with any bad field is dropped (the answer's good entries are kept),
and an answer that is not an object with a ``chunk`` list is refused as a whole.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import Any

from federation.servername import is_valid_server_name

NS = "org.audiorooms."
MAX_ENTRIES = 500  # per server and answer; we ask for at most this many
MAX_SAFE_INT = 2**53 - 1
MAX_COUNT = 10_000_000  # members, speakers, listeners
MAX_SPEAKERS = 100  # speaker objects listed per room
MAX_CLUBS = 50
MAX_TOKEN = 255  # pagination tokens
MAX_TEXT = 65536  # longer display text is not cut, the entry is dropped
MAX_REPLAYS = 5  # replays listed per room entry (its newest)
MAX_DURATION_MS = 7 * 24 * 3600_000  # a replay is at most a week long
MAX_PUSH_ROOMS = 50  # room updates per pushed hallway EDU; more and the EDU is ignored

SERVER_NAME = r"(?:\[[0-9a-fA-F:.]{2,45}\]|[A-Za-z0-9.\-]{1,255})(?::[0-9]{1,5})?"
# Room and user localparts are opaque: printable ASCII but ':' (and no spaces).
ROOM_ID = re.compile(r"^![\x21-\x39\x3b-\x7e]{1,255}:(" + SERVER_NAME + r")$")
USER_ID = re.compile(r"^@[\x21-\x39\x3b-\x7e]{1,255}:(" + SERVER_NAME + r")$")
ALIAS = re.compile(r"^#[^:\s]{1,255}:(" + SERVER_NAME + r")$")
EVENT_ID = re.compile(r"^\$[A-Za-z0-9+/_\-=.:]{1,255}$")
MXC = re.compile(r"^mxc://(" + SERVER_NAME + r")/([A-Za-z0-9_\-]{1,255})$")


class Invalid(ValueError):
    """The whole answer is unusable (not merely one entry)."""


# field checks: each returns the clean value or raises ValueError ---------------------------

def _bool(v: Any) -> bool:
    if not isinstance(v, bool):
        raise ValueError("not a boolean")
    return v


def _int(lo: int, hi: int) -> Callable[[Any], int]:
    def check(v: Any) -> int:
        if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
            raise ValueError(f"not an integer in {lo}..{hi}")
        return v
    return check


def _str(max_len: int, pattern: re.Pattern | None = None) -> Callable[[Any], str]:
    def check(v: Any) -> str:
        if not isinstance(v, str) or len(v) > max_len:
            raise ValueError(f"not a string of at most {max_len} characters")
        if pattern is not None and not pattern.match(v):
            raise ValueError("not of the expected form")
        if "\x00" in v:
            raise ValueError("contains NUL")
        return v
    return check


def _text(max_len: int, keep_newlines: bool = False) -> Callable[[Any], str]:
    """Display text: control and formatting characters (bidi overrides, zero-width) removed,
    cut to ``max_len`` characters (a long name does not cost the room its listing)."""
    def check(v: Any) -> str:
        if not isinstance(v, str) or len(v) > MAX_TEXT:
            raise ValueError(f"not a string of at most {MAX_TEXT} characters")
        return clean_text(v, max_len, keep_newlines)
    return check


def clean_text(text: str, max_len: int, keep_newlines: bool = False) -> str:
    """``text`` without control/format characters, whitespace runs collapsed, at most
    ``max_len`` characters (cut with an ellipsis)."""
    out = []
    for ch in text:
        if ch == "\n" and keep_newlines:
            out.append(ch)
        elif ch.isspace():
            out.append(" ")
        elif unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn"):
            out.append(ch)
    cleaned = re.sub(r"[ ]{2,}", " ", "".join(out)).strip()
    return cleaned if len(cleaned) <= max_len else cleaned[:max_len - 1].rstrip() + "…"


def _list(item: Callable[[Any], Any], max_items: int) -> Callable[[Any], list]:
    def check(v: Any) -> list:
        if not isinstance(v, list) or len(v) > max_items:
            raise ValueError(f"not a list of at most {max_items} items")
        return [item(x) for x in v]
    return check


def _speaker(v: Any) -> dict:
    if not isinstance(v, dict):
        raise ValueError("speaker is not an object")
    out = {"user_id": _str(255, USER_ID)(v.get("user_id")),
           "displayname": _text(255)(v.get("displayname")),
           "moderator": _bool(v.get("moderator"))}
    avatar = face_url(v.get("avatar_url"))
    if avatar is not None:
        out["avatar_url"] = avatar
    return out


def face_url(v: Any) -> str | None:
    """A speaker's photo as an mxc URI, or None. A face is cosmetic: a malformed one is left
    out, not a reason to drop the room."""
    m = MXC.match(v) if isinstance(v, str) and len(v) <= 600 else None
    return v if m and is_valid_server_name(m.group(1)) else None


def replay(v: Any) -> dict:
    """One replay of a room (its m.audio event's fields): the mxc URL is checked for form
    here; that it is on the room's own server is checked with the room (``hallway_entry``)."""
    if not isinstance(v, dict):
        raise ValueError("replay is not an object")
    out: dict[str, Any] = {"event_id": _str(255, EVENT_ID)(v.get("event_id")),
           "url": _str(600, MXC)(v.get("url")),
           "duration": _int(0, MAX_DURATION_MS)(v.get("duration")),
           "started_ts": _int(0, MAX_SAFE_INT)(v.get("started_ts")),
           "ended_ts": _int(0, MAX_SAFE_INT)(v.get("ended_ts"))}
    if out["ended_ts"] < out["started_ts"]:
        raise ValueError("a replay ends before it starts")
    return out


def mxc_server(url: str) -> str:
    m = MXC.match(url)
    return m.group(1) if m else ""


# The spec's PublicRoomsChunk: (check, required)
DIRECTORY_FIELDS: dict[str, tuple[Callable[[Any], Any], bool]] = {
    "room_id": (_str(255, ROOM_ID), True),
    "num_joined_members": (_int(0, MAX_COUNT), True),
    "world_readable": (_bool, True),
    "guest_can_join": (_bool, True),
    "join_rule": (_str(255), False),
    "name": (_text(255), False),
    "topic": (_text(4096, keep_newlines=True), False),
    "canonical_alias": (_str(255, ALIAS), False),
    "avatar_url": (_str(1024), False),
    "room_type": (_str(255), False),
}
# What the hallway adds (AudioRoomHandler.summary_fields)
HALLWAY_FIELDS: dict[str, tuple[Callable[[Any], Any], bool]] = {
    NS + "live": (_bool, True),
    NS + "host": (_str(255), True),
    NS + "speakers": (_list(_speaker, MAX_SPEAKERS), True),
    NS + "speaker_count": (_int(0, MAX_COUNT), True),
    NS + "listener_count": (_int(0, MAX_COUNT), True),
    NS + "clubs": (_list(_str(255, ROOM_ID), MAX_CLUBS), True),
    NS + "live_since": (_int(0, MAX_SAFE_INT), True),
    NS + "scheduled_for": (_int(0, MAX_SAFE_INT), False),
    NS + "replays": (_list(replay, MAX_REPLAYS), False),
}


def _rebuild(entry: Any, fields: dict) -> dict | None:
    if not isinstance(entry, dict):
        return None
    out = {}
    try:
        for key, (check, required) in fields.items():
            if key in entry:
                out[key] = check(entry[key])
            elif required:
                return None
    except ValueError:
        return None
    return out


def directory_entry(entry: Any) -> dict | None:
    """A clean copy of one remote publicRooms entry (spec fields only), or None if bad."""
    return _rebuild(entry, DIRECTORY_FIELDS)


def room_server(room_id: str) -> str:
    m = ROOM_ID.match(room_id)
    return m.group(1) if m else ""


def hallway_entry(entry: Any, server: str) -> dict | None:
    """A clean copy of one entry of ``server``'s answer for the hallway: a valid directory
    entry of an audio room that ``server`` itself hosts, with every hallway field valid."""
    base = directory_entry(entry)
    if base is None:
        return None
    audio = _rebuild(entry, HALLWAY_FIELDS)
    if audio is None:
        return None
    if room_server(base["room_id"]) != server or audio[NS + "host"] != server:
        return None  # a server speaks for its own rooms only
    if any(mxc_server(r["url"]) != server for r in audio.get(NS + "replays", [])):
        return None  # and its replays are in its own media repository
    return {**base, **audio}


def public_rooms_answer(answer: Any) -> dict:
    """A remote publicRooms answer as our client may see it: good entries kept (at most
    MAX_ENTRIES), bad ones dropped; raises Invalid if it is not a directory answer at all."""
    chunk = _chunk(answer)
    entries = [e for e in map(directory_entry, chunk[:MAX_ENTRIES]) if e is not None]
    out: dict[str, Any] = {"chunk": entries}
    total = answer.get("total_room_count_estimate")
    if isinstance(total, int) and not isinstance(total, bool) and 0 <= total <= MAX_SAFE_INT:
        out["total_room_count_estimate"] = total
    for key in ("next_batch", "prev_batch"):
        token = answer.get(key)
        if isinstance(token, str) and 0 < len(token) <= MAX_TOKEN and token.isprintable():
            out[key] = token
    return out


def hallway_entries(answer: Any, server: str) -> list[dict]:
    """The audio rooms of ``server``'s publicRooms answer, each checked; raises Invalid if
    the answer is not a directory answer. Entries that are not audio rooms are skipped."""
    chunk = _chunk(answer)
    out = []
    for raw in chunk[:MAX_ENTRIES]:
        if not (isinstance(raw, dict) and NS + "live" in raw):
            continue  # a plain (non-audio) room: not for the hallway
        entry = hallway_entry(raw, server)
        if entry is not None:
            out.append(entry)
    return out


def _chunk(answer: Any) -> list:
    if not isinstance(answer, dict) or not isinstance(answer.get("chunk"), list):
        raise Invalid("the answer is not an object with a 'chunk' list")
    return answer["chunk"]


def hallway_push(content: Any, origin: str) -> tuple[str, int, list[tuple[str, dict | None]]]:
    """A pushed ``org.audiorooms.hallway`` EDU from ``origin``: ``{"boot", "seq", "rooms"}``,
    each room a full hallway entry of a room ``origin`` hosts or ``{"room_id", "removed":
    true}``. Returns (boot, seq, [(room_id, entry or None if removed)]); a bad room is
    skipped, an EDU that is not of this shape (or lists too many rooms) raises Invalid."""
    if not isinstance(content, dict):
        raise Invalid("not an object")
    boot, seq, rooms = content.get("boot"), content.get("seq"), content.get("rooms")
    try:
        boot = _str(64)(boot)
        seq = _int(0, MAX_SAFE_INT)(seq)
    except ValueError as e:
        raise Invalid(f"boot/seq: {e}") from None
    if not isinstance(rooms, list) or len(rooms) > MAX_PUSH_ROOMS:
        raise Invalid(f"rooms is not a list of at most {MAX_PUSH_ROOMS}")
    out: list[tuple[str, dict | None]] = []
    for raw in rooms:
        if isinstance(raw, dict) and raw.get("removed") is True:
            room_id = raw.get("room_id")
            if isinstance(room_id, str) and len(room_id) <= 255 and \
                    room_server(room_id) == origin:
                out.append((room_id, None))
            continue
        entry = hallway_entry(raw, origin)
        if entry is not None:
            out.append((entry["room_id"], entry))
    return boot, seq, out

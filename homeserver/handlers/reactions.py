"""Reactions in audio rooms: timeline events ``org.audiorooms.reaction`` ``{"key": "<emoji>"}``
from any joined member, limited per user, shown live (floating emoji in the web client).

Two gates, both here:

* A local user's reaction (``check_send``, before the event is built): the key must be a short
  string (a few grapheme clusters), the sender a joined member, and within the per-user limit
  ``ratelimit.reaction`` (default 10 per second); otherwise 400 ``M_INVALID_PARAM``, 403, or 429
  ``M_LIMIT_EXCEEDED`` with ``retry_after_ms``. A reaction to a room hosted elsewhere passes this
  on its sender's server, then the host's gate below.

* A remote server's reaction PDU arriving at the room's host (``admit_pdu``, before its
  signature is even checked, so a flood costs the host a dict lookup per excess PDU rather than
  an ed25519 verification and a write). Each remote sender gets the per-user rate (with twice
  the burst, for reactions that travel bunched up in one transaction after a slow link), and
  each origin server a cap per room (``ratelimit.reaction_per_origin``), so a server flooding
  through many users is cut as well. Only a sender of the origin itself is counted against
  (in room version ``org.audiorooms.1`` the host receives events only from their authors'
  servers), so a hostile server cannot spend another server's users' allowance.

Why excess reactions are refused outright rather than soft-failed: Matrix soft-fails (stores an
event, but neither shows it to clients nor builds on it) because in a DAG room other servers may
already reference the event in their ``prev_events``, and rejecting it would break their
chains. In room version ``org.audiorooms.1`` the host orders the room: an event exists in the
room only once the host appends it, residents build their ``prev_events`` only on what the host
relayed to them, and a sender's own server does not store its event until the host relays it
back (``RoomHandler.commit_event``). A reaction the host refuses is therefore referenced by no
event of the room, is stored nowhere, reaches no client (the host's or anyone's) and is relayed
to no server; the sending server learns why from the per-PDU error in the transaction answer.
Refusing also keeps a flood from costing the host a database write per excess reaction, which is
what would delay the room's other events (stage changes) behind it.
"""
from __future__ import annotations

import time
import unicodedata
from collections.abc import Callable

from federation.pdus import host_of, server_of
from federation.signing import compute_event_id

from ..config import RateLimit
from ..errors import Forbidden, InvalidParam, LimitExceeded
from ..storage.events import EventStore
from .ratelimit import RateLimiter

REACTION = "org.audiorooms.reaction"
MAX_KEY_CHARS = 16  # code points: a family emoji with skin tones is 7-11 of them
MAX_KEY_CLUSTERS = 4  # "a few" user-perceived characters: 👏, 🔥🔥, +1, lol
REMOTE_BURST_FACTOR = 2

# Code points that extend the character before them rather than start a new one (an
# approximation of Unicode's grapheme cluster rules that is right for emoji sequences).
_ZWJ = 0x200D
_KEYCAP = 0x20E3


def _extends(cp: int, category: str) -> bool:
    return (category in ("Mn", "Me", "Mc") or cp == _ZWJ or cp == _KEYCAP
            or 0xFE00 <= cp <= 0xFE0F  # variation selectors (text / emoji style)
            or 0x1F3FB <= cp <= 0x1F3FF  # skin tone modifiers
            or 0xE0020 <= cp <= 0xE007F)  # tag characters (subdivision flags)


def _allowed(cp: int, category: str) -> bool:
    if category in ("Cc", "Cs", "Co", "Zl", "Zp", "Zs"):
        return False  # controls, surrogates, private use, line breaks and spaces
    if category == "Cf":  # invisible formatting: only what emoji sequences use
        return cp == _ZWJ or 0xE0020 <= cp <= 0xE007F
    return True


def grapheme_count(key: str) -> int:
    """User-perceived characters in ``key``: extenders, what follows a zero-width joiner and
    the second of a pair of regional indicators (a flag) join the character before them."""
    count, after_zwj, lone_indicator = 0, False, False
    for ch in key:
        cp = ord(ch)
        cat = unicodedata.category(ch)
        indicator = 0x1F1E6 <= cp <= 0x1F1FF
        if count and (after_zwj or _extends(cp, cat) or (indicator and lone_indicator)):
            lone_indicator = False if indicator else lone_indicator
        else:
            count += 1
            lone_indicator = indicator
        after_zwj = cp == _ZWJ
    return count


def reaction_key_error(content) -> str | None:
    """Why ``content`` is not a valid reaction (None when it is)."""
    if not isinstance(content, dict):
        return "a reaction's content must be an object"
    key = content.get("key")
    if not isinstance(key, str) or not key:
        return "a reaction needs a 'key': a short string such as an emoji"
    if len(key) > MAX_KEY_CHARS:
        return f"a reaction key is at most {MAX_KEY_CHARS} characters"
    if not all(_allowed(ord(ch), unicodedata.category(ch)) for ch in key):
        return "a reaction key may not contain spaces, control or invisible characters"
    if _extends(ord(key[0]), unicodedata.category(key[0])):
        return "a reaction key may not start with a combining character"
    if grapheme_count(key) > MAX_KEY_CLUSTERS:
        return f"a reaction key is at most {MAX_KEY_CLUSTERS} characters (an emoji or two)"
    return None


class ReactionGate:
    def __init__(self, server_name: str, store: EventStore, per_user: RateLimit,
                 per_origin: RateLimit, clock: Callable[[], float] = time.monotonic):
        self.server_name = server_name
        self.store = store
        self.local = RateLimiter(per_user, clock)
        self.remote_sender = RateLimiter(
            RateLimit(per_user.per_second, per_user.burst * REMOTE_BURST_FACTOR), clock)
        self.remote_origin = RateLimiter(per_origin, clock)
        self.dropped = 0  # remote reactions refused for exceeding a limit (tests read it)

    def check_send(self, user_id: str, room_id: str, etype: str, content) -> None:
        """A local user's event, before it is built (RoomHandler.send_message): reactions
        are checked for a valid key, membership and the sender's rate."""
        if etype != REACTION:
            return
        error = reaction_key_error(content)
        if error:
            raise InvalidParam(error)
        membership = self.store.membership(room_id, user_id)
        if membership is None or membership[0] != "join":
            raise Forbidden("only members of the room may react")
        self.local.check(user_id)  # last: only a reaction that would be sent takes a token

    def admit_pdu(self, origin: str, pdu) -> str | None:
        """A PDU from ``origin``, before it is verified (FederationHandler.receive_pdu): the
        reason to refuse a reaction to a room we host, or None to go on as usual."""
        if not isinstance(pdu, dict) or pdu.get("type") != REACTION:
            return None
        room_id, sender = pdu.get("room_id"), pdu.get("sender")
        if not isinstance(room_id, str) or not isinstance(sender, str):
            return None  # malformed: verification refuses it with the reason
        if host_of(room_id) != self.server_name or server_of(sender) != origin:
            return None  # not ours to limit, or not from its author's server (refused later)
        error = reaction_key_error(pdu.get("content"))
        if error:
            return error
        try:  # a PDU we already took (sent again): no new reaction, nothing to count
            if self.store.has_event(compute_event_id(pdu)):
                return None
        except Exception:  # too malformed to have an ID: verification refuses it
            return None
        try:
            self.remote_sender.check(sender)
            self.remote_origin.check(f"{origin}\n{room_id}")
        except LimitExceeded:
            self.dropped += 1
            return "reaction rate limit exceeded: dropped by the room's host"
        return None

"""The audio stage's rules: who may set which role, hand and live state, for whom.

Pure functions over room state, plugged into the room's rules (``rules.check_event``) on every
server, so a remote server cannot put its user on stage, raise another user's hand or unmute a
user a moderator muted: the host refuses such an event and every other server would too.

Moderation survives the last moderator leaving without anyone having to sign for it: when no
joined member holds the moderator role, the longest-standing speaker (or, with no speakers,
the longest-standing member) *is* the moderator, derived from state by every server alike.
"Longest-standing" is the room's host's order (homeserver/ordering.py), which every server
knows alike; never ``depth`` or ``origin_server_ts``, which the sender writes itself and could
set to whatever puts it first.
"""
from __future__ import annotations

from collections.abc import Mapping

from .ordering import order_of
from .rules import AuthError, membership_of

AUDIO_ROOM = "org.audiorooms.audio"
ROLE = "org.audiorooms.role"
HAND = "org.audiorooms.hand"
LIVE = "org.audiorooms.live"
RSVP = "org.audiorooms.rsvp"
RECORDING = "org.audiorooms.recording"
ROLES = ("moderator", "speaker", "listener")
STAGE_ROLES = ("moderator", "speaker")
STAGE_EVENT_TYPES = (ROLE, HAND, LIVE, RSVP, RECORDING)

StateMap = Mapping[tuple[str, str], dict]


def is_audio_room(state: StateMap) -> bool:
    create = state.get(("m.room.create", ""))
    return create is not None and create["content"].get("type") == AUDIO_ROOM


def _order(ev: dict) -> tuple[int, int, int]:
    """Where ``ev`` stands in the room's order. An event the host ordered has its place there;
    one without an order (stored before orders were kept) comes after all of those, so the
    sender's own ``depth`` and timestamp only ever rank such events among themselves and can
    never put anyone ahead of a member the host ordered."""
    order = order_of(ev)
    if order is not None:
        return (0, order, 0)
    return (1, _int(ev.get("depth")), _int(ev.get("origin_server_ts")))


def _int(v) -> int:
    return v if isinstance(v, int) and not isinstance(v, bool) else 0


def role_of(state: StateMap, user_id: str) -> dict:
    """{"role", "muted", "muted_by_moderator"}; joining without a role event is listening."""
    ev = state.get((ROLE, user_id))
    if ev is None or membership_of(state, user_id) != "join":
        return {"role": "listener", "muted": False, "muted_by_moderator": False}
    c = ev["content"]
    role = c.get("role") if c.get("role") in ROLES else "listener"
    muted = c.get("muted") is True
    return {"role": role, "muted": muted, "muted_by_moderator": muted and ev["sender"] != user_id}


def stage_members(state: StateMap) -> dict[str, list[str]]:
    """Joined users by role, each list ordered longest-standing first."""
    joined = {k[1]: ev for k, ev in state.items()
              if k[0] == "m.room.member" and ev["content"].get("membership") == "join"}
    out: dict[str, list[tuple]] = {r: [] for r in ROLES}
    for uid, member_ev in joined.items():
        role_ev = state.get((ROLE, uid))
        role = role_of(state, uid)["role"]
        since = _order(role_ev) if role_ev is not None and role != "listener" else _order(member_ev)
        out[role].append((since, uid))
    return {r: [u for _, u in sorted(v)] for r, v in out.items()}


def moderators(state: StateMap) -> list[str]:
    """Explicit moderators, or the derived one when none is left in the room."""
    members = stage_members(state)
    if members["moderator"]:
        return members["moderator"]
    if members["speaker"]:
        return members["speaker"][:1]
    return members["listener"][:1]


def may_publish(state: StateMap, user_id: str) -> bool:
    """What the SFU enforces: joined, on stage, not muted, and the room not ended."""
    if membership_of(state, user_id) != "join":
        return False
    r = role_of(state, user_id)
    on_stage = r["role"] in STAGE_ROLES or user_id in moderators(state)
    return on_stage and not r["muted"] and live_state(state).get("live") is not False


def publishers(state: StateMap) -> set[str]:
    """Everyone who may publish audio now (``may_publish`` for the whole room at once)."""
    members = stage_members(state)
    mods = moderators(state)
    on_stage = set(members["moderator"]) | set(members["speaker"]) | set(mods)
    return {u for u in on_stage if not role_of(state, u)["muted"]}


def is_recorded(state: StateMap) -> bool:
    """Whether a moderator has the room recorded now (``org.audiorooms.recording``)."""
    ev = state.get((RECORDING, ""))
    return ev is not None and ev["content"].get("recording") is True


def live_state(state: StateMap) -> dict:
    ev = state.get((LIVE, ""))
    return ev["content"] if ev else {"live": True}  # created without a schedule: live now


class StageRules:
    """The audio stage as a ``rules.RoomPolicy``: its events' rules, and moderators who may
    remove and ban like a Matrix moderator (50) even without that power level."""

    def check(self, event: dict, state: StateMap) -> None:
        check_stage_event(event, state)

    def membership_level(self, state: StateMap, user_id: str, level: int) -> int:
        if level < 50 and is_audio_room(state) and user_id in moderators(state):
            return 50
        return level


def check_stage_event(event: dict, state: StateMap) -> None:
    """The stage's rule for rules.check_event; silent for events it does not govern."""
    etype = event["type"]
    if etype not in STAGE_EVENT_TYPES or not is_audio_room(state):
        return
    sender = event["sender"]
    content = event.get("content") or {}
    target = event.get("state_key", "")

    def is_mod() -> bool:  # reads every member: asked only where the answer matters
        return sender in moderators(state)

    if membership_of(state, sender) != "join":
        raise AuthError(f"{sender} is not in the room")

    if etype == RECORDING:
        if target != "":
            raise AuthError("org.audiorooms.recording has an empty state_key")
        if not isinstance(content.get("recording"), bool):
            raise AuthError("recording must be true or false")
        if not is_mod():
            raise AuthError("only moderators can start or stop recording")
        return

    if etype == LIVE:
        if target != "":
            raise AuthError("org.audiorooms.live has an empty state_key")
        if not isinstance(content.get("live"), bool):
            raise AuthError("live must be true or false")
        sched = content.get("scheduled_for")
        if sched is not None and (not isinstance(sched, int) or isinstance(sched, bool)):
            raise AuthError("scheduled_for must be a timestamp in milliseconds")
        if not is_mod():
            raise AuthError("only moderators can start, schedule or end the room")
        return

    if not target.startswith("@"):
        raise AuthError(f"{etype} is keyed by a user ID")
    if etype == RSVP:
        if target != sender:
            raise AuthError("you can only RSVP for yourself")
        if not isinstance(content.get("going"), bool):
            raise AuthError("going must be true or false")
        return
    if membership_of(state, target) != "join":
        raise AuthError(f"{target} is not in the room")

    if etype == HAND:
        raised = content.get("raised")
        if not isinstance(raised, bool):
            raise AuthError("raised must be true or false")
        if target == sender:
            return
        if raised is False and is_mod():
            return  # moderators may lower anyone's hand, never raise it
        raise AuthError("you cannot raise or lower another user's hand")

    # ROLE
    role = content.get("role")
    muted = content.get("muted", False)
    if role not in ROLES:
        raise AuthError(f"role must be one of {', '.join(ROLES)}")
    if not isinstance(muted, bool):
        raise AuthError("muted must be true or false")
    if is_mod():
        return
    if target != sender:
        raise AuthError("only moderators can change another user's role")
    current = role_of(state, sender)
    if role == "listener":
        return  # stepping down is always allowed; only a moderator can bring you back
    if role == current["role"]:
        # Checked first: re-muting yourself would make you the mute's sender, free to unmute.
        if current["muted_by_moderator"]:
            raise AuthError("a moderator muted you; only a moderator can unmute you")
        return  # muting or unmuting yourself
    raise AuthError("only moderators can put users on stage or make moderators")

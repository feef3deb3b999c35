"""The room's rules: may this event be appended given the room's current state?

Pure functions over plain dicts, no I/O, so every server (and every test) applies the same rules.
They follow Matrix's authorization rules for the subset our room version ``org.audiorooms.1``
uses; the host orders the room, so rules are checked against the host's current state rather
than resolved across forks. What a kind of room adds (the audio stage) plugs in as a
``RoomPolicy``, built by ``make_app``; this module imports none of them.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

StateMap = Mapping[tuple[str, str], dict]

DEFAULT_POWER_LEVELS = {
    "users_default": 0, "events_default": 0, "state_default": 50,
    "ban": 50, "kick": 50, "redact": 50, "invite": 0,
}
MEMBERSHIPS = ("join", "invite", "leave", "ban", "knock")


class AuthError(Exception):
    """The event is not allowed; the message says why (shown to the user as M_FORBIDDEN)."""


class RoomPolicy(Protocol):
    """The rules a kind of room adds to the generic ones (see ``stage.StageRules``)."""

    def check(self, event: dict, state: StateMap) -> None:
        """Raise AuthError if the event breaks this policy's rules; silent otherwise."""

    def membership_level(self, state: StateMap, user_id: str, level: int) -> int:
        """The power level ``user_id`` kicks and bans with (``level`` from power levels)."""


def _content(state: StateMap, key: tuple[str, str]) -> dict:
    ev = state.get(key)
    return ev["content"] if ev else {}


def power_levels(state: StateMap) -> dict:
    pl = state.get(("m.room.power_levels", ""))
    if pl is None:
        # Before power levels exist only the creator has power (spec: creator is 100).
        create = state.get(("m.room.create", ""))
        users = {create["sender"]: 100} if create else {}
        return {**DEFAULT_POWER_LEVELS, "users": users, "state_default": 0}
    return {**DEFAULT_POWER_LEVELS, **pl["content"]}


def _int(v, default: int = 0) -> int:
    return v if isinstance(v, int) and not isinstance(v, bool) else default


def user_level(pl: dict, user_id: str) -> int:
    users = pl.get("users") or {}
    return _int(users.get(user_id), _int(pl.get("users_default"), 0))


def required_level(pl: dict, etype: str, is_state: bool) -> int:
    events = pl.get("events") or {}
    if etype in events:
        return _int(events[etype])
    return _int(pl.get("state_default"), 50) if is_state else _int(pl.get("events_default"), 0)


def membership_of(state: StateMap, user_id: str) -> str:
    return _content(state, ("m.room.member", user_id)).get("membership", "leave")


def check_event(event: dict, state: StateMap,
                extra_checks: Sequence[Callable[[dict, StateMap], None]] = (),
                policy: RoomPolicy | None = None) -> None:
    """Raise AuthError unless ``event`` may follow ``state``: the generic rules, then each of
    ``extra_checks``, then the policy's own checks."""
    etype = event["type"]
    sender = event["sender"]
    if etype == "m.room.create":
        if state:
            raise AuthError("the room already exists")
        if event.get("prev_events"):
            raise AuthError("m.room.create must be the first event")
        return
    if ("m.room.create", "") not in state:
        raise AuthError("no such room")
    if etype == "m.room.member":
        _check_membership(event, state, policy)
    else:
        if membership_of(state, sender) != "join":
            raise AuthError(f"{sender} is not in the room")
        pl = power_levels(state)
        is_state = "state_key" in event
        need = required_level(pl, etype, is_state)
        if user_level(pl, sender) < need:
            raise AuthError(f"you need power level {need} to send {etype}")
        if is_state and event["state_key"].startswith("@") and event["state_key"] != sender \
                and etype not in _STATE_FOR_OTHERS:
            # Spec rule: a state key that is a user ID may only be set by that user.
            raise AuthError("you cannot set state belonging to another user")
        if etype == "m.room.power_levels":
            _check_power_levels(event, state, pl)
    for check in extra_checks:
        check(event, state)
    if policy is not None:
        policy.check(event, state)


# Our audio-stage state events are keyed by the *target* user and set by moderators; their own
# rules (in the stage module) decide who may set them, so the generic owner rule steps aside.
_STATE_FOR_OTHERS = {"org.audiorooms.role", "org.audiorooms.hand"}


def _membership_level(pl: dict, state: StateMap, user_id: str,
                      policy: RoomPolicy | None) -> int:
    level = user_level(pl, user_id)
    return policy.membership_level(state, user_id, level) if policy is not None else level


def _check_membership(event: dict, state: StateMap, policy: RoomPolicy | None) -> None:
    sender = event["sender"]
    target = event.get("state_key")
    membership = (event.get("content") or {}).get("membership")
    if not isinstance(target, str) or not target.startswith("@"):
        raise AuthError("m.room.member needs a user ID as state_key")
    if membership not in MEMBERSHIPS:
        raise AuthError(f"unknown membership {membership!r}")
    pl = power_levels(state)
    sender_m = membership_of(state, sender)
    target_m = membership_of(state, target)
    create = state[("m.room.create", "")]

    if membership == "join":
        if sender != target:
            raise AuthError("you can only join for yourself")
        # The creator's first join, straight after m.room.create.
        if len(state) == 1 and create["sender"] == target:
            return
        if target_m == "ban":
            raise AuthError("you are banned from this room")
        rule = _content(state, ("m.room.join_rules", "")).get("join_rule", "invite")
        if target_m in ("join", "invite") or rule == "public":
            return
        raise AuthError("you need an invite to join this room")
    if membership == "invite":
        if sender_m != "join":
            raise AuthError("you are not in the room")
        if target_m in ("join", "ban"):
            raise AuthError(f"{target} is already {'in' if target_m == 'join' else 'banned from'}"
                            " the room")
        if user_level(pl, sender) < _int(pl.get("invite"), 0):
            raise AuthError("you do not have power to invite")
        return
    if membership == "leave":
        if sender == target:
            if sender_m not in ("join", "invite", "knock"):
                raise AuthError("you are not in the room")
            return
        if sender_m != "join":
            raise AuthError("you are not in the room")
        sender_level = _membership_level(pl, state, sender, policy)
        target_level = _membership_level(pl, state, target, policy)
        if target_m == "ban" and sender_level < _int(pl.get("ban"), 50):
            raise AuthError("you do not have power to unban")
        # Matrix's rule applies to unbans too: kick level, and outranking the target.
        if sender_level < _int(pl.get("kick"), 50) or target_level >= sender_level:
            raise AuthError(f"you do not have power to {'unban' if target_m == 'ban' else 'kick'}"
                            " this user")
        return
    if membership == "ban":
        if sender_m != "join":
            raise AuthError("you are not in the room")
        sender_level = _membership_level(pl, state, sender, policy)
        target_level = _membership_level(pl, state, target, policy)
        if sender_level < _int(pl.get("ban"), 50) or target_level >= sender_level:
            raise AuthError("you do not have power to ban this user")
        return
    raise AuthError("knocking is not supported in this room version")


def _check_power_levels(event: dict, state: StateMap, old: dict) -> None:
    new = event["content"]
    sender_level = user_level(old, event["sender"])
    for key in ("users_default", "events_default", "state_default", "ban", "kick", "redact",
                "invite"):
        if key in new and (not isinstance(new[key], int) or isinstance(new[key], bool)):
            raise AuthError(f"power level {key} must be an integer")
    for key in ("users", "events"):
        if key in new and not isinstance(new[key], dict):
            raise AuthError(f"power levels {key} must be an object")
        for k, v in (new.get(key) or {}).items():
            if not isinstance(v, int) or isinstance(v, bool):
                raise AuthError(f"power level for {k} must be an integer")
    if ("m.room.power_levels", "") not in state:
        return
    # Anything changed must be within the sender's own level, before and after.
    for key in ("users_default", "events_default", "state_default", "ban", "kick", "redact",
                "invite"):
        before, after = old.get(key), new.get(key, DEFAULT_POWER_LEVELS.get(key))
        if before != after and max(_int(before), _int(after)) > sender_level:
            raise AuthError(f"you cannot change {key} beyond your own level")
    for key in ("events", "users"):
        before, after = old.get(key) or {}, new.get(key) or {}
        for k in set(before) | set(after):
            if before.get(k) == after.get(k):
                continue
            if key == "users" and k != event["sender"] and k in before \
                    and _int(before[k]) >= sender_level:
                raise AuthError(f"you cannot change the level of {k}")
            if max(_int(before.get(k)), _int(after.get(k))) > sender_level:
                raise AuthError(f"you cannot set a level above your own for {k}")

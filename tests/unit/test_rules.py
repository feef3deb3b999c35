"""homeserver.rules.check_event over plain dicts (Matrix authorization rules, our subset)."""
from __future__ import annotations

import pytest

from homeserver.rules import AuthError, check_event

ALICE, BOB, CAROL, DAVE = "@alice:hs", "@bob:hs", "@carol:hs", "@dave:hs"
_ids = iter(range(10**6))


def ev(etype: str, sender: str, content: dict, state_key: str | None = None) -> dict:
    e = {"event_id": f"$e{next(_ids)}", "type": etype, "sender": sender, "content": content,
         "room_id": "!r:hs", "prev_events": ["$prev"]}
    if state_key is not None:
        e["state_key"] = state_key
    return e


def member(user: str, membership: str, sender: str | None = None) -> dict:
    return ev("m.room.member", sender or user, {"membership": membership}, user)


def room(join_rule: str = "invite", members: dict[str, str] | None = None,
         levels: dict[str, int] | None = None, **pl_extra) -> dict:
    """Current state: alice created it; ``members`` maps user -> membership."""
    state = {("m.room.create", ""): ev("m.room.create", ALICE, {"room_version": "x"}, ""),
             ("m.room.join_rules", ""): ev("m.room.join_rules", ALICE,
                                           {"join_rule": join_rule}, ""),
             ("m.room.power_levels", ""): ev("m.room.power_levels", ALICE, {
                 "users": levels if levels is not None else {ALICE: 100},
                 "users_default": 0, "events_default": 0, "state_default": 50, "ban": 50,
                 "kick": 50, "redact": 50, "invite": 0,
                 "events": {"m.room.power_levels": 100, "m.room.name": 50}, **pl_extra}, "")}
    for user, m in {ALICE: "join", **(members or {})}.items():
        state[("m.room.member", user)] = member(user, m)
    return state


def allowed(event: dict, state: dict) -> bool:
    try:
        check_event(event, state)
    except AuthError:
        return False
    return True


# -- creation and the creator's first join -------------------------------------------------------

def test_create_only_as_first_event():
    create = ev("m.room.create", ALICE, {"room_version": "x"}, "")
    create["prev_events"] = []
    assert allowed(create, {})
    assert not allowed(create, room())  # the room already exists
    assert not allowed(ev("m.room.create", ALICE, {}, ""), {})  # has prev_events


def test_nothing_before_create():
    assert not allowed(member(ALICE, "join"), {})
    assert not allowed(ev("m.room.message", ALICE, {"body": "x"}), {})


def test_creators_first_join():
    state = {("m.room.create", ""): ev("m.room.create", ALICE, {}, "")}
    assert allowed(member(ALICE, "join"), state)
    # Someone else cannot slip in before the creator: no join rules yet means invite-only.
    assert not allowed(member(BOB, "join"), state)


def test_creator_has_power_before_power_levels_exist():
    state = {("m.room.create", ""): ev("m.room.create", ALICE, {}, ""),
             ("m.room.member", ALICE): member(ALICE, "join")}
    assert allowed(ev("m.room.power_levels", ALICE, {"users": {ALICE: 100}}, ""), state)
    assert allowed(ev("m.room.name", ALICE, {"name": "n"}, ""), state)
    # Only the creator is joined and the join rule defaults to invite, so nobody else can
    # get in before the power levels are set.
    assert not allowed(member(BOB, "join"), state)


# -- joining ----------------------------------------------------------------------------------

def test_join_public_room():
    assert allowed(member(BOB, "join"), room("public"))


def test_join_invite_only_needs_invite():
    assert not allowed(member(BOB, "join"), room("invite"))
    assert allowed(member(BOB, "join"), room("invite", {BOB: "invite"}))
    assert allowed(member(BOB, "join"), room("invite", {BOB: "join"}))  # a profile change
    assert not allowed(member(BOB, "join"), room("invite", {BOB: "leave"}))


def test_cannot_join_for_someone_else():
    assert not allowed(member(BOB, "join", sender=ALICE), room("public"))


def test_banned_user_cannot_join_even_public_or_invited():
    assert not allowed(member(BOB, "join"), room("public", {BOB: "ban"}))


def test_unknown_join_rule_is_treated_as_invite():
    assert not allowed(member(BOB, "join"), room("knock"))


def test_knock_and_bad_memberships_refused():
    assert not allowed(member(BOB, "knock"), room("public"))
    assert not allowed(member(BOB, "dance"), room("public"))
    bad = ev("m.room.member", BOB, {"membership": "join"}, "not-a-user")
    assert not allowed(bad, room("public"))


# -- invites ------------------------------------------------------------------------------------

def test_invite_needs_sender_in_room_and_invite_power():
    assert allowed(member(BOB, "invite", sender=ALICE), room())
    assert not allowed(member(CAROL, "invite", sender=BOB), room())  # bob not in room
    state = room(members={BOB: "join"}, invite=50)
    assert not allowed(member(CAROL, "invite", sender=BOB), state)
    state = room(members={BOB: "join"}, levels={ALICE: 100, BOB: 50}, invite=50)
    assert allowed(member(CAROL, "invite", sender=BOB), state)


def test_cannot_invite_joined_or_banned():
    assert not allowed(member(BOB, "invite", sender=ALICE), room(members={BOB: "join"}))
    assert not allowed(member(BOB, "invite", sender=ALICE), room(members={BOB: "ban"}))
    assert allowed(member(BOB, "invite", sender=ALICE), room(members={BOB: "leave"}))


# -- leaving, kicking -------------------------------------------------------------------------

def test_leave_self():
    assert allowed(member(BOB, "leave"), room(members={BOB: "join"}))
    assert allowed(member(BOB, "leave"), room(members={BOB: "invite"}))  # rejecting an invite
    assert not allowed(member(BOB, "leave"), room())  # never in the room
    assert not allowed(member(BOB, "leave"), room(members={BOB: "ban"}))  # cannot unban self


def test_kick_needs_kick_level_above_target():
    levels = {ALICE: 100, BOB: 50, CAROL: 50}
    state = room(members={BOB: "join", CAROL: "join", DAVE: "join"}, levels=levels)
    assert allowed(member(DAVE, "leave", sender=BOB), state)  # 50 >= kick, 50 > 0
    assert not allowed(member(CAROL, "leave", sender=BOB), state)  # equal level
    assert not allowed(member(ALICE, "leave", sender=BOB), state)  # higher level
    assert not allowed(member(BOB, "leave", sender=DAVE), state)  # 0 < kick level
    assert allowed(member(BOB, "leave", sender=ALICE), state)


def test_kick_level_is_respected():
    state = room(members={BOB: "join", DAVE: "join"}, levels={ALICE: 100, BOB: 50}, kick=75)
    assert not allowed(member(DAVE, "leave", sender=BOB), state)


def test_kicker_must_be_in_room():
    state = room(members={BOB: "leave", DAVE: "join"}, levels={ALICE: 100, BOB: 50})
    assert not allowed(member(DAVE, "leave", sender=BOB), state)


# -- bans ---------------------------------------------------------------------------------------

def test_ban_needs_ban_level_above_target():
    levels = {ALICE: 100, BOB: 50, CAROL: 50}
    state = room(members={BOB: "join", CAROL: "join", DAVE: "join"}, levels=levels)
    assert allowed(member(DAVE, "ban", sender=BOB), state)
    assert allowed(member("@stranger:elsewhere", "ban", sender=BOB), state)  # pre-emptive
    assert not allowed(member(CAROL, "ban", sender=BOB), state)
    assert not allowed(member(ALICE, "ban", sender=BOB), state)
    assert not allowed(member(BOB, "ban", sender=DAVE), state)
    state = room(members={BOB: "join", DAVE: "join"}, levels={ALICE: 100, BOB: 50}, ban=60)
    assert not allowed(member(DAVE, "ban", sender=BOB), state)


def test_banner_must_be_in_room():
    state = room(members={BOB: "invite", DAVE: "join"}, levels={ALICE: 100, BOB: 50})
    assert not allowed(member(DAVE, "ban", sender=BOB), state)


# -- unban (leave for a banned user) -------------------------------------------------------------

def test_unban_needs_ban_level():
    state = room(members={BOB: "join", DAVE: "ban"}, levels={ALICE: 100, BOB: 50})
    assert allowed(member(DAVE, "leave", sender=BOB), state)
    state = room(members={BOB: "join", DAVE: "ban"}, levels={ALICE: 100, BOB: 50}, ban=60)
    assert not allowed(member(DAVE, "leave", sender=BOB), state)
    assert not allowed(member(DAVE, "leave", sender=CAROL), room(members={CAROL: "join",
                                                                          DAVE: "ban"}))


def test_unban_also_needs_kick_level_and_a_lower_target():
    # Matrix's rules: after the ban-level check, a leave for someone else is allowed only if
    # the sender has the kick level and outranks the target; an unban is no exception.
    state = room(members={BOB: "join", DAVE: "ban"}, levels={ALICE: 100, BOB: 50}, kick=75)
    assert not allowed(member(DAVE, "leave", sender=BOB), state)
    state = room(members={BOB: "join", CAROL: "ban"}, levels={ALICE: 100, BOB: 50, CAROL: 60})
    assert not allowed(member(CAROL, "leave", sender=BOB), state)
    assert allowed(member(CAROL, "leave", sender=ALICE), state)


# -- sending ------------------------------------------------------------------------------------

def test_non_member_cannot_send():
    msg = lambda who: ev("m.room.message", who, {"body": "hi"})  # noqa: E731
    assert allowed(msg(ALICE), room())
    assert not allowed(msg(BOB), room())
    assert not allowed(msg(BOB), room(members={BOB: "invite"}))
    assert not allowed(msg(BOB), room(members={BOB: "leave"}))
    assert not allowed(msg(BOB), room(members={BOB: "ban"}))
    assert allowed(msg(BOB), room(members={BOB: "join"}))


def test_state_needs_state_level():
    state = room(members={BOB: "join"})
    assert not allowed(ev("m.room.topic", BOB, {"topic": "t"}, ""), state)  # 0 < 50
    assert not allowed(ev("m.room.name", BOB, {"name": "n"}, ""), state)  # events override
    assert allowed(ev("m.room.topic", ALICE, {"topic": "t"}, ""), state)


def test_events_default_applies_to_messages():
    state = room(members={BOB: "join"}, events_default=10)
    assert not allowed(ev("m.room.message", BOB, {"body": "x"}), state)


def test_state_key_owned_by_another_user():
    state = room(members={BOB: "join"}, levels={ALICE: 100, BOB: 50})
    assert allowed(ev("org.example.status", BOB, {"s": 1}, BOB), state)
    assert not allowed(ev("org.example.status", BOB, {"s": 1}, ALICE), state)
    # even a room admin cannot write state keyed by someone else's user ID
    assert not allowed(ev("org.example.status", ALICE, {"s": 1}, BOB), state)
    assert allowed(ev("org.example.status", BOB, {"s": 1}, "not-a-user-id"), state)


# -- power levels -------------------------------------------------------------------------------

def pl_event(sender: str, users: dict, **top) -> dict:
    content = {"users": users, "users_default": 0, "events_default": 0, "state_default": 50,
               "ban": 50, "kick": 50, "redact": 50, "invite": 0,
               "events": {"m.room.power_levels": 100, "m.room.name": 50}, **top}
    return ev("m.room.power_levels", sender, content, "")


def mod_room(**pl_extra) -> dict:
    """Bob (50) and carol (50) may edit power levels; dave is at 0."""
    return room(members={BOB: "join", CAROL: "join", DAVE: "join"},
                levels={ALICE: 100, BOB: 50, CAROL: 50},
                events={"m.room.power_levels": 50, "m.room.name": 50}, **pl_extra)


EVENTS50 = {"m.room.power_levels": 50, "m.room.name": 50}
BASE_USERS = {ALICE: 100, BOB: 50, CAROL: 50}


def test_power_levels_need_the_event_level():
    state = room(members={BOB: "join"}, levels={ALICE: 100, BOB: 50})
    assert not allowed(pl_event(BOB, {ALICE: 100, BOB: 50}), state)  # needs 100


def test_cannot_raise_anyone_above_own_level():
    state = mod_room()
    assert not allowed(pl_event(BOB, {**BASE_USERS, BOB: 100}, events=EVENTS50), state)
    assert not allowed(pl_event(BOB, {**BASE_USERS, DAVE: 51}, events=EVENTS50), state)
    assert allowed(pl_event(BOB, {**BASE_USERS, DAVE: 50}, events=EVENTS50), state)


def test_cannot_change_users_at_or_above_own_level():
    state = mod_room()
    assert not allowed(pl_event(BOB, {**BASE_USERS, ALICE: 50}, events=EVENTS50), state)
    assert not allowed(pl_event(BOB, {**BASE_USERS, CAROL: 0}, events=EVENTS50), state)
    removed = {ALICE: 100, BOB: 50}  # dropping carol's entry demotes her too
    assert not allowed(pl_event(BOB, removed, events=EVENTS50), state)


def test_can_lower_own_level():
    assert allowed(pl_event(BOB, {**BASE_USERS, BOB: 10}, events=EVENTS50), mod_room())


def test_cannot_set_top_level_or_event_levels_above_own():
    state = mod_room()
    assert not allowed(pl_event(BOB, BASE_USERS, events=EVENTS50, ban=75), state)
    assert not allowed(pl_event(BOB, BASE_USERS, events=EVENTS50, users_default=60), state)
    assert not allowed(pl_event(BOB, BASE_USERS,
                                events={**EVENTS50, "m.room.topic": 75}), state)
    assert allowed(pl_event(BOB, BASE_USERS, events={**EVENTS50, "m.room.topic": 50}), state)
    assert allowed(pl_event(BOB, BASE_USERS, events=EVENTS50, kick=25), state)


def test_cannot_lower_a_level_that_is_above_own():
    state = mod_room()  # m.room.history_visibility etc. are not set; power_levels at 50
    high = room(members={BOB: "join"}, levels={ALICE: 100, BOB: 50},
                events={"m.room.power_levels": 50, "m.room.tombstone": 100})
    assert not allowed(pl_event(BOB, {ALICE: 100, BOB: 50},
                                events={"m.room.power_levels": 50, "m.room.tombstone": 0}),
                       high)
    assert allowed(pl_event(BOB, BASE_USERS, events=EVENTS50), state)  # no change at all


@pytest.mark.parametrize("content", [
    {"users": {ALICE: "100"}}, {"users": {ALICE: True}}, {"ban": "50"}, {"users": [ALICE]},
    {"events": {"m.room.name": 1.5}},
])
def test_power_levels_must_be_integers(content):
    state = room()
    assert not allowed(ev("m.room.power_levels", ALICE, {"users": {ALICE: 100}, **content},
                          ""), state)


def test_extra_checks_run_after_the_generic_rules():
    seen = []

    def stage(event, state):
        seen.append(event["type"])
        if event["type"] == "org.audiorooms.live":
            raise AuthError("not a moderator")

    state = room(members={BOB: "join"})
    with pytest.raises(AuthError):
        check_event(ev("org.audiorooms.live", ALICE, {"live": True}, ""), state, (stage,))
    check_event(ev("m.room.message", BOB, {"body": "x"}), state, (stage,))
    with pytest.raises(AuthError):  # the generic rules refuse first: the check never runs
        check_event(ev("m.room.message", CAROL, {"body": "x"}), state, (stage,))
    assert seen == ["org.audiorooms.live", "m.room.message"]

"""homeserver.stage over plain state dicts: roles, the stage's order, derived moderators,
who may publish audio, the live state, and every branch of check_stage_event."""
from __future__ import annotations

import itertools

import pytest

from homeserver.ordering import (
    ORDER,
    OrderError,
    order_from_host,
    order_of,
    pdu_with_order,
    with_order,
)
from homeserver.rules import AuthError, check_event
from homeserver.stage import (
    AUDIO_ROOM,
    HAND,
    LIVE,
    ROLE,
    RSVP,
    check_stage_event,
    is_audio_room,
    live_state,
    may_publish,
    moderators,
    role_of,
    stage_members,
)

MOD, SPK, LIS, OUT = "@mod:a", "@spk:b", "@lis:b", "@out:c"
_depth = itertools.count(1)


def ev(etype: str, sender: str, content: dict, state_key: str = "", depth: int | None = None,
       ts: int = 0) -> dict:
    d = next(_depth) if depth is None else depth
    return {"event_id": f"$e{d}-{etype}-{state_key}", "room_id": "!r:a", "type": etype,
            "sender": sender, "content": content, "state_key": state_key, "depth": d,
            "origin_server_ts": ts, "prev_events": ["$prev"]}


class Room:
    """A state map being built event by event, as a host would append them (depth grows)."""

    def __init__(self, audio: bool = True, creator: str = MOD):
        self.state: dict[tuple[str, str], dict] = {}
        create = {"room_version": "org.audiorooms.1", **({"type": AUDIO_ROOM} if audio else {})}
        self.put(ev("m.room.create", creator, create))
        self.join(creator)
        self.put(ev("m.room.power_levels", creator, {
            "users": {creator: 100}, "users_default": 0, "state_default": 50,
            "events": {t: 0 for t in (ROLE, HAND, LIVE, RSVP)}}))
        self.put(ev("m.room.join_rules", creator, {"join_rule": "public"}))
        if audio:
            self.role(creator, "moderator", by=creator)

    def put(self, event: dict) -> dict:
        self.state[(event["type"], event["state_key"])] = event
        return event

    def join(self, *users: str) -> Room:
        for u in users:
            self.put(ev("m.room.member", u, {"membership": "join"}, u))
        return self

    def leave(self, user: str, membership: str = "leave", by: str | None = None) -> Room:
        self.put(ev("m.room.member", by or user, {"membership": membership}, user))
        return self

    def role(self, user: str, role: str, muted: bool = False, by: str = MOD) -> Room:
        self.put(ev(ROLE, by, {"role": role, "muted": muted}, user))
        return self

    def hand(self, user: str, raised: bool, by: str | None = None) -> Room:
        self.put(ev(HAND, by or user, {"raised": raised}, user))
        return self


def standard() -> Room:
    """MOD moderates; SPK is on stage; LIS listens; OUT is not in the room."""
    return Room().join(SPK, LIS).role(SPK, "speaker")


def allowed(event: dict, state) -> bool:
    try:
        check_stage_event(event, state)
    except AuthError:
        return False
    return True


def refused(event: dict, state, why: str) -> None:
    with pytest.raises(AuthError, match=why):
        check_stage_event(event, state)


# -- is_audio_room, role_of ---------------------------------------------------------------------

def test_is_audio_room():
    assert is_audio_room(Room().state)
    assert not is_audio_room(Room(audio=False).state)
    assert not is_audio_room({})


def test_role_of_listener_by_default_and_after_leaving():
    r = standard()
    assert role_of(r.state, LIS) == {"role": "listener", "muted": False,
                                     "muted_by_moderator": False}
    assert role_of(r.state, OUT)["role"] == "listener"  # never joined
    assert role_of(r.state, SPK) == {"role": "speaker", "muted": False,
                                     "muted_by_moderator": False}
    assert role_of(r.state, MOD)["role"] == "moderator"
    r.leave(SPK)
    assert role_of(r.state, SPK)["role"] == "listener"  # a role does not outlive membership
    r.join(SPK)
    assert role_of(r.state, SPK)["role"] == "speaker"  # ...but comes back with a rejoin


def test_role_of_muted_by_whom():
    r = standard().role(SPK, "speaker", muted=True, by=MOD)
    assert role_of(r.state, SPK) == {"role": "speaker", "muted": True,
                                     "muted_by_moderator": True}
    r.role(SPK, "speaker", muted=True, by=SPK)
    assert role_of(r.state, SPK) == {"role": "speaker", "muted": True,
                                     "muted_by_moderator": False}


def test_role_of_tolerates_junk_content():
    r = standard()
    r.put(ev(ROLE, MOD, {"role": "superstar", "muted": "yes"}, LIS))
    assert role_of(r.state, LIS) == {"role": "listener", "muted": False,
                                     "muted_by_moderator": False}
    r.put(ev(ROLE, MOD, {}, LIS))
    assert role_of(r.state, LIS)["role"] == "listener"


# -- stage_members, moderators --------------------------------------------------------------------

def test_stage_members_ordered_longest_standing_first():
    r = Room().join("@l1:x", "@s2:x", "@s1:x", "@l2:x")
    r.role("@s1:x", "speaker")  # s1 went on stage first
    r.role("@s2:x", "speaker")
    m = stage_members(r.state)
    assert m == {"moderator": [MOD], "speaker": ["@s1:x", "@s2:x"],
                 "listener": ["@l1:x", "@l2:x"]}  # listeners: by when they joined


def test_stage_members_ties_on_depth_broken_by_timestamp():
    r = Room()
    r.put(ev("m.room.member", "@late:x", {"membership": "join"}, "@late:x", depth=500, ts=20))
    r.put(ev("m.room.member", "@early:x", {"membership": "join"}, "@early:x", depth=500, ts=10))
    assert stage_members(r.state)["listener"] == ["@early:x", "@late:x"]


def test_stage_members_leaves_out_who_is_not_joined():
    r = standard().join("@inv:x")
    r.put(ev("m.room.member", MOD, {"membership": "invite"}, "@inv2:x"))
    r.leave(LIS).leave("@inv:x", "ban", by=MOD)
    m = stage_members(r.state)
    assert m == {"moderator": [MOD], "speaker": [SPK], "listener": []}


def test_stage_member_demoted_to_listener_is_ordered_by_join():
    r = Room().join("@a:x", "@b:x")
    r.role("@a:x", "speaker").role("@a:x", "listener")  # role event newer than b's join
    assert stage_members(r.state)["listener"] == ["@a:x", "@b:x"]


def test_moderators_explicit():
    r = standard().join("@m2:x").role("@m2:x", "moderator")
    assert moderators(r.state) == [MOD, "@m2:x"]


def test_derived_moderator_is_longest_standing_speaker():
    r = Room().join("@s1:x", "@s2:x", LIS).role("@s2:x", "speaker").role("@s1:x", "speaker")
    r.leave(MOD)
    assert moderators(r.state) == ["@s2:x"]  # on stage first, though s1 joined first
    r.leave("@s2:x")
    assert moderators(r.state) == ["@s1:x"]


def test_derived_moderator_is_longest_standing_member_without_speakers():
    r = Room().join("@first:x", "@second:x")
    r.leave(MOD)
    assert moderators(r.state) == ["@first:x"]
    r.leave("@first:x")
    assert moderators(r.state) == ["@second:x"]
    r.leave("@second:x")
    assert moderators(r.state) == []  # an empty room has none


def test_explicit_moderator_returning_takes_over_again():
    r = standard()
    r.leave(MOD)
    assert moderators(r.state) == [SPK]
    r.join(MOD)  # the role event is still in state: the moderator is back
    assert moderators(r.state) == [MOD]


def test_banned_moderator_is_not_a_moderator():
    r = standard().join("@m2:x").role("@m2:x", "moderator")
    r.leave(MOD, "ban", by="@m2:x")
    assert moderators(r.state) == ["@m2:x"]


# -- may_publish -------------------------------------------------------------------------------

def test_may_publish():
    r = standard()
    assert may_publish(r.state, MOD)
    assert may_publish(r.state, SPK)
    assert not may_publish(r.state, LIS)
    assert not may_publish(r.state, OUT)
    r.role(SPK, "speaker", muted=True)
    assert not may_publish(r.state, SPK)  # muted by the moderator
    r.role(SPK, "speaker", muted=False)
    r.role(SPK, "speaker", muted=True, by=SPK)
    assert not may_publish(r.state, SPK)  # muted by themself
    r.role(MOD, "moderator", muted=True, by=MOD)
    assert not may_publish(r.state, MOD)


def test_may_publish_not_after_leaving_or_ban():
    r = standard().join("@s2:x").role("@s2:x", "speaker")
    r.leave(SPK)
    assert not may_publish(r.state, SPK)
    r.leave("@s2:x", "ban", by=MOD)
    assert not may_publish(r.state, "@s2:x")


def test_may_publish_derived_moderator():
    r = Room().join(LIS)
    r.leave(MOD)
    assert may_publish(r.state, LIS)  # the last one standing moderates, so may speak
    assert not may_publish(r.state, MOD)


def test_may_publish_not_when_the_room_has_ended():
    r = standard()
    r.put(ev(LIVE, MOD, {"live": False}))
    assert not may_publish(r.state, MOD)
    assert not may_publish(r.state, SPK)
    r.put(ev(LIVE, MOD, {"live": True}))
    assert may_publish(r.state, SPK)


# -- live_state --------------------------------------------------------------------------------

def test_live_state_defaults_to_live():
    r = standard()
    assert live_state(r.state) == {"live": True}
    r.put(ev(LIVE, MOD, {"live": False, "scheduled_for": 123}))
    assert live_state(r.state) == {"live": False, "scheduled_for": 123}


# -- check_stage_event: scope ------------------------------------------------------------------

def test_ignores_other_event_types_and_other_rooms():
    r = standard()
    check_stage_event(ev("m.room.message", OUT, {"body": "x"}, state_key=None), r.state)
    plain = Room(audio=False).join(LIS)
    check_stage_event(ev(ROLE, LIS, {"role": "moderator"}, LIS), plain.state)
    check_stage_event(ev(LIVE, OUT, {"live": "junk"}), plain.state)


def test_sender_must_be_joined():
    r = standard()
    for etype, key, content in ((ROLE, OUT, {"role": "listener"}), (HAND, OUT, {"raised": True}),
                                (LIVE, "", {"live": True}), (RSVP, OUT, {"going": True})):
        refused(ev(etype, OUT, content, key), r.state, "not in the room")
    r.leave(SPK)
    refused(ev(HAND, SPK, {"raised": True}, SPK), r.state, "not in the room")
    r.leave(MOD)  # a moderator who left has no say, though the role event remains
    refused(ev(LIVE, MOD, {"live": False}), r.state, "not in the room")


# -- LIVE --------------------------------------------------------------------------------------

def test_live_moderators_only():
    r = standard()
    assert allowed(ev(LIVE, MOD, {"live": False}), r.state)
    assert allowed(ev(LIVE, MOD, {"live": False, "scheduled_for": 4102444800000}), r.state)
    refused(ev(LIVE, SPK, {"live": False}), r.state, "only moderators")
    refused(ev(LIVE, LIS, {"live": True}), r.state, "only moderators")


def test_live_derived_moderator():
    r = standard()
    r.leave(MOD)
    assert allowed(ev(LIVE, SPK, {"live": False}), r.state)
    refused(ev(LIVE, LIS, {"live": False}), r.state, "only moderators")


@pytest.mark.parametrize("key,content,why", [
    ("x", {"live": True}, "empty state_key"),
    (MOD, {"live": True}, "empty state_key"),
    ("", {}, "live must be"),
    ("", {"live": "yes"}, "live must be"),
    ("", {"live": 1}, "live must be"),
    ("", {"live": False, "scheduled_for": "tomorrow"}, "scheduled_for"),
    ("", {"live": False, "scheduled_for": True}, "scheduled_for"),
    ("", {"live": False, "scheduled_for": 1.5}, "scheduled_for"),
], ids=["key", "user-key", "missing", "string", "int", "sched-string", "sched-bool",
        "sched-float"])
def test_live_shape(key, content, why):
    refused(ev(LIVE, MOD, content, key), standard().state, why)


# -- keyed by a user ID --------------------------------------------------------------------------

@pytest.mark.parametrize("etype", [ROLE, HAND, RSVP])
def test_user_keyed_events_need_a_user_id(etype):
    refused(ev(etype, MOD, {"role": "listener", "raised": False, "going": True}, ""),
            standard().state, "keyed by a user ID")
    refused(ev(etype, MOD, {"role": "listener", "raised": False, "going": True}, "mod"),
            standard().state, "keyed by a user ID")


# -- RSVP --------------------------------------------------------------------------------------

def test_rsvp():
    r = standard()
    assert allowed(ev(RSVP, LIS, {"going": True}, LIS), r.state)
    assert allowed(ev(RSVP, LIS, {"going": False}, LIS), r.state)
    refused(ev(RSVP, LIS, {"going": True}, SPK), r.state, "only RSVP for yourself")
    refused(ev(RSVP, MOD, {"going": True}, LIS), r.state, "only RSVP for yourself")
    refused(ev(RSVP, LIS, {"going": "yes"}, LIS), r.state, "going must be")
    refused(ev(RSVP, LIS, {}, LIS), r.state, "going must be")


# -- HAND --------------------------------------------------------------------------------------

def test_hand_own():
    r = standard()
    assert allowed(ev(HAND, LIS, {"raised": True}, LIS), r.state)
    assert allowed(ev(HAND, LIS, {"raised": False}, LIS), r.state)
    assert allowed(ev(HAND, SPK, {"raised": True}, SPK), r.state)


def test_hand_target_must_be_joined():
    r = standard()
    refused(ev(HAND, MOD, {"raised": False}, OUT), r.state, f"{OUT} is not in the room")


def test_hand_shape():
    r = standard()
    refused(ev(HAND, LIS, {"raised": "yes"}, LIS), r.state, "raised must be")
    refused(ev(HAND, LIS, {}, LIS), r.state, "raised must be")


def test_hand_others():
    r = standard().hand(LIS, True)
    assert allowed(ev(HAND, MOD, {"raised": False}, LIS), r.state)  # moderator lowers
    refused(ev(HAND, MOD, {"raised": True}, SPK), r.state, "another user's hand")  # never raises
    refused(ev(HAND, SPK, {"raised": False}, LIS), r.state, "another user's hand")
    refused(ev(HAND, LIS, {"raised": True}, SPK), r.state, "another user's hand")


# -- ROLE --------------------------------------------------------------------------------------

@pytest.mark.parametrize("content,why", [
    ({"role": "superstar"}, "role must be one of"),
    ({}, "role must be one of"),
    ({"role": None}, "role must be one of"),
    ({"role": "speaker", "muted": "no"}, "muted must be"),
    ({"role": "speaker", "muted": 0}, "muted must be"),
    ({"role": "listener", "muted": None}, "muted must be"),
], ids=["bad-role", "no-role", "null-role", "muted-string", "muted-int", "muted-null"])
def test_role_shape_even_for_moderators(content, why):
    r = standard()
    refused(ev(ROLE, MOD, content, LIS), r.state, why)
    refused(ev(ROLE, LIS, content, LIS), r.state, why)


def test_role_target_must_be_joined():
    refused(ev(ROLE, MOD, {"role": "speaker"}, OUT), standard().state,
            f"{OUT} is not in the room")


def test_role_moderator_may_set_anything_for_anyone():
    r = standard()
    for target in (MOD, SPK, LIS):
        for role in ("moderator", "speaker", "listener"):
            for muted in (False, True):
                assert allowed(ev(ROLE, MOD, {"role": role, "muted": muted}, target), r.state)


def test_role_others_only_by_moderators():
    r = standard()
    refused(ev(ROLE, SPK, {"role": "listener"}, LIS), r.state, "change another user's role")
    refused(ev(ROLE, LIS, {"role": "listener"}, SPK), r.state, "change another user's role")
    refused(ev(ROLE, SPK, {"role": "speaker", "muted": True}, MOD), r.state,
            "change another user's role")


def test_role_step_down_always():
    r = standard().role(SPK, "speaker", muted=True)  # even when muted by a moderator
    assert allowed(ev(ROLE, SPK, {"role": "listener"}, SPK), r.state)
    assert allowed(ev(ROLE, LIS, {"role": "listener", "muted": True}, LIS), r.state)


def test_role_no_self_promotion():
    r = standard()
    refused(ev(ROLE, LIS, {"role": "speaker"}, LIS), r.state, "only moderators can put")
    refused(ev(ROLE, LIS, {"role": "moderator"}, LIS), r.state, "only moderators can put")
    refused(ev(ROLE, SPK, {"role": "moderator"}, SPK), r.state, "only moderators can put")
    r.role(SPK, "listener", by=SPK)  # stepped down: only a moderator can bring them back
    refused(ev(ROLE, SPK, {"role": "speaker"}, SPK), r.state, "only moderators can put")


def test_role_self_mute_and_unmute():
    r = standard()
    assert allowed(ev(ROLE, SPK, {"role": "speaker", "muted": True}, SPK), r.state)
    assert allowed(ev(ROLE, SPK, {"role": "speaker"}, SPK), r.state)  # no-op
    r.role(SPK, "speaker", muted=True, by=SPK)
    assert allowed(ev(ROLE, SPK, {"role": "speaker", "muted": False}, SPK), r.state)


def test_role_muted_by_moderator_stays_muted():
    r = standard().role(SPK, "speaker", muted=True, by=MOD)
    refused(ev(ROLE, SPK, {"role": "speaker", "muted": False}, SPK), r.state, "a moderator muted")
    refused(ev(ROLE, SPK, {"role": "speaker"}, SPK), r.state, "a moderator muted")
    # Muting yourself "again" would make you the sender of the mute, and so able to unmute:
    refused(ev(ROLE, SPK, {"role": "speaker", "muted": True}, SPK), r.state, "a moderator muted")
    r.role(SPK, "speaker", muted=False, by=MOD)
    assert allowed(ev(ROLE, SPK, {"role": "speaker", "muted": True}, SPK), r.state)


def test_role_derived_moderator_may_move_others():
    r = standard().join("@l2:x")
    r.leave(MOD)
    assert allowed(ev(ROLE, SPK, {"role": "speaker"}, LIS), r.state)
    assert allowed(ev(ROLE, SPK, {"role": "moderator"}, SPK), r.state)
    refused(ev(ROLE, LIS, {"role": "speaker"}, "@l2:x"), r.state, "change another user's role")


# -- through rules.check_event, as every server runs it ------------------------------------------

def test_through_check_event():
    r = standard()
    checks = (check_stage_event,)
    check_event(ev(ROLE, MOD, {"role": "speaker"}, LIS), r.state, checks)
    check_event(ev(HAND, MOD, {"raised": False}, LIS), r.state, checks)
    with pytest.raises(AuthError, match="only moderators can put"):
        check_event(ev(ROLE, LIS, {"role": "speaker"}, LIS), r.state, checks)
    with pytest.raises(AuthError, match="another user"):  # the generic owner rule
        check_event(ev(RSVP, MOD, {"going": True}, LIS), r.state, checks)
    with pytest.raises(AuthError, match="only moderators"):
        check_event(ev(LIVE, LIS, {"live": False}), r.state, checks)


# -- the host's order, not the sender's depth or clock ----------------------------------------

class HostRoom(Room):
    """A room as its host stores it: every event gets the host's next position in its order
    (``unsigned["org.audiorooms.order"]``), whatever depth or timestamp the sender wrote."""

    def __init__(self, *args, **kw):
        self.position = 100
        super().__init__(*args, **kw)

    def put(self, event: dict) -> dict:
        self.position += 7  # the host's stream is shared with other rooms: gaps are normal
        return super().put(with_order(event, self.position))


def test_order_ranks_before_depth_and_timestamp():
    r = HostRoom().join("@local:a")
    # A remote join claiming to be the room's very first event, with the oldest clock.
    r.put(ev("m.room.member", "@evil:e", {"membership": "join"}, "@evil:e", depth=1, ts=0))
    assert stage_members(r.state)["listener"] == ["@local:a", "@evil:e"]
    r.leave(MOD)
    assert moderators(r.state) == ["@local:a"]


def test_profile_update_with_early_depth_does_not_move_a_member_up():
    r = HostRoom().join("@first:a", "@evil:e")
    r.put(ev("m.room.member", "@evil:e", {"membership": "join", "displayname": "x"},
             "@evil:e", depth=1, ts=0))
    r.leave(MOD)
    assert moderators(r.state) == ["@first:a"]
    assert stage_members(r.state)["listener"] == ["@first:a", "@evil:e"]


def test_speakers_ranked_by_the_order_of_their_role_events():
    r = HostRoom().join("@s1:a", "@s2:e")
    r.role("@s1:a", "speaker")
    r.put(ev(ROLE, MOD, {"role": "speaker", "muted": False}, "@s2:e", depth=1, ts=0))
    r.leave(MOD)
    assert stage_members(r.state)["speaker"] == ["@s1:a", "@s2:e"]
    assert moderators(r.state) == ["@s1:a"]


def test_events_without_an_order_rank_after_ordered_ones():
    r = HostRoom().join("@ordered:a")
    # Stored before orders were kept (or never ordered): depth 1 cannot put it first.
    r.state[("m.room.member", "@old:x")] = ev("m.room.member", "@old:x",
                                              {"membership": "join"}, "@old:x", depth=1)
    r.leave(MOD)
    assert stage_members(r.state)["listener"] == ["@ordered:a", "@old:x"]
    assert moderators(r.state) == ["@ordered:a"]


def test_same_order_same_answer_whatever_else_differs():
    """A resident has the host's order, not the host's stream positions for anything else:
    the answer depends on the order alone, so host and resident derive the same moderator."""
    host = HostRoom().join("@a:a", "@b:e", "@c:e")
    host.leave(MOD)
    resident = {k: dict(e, origin_server_ts=999 - i, depth=1)
                for i, (k, e) in enumerate(host.state.items())}
    assert moderators(resident) == moderators(host.state) == ["@a:a"]
    assert stage_members(resident) == stage_members(host.state)


def test_junk_order_is_no_order():
    r = HostRoom().join("@a:a")
    bad = ev("m.room.member", "@b:e", {"membership": "join"}, "@b:e", depth=1)
    for junk in (True, 0, -5, 1.5, "1", 2**53, None, [1]):
        bad["unsigned"] = {ORDER: junk}
        r.state[("m.room.member", "@b:e")] = bad
        assert order_of(bad) is None
        assert stage_members(r.state)["listener"] == ["@a:a", "@b:e"], junk


@pytest.mark.parametrize("value,ok", [
    (1, True), (2**53 - 1, True), (0, False), (-1, False), (2**53, False), (True, False),
    (1.0, False), ("5", False), ([5], False), (None, False)])
def test_order_from_host_validates(value, ok):
    pdu = {"type": "m.room.message", "unsigned": {ORDER: value}}
    if ok:
        assert order_from_host(pdu) == value
    else:
        with pytest.raises(OrderError):
            order_from_host(pdu)


def test_order_from_host_missing():
    with pytest.raises(OrderError):
        order_from_host({"type": "x"})
    with pytest.raises(OrderError):
        order_from_host({"type": "x", "unsigned": "junk"})
    assert order_from_host({"type": "x"}, required=False) is None
    with pytest.raises(OrderError):  # present but junk is refused even when optional
        order_from_host({"type": "x", "unsigned": {ORDER: "1"}}, required=False)


def test_with_order_and_pdu_with_order():
    ev_ = {"type": "x", "unsigned": {"prev_content": {"a": 1}, ORDER: 3}}
    assert with_order(ev_, 9)["unsigned"] == {"prev_content": {"a": 1}, ORDER: 9}
    assert with_order(ev_, None)["unsigned"] == {"prev_content": {"a": 1}}
    assert "unsigned" not in with_order({"type": "x", "unsigned": {ORDER: 3}}, None)
    assert ev_["unsigned"][ORDER] == 3  # a copy: the original is untouched
    # What the host sends carries its order and nothing else unsigned.
    assert pdu_with_order(ev_, 9)["unsigned"] == {ORDER: 9}
    assert "unsigned" not in pdu_with_order(ev_, None)


# -- RECORDING ---------------------------------------------------------------------------------

def test_only_moderators_start_or_stop_recording():
    from homeserver.stage import RECORDING, is_recorded
    r = standard()
    assert not is_recorded(r.state)
    assert allowed(ev(RECORDING, MOD, {"recording": True}), r.state)
    assert allowed(ev(RECORDING, MOD, {"recording": False}), r.state)
    refused(ev(RECORDING, SPK, {"recording": True}), r.state, "only moderators")
    refused(ev(RECORDING, LIS, {"recording": True}), r.state, "only moderators")
    refused(ev(RECORDING, LIS, {"recording": False}), r.state, "only moderators")
    refused(ev(RECORDING, OUT, {"recording": True}), r.state, "not in the room")
    refused(ev(RECORDING, MOD, {"recording": "yes"}), r.state, "true or false")
    refused(ev(RECORDING, MOD, {}), r.state, "true or false")
    refused(ev(RECORDING, MOD, {"recording": True}, MOD), r.state, "empty state_key")
    r.put(ev(RECORDING, MOD, {"recording": True}))
    assert is_recorded(r.state)
    r.put(ev(RECORDING, MOD, {"recording": 1}))  # junk that slipped in is not "recording"
    assert not is_recorded(r.state)
    # the derived moderator (the explicit one left) may stop it
    r2 = standard().leave(MOD)
    assert allowed(ev(RECORDING, SPK, {"recording": False}), r2.state)

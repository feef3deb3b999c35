"""The push rule evaluator and rule validation (homeserver/push_rules.py), without a server."""
from __future__ import annotations

import pytest

from homeserver.push_rules import (
    PushContext,
    RuleError,
    condition_holds,
    default_rules,
    evaluate,
    glob_match,
    lookup,
    make_user_rule,
    split_path,
)

ME = "@bob:example.org"


def msg(body: str, sender: str = "@alice:example.org", **content) -> dict:
    return {"type": "m.room.message", "room_id": "!r:example.org", "sender": sender,
            "content": {"msgtype": "m.text", "body": body, **content}}


def ctx(members: int = 3, name: str | None = "Bobby", levels: dict | None = None) -> PushContext:
    return PushContext(ME, name, members, levels or {"users": {"@alice:example.org": 100}})


def test_default_rule_ids_in_order_with_the_user_substituted():
    rules = default_rules(ME)
    assert [r["rule_id"] for r in rules["override"]] == [
        ".m.rule.master", ".m.rule.suppress_notices", ".m.rule.invite_for_me",
        ".m.rule.member_event", ".m.rule.is_user_mention", ".m.rule.contains_display_name",
        ".m.rule.is_room_mention", ".m.rule.roomnotif", ".m.rule.tombstone",
        ".m.rule.reaction", ".m.rule.server_acl", ".m.rule.suppress_edits"]
    assert [r["rule_id"] for r in rules["underride"]] == [
        ".m.rule.call", ".m.rule.encrypted_room_one_to_one", ".m.rule.room_one_to_one",
        ".m.rule.message", ".m.rule.encrypted"]
    assert rules["content"][0]["pattern"] == "bob"
    invite = rules["override"][2]["conditions"]
    assert {"kind": "event_match", "key": "state_key", "pattern": ME} in invite
    assert rules["override"][0]["enabled"] is False


def test_plain_message_notifies_without_highlight():
    out = evaluate(default_rules(ME), msg("hello there"), ctx())
    assert out is not None and out.rule_id == ".m.rule.message"
    assert out.notify and not out.highlight


def test_one_to_one_room_plays_a_sound():
    out = evaluate(default_rules(ME), msg("hello"), ctx(members=2))
    assert out is not None and out.rule_id == ".m.rule.room_one_to_one"
    assert out.sound == "default"


def test_user_name_and_display_name_highlight_on_whole_words():
    rules = default_rules(ME)
    out = evaluate(rules, msg("hey bob, look"), ctx())
    assert out is not None and out.highlight and out.rule_id == ".m.rule.contains_user_name"
    out = evaluate(rules, msg("ping BOBBY!"), ctx())
    assert out is not None and out.highlight
    assert out.rule_id == ".m.rule.contains_display_name"
    out = evaluate(rules, msg("bobsleigh and bobbyfoo"), ctx())
    assert out is not None and not out.highlight


def test_intentional_mentions_and_legacy_rules():
    rules = default_rules(ME)
    out = evaluate(rules, msg("hi", **{"m.mentions": {"user_ids": [ME]}}), ctx())
    assert out is not None and out.rule_id == ".m.rule.is_user_mention" and out.highlight
    # With m.mentions present, the body's mention of the name no longer highlights.
    out = evaluate(rules, msg("hi bob", **{"m.mentions": {}}), ctx())
    assert out is not None and not out.highlight


def test_room_mention_needs_the_senders_power():
    rules = default_rules(ME)
    ev = msg("@room hello", **{"m.mentions": {"room": True}})
    assert evaluate(rules, ev, ctx()).highlight
    ev["sender"] = "@nobody:example.org"
    assert not evaluate(rules, ev, ctx()).highlight
    legacy = msg("@room hello")
    assert evaluate(rules, legacy, ctx()).rule_id == ".m.rule.roomnotif"


def test_suppressing_rules():
    rules = default_rules(ME)
    assert not evaluate(rules, msg("n", msgtype="m.notice"), ctx()).notify
    edit = msg("* x", **{"m.relates_to": {"rel_type": "m.replace", "event_id": "$e"}})
    assert not evaluate(rules, edit, ctx()).notify
    member = {"type": "m.room.member", "state_key": "@x:e", "sender": "@x:e",
              "content": {"membership": "join"}}
    assert not evaluate(rules, member, ctx()).notify
    invite = {**member, "state_key": ME, "content": {"membership": "invite"}}
    assert evaluate(rules, invite, ctx()).notify
    assert evaluate(rules, {"type": "m.reaction", "sender": "@x:e", "content": {}},
                    ctx()).notify is False
    assert evaluate(rules, {"type": "org.audiorooms.role", "sender": "@x:e",
                            "content": {}}, ctx()) is None


def test_master_rule_silences_everything_when_enabled():
    rules = default_rules(ME)
    rules["override"][0]["enabled"] = True
    assert not evaluate(rules, msg("bob!"), ctx()).notify


def test_dotted_path_escaping():
    assert split_path("content.m\\.mentions.room") == ["content", "m.mentions", "room"]
    assert split_path("a\\\\.b") == ["a\\", "b"]
    assert split_path("a\\b") == ["a\\b"]
    ev = {"content": {"m.mentions": {"room": True}, "m": {"mentions": 1}}}
    assert lookup(ev, "content.m\\.mentions.room") is True
    assert lookup(ev, "content.m.mentions") == 1


def test_glob_semantics():
    assert glob_match("m.room.*", "m.room.message")
    assert glob_match("M.ROOM.MESSAGE", "m.room.message")
    assert not glob_match("m.room", "m.room.message")
    assert glob_match("b?b", "bob")
    assert glob_match("cake*lie", "the cake is a lie", words=True)
    assert not glob_match("cake", "cakes", words=True)


def test_conditions():
    ev = {"type": "x", "sender": "@a:e", "content": {"n": 1, "b": True, "z": None,
                                                     "tags": ["a", 1, True]}}
    c = ctx()
    assert condition_holds({"kind": "event_property_is", "key": "content.n", "value": 1}, ev, c)
    assert not condition_holds({"kind": "event_property_is", "key": "content.b", "value": 1},
                               ev, c)
    assert condition_holds({"kind": "event_property_is", "key": "content.z", "value": None},
                           ev, c)
    assert not condition_holds({"kind": "event_property_is", "key": "content.q",
                                "value": None}, ev, c)
    assert condition_holds({"kind": "event_property_contains", "key": "content.tags",
                            "value": True}, ev, c)
    assert not condition_holds({"kind": "event_property_contains", "key": "content.tags",
                                "value": "b"}, ev, c)
    assert not condition_holds({"kind": "event_match", "key": "content.n", "pattern": "1"},
                               ev, c)
    for spec, want in (("3", True), ("==3", True), ("<3", False), (">=3", True),
                       (">2", True), ("<=2", False), ("x", False)):
        assert condition_holds({"kind": "room_member_count", "is": spec}, ev, c) is want
    assert not condition_holds({"kind": "something_new"}, ev, c)
    levels = {"users": {"@a:e": 40}, "notifications": {"room": 30}}
    assert condition_holds({"kind": "sender_notification_permission", "key": "room"}, ev,
                           ctx(levels=levels))


def test_room_and_sender_rules():
    rules = default_rules(ME)
    rules["room"] = [{"rule_id": "!r:example.org", "default": False, "enabled": True,
                      "actions": []}]
    assert not evaluate(rules, msg("hi"), ctx()).notify
    rules["room"] = []
    rules["sender"] = [{"rule_id": "@alice:example.org", "default": False, "enabled": True,
                        "actions": ["notify", {"set_tweak": "highlight"}]}]
    assert evaluate(rules, msg("hi"), ctx()).highlight


def test_make_user_rule_validation():
    rule = make_user_rule("override", "mine", {"actions": ["notify"], "conditions": [
        {"kind": "event_match", "key": "type", "pattern": "m.*"}]})
    assert rule == {"rule_id": "mine", "default": False, "enabled": True,
                    "actions": ["notify"],
                    "conditions": [{"kind": "event_match", "key": "type", "pattern": "m.*"}]}
    bad = [("override", ".m.rule.mine", {"actions": []}, False),
           ("override", "x", {}, True),
           ("override", "x", {"actions": "notify"}, True),
           ("override", "x", {"actions": ["shout"]}, False),
           ("override", "x", {"actions": [], "conditions": [{"key": "a"}]}, True),
           ("override", "x", {"actions": [], "conditions": [{"kind": "event_match"}]}, False),
           ("content", "x", {"actions": []}, True),
           ("room", "x", {"actions": []}, False),
           ("sender", "x", {"actions": []}, False),
           ("nope", "x", {"actions": []}, False)]
    for kind, rule_id, body, bad_json in bad:
        with pytest.raises(RuleError) as e:
            make_user_rule(kind, rule_id, body)
        assert e.value.bad_json is bad_json, (kind, rule_id, body)

"""Push rules, pushers and sync's unread_notifications over real HTTP."""
from __future__ import annotations

from urllib.parse import quote

DEFAULT_OVERRIDE = [".m.rule.master", ".m.rule.suppress_notices", ".m.rule.invite_for_me",
                    ".m.rule.member_event", ".m.rule.is_user_mention",
                    ".m.rule.contains_display_name", ".m.rule.is_room_mention",
                    ".m.rule.roomnotif", ".m.rule.tombstone", ".m.rule.reaction",
                    ".m.rule.server_acl", ".m.rule.suppress_edits"]
DEFAULT_UNDERRIDE = [".m.rule.call", ".m.rule.encrypted_room_one_to_one",
                     ".m.rule.room_one_to_one", ".m.rule.message", ".m.rule.encrypted"]
PR = "/pushrules/global"


def ids(rules: list[dict]) -> list[str]:
    return [r["rule_id"] for r in rules]


async def test_default_rule_set_shape(homeserver):
    bob = await homeserver.user("bob")
    body = await bob.ok("GET", "/pushrules/")
    rules = body["global"]
    assert set(rules) == {"override", "content", "room", "sender", "underride"}
    assert ids(rules["override"]) == DEFAULT_OVERRIDE
    assert ids(rules["underride"]) == DEFAULT_UNDERRIDE
    assert ids(rules["content"]) == [".m.rule.contains_user_name"]
    assert rules["content"][0]["pattern"] == "bob"
    assert rules["room"] == [] and rules["sender"] == []
    for kind in ("override", "underride"):
        for rule in rules[kind]:
            assert rule["default"] is True
            assert isinstance(rule["conditions"], list) and isinstance(rule["actions"], list)
            assert rule["enabled"] is (rule["rule_id"] != ".m.rule.master")
    mention = rules["override"][4]["conditions"][0]
    assert mention["value"] == bob.user_id
    assert await bob.ok("GET", "/pushrules/global/") == rules
    assert await bob.ok("GET", f"{PR}/underride/") == rules["underride"]
    got = await bob.ok("GET", f"{PR}/override/.m.rule.master")
    assert got["rule_id"] == ".m.rule.master" and got["enabled"] is False
    status, err = await homeserver.client().request("GET", "/pushrules/")  # authenticated
    assert status == 401 and err["errcode"] == "M_MISSING_TOKEN"


async def test_user_rules_with_before_and_after(homeserver):
    bob = await homeserver.user("bob")
    cond = [{"kind": "event_match", "key": "content.body", "pattern": "cheese"}]
    for name in ("a", "b"):
        await bob.ok("PUT", f"{PR}/override/{name}", {"actions": ["notify"],
                                                        "conditions": cond})
    # A new rule without before/after goes first among the user's rules.
    rules = (await bob.ok("GET", "/pushrules/"))["global"]["override"]
    assert ids(rules)[:2] == ["b", "a"]
    assert ids(rules)[2:] == DEFAULT_OVERRIDE
    await bob.ok("PUT", f"{PR}/override/c", {"actions": [], "conditions": cond},
                 params={"after": "b"})
    await bob.ok("PUT", f"{PR}/override/d", {"actions": []}, params={"before": "b"})
    rules = (await bob.ok("GET", "/pushrules/"))["global"]["override"]
    assert ids(rules)[:4] == ["d", "b", "c", "a"]
    # Moving an existing rule.
    await bob.ok("PUT", f"{PR}/override/d", {"actions": ["notify"]}, params={"after": "a"})
    rules = (await bob.ok("GET", f"{PR}/override/"))
    assert ids(rules)[:4] == ["b", "c", "a", "d"]
    got = await bob.ok("GET", f"{PR}/override/d")
    assert got == {"rule_id": "d", "default": False, "enabled": True, "actions": ["notify"],
                   "conditions": []}
    # Content, room and sender rules.
    await bob.ok("PUT", f"{PR}/content/cheesy", {"actions": ["notify"], "pattern": "cheese"})
    room = "!abc:example.org"
    await bob.ok("PUT", f"{PR}/room/{quote(room)}", {"actions": []})
    rules = (await bob.ok("GET", "/pushrules/"))["global"]
    assert ids(rules["content"]) == ["cheesy", ".m.rule.contains_user_name"]
    assert rules["room"] == [{"rule_id": room, "default": False, "enabled": True,
                              "actions": []}]
    await bob.ok("DELETE", f"{PR}/override/c")
    assert ids(await bob.ok("GET", f"{PR}/override/"))[:3] == ["b", "a", "d"]
    status, err = await bob.request("GET", f"{PR}/override/c")
    assert status == 404 and err["errcode"] == "M_NOT_FOUND"
    # Another user sees none of it.
    carol = await homeserver.user("carol")
    assert ids((await carol.ok("GET", "/pushrules/"))["global"]["override"]) == DEFAULT_OVERRIDE
    # m.push_rules account data follows the rules for sync.
    sync = await bob.sync()
    pr = [e for e in sync["account_data"]["events"] if e["type"] == "m.push_rules"]
    assert pr and ids(pr[0]["content"]["global"]["override"])[:3] == ["b", "a", "d"]


async def test_enable_disable_and_actions(homeserver):
    bob = await homeserver.user("bob")
    path = f"{PR}/override/.m.rule.master/enabled"
    assert await bob.ok("GET", path) == {"enabled": False}
    await bob.ok("PUT", path, {"enabled": True})
    assert await bob.ok("GET", path) == {"enabled": True}
    rules = (await bob.ok("GET", "/pushrules/"))["global"]["override"]
    assert rules[0]["enabled"] is True and rules[0]["default"] is True
    await bob.ok("PUT", path, {"enabled": False})
    apath = f"{PR}/underride/.m.rule.message/actions"
    await bob.ok("PUT", apath, {"actions": ["notify", {"set_tweak": "sound",
                                                       "value": "default"}]})
    assert (await bob.ok("GET", apath))["actions"][1] == {"set_tweak": "sound",
                                                          "value": "default"}
    await bob.ok("PUT", f"{PR}/sender/{quote('@x:example.org')}", {"actions": ["notify"]})
    spath = f"{PR}/sender/{quote('@x:example.org')}"
    await bob.ok("PUT", spath + "/enabled", {"enabled": False})
    await bob.ok("PUT", spath + "/actions", {"actions": []})
    assert await bob.ok("GET", spath) == {"rule_id": "@x:example.org", "default": False,
                                          "enabled": False, "actions": []}


async def test_bad_input(homeserver):
    bob = await homeserver.user("bob")
    cases = [
        ("PUT", f"{PR}/override/x", {"conditions": []}, None, 400, "M_BAD_JSON"),
        ("PUT", f"{PR}/override/x", {"actions": "notify"}, None, 400, "M_BAD_JSON"),
        ("PUT", f"{PR}/override/x", {"actions": ["yell"]}, None, 400, "M_INVALID_PARAM"),
        ("PUT", f"{PR}/override/.m.rule.mine", {"actions": []}, None, 400, "M_INVALID_PARAM"),
        ("PUT", f"{PR}/content/x", {"actions": []}, None, 400, "M_BAD_JSON"),
        ("PUT", f"{PR}/room/notaroom", {"actions": []}, None, 400, "M_INVALID_PARAM"),
        ("PUT", f"{PR}/weird/x", {"actions": []}, None, 400, "M_INVALID_PARAM"),
        ("PUT", "/pushrules/device/override/x", {"actions": []}, None, 400, "M_INVALID_PARAM"),
        ("PUT", f"{PR}/override/x", {"actions": []}, {"before": "missing"}, 400, "M_UNKNOWN"),
        ("PUT", f"{PR}/override/x", {"actions": []}, {"after": ".m.rule.master"}, 400,
         "M_UNKNOWN"),
        ("PUT", f"{PR}/override/.m.rule.master/enabled", {"enabled": "yes"}, None, 400,
         "M_BAD_JSON"),
        ("PUT", f"{PR}/override/.m.rule.master/actions", {"actions": [7]}, None, 400,
         "M_BAD_JSON"),
        ("PUT", f"{PR}/override/nope/enabled", {"enabled": True}, None, 404, "M_NOT_FOUND"),
        ("GET", f"{PR}/override/nope", None, None, 404, "M_NOT_FOUND"),
        ("DELETE", f"{PR}/override/nope", None, None, 404, "M_NOT_FOUND"),
        ("DELETE", f"{PR}/override/.m.rule.master", None, None, 404, "M_NOT_FOUND"),
        ("DELETE", f"{PR}/content/.m.rule.contains_user_name", None, None, 404, "M_NOT_FOUND"),
    ]
    for method, path, body, params, status, errcode in cases:
        got, err = await bob.request(method, path, body, params=params)
        assert (got, err.get("errcode")) == (status, errcode), (method, path, body, err)
    got, err = await bob.request("PUT", f"{PR}/override/x", raw=b"{not json")
    assert got == 400 and err["errcode"] == "M_NOT_JSON"
    # The defaults are all still there.
    assert ids((await bob.ok("GET", "/pushrules/"))["global"]["override"]) == DEFAULT_OVERRIDE


async def test_pushers(homeserver):
    bob = await homeserver.user("bob")
    assert await bob.ok("GET", "/pushers") == {"pushers": []}
    pusher = {"app_id": "org.example.app", "pushkey": "key1", "kind": "http",
              "app_display_name": "App", "device_display_name": "Phone", "lang": "en",
              "data": {"url": "https://push.example.org/_matrix/push/v1/notify"}}
    await bob.ok("POST", "/pushers/set", pusher)
    assert (await bob.ok("GET", "/pushers"))["pushers"] == [pusher]
    bad = [({**pusher, "data": {}}, "M_INVALID_PARAM"),
           ({**pusher, "data": {"url": "ftp://x/y"}}, "M_INVALID_PARAM"),
           ({**pusher, "kind": "carrier-pigeon"}, "M_INVALID_PARAM"),
           ({k: v for k, v in pusher.items() if k != "lang"}, "M_MISSING_PARAM"),
           ({k: v for k, v in pusher.items() if k != "pushkey"}, "M_MISSING_PARAM"),
           ({**pusher, "data": "x"}, "M_BAD_JSON"),
           ({**pusher, "append": "yes"}, "M_BAD_JSON")]
    for body, errcode in bad:
        status, err = await bob.request("POST", "/pushers/set", body)
        assert (status, err.get("errcode")) == (400, errcode), body
    await bob.ok("POST", "/pushers/set", {"app_id": "org.example.app", "pushkey": "key1",
                                          "kind": None})
    assert await bob.ok("GET", "/pushers") == {"pushers": []}


def unread(sync: dict, room: str) -> dict:
    return sync["rooms"]["join"][room]["unread_notifications"]


async def test_unread_notifications_count_and_reset(homeserver):
    alice = await homeserver.user("alice")
    bob = await homeserver.user("bob")
    carol = await homeserver.user("carol")
    room = await alice.create_room(preset="public_chat")
    await bob.join(room)
    await carol.join(room)
    await bob.send(room, "I am here")
    sync = await bob.sync()
    assert unread(sync, room) == {"highlight_count": 0, "notification_count": 0}
    await alice.send(room, "hello everyone")
    await carol.send(room, "hi all")
    sync = await bob.sync(since=sync["next_batch"])
    assert unread(sync, room) == {"highlight_count": 0, "notification_count": 2}
    # The sender's own message does not count for themself.
    assert unread(await alice.sync(), room) == {"highlight_count": 0, "notification_count": 1}
    # Mentions of the user's ID, name and display name highlight.
    await alice.send(room, f"ping {bob.user_id}")
    sync = await bob.sync(since=sync["next_batch"])
    assert unread(sync, room) == {"highlight_count": 1, "notification_count": 3}
    # Changing the display name is the user's own (member) event: the room counts as read.
    await bob.ok("PUT", f"/profile/{quote(bob.user_id)}/displayname",
                 {"displayname": "Robert Tables"})
    sync = await bob.sync(since=sync["next_batch"])
    assert unread(sync, room) == {"highlight_count": 0, "notification_count": 0}
    await alice.send(room, "hello")
    await alice.send(room, "robert tables, are you there?")
    sync = await bob.sync(since=sync["next_batch"])
    assert unread(sync, room) == {"highlight_count": 1, "notification_count": 2}
    await alice.ok("PUT", f"/rooms/{quote(room)}/send/m.room.message/mention1",
                   {"msgtype": "m.text", "body": "psst",
                    "m.mentions": {"user_ids": [bob.user_id]}})
    sync = await bob.sync(since=sync["next_batch"])
    assert unread(sync, room) == {"highlight_count": 2, "notification_count": 3}
    # A notice does not notify.
    await alice.ok("PUT", f"/rooms/{quote(room)}/send/m.room.message/notice1",
                   {"msgtype": "m.notice", "body": "bot says bob"})
    sync = await bob.sync(since=sync["next_batch"])
    assert unread(sync, room) == {"highlight_count": 2, "notification_count": 3}
    # The user's own message marks the room read.
    await bob.send(room, "caught up")
    sync = await bob.sync(since=sync["next_batch"])
    assert unread(sync, room) == {"highlight_count": 0, "notification_count": 0}
    # A user's own rules apply: silence carol.
    await bob.ok("PUT", f"{PR}/sender/{quote(carol.user_id)}", {"actions": []})
    await carol.send(room, "more")
    await alice.send(room, "and more")
    sync = await bob.sync(since=sync["next_batch"])
    assert unread(sync, room) == {"highlight_count": 0, "notification_count": 1}


async def test_named_members_highlight_others_share_one_outcome_and_receipts_reset(homeserver):
    """Members an event does not name share one evaluation (the unnamed stand-in): the named
    one is highlighted, the others are notified only; a read receipt resets the counts."""
    alice = await homeserver.user("alice")
    bob = await homeserver.user("bob")
    carol = await homeserver.user("carol")
    dave = await homeserver.user("dave")
    room = await alice.create_room(preset="public_chat")
    for u in (bob, carol, dave):
        await u.join(room)  # their own event: the room is read up to here
    await alice.send(room, "bob, look at this")
    last = await alice.send(room, "and everyone else too")
    syncs = {u.user_id: await u.sync() for u in (bob, carol, dave)}
    assert unread(syncs[bob.user_id], room) == {"highlight_count": 1, "notification_count": 2}
    for u in (carol, dave):
        assert unread(syncs[u.user_id], room) == {"highlight_count": 0, "notification_count": 2}
    # State events name their target: a role change or topic notifies nobody by default.
    await alice.ok("PUT", f"/rooms/{quote(room)}/state/m.room.topic", {"topic": "dave's day"})
    sync = await dave.sync(since=syncs[dave.user_id]["next_batch"])
    assert unread(sync, room) == {"highlight_count": 0, "notification_count": 2}
    # A read receipt (public or private) on the newest event resets the reader's counts only.
    await carol.ok("POST", f"/rooms/{quote(room)}/receipt/m.read/{quote(last)}", {})
    await dave.ok("POST", f"/rooms/{quote(room)}/receipt/m.read.private/{quote(last)}", {})
    for u in (carol, dave):
        assert unread(await u.sync(), room) == {"highlight_count": 0, "notification_count": 0}
    assert unread(await bob.sync(), room) == {"highlight_count": 1, "notification_count": 2}

"""The bridge's pure logic with plain dicts: puppet IDs, commands and permissions, message
formatting both ways, stage notices, echo/history decisions, config, registration, store."""
from __future__ import annotations

import os
import re
import sqlite3
import stat

import pytest
import yaml

from bridge.__main__ import main
from bridge.backoff import backoff_delay
from bridge.commands import Command, CommandError, parse_command, permission_error, user_power
from bridge.config import ConfigError, config_from_dict, load_config, resolve_tokens
from bridge.core import events_after_join, txn_for
from bridge.formatting import (
    SENDER_KEY,
    audio_to_matrix,
    content_size,
    join_link,
    matrix_to_audio,
    notice,
    redaction_target,
)
from bridge.ids import PuppetNamer, escape_localpart, unescape_localpart
from bridge.registration import registration_dict
from bridge.stage import Snapshot, apply_event, snapshot_from_state, status_text
from bridge.store import BridgeStore

NAMER = PuppetNamer("audio_", "matrix.example", "audiobridge")
BASE = {"matrix": {"homeserver_url": "http://127.0.0.1:8008", "server_name": "matrix.example"},
        "audiorooms": {"homeserver_url": "http://127.0.0.1:8080",
                       "user_id": "@bridge:audio.example", "password": "pw"}}


def cfg(**sections):
    data = {k: dict(v) for k, v in BASE.items()}
    for k, v in sections.items():
        data.setdefault(k, {}).update(v)
    return config_from_dict(data)


# puppet IDs ---------------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["carol:audio.example", "Carol_X:127.0.0.1:8080",
                                  "zoë=1/2.3-4:[::1]:80", "__:a", "émile"])
def test_localpart_escaping_round_trips(text):
    escaped = escape_localpart(text)
    assert re.fullmatch(r"[a-z0-9._=\-/]+", escaped)
    assert unescape_localpart(escaped) == text


def test_escaping_follows_the_spec_mapping():
    assert escape_localpart("Bob_x:y") == "_bob__x=3ay"
    assert unescape_localpart("_Bob") is None and unescape_localpart("=4") is None
    assert unescape_localpart("a:b") is None


def test_puppets_map_both_ways_and_only_canonically():
    carol = "@carol:127.0.0.1:8080"
    puppet = NAMER.puppet_for(carol)
    assert puppet == "@audio_carol=3a127.0.0.1=3a8080:matrix.example"
    assert NAMER.our_user_for(puppet) == carol and NAMER.is_puppet(puppet)
    assert NAMER.our_user_for("@audio_=63arol=3a127.0.0.1=3a8080:matrix.example") is None
    assert NAMER.our_user_for("@audio_carol=3a127.0.0.1:other.example") is None
    assert NAMER.our_user_for("@audio_nocolon:matrix.example") is None
    assert not NAMER.is_puppet("@alice:matrix.example")
    assert NAMER.is_bridge_user("@audiobridge:matrix.example")
    regex = re.compile(NAMER.namespace_regex())
    assert regex.fullmatch(puppet) and not regex.fullmatch("@audiobridge:matrix.example")
    assert not regex.fullmatch("@audio_x:matrixXexample")


# commands -----------------------------------------------------------------------------------

def test_parse_commands():
    assert parse_command("hello") is None and parse_command(None) is None
    assert parse_command("!audio") == Command("help")
    assert parse_command("  !AUDIO Status ") == Command("status")
    assert parse_command("!audio link #talks:audio.example") == Command(
        "link", "#talks:audio.example")
    assert parse_command("!audio link !abc:audio.example").arg == "!abc:audio.example"
    assert parse_command("!audiophile hi") is None
    assert parse_command("!bridge status", prefix="!bridge") == Command("status")


@pytest.mark.parametrize("text,message", [
    ("!audio dance", "Unknown command 'dance'"),
    ("!audio link", "Usage: !audio link"),
    ("!audio link a b", "Usage: !audio link"),
    ("!audio link talks", "'talks' is not a room ID"),
    ("!audio unlink now", "takes no arguments"),
])
def test_bad_commands_say_why(text, message):
    with pytest.raises(CommandError, match=re.escape(message)):
        parse_command(text)


def test_permissions_follow_power_levels_and_room_version():
    pl = {"users": {"@mod:m": 50, "@admin:m": 100}, "users_default": 0}
    v10 = {"sender": "@creator:m", "content": {"room_version": "10", "creator": "@creator:m"}}
    v12 = {"sender": "@creator:m", "content": {"room_version": "12",
                                                "additional_creators": ["@co:m"]}}
    link = Command("link", "!a:b")
    assert permission_error(link, pl, "@mod:m", 50, v10) is None
    assert "needs power level 50" in permission_error(link, pl, "@user:m", 50, v10)
    assert "you have 0" in permission_error(link, pl, "@creator:m", 50, v10)
    assert permission_error(link, pl, "@creator:m", 50, v12) is None  # v12: creators outrank
    assert permission_error(link, pl, "@co:m", 100, v12) is None
    assert permission_error(Command("status"), pl, "@user:m", 50, v10) is None
    assert user_power(None, "@creator:m", v10) == 100 and user_power(None, "@x:m", v10) == 0
    assert user_power({"users_default": 60}, "@x:m") == 60
    assert user_power({"users": {"@x:m": True}}, "@x:m") == 0  # not an integer


# message formatting -------------------------------------------------------------------------

def lookup(table):
    return table.get


def test_matrix_message_names_its_sender():
    out = matrix_to_audio({"msgtype": "m.text", "body": "hi"}, "@alice:m", "Alice", lookup({}))
    assert out == {"msgtype": "m.text", "body": "<Alice> hi",
                   SENDER_KEY: {"user_id": "@alice:m", "displayname": "Alice"}}
    emote = matrix_to_audio({"msgtype": "m.emote", "body": "waves"}, "@a:m", "A", lookup({}))
    assert emote["body"] == "* A waves" and emote["msgtype"] == "m.text"
    html = matrix_to_audio({"msgtype": "m.notice", "body": "b", "format":
                            "org.matrix.custom.html", "formatted_body": "<em>b</em>"},
                           "@a:m", "<A&B>", lookup({}))
    assert html["msgtype"] == "m.notice"
    assert html["formatted_body"] == "<strong>&lt;&lt;A&amp;B&gt;&gt;</strong> <em>b</em>"
    image = matrix_to_audio({"msgtype": "m.image", "body": "cat.png", "url": "mxc://x/y"},
                            "@a:m", "A", lookup({}))
    assert image["body"] == "<A> [image] cat.png" and "url" not in image
    assert matrix_to_audio({"msgtype": "m.text"}, "@a:m", "A", lookup({})) is None
    assert matrix_to_audio({"body": 3, "msgtype": "m.text"}, "@a:m", "A", lookup({})) is None


def test_edits_and_replies_point_at_the_other_side():
    edit = {"msgtype": "m.text", "body": "* fixed",
            "m.new_content": {"msgtype": "m.text", "body": "fixed"},
            "m.relates_to": {"rel_type": "m.replace", "event_id": "$mx"}}
    out = matrix_to_audio(edit, "@a:m", "A", lookup({"$mx": "$ours"}))
    assert out["m.relates_to"] == {"rel_type": "m.replace", "event_id": "$ours"}
    assert out["m.new_content"]["body"] == "<A> fixed" and out["body"] == "* <A> fixed"
    assert matrix_to_audio(edit, "@a:m", "A", lookup({})) is None  # never bridged: dropped
    plain = audio_to_matrix(edit, lookup({"$mx": "$theirs"}))
    assert plain == {"msgtype": "m.text", "body": "* fixed",
                     "m.new_content": {"msgtype": "m.text", "body": "fixed"},
                     "m.relates_to": {"rel_type": "m.replace", "event_id": "$theirs"}}
    reply = {"msgtype": "m.text", "body": "yes",
             "m.relates_to": {"m.in_reply_to": {"event_id": "$q"}}}
    assert audio_to_matrix(reply, lookup({"$q": "$mq"}))["m.relates_to"] == {
        "m.in_reply_to": {"event_id": "$mq"}}
    assert "m.relates_to" not in audio_to_matrix(reply, lookup({}))
    assert audio_to_matrix({"msgtype": "m.location", "body": "here", "geo_uri": "geo:1,2"},
                           lookup({})) == {"msgtype": "m.text", "body": "here"}


def test_redaction_target_in_either_place():
    assert redaction_target({"redacts": "$a", "content": {}}) == "$a"
    assert redaction_target({"content": {"redacts": "$b"}}) == "$b"
    assert redaction_target({"content": {"redacts": 5}}) is None


def test_size_links_and_notices():
    assert content_size({"body": "é"}) == len('{"body":"é"}'.encode())
    assert join_link("https://a.example/", "!r:a") == "https://a.example/#/room/!r:a"
    n = notice("Live <now>", "https://a/#/room/!r")
    assert n["body"] == "Live <now> Join: https://a/#/room/!r"
    assert n["formatted_body"] == 'Live &lt;now&gt; <a href="https://a/#/room/!r">Join</a>'
    assert notice("plain")["body"] == "plain"


# stage --------------------------------------------------------------------------------------

def state(etype, key, content, sender="@carol:a"):
    return {"type": etype, "state_key": key, "content": content, "sender": sender,
            "event_id": f"${etype}{key}"}


ROOM = [state("m.room.create", "", {"type": "org.audiorooms.audio"}),
        state("m.room.member", "@carol:a", {"membership": "join", "displayname": "Carol"}),
        state("m.room.name", "", {"name": "Talks"}),
        state("org.audiorooms.live", "", {"live": False, "scheduled_for": 1})]


def test_live_and_ended_notices():
    snap = snapshot_from_state(ROOM)
    assert snap.is_audio_room and not snap.is_live and snap.role("@carol:a") == "moderator"
    snap, n = apply_event(snap, state("org.audiorooms.live", "", {"live": False}))
    assert n is None
    snap, n = apply_event(snap, state("org.audiorooms.live", "", {"live": True}))
    assert (n.kind, n.text) == ("live", "🔴 “Talks” is live now.")
    snap, n = apply_event(snap, state("org.audiorooms.live", "", {"live": True}))
    assert n is None
    snap, n = apply_event(snap, state("org.audiorooms.live", "", {"live": False}))
    assert (n.kind, n.text) == ("ended", "“Talks” has ended.")
    # No live event at all means live (a room created to start now).
    assert snapshot_from_state(ROOM[:3]).is_live


def test_on_stage_notices_once_and_not_for_the_bot():
    snap = snapshot_from_state(ROOM + [
        state("m.room.member", "@dave:a", {"membership": "join"}, "@dave:a")])
    snap, n = apply_event(snap, state("org.audiorooms.role", "@dave:a", {"role": "speaker"}))
    assert (n.kind, n.text, n.user_id) == ("stage", "dave is on stage in “Talks”.", "@dave:a")
    snap, n = apply_event(snap, state("org.audiorooms.role", "@dave:a",
                                      {"role": "speaker", "muted": True}))
    assert n is None  # muting is not going on stage again
    snap, n = apply_event(snap, state("org.audiorooms.role", "@dave:a", {"role": "moderator"}))
    assert n is None
    _, n = apply_event(snap, state("org.audiorooms.role", "@bot:a", {"role": "speaker"}),
                       ignore=frozenset({"@bot:a"}))
    assert n is None
    _, n = apply_event(snap, {"type": "m.room.message", "content": {}, "sender": "@x:a"})
    assert n is None


def test_status_counts_speakers_and_listeners():
    snap = snapshot_from_state(ROOM + [
        state("m.room.member", "@dave:a", {"membership": "join"}, "@dave:a"),
        state("m.room.member", "@erin:a", {"membership": "join"}, "@erin:a"),
        state("m.room.member", "@bot:a", {"membership": "join"}, "@bot:a"),
        state("m.room.member", "@gone:a", {"membership": "leave"}, "@gone:a"),
        state("org.audiorooms.role", "@dave:a", {"role": "speaker"}),
        state("org.audiorooms.live", "", {"live": True})])
    assert status_text(snap, frozenset({"@bot:a"})) == (
        "“Talks” is live; on stage: Carol (moderator), dave; 1 person listens.")
    snap, _ = apply_event(snap, state("org.audiorooms.role", "@carol:a", {"role": "listener"}))
    snap, _ = apply_event(snap, state("org.audiorooms.role", "@dave:a", {"role": "listener"}))
    assert status_text(snap) == "“Talks” is live; nobody is on stage; 4 people listen."
    assert Snapshot.from_dict({**snap.to_dict(), "future_field": 1}) == snap


# history and echo decisions -----------------------------------------------------------------

def test_history_before_the_bots_join_is_not_bridged():
    events = [{"event_id": "$old"}, {"event_id": "$join"}, {"event_id": "$new"}]
    assert events_after_join(events, "$join") == [{"event_id": "$new"}]
    assert events_after_join(events, "$elsewhere") == events
    assert events_after_join(events, None) == events


def test_transaction_ids_are_stable_per_source_event():
    assert txn_for("audio", "$a") == txn_for("audio", "$a") != txn_for("audio", "$b")
    assert txn_for("audio", "$a") != txn_for("matrix", "$a")
    assert re.fullmatch(r"audio-[0-9a-f]{32}", txn_for("audio", "$a"))


def test_backoff_grows_to_a_cap_with_jitter():
    assert backoff_delay(1, 0.5, 60, rand=lambda: 1.0) == 0.5
    assert backoff_delay(4, 0.5, 60, rand=lambda: 1.0) == 4.0
    assert backoff_delay(30, 0.5, 60, rand=lambda: 1.0) == 60
    assert backoff_delay(30, 0.5, 60, rand=lambda: 0.0) == 30


# config and registration --------------------------------------------------------------------

def test_the_sample_config_loads():
    c = load_config(os.path.join(os.path.dirname(__file__), "..", "..", "bridge.sample.yaml"))
    assert c.appservice.public_url == "http://127.0.0.1:9009"
    assert c.audiorooms.join_base == "http://localhost:8008"


@pytest.mark.parametrize("sections,message", [
    ({"bridge": {"databse": "x"}}, "bridge.databse: unknown configuration key"),
    ({"appservice": {"port": "9009"}}, "appservice.port: must be an integer"),
    ({"appservice": {"port": True}}, "appservice.port: must be an integer"),
    ({"appservice": {"bot_localpart": "audio_bot"}}, "must not start with puppet_prefix"),
    ({"appservice": {"puppet_prefix": "Audio_"}}, "appservice.puppet_prefix"),
    ({"audiorooms": {"user_id": "bridge"}}, "audiorooms.user_id"),
    ({"audiorooms": {"password": None}}, "set password or access_token"),
    ({"matrix": {"homeserver_url": "synapse:8008"}}, "matrix.homeserver_url"),
    ({"bridge": {"links": [{"matrix_room": "room", "audio_room": "!a:b"}]}},
     "bridge.links[0].matrix_room"),
    ({"bridge": {"max_message_bytes": 1}}, "bridge.max_message_bytes"),
])
def test_config_errors_name_the_key(sections, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        cfg(**sections)


def test_config_needs_its_required_keys():
    with pytest.raises(ConfigError, match="matrix: required key missing"):
        config_from_dict({"audiorooms": BASE["audiorooms"]})
    with pytest.raises(ConfigError, match="must be a YAML mapping"):
        config_from_dict(["a"])


def test_tokens_come_from_the_registration_file(tmp_path):
    c = cfg(appservice={"registration": str(tmp_path / "reg.yaml")})
    with pytest.raises(ConfigError, match="generate-registration"):
        resolve_tokens(c)
    reg = registration_dict(c)
    (tmp_path / "reg.yaml").write_text(yaml.safe_dump(reg))
    c2 = resolve_tokens(c)
    assert (c2.appservice.as_token, c2.appservice.hs_token) == (reg["as_token"],
                                                                 reg["hs_token"])
    assert reg["sender_localpart"] == "audiobridge" and reg["rate_limited"] is False
    assert reg["namespaces"]["users"] == [{"exclusive": True,
                                           "regex": r"@audio_.*:matrix\.example"}]
    assert registration_dict(c2)["as_token"] == reg["as_token"]  # config tokens are kept


def test_generate_registration_command(tmp_path, capsys):
    conf = tmp_path / "bridge.yaml"
    data = {**BASE, "appservice": {"registration": str(tmp_path / "reg.yaml")}}
    conf.write_text(yaml.safe_dump(data))
    assert main(["generate-registration", "--config", str(conf)]) == 0
    reg = yaml.safe_load((tmp_path / "reg.yaml").read_text())
    assert reg["url"] == "http://127.0.0.1:9009" and len(reg["hs_token"]) >= 32
    assert stat.S_IMODE((tmp_path / "reg.yaml").stat().st_mode) == 0o600
    assert main(["generate-registration", "--config", str(conf)]) == 2
    assert "exists; --force replaces it" in capsys.readouterr().err
    assert main(["generate-registration", "--config", str(conf), "--force"]) == 0
    assert yaml.safe_load((tmp_path / "reg.yaml").read_text())["hs_token"] != reg["hs_token"]
    assert main(["--config", str(tmp_path / "missing.yaml")]) == 2
    assert "cannot read config file" in capsys.readouterr().err


# store --------------------------------------------------------------------------------------

def test_store_survives_reopening(tmp_path):
    path = tmp_path / "b.db"
    s = BridgeStore(path)
    s.add_link("!m:x", "!a:y", "@alice:x", "command", "$join", snapshot_from_state(ROOM))
    s.add_mapping("$mx", "$au", "!m:x", "!a:y", "message", "@alice:x")
    s.add_mapping("$mx", "$other", "!m:x", "!a:y", "message")  # ignored: already mapped
    s.mark_txn_done("42")
    s.mark_handled("$cmd")
    s.put("audio_since", "s17")
    s.set_puppet("@audio_c:x", "C (audio)")
    s.set_puppet_in_room("@audio_c:x", "!m:x", True)
    s.close()

    s = BridgeStore(path)
    link = s.link_for_audio("!a:y")
    assert link.matrix_room == "!m:x" and link.snapshot.name == "Talks"
    assert s.audio_for_matrix("$mx") == "$au" and s.matrix_for_audio("$au") == "$mx"
    assert s.by_audio_event("$other") is None
    assert s.txn_done("42") and not s.txn_done("43") and s.is_handled("$cmd")
    assert s.get("audio_since") == "s17"
    assert s.puppet_displayname("@audio_c:x") == (True, "C (audio)")
    assert s.puppet_in_room("@audio_c:x", "!m:x")
    with pytest.raises(sqlite3.IntegrityError):
        s.add_link("!m2:x", "!a:y", None, "config", None, Snapshot())  # one link per room
    s.remove_link("!m:x")
    assert s.link_for_matrix("!m:x") is None and s.links() == []
    s.close()

"""Push rules (client-server API, "Push Notifications"): the spec's default rule set, the
validation of user rules, and the evaluator that turns an event into actions. Pure: no I/O.

A rule set here is a list of rules in evaluation order, each a dict shaped as the spec's
PushRule plus ``kind`` (override, content, room, sender, underride).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from .rules import user_level

KINDS = ("override", "content", "room", "sender", "underride")
# Rules superseded by intentional mentions: skipped for events whose content has m.mentions.
LEGACY_MENTION_RULES = {".m.rule.contains_display_name", ".m.rule.contains_user_name",
                        ".m.rule.roomnotif"}
SIMPLE_ACTIONS = {"notify", "dont_notify", "coalesce"}  # the last two: legacy, no-ops

_SOUND = {"set_tweak": "sound", "value": "default"}
_HIGHLIGHT = {"set_tweak": "highlight"}
_NO_HIGHLIGHT = {"set_tweak": "highlight", "value": False}


def _match(key: str, pattern: str) -> dict:
    return {"kind": "event_match", "key": key, "pattern": pattern}


def _rule(rule_id: str, conditions: list | None, actions: list, enabled: bool = True,
          pattern: str | None = None) -> dict:
    out: dict[str, Any] = {"rule_id": rule_id, "default": True, "enabled": enabled,
                           "actions": actions}
    if pattern is not None:
        out["pattern"] = pattern
    if conditions is not None:
        out["conditions"] = conditions
    return out


def localpart(user_id: str) -> str:
    return user_id[1:].split(":", 1)[0]


def default_rules(user_id: str) -> dict[str, list[dict]]:
    """The spec's predefined rules (v1.12) for ``user_id``, by kind, in priority order."""
    override = [
        _rule(".m.rule.master", [], [], enabled=False),
        _rule(".m.rule.suppress_notices", [_match("content.msgtype", "m.notice")], []),
        _rule(".m.rule.invite_for_me", [
            _match("type", "m.room.member"), _match("content.membership", "invite"),
            _match("state_key", user_id)], ["notify", _SOUND, _NO_HIGHLIGHT]),
        _rule(".m.rule.member_event", [_match("type", "m.room.member")], []),
        _rule(".m.rule.is_user_mention", [
            {"kind": "event_property_contains", "key": "content.m\\.mentions.user_ids",
             "value": user_id}], ["notify", _HIGHLIGHT, _SOUND]),
        _rule(".m.rule.contains_display_name", [{"kind": "contains_display_name"}],
              ["notify", _SOUND, _HIGHLIGHT]),  # deprecated by is_user_mention
        _rule(".m.rule.is_room_mention", [
            {"kind": "event_property_is", "key": "content.m\\.mentions.room", "value": True},
            {"kind": "sender_notification_permission", "key": "room"}],
            ["notify", _HIGHLIGHT]),
        _rule(".m.rule.roomnotif", [
            {"kind": "sender_notification_permission", "key": "room"},
            _match("content.body", "@room")], ["notify", _HIGHLIGHT]),  # deprecated
        _rule(".m.rule.tombstone", [_match("type", "m.room.tombstone"), _match("state_key", "")],
              ["notify", _HIGHLIGHT]),
        _rule(".m.rule.reaction", [_match("type", "m.reaction")], []),
        _rule(".m.rule.server_acl", [_match("type", "m.room.server_acl"),
                                     _match("state_key", "")], []),
        _rule(".m.rule.suppress_edits", [
            {"kind": "event_property_is", "key": "content.m\\.relates_to.rel_type",
             "value": "m.replace"}], []),
    ]
    content = [
        # deprecated by is_user_mention, still listed by the spec
        _rule(".m.rule.contains_user_name", None, ["notify", _SOUND, _HIGHLIGHT],
              pattern=localpart(user_id)),
    ]
    one_to_one = {"kind": "room_member_count", "is": "2"}
    underride = [
        _rule(".m.rule.call", [_match("type", "m.call.invite")],
              ["notify", {"set_tweak": "sound", "value": "ring"}, _NO_HIGHLIGHT]),
        _rule(".m.rule.encrypted_room_one_to_one", [one_to_one, _match("type", "m.room.encrypted")],
              ["notify", _SOUND, _NO_HIGHLIGHT]),
        _rule(".m.rule.room_one_to_one", [one_to_one, _match("type", "m.room.message")],
              ["notify", _SOUND, _NO_HIGHLIGHT]),
        _rule(".m.rule.message", [_match("type", "m.room.message")], ["notify", _NO_HIGHLIGHT]),
        _rule(".m.rule.encrypted", [_match("type", "m.room.encrypted")],
              ["notify", _NO_HIGHLIGHT]),
    ]
    return {"override": override, "content": content, "room": [], "sender": [],
            "underride": underride}


# validation of what clients send --------------------------------------------------------------

class RuleError(ValueError):
    """A rule a client sent is malformed; ``bad_json`` tells a type error from a bad value."""

    def __init__(self, message: str, bad_json: bool = False):
        super().__init__(message)
        self.bad_json = bad_json


def check_actions(actions: Any) -> list:
    if not isinstance(actions, list):
        raise RuleError("'actions' must be a list", bad_json=True)
    for a in actions:
        if isinstance(a, str):
            if a not in SIMPLE_ACTIONS:
                raise RuleError(f"unknown action {a!r}")
        elif isinstance(a, dict):
            if not isinstance(a.get("set_tweak"), str):
                raise RuleError("a tweak action needs a string 'set_tweak'")
        else:
            raise RuleError("each action is a string or a tweak object", bad_json=True)
    return actions


_SCALAR = (str, int, bool, type(None))


def check_conditions(conditions: Any) -> list:
    if not isinstance(conditions, list):
        raise RuleError("'conditions' must be a list", bad_json=True)
    for c in conditions:
        if not isinstance(c, dict) or not isinstance(c.get("kind"), str):
            raise RuleError("each condition is an object with a string 'kind'", bad_json=True)
        kind = c["kind"]
        if kind in ("event_match", "event_property_is", "event_property_contains",
                    "sender_notification_permission") and not isinstance(c.get("key"), str):
            raise RuleError(f"a {kind} condition needs a string 'key'")
        if kind == "event_match" and not isinstance(c.get("pattern"), str):
            raise RuleError("an event_match condition needs a string 'pattern'")
        if kind in ("event_property_is", "event_property_contains") and (
                "value" not in c or not isinstance(c["value"], _SCALAR)):
            raise RuleError(f"a {kind} condition needs a string, integer, boolean or null "
                            "'value'")
        if kind == "room_member_count" and (not isinstance(c.get("is"), str)
                                            or _MEMBER_COUNT.match(c["is"]) is None):
            raise RuleError("a room_member_count condition needs 'is' such as '2' or '>=10'")
    return conditions


def make_user_rule(kind: str, rule_id: str, body: dict) -> dict:
    """A user rule from a PUT body (raises RuleError)."""
    if kind not in KINDS:
        raise RuleError(f"unknown rule kind {kind!r}")
    if not rule_id or rule_id.startswith("."):
        raise RuleError("rule IDs starting with '.' are reserved for server-default rules")
    if "\\" in rule_id:
        raise RuleError("rule IDs may not contain a backslash")
    if kind == "room" and not rule_id.startswith("!"):
        raise RuleError("a room rule's ID is a room ID")
    if kind == "sender" and not rule_id.startswith("@"):
        raise RuleError("a sender rule's ID is a user ID")
    if "actions" not in body:
        raise RuleError("'actions' is required", bad_json=True)
    rule: dict[str, Any] = {"rule_id": rule_id, "default": False, "enabled": True,
                            "actions": check_actions(body["actions"])}
    if kind == "content":
        if not isinstance(body.get("pattern"), str):
            raise RuleError("a content rule needs a string 'pattern'", bad_json=True)
        rule["pattern"] = body["pattern"]
    elif kind in ("override", "underride"):
        rule["conditions"] = check_conditions(body.get("conditions", []))
    return rule


# evaluation --------------------------------------------------------------------------------

@dataclass
class PushContext:
    """What the conditions need beyond the event, for one user in one room."""
    user_id: str
    display_name: str | None
    member_count: int
    power_levels: dict = field(default_factory=dict)


@dataclass
class Outcome:
    rule_id: str
    actions: list
    notify: bool
    highlight: bool
    sound: str | None


def split_path(key: str) -> list[str]:
    """A dotted key to its parts: ``\\.`` is a literal dot, ``\\\\`` a literal backslash, any
    other backslash is itself."""
    parts, cur, i = [], [], 0
    while i < len(key):
        ch = key[i]
        if ch == "\\" and i + 1 < len(key) and key[i + 1] in ".\\":
            cur.append(key[i + 1])
            i += 2
            continue
        if ch == ".":
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
        i += 1
    parts.append("".join(cur))
    return parts


_MISSING = object()


@lru_cache(maxsize=4096)
def _key_parts(key: str) -> tuple[str, ...]:
    # Every event meets the same few keys of the rules: split each once.
    return tuple(split_path(key))


def lookup(event: dict, key: str) -> Any:
    value: Any = event
    for part in _key_parts(key):
        if not isinstance(value, dict) or part not in value:
            return _MISSING
        value = value[part]
    return value


@lru_cache(maxsize=1024)
def _glob(pattern: str, words: bool) -> re.Pattern:
    body = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    if words:
        return re.compile(rf"(?<!\w){body}(?!\w)", re.IGNORECASE | re.DOTALL)
    return re.compile(body, re.IGNORECASE | re.DOTALL)


def glob_match(pattern: str, value: str, words: bool = False) -> bool:
    """Case-insensitive glob (``*``, ``?``): the whole value, or with ``words`` a whole-word
    run inside it (how patterns apply to ``content.body``)."""
    rx = _glob(pattern, words)
    return (rx.search(value) if words else rx.fullmatch(value)) is not None


def _strict_equal(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b  # True is not 1


_MEMBER_COUNT = re.compile(r"^(==|<=|>=|<|>)?([0-9]+)$")


def _member_count(spec: Any, count: int) -> bool:
    m = _MEMBER_COUNT.match(spec) if isinstance(spec, str) else None
    if m is None:
        return False
    op, n = m.group(1) or "==", int(m.group(2))
    return {"==": count == n, "<": count < n, ">": count > n, "<=": count <= n,
            ">=": count >= n}[op]


def condition_holds(cond: dict, event: dict, ctx: PushContext) -> bool:
    kind = cond.get("kind")
    if kind == "event_match":
        key, pattern = cond.get("key"), cond.get("pattern")
        if not isinstance(key, str) or not isinstance(pattern, str):
            return False
        value = lookup(event, key)
        return isinstance(value, str) and glob_match(pattern, value, key == "content.body")
    if kind == "event_property_is":
        value = lookup(event, cond.get("key", ""))
        return value is not _MISSING and _strict_equal(value, cond.get("value", _MISSING))
    if kind == "event_property_contains":
        value = lookup(event, cond.get("key", ""))
        want = cond.get("value", _MISSING)
        return isinstance(value, list) and any(_strict_equal(v, want) for v in value)
    if kind == "contains_display_name":
        body = lookup(event, "content.body")
        name = ctx.display_name
        return bool(name) and isinstance(body, str) and re.search(
            rf"(?<!\w){re.escape(name or '')}(?!\w)", body, re.IGNORECASE) is not None
    if kind == "room_member_count":
        return _member_count(cond.get("is"), ctx.member_count)
    if kind == "sender_notification_permission":
        key = cond.get("key")
        if not isinstance(key, str):
            return False
        levels = ctx.power_levels.get("notifications")
        need = levels.get(key, 50) if isinstance(levels, dict) else 50
        if not isinstance(need, int) or isinstance(need, bool):
            need = 50
        return user_level(ctx.power_levels, event.get("sender", "")) >= need
    return False  # the spec: unknown conditions never match


def rule_matches(kind: str, rule: dict, event: dict, ctx: PushContext) -> bool:
    if kind == "content":
        body = lookup(event, "content.body")
        pattern = rule.get("pattern")
        return isinstance(body, str) and isinstance(pattern, str) and glob_match(
            pattern, body, words=True)
    if kind == "room":
        return event.get("room_id") == rule["rule_id"]
    if kind == "sender":
        return event.get("sender") == rule["rule_id"]
    return all(condition_holds(c, event, ctx) for c in rule.get("conditions", []))


def outcome(rule_id: str, actions: list) -> Outcome:
    notify, highlight, sound = False, False, None
    for a in actions:
        if a == "notify":
            notify = True
        elif isinstance(a, dict) and a.get("set_tweak") == "highlight":
            highlight = a.get("value", True) is True
        elif isinstance(a, dict) and a.get("set_tweak") == "sound":
            sound = a.get("value") if isinstance(a.get("value"), str) else None
    return Outcome(rule_id, actions, notify, highlight and notify, sound)


def evaluate(ruleset: dict[str, list[dict]], event: dict, ctx: PushContext) -> Outcome | None:
    """The first enabled rule matching ``event`` (None: none matches, no notification)."""
    mentions = isinstance(event.get("content"), dict) and "m.mentions" in event["content"]
    for kind in KINDS:
        for rule in ruleset.get(kind, []):
            if not rule.get("enabled", True):
                continue
            if mentions and rule["rule_id"] in LEGACY_MENTION_RULES:
                continue
            if rule_matches(kind, rule, event, ctx):
                return outcome(rule["rule_id"], rule.get("actions", []))
    return None

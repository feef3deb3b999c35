"""Push rules and pushers of each user (``/pushrules/``, ``/pushers``).

A user's rule set is the spec's default rules (with the user's changes to their ``enabled`` and
``actions``) and the user's own rules, which come before the defaults of their kind. Every
change is also written to the user's ``m.push_rules`` account data, which clients read in /sync.
Pushers are validated and stored; handlers/pusher_delivery.py delivers to their push gateways
and is told of every change.
"""
from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

from ..errors import BadJson, InvalidParam, MatrixError, MissingParam, NotFound
from ..push_rules import KINDS, RuleError, check_actions, default_rules, make_user_rule
from ..storage.events import AccountDataStore
from ..storage.push import PushStore
from .accounts import Requester
from .notifier import Notifier

PUSHER_FIELDS = ("app_id", "pushkey", "kind", "app_display_name", "device_display_name",
                 "lang", "data")


def _rule_error(e: RuleError) -> MatrixError:
    return BadJson(str(e)) if e.bad_json else InvalidParam(str(e))


def _check_scope_kind(scope: str, kind: str | None = None) -> None:
    if scope != "global":
        raise InvalidParam("the only push rule scope is 'global'")
    if kind is not None and kind not in KINDS:
        raise InvalidParam(f"unknown push rule kind {kind!r}")


def _is_http_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError on a port that is not one)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


class PushRulesHandler:
    def __init__(self, store: PushStore, account_data: AccountDataStore, notifier: Notifier,
                 check_url: Callable[[str], None] | None = None,
                 pushers_changed: Callable[[Iterable[str]], None] | None = None):
        self.store = store
        self.account_data = account_data
        self.notifier = notifier
        # The push gateway's rules for a pusher URL (raises a MatrixError), and who is told
        # that users' pushers changed (PusherDelivery).
        self.check_url = check_url
        self.pushers_changed = pushers_changed
        self._cache: dict[str, dict[str, list[dict]]] = {}
        self._customised: dict[str, bool] = {}
        # told the user ID when their rules change (the server's other processes forget theirs)
        self.shared: Callable[[str], None] | None = None

    # the rule set --------------------------------------------------------------------------

    def ruleset(self, user_id: str) -> dict[str, list[dict]]:
        """The user's rules by kind in evaluation order (cached; do not mutate)."""
        rules = self._cache.get(user_id)
        if rules is None:
            rules = default_rules(user_id)
            changes = self.store.default_changes(user_id)
            for kind_rules in rules.values():
                for rule in kind_rules:
                    enabled, actions = changes.get(rule["rule_id"], (None, None))
                    if enabled is not None:
                        rule["enabled"] = enabled
                    if actions is not None:
                        rule["actions"] = actions
            own: dict[str, list[dict]] = {k: [] for k in KINDS}
            for kind, rule, enabled in self.store.user_rules(user_id):
                own[kind].append({**rule, "enabled": enabled})
            rules = {k: own[k] + rules[k] for k in KINDS}
            self._cache[user_id] = rules
            self._customised[user_id] = bool(changes) or any(own.values())
        return rules

    def is_customised(self, user_id: str) -> bool:
        """Whether the user changed or added any rule (else: the spec's defaults as they are)."""
        if user_id not in self._customised:
            self.ruleset(user_id)
        return self._customised[user_id]

    def forget_all(self) -> None:
        self._cache.clear()
        self._customised.clear()

    def forget(self, user_id: str) -> None:
        """Read the user's rules again when next needed (another process changed them)."""
        self._cache.pop(user_id, None)
        self._customised.pop(user_id, None)

    def _changed(self, user_id: str) -> None:
        self.forget(user_id)
        if self.shared is not None:
            self.shared(user_id)
        self.account_data.set(user_id, "", "m.push_rules",
                              {"global": copy.deepcopy(self.ruleset(user_id))})
        self.notifier.notify_users([user_id])

    def all_rules(self, req: Requester) -> dict:
        return {"global": self.ruleset(req.user_id)}

    def scope_rules(self, req: Requester, scope: str) -> dict:
        _check_scope_kind(scope)
        return self.ruleset(req.user_id)

    def kind_rules(self, req: Requester, scope: str, kind: str) -> list[dict]:
        _check_scope_kind(scope, kind)
        return self.ruleset(req.user_id)[kind]

    def get_rule(self, req: Requester, scope: str, kind: str, rule_id: str) -> dict:
        _check_scope_kind(scope, kind)
        for rule in self.ruleset(req.user_id)[kind]:
            if rule["rule_id"] == rule_id:
                return rule
        raise NotFound("Unknown push rule")

    # changes -----------------------------------------------------------------------------

    def put_rule(self, req: Requester, scope: str, kind: str, rule_id: str, body: dict,
                 before: str | None, after: str | None) -> None:
        _check_scope_kind(scope, kind)
        if before is not None and after is not None:
            raise InvalidParam("give 'before' or 'after', not both")
        try:
            rule = make_user_rule(kind, rule_id, body)
        except RuleError as e:
            raise _rule_error(e) from None
        anchor = before or after
        if anchor is not None:
            if anchor == rule_id:
                raise InvalidParam("a rule cannot be placed relative to itself")
            if self.store.position(req.user_id, kind, anchor) is None:
                # The spec: only a user rule of the same kind can be an anchor.
                raise MatrixError(f"before/after rule not found: {anchor}", "M_UNKNOWN", 400)
        self.store.put_rule(req.user_id, kind, rule, before=before, after=after)
        self._changed(req.user_id)

    def delete_rule(self, req: Requester, scope: str, kind: str, rule_id: str) -> None:
        _check_scope_kind(scope, kind)
        if rule_id.startswith("."):
            self.get_rule(req, scope, kind, rule_id)  # 404 if it is no rule at all
            raise NotFound("Server-default push rules cannot be deleted")
        if not self.store.delete_rule(req.user_id, kind, rule_id):
            raise NotFound("Unknown push rule")
        self._changed(req.user_id)

    def get_attribute(self, req: Requester, scope: str, kind: str, rule_id: str,
                      attr: str) -> dict:
        rule = self.get_rule(req, scope, kind, rule_id)
        return {attr: rule["enabled"] if attr == "enabled" else rule["actions"]}

    def set_attribute(self, req: Requester, scope: str, kind: str, rule_id: str, attr: str,
                      body: dict) -> None:
        rule = self.get_rule(req, scope, kind, rule_id)  # 404 for an unknown rule
        if attr not in body:
            raise MissingParam(f"'{attr}' is required")
        enabled, actions = None, None
        if attr == "enabled":
            if not isinstance(body["enabled"], bool):
                raise BadJson("'enabled' must be a boolean")
            enabled = body["enabled"]
        else:
            try:
                actions = check_actions(body["actions"])
            except RuleError as e:
                raise _rule_error(e) from None
        if rule["default"]:
            self.store.change_default(req.user_id, rule_id, enabled=enabled, actions=actions)
        else:
            self.store.set_user_rule_field(req.user_id, kind, rule_id, enabled=enabled,
                                           actions=actions)
        self._changed(req.user_id)

    # pushers -------------------------------------------------------------------------------

    def pushers(self, req: Requester) -> list[dict]:
        return self.store.pushers(req.user_id)

    def set_pusher(self, req: Requester, body: dict) -> None:
        """Store or (``kind: null``) delete a pusher."""
        for key in ("app_id", "pushkey"):
            if not isinstance(body.get(key), str) or not body[key]:
                raise MissingParam(f"'{key}' is required and must be a string")
        if len(body["app_id"]) > 64 or len(body["pushkey"]) > 512:
            raise InvalidParam("app_id is at most 64 characters, pushkey at most 512 bytes")
        if "kind" not in body:
            raise MissingParam("'kind' is required")
        if body["kind"] is None:
            self.store.delete_pusher(req.user_id, body["app_id"], body["pushkey"])
            if self.pushers_changed is not None:
                self.pushers_changed([req.user_id])
            return
        for key in PUSHER_FIELDS:
            if key not in body:
                raise MissingParam(f"'{key}' is required")
        for key in ("kind", "app_display_name", "device_display_name", "lang"):
            if not isinstance(body[key], str):
                raise BadJson(f"'{key}' must be a string")
        if "profile_tag" in body and not isinstance(body["profile_tag"], str):
            raise BadJson("'profile_tag' must be a string")
        append = body.get("append", False)
        if not isinstance(append, bool):
            raise BadJson("'append' must be a boolean")
        data = body["data"]
        if not isinstance(data, dict):
            raise BadJson("'data' must be an object")
        if body["kind"] != "http":
            raise InvalidParam(f"pusher kind {body['kind']!r} is not supported (only 'http')")
        url = data.get("url")
        if not isinstance(url, str) or not _is_http_url(url):
            raise InvalidParam("an http pusher needs data.url, an http(s) URL")
        if self.check_url is not None:
            self.check_url(url)
        if "format" in data and data["format"] != "event_id_only":
            raise InvalidParam("data.format may only be 'event_id_only'")
        pusher = {k: body[k] for k in PUSHER_FIELDS}
        if "profile_tag" in body:
            pusher["profile_tag"] = body["profile_tag"]
        others = self.store.set_pusher(req.user_id, pusher, append)
        if self.pushers_changed is not None:
            self.pushers_changed([req.user_id, *others])

"""``!audio`` commands in a Matrix room: parsing and permission decisions (pure, no I/O)."""
from __future__ import annotations

from dataclasses import dataclass

from .ids import ROOM_ALIAS, ROOM_ID

COMMANDS = ("link", "unlink", "status", "help")
PRIVILEGED = frozenset({"link", "unlink"})
HELP = ("Commands: {p} link <audio room ID or alias> — link this room to an audio room; "
        "{p} unlink — remove the link; {p} status — who is speaking and how many listen; "
        "{p} help — this text. Linking and unlinking need power level {level} here.")


class CommandError(ValueError):
    """The text is a command but not a valid one; the message is shown to the user."""


@dataclass(frozen=True)
class Command:
    name: str
    arg: str | None = None


def parse_command(body: object, prefix: str = "!audio") -> Command | None:
    """None when ``body`` is not addressed to the bridge; CommandError when it is, but wrong."""
    if not isinstance(body, str):
        return None
    words = body.strip().split()
    if not words or words[0].lower() != prefix.lower():
        return None
    if len(words) == 1:
        return Command("help")
    name, args = words[1].lower(), words[2:]
    if name not in COMMANDS:
        raise CommandError(f"Unknown command {words[1]!r}. Try: {prefix} help")
    if name == "link":
        if len(args) != 1:
            raise CommandError(f"Usage: {prefix} link <audio room ID or alias>")
        target = args[0]
        if not (ROOM_ID.match(target) or ROOM_ALIAS.match(target)):
            raise CommandError(f"{target!r} is not a room ID (!id:server) or alias "
                               "(#name:server)")
        return Command("link", target)
    if args:
        raise CommandError(f"Usage: {prefix} {name} (it takes no arguments)")
    return Command(name)


def _int(v: object, default: int) -> int:
    return v if isinstance(v, int) and not isinstance(v, bool) else default


# Room versions before 12: creators are ordinary users with a power level in the event.
# From version 12 on, the creators (m.room.create's sender and additional_creators) outrank
# every power level and are not listed in m.room.power_levels.
LEGACY_ROOM_VERSIONS = frozenset(str(v) for v in range(1, 12))
CREATOR = float("inf")


def room_creators(create_event: dict | None) -> tuple[set[str], bool]:
    """(the creators, whether they are privileged beyond power levels)."""
    if not create_event:
        return set(), False
    content = create_event.get("content") or {}
    version = str(content.get("room_version", "1"))
    creators = {u for u in (create_event.get("sender"), content.get("creator"))
                if isinstance(u, str)}
    if version in LEGACY_ROOM_VERSIONS:
        return creators, False
    extra = content.get("additional_creators")
    if isinstance(extra, list):
        creators |= {u for u in extra if isinstance(u, str)}
    return creators, True


def user_power(power_levels: dict | None, user_id: str,
               create_event: dict | None = None) -> float:
    """A user's power level from m.room.power_levels content and the m.room.create event."""
    creators, privileged = room_creators(create_event)
    if privileged and user_id in creators:
        return CREATOR
    if not power_levels:
        return 100 if user_id in creators else 0  # the spec's default without the event
    users = power_levels.get("users") or {}
    return _int(users.get(user_id), _int(power_levels.get("users_default"), 0))


def permission_error(cmd: Command, power_levels: dict | None, sender: str, required: int,
                     create_event: dict | None = None) -> str | None:
    """Why ``sender`` may not run ``cmd`` here, or None if they may."""
    if cmd.name not in PRIVILEGED:
        return None
    have = user_power(power_levels, sender, create_event)
    if have < required:
        return (f"Sorry, {sender}: {cmd.name} needs power level {required} in this room "
                f"and you have {int(have)}.")
    return None

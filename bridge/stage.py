"""What the bridge knows about an audio room's stage, and the notices its changes deserve.

Pure: a Snapshot is built from room state and updated one event at a time; ``apply_event``
returns the Notice (went live, ended, someone on stage) an event causes, if any.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

AUDIO_ROOM_TYPE = "org.audiorooms.audio"
LIVE = "org.audiorooms.live"
ROLE = "org.audiorooms.role"
ON_STAGE = ("speaker", "moderator")


@dataclass
class Snapshot:
    name: str | None = None
    room_type: str | None = None
    creator: str | None = None   # a moderator unless a role event says otherwise
    live: bool | None = None     # None: no live event, which means live (created to start now)
    roles: dict[str, str] = field(default_factory=dict)
    members: dict[str, str | None] = field(default_factory=dict)  # joined user -> displayname

    @property
    def is_live(self) -> bool:
        return self.live is not False

    @property
    def is_audio_room(self) -> bool:
        return self.room_type == AUDIO_ROOM_TYPE

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Snapshot:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    def role(self, user_id: str) -> str:
        return self.roles.get(user_id) or ("moderator" if user_id == self.creator
                                           else "listener")

    def display_name(self, user_id: str) -> str:
        return self.members.get(user_id) or user_id.lstrip("@").split(":", 1)[0]

    def title(self, start: bool = False) -> str:
        if self.name:
            return f"“{self.name}”"
        return "The audio room" if start else "the audio room"


@dataclass(frozen=True)
class Notice:
    kind: str  # "live" | "ended" | "stage"
    text: str
    user_id: str | None = None


def _copy(s: Snapshot) -> Snapshot:
    return Snapshot(s.name, s.room_type, s.creator, s.live, dict(s.roles), dict(s.members))


def apply_event(snap: Snapshot, event: dict, ignore: frozenset = frozenset()
                ) -> tuple[Snapshot, Notice | None]:
    """The snapshot after ``event`` and the notice it causes. ``ignore``: users (the bridge
    bot) whose stage changes are not announced."""
    etype, key = event.get("type"), event.get("state_key")
    raw = event.get("content")
    content: dict = raw if isinstance(raw, dict) else {}
    if key is None:
        return snap, None
    new = _copy(snap)
    notice = None
    if etype == "m.room.create":
        new.room_type = content.get("type") if isinstance(content.get("type"), str) else None
        new.creator = event.get("sender") if isinstance(event.get("sender"), str) else None
    elif etype == "m.room.name":
        new.name = content.get("name") if isinstance(content.get("name"), str) else None
    elif etype == "m.room.member":
        if content.get("membership") == "join":
            name = content.get("displayname")
            new.members[key] = name if isinstance(name, str) and name else None
        else:
            new.members.pop(key, None)
    elif etype == LIVE and key == "":
        new.live = content.get("live") is True
        if new.is_live and not snap.is_live:
            notice = Notice("live", f"🔴 {new.title(start=True)} is live now.")
        elif snap.is_live and not new.is_live:
            notice = Notice("ended", f"{new.title(start=True)} has ended.")
    elif etype == ROLE and key:
        role = content.get("role")
        if isinstance(role, str):
            new.roles[key] = role
        else:
            new.roles.pop(key, None)
        if role in ON_STAGE and snap.role(key) not in ON_STAGE and key not in ignore:
            notice = Notice("stage", f"{new.display_name(key)} is on stage in {new.title()}.",
                            key)
    return new, notice


def snapshot_from_state(events: list[dict]) -> Snapshot:
    snap = Snapshot()
    for ev in events:
        snap, _ = apply_event(snap, ev)
    return snap


def status_text(snap: Snapshot, ignore: frozenset = frozenset()) -> str:
    """The answer to ``!audio status``: live or not, who is speaking, how many listen."""
    joined = [u for u in snap.members if u not in ignore]
    stage = [u for u in joined if snap.role(u) in ON_STAGE]
    listeners = len(joined) - len(stage)
    state = "is live" if snap.is_live else "is not live"
    if stage:
        who = ", ".join(snap.display_name(u) + (" (moderator)" if snap.role(u) == "moderator"
                                                else "") for u in stage)
        speaking = f"on stage: {who}"
    else:
        speaking = "nobody is on stage"
    return (f"{snap.title(start=True)} {state}; {speaking}; {listeners} "
            f"{'person listens' if listeners == 1 else 'people listen'}.")

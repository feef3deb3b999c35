"""Which speakers are on the audio slots: the K loudest eligible speakers, without flapping.

Levels come from the RFC 6464 audio-level header extension (0 = loudest .. 127 = silence, in
-dBov) and are smoothed per speaker with a fast attack and a slow release, so a speaker is
picked up quickly when they start talking and is not dropped in the pauses between words.

The allocator keeps K ``top`` positions and one ``spare``:

* a position's speaker stays until they stop being eligible (muted, moved off stage, left,
  no packets for ``stale_after`` seconds) or a challenger is louder than the quietest speaker on
  a position by ``margin_db`` continuously for ``hold`` seconds (hysteresis); the challenger
  then takes over that position, so the other positions do not move;
* free positions are filled at once with the loudest eligible speaker not placed yet;
* the spare is the loudest speaker not on a position (same hysteresis). A speaker who is on a
  position hears the spare in their own position instead of themselves, so nobody receives
  their own audio and everybody hears the K loudest others.

Pure: the caller passes ``now`` (seconds) to every call.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

SILENCE = 127


@dataclass
class _Speaker:
    user_id: str
    eligible: bool = False
    level: float = -float(SILENCE)  # smoothed, in dBov (0 loudest, -127 silence)
    last_level: int = SILENCE
    last_seen: float | None = None
    last_update: float | None = None


class SlotAllocator:
    def __init__(self, slots: int = 3, margin_db: float = 6.0, hold: float = 0.3,
                 attack: float = 0.08, release: float = 0.6, stale_after: float = 2.0,
                 talking_db: float = -55.0):
        if slots < 1:
            raise ValueError("slots must be >= 1")
        self.k = slots
        self.margin_db = margin_db
        self.hold = hold
        self.attack = attack
        self.release = release
        self.stale_after = stale_after
        self.talking_db = talking_db
        self.top: list[str | None] = [None] * slots
        self.spare: str | None = None
        self._speakers: dict[str, _Speaker] = {}
        self._challenge_top: tuple[str, float] | None = None
        self._challenge_spare: tuple[str, float] | None = None

    # inputs --------------------------------------------------------------------------------

    def set_eligible(self, user_id: str, eligible: bool) -> None:
        """Whether the stage lets ``user_id`` be heard (speaker or moderator, not muted)."""
        sp = self._speakers.get(user_id)
        if sp is None:
            if not eligible:
                return
            sp = self._speakers[user_id] = _Speaker(user_id)
        sp.eligible = eligible

    def observe(self, user_id: str, level: int | None, now: float) -> None:
        """A packet from ``user_id`` with RFC 6464 ``level`` (None: the packet had none)."""
        sp = self._speakers.get(user_id)
        if sp is None:
            sp = self._speakers[user_id] = _Speaker(user_id)
        sp.last_seen = now
        if level is None:
            level = sp.last_level
        sp.last_level = level
        target = -float(level)
        if sp.last_update is None:
            sp.level = target
        else:
            dt = now - sp.last_update
            if dt > 0:
                tau = self.attack if target > sp.level else self.release
                sp.level += (target - sp.level) * (1.0 - math.exp(-dt / tau))
        sp.last_update = now

    def remove(self, user_id: str) -> None:
        """``user_id`` has no stream any more (their connection closed)."""
        self._speakers.pop(user_id, None)

    # decisions -----------------------------------------------------------------------------

    def _live(self, now: float) -> dict[str, _Speaker]:
        return {u: s for u, s in self._speakers.items()
                if s.eligible and s.last_seen is not None
                and now - s.last_seen <= self.stale_after}

    def update(self, now: float) -> bool:
        """Apply removals, fills and hysteresis; True if ``top`` or ``spare`` changed."""
        before = (list(self.top), self.spare)
        live = self._live(now)
        lvl = lambda u: live[u].level  # noqa: E731

        # drop speakers who may no longer be heard
        for i, u in enumerate(self.top):
            if u is not None and u not in live:
                self.top[i] = None
        if self.spare is not None and self.spare not in live:
            self.spare = None

        def outside() -> list[str]:
            placed = set(self.top) | {self.spare}
            return sorted((u for u in live if u not in placed), key=lambda u: (-lvl(u), u))

        # fill free positions: the spare first (it is the loudest not placed), then the rest
        for i, u in enumerate(self.top):
            if u is None:
                if self.spare is not None:
                    self.top[i], self.spare = self.spare, None
                else:
                    rest = outside()
                    if rest:
                        self.top[i] = rest[0]
        if self.spare is None:
            rest = outside()
            if rest:
                self.spare = rest[0]

        # hysteresis at the top boundary: the loudest not on a position vs the quietest on one
        placed = [u for u in self.top if u is not None]
        contenders = outside() + ([self.spare] if self.spare is not None else [])
        challenger = max(contenders, key=lambda u: (lvl(u), u), default=None)
        weakest = min(placed, key=lambda u: (lvl(u), u), default=None)
        if challenger is not None and weakest is not None \
                and lvl(challenger) > lvl(weakest) + self.margin_db:
            if self._challenge_top is None or self._challenge_top[0] != challenger:
                self._challenge_top = (challenger, now)
            elif now - self._challenge_top[1] >= self.hold:
                i = self.top.index(weakest)
                self.top[i] = challenger
                if self.spare == challenger:
                    self.spare = weakest
                self._challenge_top = None
        else:
            self._challenge_top = None

        # hysteresis at the spare boundary
        rest = outside()
        if rest and self.spare is not None and lvl(rest[0]) > lvl(self.spare) + self.margin_db:
            if self._challenge_spare is None or self._challenge_spare[0] != rest[0]:
                self._challenge_spare = (rest[0], now)
            elif now - self._challenge_spare[1] >= self.hold:
                self.spare = rest[0]
                self._challenge_spare = None
        else:
            self._challenge_spare = None
        if self.spare is None and rest:
            self.spare = rest[0]

        return (self.top, self.spare) != before

    # outputs -------------------------------------------------------------------------------

    def assignment(self, listener: str | None, n_slots: int | None = None) -> list[str | None]:
        """The speaker on each of ``listener``'s slots: the top positions, with the spare in
        place of the listener's own audio."""
        n = self.k if n_slots is None else min(n_slots, self.k)
        return [self.spare if u is not None and u == listener else u for u in self.top[:n]]

    def level(self, user_id: str) -> float | None:
        sp = self._speakers.get(user_id)
        return None if sp is None or sp.last_seen is None else sp.level

    def talking(self, now: float, recent: float = 0.5, require_eligible: bool = True) -> list[str]:
        return sorted(u for u, s in self._speakers.items()
                      if (s.eligible or not require_eligible) and s.last_seen is not None
                      and now - s.last_seen <= recent and s.level >= self.talking_db)

    def eligible(self, user_id: str) -> bool:
        sp = self._speakers.get(user_id)
        return bool(sp and sp.eligible)

"""What /sync puts in a joined room's ``ephemeral``: receipts and typing changed since a token."""
from __future__ import annotations

from .receipts import ReceiptHandler
from .typing import TypingHandler


class EphemeralEvents:
    def __init__(self, receipts: ReceiptHandler, typing: TypingHandler):
        self.receipts = receipts
        self.typing = typing

    def for_room(self, user_id: str, room_id: str, since: int | None, upto: int) -> list[dict]:
        """Events that changed after ``since`` (everything current if None), up to ``upto``."""
        out = []
        for ev in (self.receipts.receipt_event(user_id, room_id, since, upto),
                   self.typing.typing_event(room_id, since, upto)):
            if ev is not None:
                out.append(ev)
        return out

"""Matrix errors: ``{"errcode": "M_...", "error": "..."}`` with the spec's status codes.

Handlers raise these; the HTTP layer renders them. Nothing here knows about aiohttp.
"""
from __future__ import annotations


class MatrixError(Exception):
    status = 400
    errcode = "M_UNKNOWN"

    def __init__(self, message: str, errcode: str | None = None, status: int | None = None,
                 **extra):
        super().__init__(message)
        self.message = message
        if errcode:
            self.errcode = errcode
        if status:
            self.status = status
        self.extra = extra

    def to_dict(self) -> dict:
        return {"errcode": self.errcode, "error": self.message, **self.extra}


class Forbidden(MatrixError):
    status, errcode = 403, "M_FORBIDDEN"


class GuestForbidden(MatrixError):
    status, errcode = 403, "M_GUEST_ACCESS_FORBIDDEN"


class NotFound(MatrixError):
    status, errcode = 404, "M_NOT_FOUND"


class BadJson(MatrixError):
    status, errcode = 400, "M_BAD_JSON"


class NotJson(MatrixError):
    status, errcode = 400, "M_NOT_JSON"


class MissingParam(MatrixError):
    status, errcode = 400, "M_MISSING_PARAM"


class InvalidParam(MatrixError):
    status, errcode = 400, "M_INVALID_PARAM"


class TooLarge(MatrixError):
    status, errcode = 413, "M_TOO_LARGE"


class UnknownToken(MatrixError):
    status, errcode = 401, "M_UNKNOWN_TOKEN"


class MissingToken(MatrixError):
    status, errcode = 401, "M_MISSING_TOKEN"


class UserInUse(MatrixError):
    status, errcode = 400, "M_USER_IN_USE"


class InvalidUsername(MatrixError):
    status, errcode = 400, "M_INVALID_USERNAME"


class RoomInUse(MatrixError):
    status, errcode = 400, "M_ROOM_IN_USE"


class LimitExceeded(MatrixError):
    status, errcode = 429, "M_LIMIT_EXCEEDED"

    def __init__(self, retry_after_ms: int):
        super().__init__("Too many requests", retry_after_ms=retry_after_ms)


class AuthRequired(MatrixError):
    """User-interactive auth: the 401 answer names the flows that complete the request."""
    status = 401

    def __init__(self, flows: list[dict], session: str,
                 error: tuple[str, str] | None = None, completed: list[str] | None = None):
        super().__init__("User-interactive authentication required")
        self.flows, self.session, self.uia_error = flows, session, error
        self.completed = completed or []

    def to_dict(self) -> dict:
        out = {"flows": self.flows, "params": {}, "session": self.session,
               "completed": self.completed}
        if self.uia_error is not None:  # a stage failed (e.g. wrong password): say why
            out["errcode"], out["error"] = self.uia_error
        return out


class Unrecognized(MatrixError):
    status, errcode = 404, "M_UNRECOGNIZED"

"""Domain errors. Web maps them to HTTP statuses in one handler (web/app.py)."""

from __future__ import annotations


class DomainError(Exception):
    """Base class: `status` is the HTTP status the web layer answers with."""

    status = 400

    def __init__(self, detail: str, extra: dict | list | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class NotFound(DomainError):
    """No such thing, or not yours to see (the two answer alike)."""

    status = 404


class Forbidden(DomainError):
    status = 403


class Conflict(DomainError):
    """Not allowed in the current state."""

    status = 409


class TransitionRefused(Conflict):
    def __init__(self, current: str, wanted: str, allowed: list[str]) -> None:
        moves = ", ".join(allowed) if allowed else "none"
        super().__init__(
            f"cannot move an idea from '{current}' to '{wanted}'; "
            f"allowed from '{current}': {moves}",
            {"current_status": current, "allowed": allowed},
        )


class Invalid(DomainError):
    """Validation failed: `field` names the input at fault."""

    status = 422

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(
            f"Validation failed for {field}: {reason}",
            [{"key": field, "message": reason}],
        )
        self.field = field
        self.reason = reason


class RateLimited(DomainError):
    status = 429

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"Too many requests; try again in {retry_after} s")
        self.retry_after = retry_after

"""The one application error type. Services raise it with a stable code; the API maps it to HTTP."""

from __future__ import annotations


class DomainError(Exception):
    """A refusal the caller can act on. `code` is stable and documented; `status` is the HTTP status."""

    code = "domain_error"
    status = 400

    def __init__(self, detail: str, *, code: str | None = None, status: int | None = None, **extra: object):
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.extra = extra

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}"


class CodedError(DomainError):
    """Base of an app's error type: the app lists its codes in a StrEnum and, in `statuses`, the
    HTTP status of those that are not a 422 refusal."""

    statuses: dict[str, int] = {}
    default_status = 422

    def __init__(self, detail: str, *, code: str, **extra: object):
        super().__init__(detail, code=str(code), status=self.statuses.get(code, self.default_status), **extra)


class Conflict(DomainError):
    code = "conflict"
    status = 409


class Unprocessable(DomainError):
    code = "unprocessable"
    status = 422


class ReasonRequired(DomainError):
    """An action that must say why (a freeze, a rejection, a payout marked failed …) was given no reason."""

    code = "reason_required"
    status = 400


def require_reason(reason: str | None, detail: str = "a reason is required") -> str:
    """The reason, stripped; `ReasonRequired` when there is none. Every app's officer actions use it."""
    reason = (reason or "").strip()
    if not reason:
        raise ReasonRequired(detail)
    return reason

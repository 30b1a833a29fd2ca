"""Typed exceptions for the service's problem+json errors and failed operations.

Every exception is a `CrowdPayError` carrying the problem's stable `code` (what to switch on),
the HTTP `status` and the human `detail`. The class is chosen by `code` first (`InsufficientFunds`
for `insufficient_funds`), then by status (`NotFound` for any 404), so a code the SDK does not
know yet still lands in the right family.

A money write refused on its merits within the request (funds, a frozen wallet, a velocity limit)
is a 422 whose problem carries the FAILED operation: the exception for its code is raised with
`status=422`, the `operation` attached and its `operation_id`. An operation that the service
accepted (202) and that failed later, in the worker, raises the same classes from `op.wait()`,
with `status=None`.
"""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .models import Operation


class CrowdPayError(Exception):
    """The base of every SDK error."""

    def __init__(
        self,
        detail: str,
        *,
        code: str,
        status: int | None = None,
        problem: dict[str, Any] | None = None,
        operation: Operation | None = None,
    ) -> None:
        super().__init__(detail)
        self.code = code
        self.status = status
        self.detail = detail
        self.problem = problem or {}
        self.operation = operation

    @property
    def operation_id(self) -> uuid.UUID | None:
        """The id of the operation this error is about (a FAILED one), when there is one."""
        if self.operation is not None:
            return self.operation.id
        raw = self.problem.get("operation_id")
        try:
            return uuid.UUID(str(raw)) if raw else None
        except ValueError:
            return None

    @property
    def errors(self) -> list[dict[str, Any]]:
        """Per-field validation errors (`field`, `code`, `detail`) of a 400, else empty."""
        return list(self.problem.get("errors") or [])

    def __str__(self) -> str:
        where = f"HTTP {self.status}" if self.status is not None else "operation failed"
        return f"{self.code} ({where}): {self.detail}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, status={self.status!r}, detail={self.detail!r})"


class NetworkError(CrowdPayError):
    """The service could not be reached, or the connection broke, on every try."""


class InvalidResponse(CrowdPayError):
    """The service answered something this SDK cannot read (a proxy's page, a truncated body)."""


class OperationTimeout(CrowdPayError, TimeoutError):
    """`op.wait(timeout=...)` ran out of time; `.operation` is the last state seen."""


class OperationFailed(CrowdPayError):
    """An operation ended FAILED with a code that has no class of its own (e.g. `funding_declined`)."""


# --- by status -------------------------------------------------------------------------------------


class InvalidRequest(CrowdPayError):
    """400: the request is malformed or invalid; see `.errors` for the fields."""


class AuthenticationError(CrowdPayError):
    """401: no token, or an expired, malformed or wrongly signed one."""


class PermissionDenied(CrowdPayError):
    """403: the token lacks the scope this call needs."""


class NotFound(CrowdPayError):
    """404: no such wallet or operation for this caller (another owner's wallet is 404 too)."""


class Conflict(CrowdPayError):
    """409: the request conflicts with the resource's state."""


class Refused(CrowdPayError):
    """422: refused by the domain (funds, wallet status, limits, a reused Idempotency-Key)."""


class RateLimited(CrowdPayError):
    """429: too many writes; `retry_after` is the service's hint in seconds, when given."""

    retry_after: float | None = None


class ServerError(CrowdPayError):
    """5xx: the service failed. It is a bug on the service's side; retried calls are safe."""


# --- by code ---------------------------------------------------------------------------------------


class UnsupportedCurrency(InvalidRequest):
    """`unsupported_currency`: not an ISO 4217 code with a minor unit."""


class InvalidAmount(InvalidRequest):
    """`invalid_amount` / `amount_too_large`: amounts are positive integers of minor units."""


class SameWallet(InvalidRequest):
    """`same_wallet`: a wallet cannot transfer to itself."""


class UnknownField(InvalidRequest):
    """`unknown_field`: the body or query string names a field the endpoint does not take."""


class IdempotencyKeyRequired(InvalidRequest):
    """`idempotency_key_required`: a write was sent without an `Idempotency-Key` (the SDK sends one)."""


class IdempotencyKeyInProgress(Conflict):
    """`idempotency_key_in_progress`: the first request with this key is still running (retried)."""


class InsufficientFunds(Refused):
    """`insufficient_funds`: the wallet's available balance is too low."""


class WalletFrozen(Refused):
    """`wallet_frozen`: a frozen wallet sends no money until compliance unfreezes it."""


class WalletClosed(Refused):
    """`wallet_closed`: a closed wallet accepts nothing."""


class CurrencyMismatch(Refused):
    """`currency_mismatch`: the wallet holds no balance in that currency."""


class VelocityLimitExceeded(Refused):
    """`velocity_limit_exceeded`: the wallet's 24 h outflow limit would be passed."""


class IdempotencyKeyReused(Refused):
    """`idempotency_key_reused`: the key was already used for a different request."""


class ChargeAlreadyUsed(Refused):
    """`charge_already_used`: the card charge already funded (or is funding) another credit."""


class CardDataNotAllowed(Refused):
    """`card_data_not_allowed`: the request held a card number; send the provider's charge token."""


class WebhookUrlRefused(Refused):
    """`webhook_url_refused`: not an https URL resolving to a public address (production's rule)."""


class UnknownEventType(Refused):
    """`unknown_event_type`: an event type the service does not send (see `models.EventType`)."""


class TooManyEndpoints(Refused):
    """`too_many_endpoints`: an owner registers at most 20 webhook endpoints."""


CODES: dict[str, type[CrowdPayError]] = {
    "unsupported_currency": UnsupportedCurrency,
    "invalid_amount": InvalidAmount,
    "amount_too_large": InvalidAmount,
    "same_wallet": SameWallet,
    "unknown_field": UnknownField,
    "idempotency_key_required": IdempotencyKeyRequired,
    "not_authenticated": AuthenticationError,
    "invalid_token": AuthenticationError,
    "insufficient_scope": PermissionDenied,
    "forbidden": PermissionDenied,
    "not_found": NotFound,
    "wallet_not_found": NotFound,
    "operation_not_found": NotFound,
    "idempotency_key_in_progress": IdempotencyKeyInProgress,
    "insufficient_funds": InsufficientFunds,
    "wallet_frozen": WalletFrozen,
    "wallet_closed": WalletClosed,
    "currency_mismatch": CurrencyMismatch,
    "velocity_limit_exceeded": VelocityLimitExceeded,
    "idempotency_key_reused": IdempotencyKeyReused,
    "charge_already_used": ChargeAlreadyUsed,
    "card_data_not_allowed": CardDataNotAllowed,
    "webhook_endpoint_not_found": NotFound,
    "webhook_delivery_not_found": NotFound,
    "monitor_not_found": NotFound,
    "webhook_url_refused": WebhookUrlRefused,
    "unknown_event_type": UnknownEventType,
    "too_many_endpoints": TooManyEndpoints,
    "rate_limited": RateLimited,
}

STATUSES: dict[int, type[CrowdPayError]] = {
    400: InvalidRequest,
    401: AuthenticationError,
    403: PermissionDenied,
    404: NotFound,
    409: Conflict,
    422: Refused,
    429: RateLimited,
}


def error_class(code: str, status: int | None) -> type[CrowdPayError]:
    if code in CODES:
        return CODES[code]
    if status is None:
        return OperationFailed
    if status >= 500:
        return ServerError
    return STATUSES.get(status, CrowdPayError)


def from_problem(status: int, content: bytes, headers: Any = None) -> CrowdPayError:
    """The exception for an HTTP error response (problem+json, or anything else a proxy sent)."""
    try:
        problem = json.loads(content) if content else {}
    except ValueError:
        problem = {}
    if not isinstance(problem, dict):
        problem = {}
    code = str(problem.get("code") or f"http_{status}")
    detail = str(problem.get("detail") or problem.get("title") or f"HTTP {status}")
    error = error_class(code, status)(
        detail, code=code, status=status, problem=problem, operation=_problem_operation(problem)
    )
    if isinstance(error, RateLimited) and headers is not None:
        try:
            error.retry_after = float(headers.get("Retry-After"))
        except (TypeError, ValueError):
            error.retry_after = None
    return error


def _problem_operation(problem: dict[str, Any]) -> Operation | None:
    """The FAILED operation a 422 problem carries (a money write refused within the request)."""
    raw = problem.get("operation")
    if not isinstance(raw, dict):
        return None
    from .models import Operation

    try:
        return Operation.from_dict(raw)
    except (KeyError, TypeError, ValueError):
        return None  # still raised by its code; only the attachment is lost


def from_operation(operation: Operation) -> CrowdPayError:
    """The exception for an operation that ended FAILED."""
    failure = operation.error
    code = failure.code if failure else "operation_failed"
    detail = failure.detail if failure and failure.detail else f"operation {operation.id} failed"
    return error_class(code, None)(detail, code=code, status=None, operation=operation)


__all__ = [
    "AuthenticationError",
    "Conflict",
    "CrowdPayError",
    "CurrencyMismatch",
    "IdempotencyKeyInProgress",
    "IdempotencyKeyRequired",
    "IdempotencyKeyReused",
    "InsufficientFunds",
    "InvalidAmount",
    "InvalidRequest",
    "InvalidResponse",
    "NetworkError",
    "NotFound",
    "OperationFailed",
    "OperationTimeout",
    "PermissionDenied",
    "RateLimited",
    "Refused",
    "SameWallet",
    "ServerError",
    "TooManyEndpoints",
    "UnknownEventType",
    "UnknownField",
    "UnsupportedCurrency",
    "VelocityLimitExceeded",
    "WalletClosed",
    "WalletFrozen",
    "WebhookUrlRefused",
    "error_class",
    "from_operation",
    "from_problem",
]

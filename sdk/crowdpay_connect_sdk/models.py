"""The SDK's models.

Requests are small frozen dataclasses that take what a caller has at hand (ids as `str` or
`UUID`, kinds as `"POD"` or the enum, metadata as a plain dict) and turn it into the generated
model the low-level client sends. Responses are the generated models themselves (attrs classes,
typed from the service's OpenAPI schema): `Wallet`, `Balance`, `Operation`, `Event`, ….

Amounts are integers in minor units of the currency (`500_00` is 500.00 USD): a float, a
Decimal or a bool is refused here, before anything is sent.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ._generated import models as _gen
from ._generated.models import (
    Balance,
    Conversion,
    EventData,
    EventPage,
    Operation,
    OperationError,
    OperationKindEnum,
    OperationStatusEnum,
    Problem,
    ProblemFieldError,
    Quote,
    Wallet,
    WalletKindEnum,
    WalletMetadata,
    WalletStatusEnum,
)


class Event(_gen.Event):
    """One event of a wallet's stream. The generator renames the fields `type` and `hash`
    (`type_`, `hash_`, to keep clear of Python's builtins); they read under their API names too."""

    __slots__ = ()

    @property
    def type(self) -> str:
        return self.type_

    @property
    def hash(self) -> str:
        return self.hash_


WalletKind = WalletKindEnum
WalletStatus = WalletStatusEnum
OperationKind = OperationKindEnum
OperationStatus = OperationStatusEnum

TERMINAL_STATUSES = frozenset({OperationStatus.SUCCEEDED, OperationStatus.FAILED})

WalletId = uuid.UUID | str


def _uuid(name: str, value: WalletId) -> str:
    try:
        return str(value if isinstance(value, uuid.UUID) else uuid.UUID(str(value)))
    except ValueError:
        raise ValueError(f"{name} must be a UUID, not {value!r}") from None


def _amount(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"amount must be an int of minor units (500_00 is 500.00), not {type(value).__name__}")
    if value <= 0:
        raise ValueError("amount must be a positive number of minor units")
    return value


@dataclass(frozen=True, kw_only=True)
class NewWalletRequest:
    """Open a wallet. `owner_id` defaults to the caller; another owner needs the `wallet:admin` scope."""

    base_currency: str
    owner_id: WalletId | None = None
    kind: WalletKind | str = WalletKind.USER
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        try:
            WalletKind(str(self.kind))
        except ValueError:
            kinds = ", ".join(k.value for k in WalletKind)
            raise ValueError(f"kind must be one of {kinds}, not {self.kind!r}") from None

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": str(self.kind),
            "base_currency": self.base_currency,
            "metadata": dict(self.metadata),
        }
        if self.owner_id is not None:
            body["owner_id"] = _uuid("owner_id", self.owner_id)
        return body

    def to_generated(self) -> _gen.NewWalletRequest:
        return _gen.NewWalletRequest.from_dict(self.to_dict())


@dataclass(frozen=True, kw_only=True)
class CreditRequest:
    """Fund a wallet from a payment instrument: `reference` is its charge id (the saga confirms it with
    the payment provider), `source` the instrument, e.g. `CARD`."""

    amount: int
    currency: str
    reference: str
    source: str = "CARD"

    def __post_init__(self) -> None:
        _amount(self.amount)

    def to_dict(self) -> dict[str, Any]:
        return {"amount": self.amount, "currency": self.currency, "source": self.source, "reference": self.reference}

    def to_generated(self) -> _gen.CreditRequest:
        return _gen.CreditRequest.from_dict(self.to_dict())


@dataclass(frozen=True, kw_only=True)
class DebitRequest:
    """Withdraw from a wallet to a payout `destination` (e.g. a bank account id)."""

    amount: int
    currency: str
    destination: str
    reference: str = ""

    def __post_init__(self) -> None:
        _amount(self.amount)

    def to_dict(self) -> dict[str, Any]:
        return {
            "amount": self.amount,
            "currency": self.currency,
            "destination": self.destination,
            "reference": self.reference,
        }

    def to_generated(self) -> _gen.DebitRequest:
        return _gen.DebitRequest.from_dict(self.to_dict())


@dataclass(frozen=True, kw_only=True)
class TransferRequest:
    """Move money from one of the caller's wallets to any wallet."""

    from_wallet_id: WalletId
    to_wallet_id: WalletId
    amount: int
    currency: str
    memo: str = ""

    def __post_init__(self) -> None:
        _amount(self.amount)
        _uuid("from_wallet_id", self.from_wallet_id)
        _uuid("to_wallet_id", self.to_wallet_id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "from_wallet_id": _uuid("from_wallet_id", self.from_wallet_id),
            "to_wallet_id": _uuid("to_wallet_id", self.to_wallet_id),
            "amount": self.amount,
            "currency": self.currency,
            "memo": self.memo,
        }

    def to_generated(self) -> _gen.TransferRequest:
        return _gen.TransferRequest.from_dict(self.to_dict())


@dataclass(frozen=True, kw_only=True)
class QuoteRequest:
    """Quote converting `amount` minor units of `from_currency` into `to_currency` inside a wallet."""

    from_currency: str
    to_currency: str
    amount: int

    def __post_init__(self) -> None:
        _amount(self.amount)
        if self.from_currency == self.to_currency:
            raise ValueError("a conversion needs two different currencies")

    def to_dict(self) -> dict[str, Any]:
        return {"from_currency": self.from_currency, "to_currency": self.to_currency, "amount": self.amount}

    def to_generated(self) -> _gen.QuoteRequest:
        return _gen.QuoteRequest.from_dict(self.to_dict())


@dataclass(frozen=True, kw_only=True)
class ConvertRequest:
    """Convert at the rate of a quote (its id) of the same wallet."""

    quote_id: WalletId

    def to_dict(self) -> dict[str, Any]:
        return {"quote_id": _uuid("quote_id", self.quote_id)}

    def to_generated(self) -> _gen.ConvertRequest:
        return _gen.ConvertRequest.from_dict(self.to_dict())


# --- KYC/KYB onboarding ------------------------------------------------------------------------------

KycStatus = _gen.KycStatus


def _date(name: str, value: Any) -> str:
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    if len(text) != 10:
        raise ValueError(f"{name} must be a date (YYYY-MM-DD), not {value!r}")
    return text


@dataclass(frozen=True)
class BeneficialOwner:
    """A natural person owning part of a business; everyone with 25 % or more must be listed."""

    name: str
    date_of_birth: Any  # a `datetime.date` or "YYYY-MM-DD"
    ownership_percent: Any  # "60", 60, Decimal("60.5")

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "date_of_birth": _date("date_of_birth", self.date_of_birth),
            "ownership_percent": str(self.ownership_percent),
        }


@dataclass(frozen=True)
class PersonSubmission:
    legal_name: str
    date_of_birth: Any
    address: str
    country: str  # ISO 3166-1 alpha-2
    document_reference: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "legal_name": self.legal_name,
            "date_of_birth": _date("date_of_birth", self.date_of_birth),
            "address": self.address,
            "country": self.country,
            "document_reference": self.document_reference,
        }

    def to_generated(self) -> _gen.PersonSubmission:
        return _gen.PersonSubmission.from_dict(self.to_dict())


@dataclass(frozen=True)
class BusinessSubmission:
    name: str
    registration_number: str
    country: str
    address: str
    beneficial_owners: tuple[BeneficialOwner, ...]

    def to_dict(self) -> dict[str, Any]:
        owners = [o if isinstance(o, BeneficialOwner) else BeneficialOwner(**o) for o in self.beneficial_owners]
        return {
            "name": self.name,
            "registration_number": self.registration_number,
            "country": self.country,
            "address": self.address,
            "beneficial_owners": [o.to_dict() for o in owners],
        }

    def to_generated(self) -> _gen.BusinessSubmission:
        return _gen.BusinessSubmission.from_dict(self.to_dict())


# --- webhooks and balance monitors ------------------------------------------------------------------

EventType = _gen.EventTypesEnum  # `operation.succeeded`, `wallet.balance_below`, …
WebhookEndpoint = _gen.WebhookEndpoint
WebhookEndpointWithSecret = _gen.WebhookEndpointWithSecret  # with `secret` (`whsec_…`): shown once
WebhookEndpointStatus = _gen.WebhookEndpointStatusEnum
WebhookDelivery = _gen.WebhookDelivery  # with `attempt_log`: every attempt, oldest first
WebhookDeliveryPage = _gen.WebhookDeliveryPage
WebhookDeliveryStatus = _gen.WebhookDeliveryStatusEnum
DeliveryAttempt = _gen.DeliveryAttempt
DeliveryAttemptOutcome = _gen.DeliveryAttemptOutcomeEnum
BalanceMonitor = _gen.BalanceMonitor


def _event_types(value: Any) -> list[str]:
    if isinstance(value, str):
        raise TypeError("event_types must be a list of event types, not one string")
    types = [str(t) for t in value]
    known = {t.value for t in EventType}
    unknown = [t for t in types if t not in known]
    if not types or unknown:
        raise ValueError(
            f"unknown event types {unknown}; known: {', '.join(sorted(known))}"
            if unknown
            else "name at least one event type"
        )
    return types


@dataclass(frozen=True, kw_only=True)
class WebhookEndpointRequest:
    """Register an endpoint: where to POST (https resolving to a public address, in production) and
    which event types it receives (`EventType` members or their names)."""

    url: str
    event_types: Sequence[EventType | str]
    description: str = ""

    def __post_init__(self) -> None:
        _event_types(self.event_types)

    def to_dict(self) -> dict[str, Any]:
        return {"url": self.url, "event_types": _event_types(self.event_types), "description": self.description}

    def to_generated(self) -> _gen.WebhookEndpointRequest:
        return _gen.WebhookEndpointRequest.from_dict(self.to_dict())


@dataclass(frozen=True, kw_only=True)
class WebhookEndpointUpdate:
    """Change an endpoint: only the fields given (not None) are sent."""

    url: str | None = None
    event_types: Sequence[EventType | str] | None = None
    description: str | None = None

    def __post_init__(self) -> None:
        if self.event_types is not None:
            _event_types(self.event_types)

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if self.url is not None:
            body["url"] = self.url
        if self.event_types is not None:
            body["event_types"] = _event_types(self.event_types)
        if self.description is not None:
            body["description"] = self.description
        return body

    def to_generated(self) -> _gen.PatchedWebhookEndpointUpdate:
        return _gen.PatchedWebhookEndpointUpdate.from_dict(self.to_dict())


@dataclass(frozen=True, kw_only=True)
class BalanceMonitorRequest:
    """Watch a wallet's available balance in `currency`: `wallet.balance_below` fires when it goes
    from at or above `threshold` (minor units) to below it, `wallet.balance_above` from at or below
    to above; once per crossing."""

    currency: str
    direction: str  # "below" or "above"
    threshold: int
    description: str = ""

    def __post_init__(self) -> None:
        if str(self.direction).lower() not in ("below", "above"):
            raise ValueError(f"direction must be 'below' or 'above', not {self.direction!r}")
        if isinstance(self.threshold, bool) or not isinstance(self.threshold, int):
            raise TypeError(f"threshold must be an int of minor units, not {type(self.threshold).__name__}")
        if self.threshold < 0:
            raise ValueError("threshold must not be negative")

    def to_dict(self) -> dict[str, Any]:
        return {
            "currency": self.currency,
            "direction": str(self.direction).lower(),
            "threshold": self.threshold,
            "description": self.description,
        }

    def to_generated(self) -> _gen.MonitorRequest:
        return _gen.MonitorRequest.from_dict(self.to_dict())


__all__ = [
    "TERMINAL_STATUSES",
    "Balance",
    "BalanceMonitor",
    "BalanceMonitorRequest",
    "BeneficialOwner",
    "BusinessSubmission",
    "Conversion",
    "ConvertRequest",
    "CreditRequest",
    "DebitRequest",
    "DeliveryAttempt",
    "DeliveryAttemptOutcome",
    "Event",
    "EventData",
    "EventPage",
    "EventType",
    "KycStatus",
    "NewWalletRequest",
    "Operation",
    "OperationError",
    "OperationKind",
    "OperationStatus",
    "PersonSubmission",
    "Problem",
    "ProblemFieldError",
    "Quote",
    "QuoteRequest",
    "TransferRequest",
    "Wallet",
    "WalletId",
    "WalletKind",
    "WalletMetadata",
    "WalletStatus",
    "WebhookDelivery",
    "WebhookDeliveryPage",
    "WebhookDeliveryStatus",
    "WebhookEndpoint",
    "WebhookEndpointRequest",
    "WebhookEndpointStatus",
    "WebhookEndpointUpdate",
    "WebhookEndpointWithSecret",
]

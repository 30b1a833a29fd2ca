"""The operations compliance reviews, as the app that runs them hands them over at start-up.

Compliance decides review cases; the sagas app runs the operations those cases hold. Sagas already
calls compliance (screening, opening a case), so compliance must not import sagas back: the two
would import each other. Instead the sagas app registers what compliance needs of its operations
(`register`, from `SagasConfig.ready()`): deciding one, listing those waiting in review, a wallet's
recent ones, an operation's amount, the ones a reference names. Compliance calls them through
`reviewed()`, and a process that never registered them fails loudly there (a case decided with
nothing to apply it to would silently lose the decision). `crowdpay/tests/test_app_imports.py`
keeps the imports one way (the admin pages, which display every app's rows, aside).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any, Protocol

from django.core.exceptions import ImproperlyConfigured


class ReviewedOperations(Protocol):
    def decide(self, *, saga_id: uuid.UUID, approve: bool, actor: str, reason: str) -> Any:
        """Apply an officer's decision to the operation, in the caller's transaction (it raises a
        `DomainError` when the operation cannot take it, which rolls the case back with it)."""

    def waiting(self, *, older_than: timedelta) -> Sequence[tuple[uuid.UUID, uuid.UUID]]:
        """(operation id, wallet id) of each operation that has waited in review `older_than`."""

    def recent(self, *, wallet_id: uuid.UUID, limit: int) -> list:
        """The latest operations the wallet took part in, as source or counterparty."""

    def amount(self, saga_id: uuid.UUID) -> tuple[int, str] | None:
        """The operation's (amount in minor units, currency), or None when there is no such one."""

    def ids_by_reference(self, text: str, *, limit: int) -> list[uuid.UUID]:
        """The operations known by `text`: their own reference (idempotency key) or the outside
        reference they carry (the card charge of a funding, the payout destination)."""


_registered: list[ReviewedOperations] = []


def register(operations: ReviewedOperations) -> None:
    """Called once at start-up by the app that runs the operations (a second call replaces it)."""
    _registered[:] = [operations]


def reviewed() -> ReviewedOperations:
    if not _registered:
        raise ImproperlyConfigured("no reviewed operations registered: is the sagas app installed?")
    return _registered[0]

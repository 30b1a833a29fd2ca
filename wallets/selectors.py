"""Reads of the ledger."""

from __future__ import annotations

import uuid

from django.db.models import QuerySet, Sum

from .models import Balance, Event, Wallet


def wallet_list(*, owner_id: uuid.UUID | None = None) -> QuerySet[Wallet]:
    qs = Wallet.objects.prefetch_related("balances").order_by("created_at", "id")
    return qs if owner_id is None else qs.filter(owner_id=owner_id)


def wallet_get(*, wallet_id: uuid.UUID, owner_id: uuid.UUID | None = None) -> Wallet | None:
    return wallet_list(owner_id=owner_id).filter(pk=wallet_id).first()


def event_page(*, wallet_id: uuid.UUID, after: int = 0, limit: int = 100) -> list[Event]:
    """Events with version > `after`, in order: the cursor is the last version seen."""
    return list(Event.objects.filter(wallet_id=wallet_id, version__gt=after).order_by("version")[:limit])


def balance_totals() -> dict[str, int]:
    """Customer money held per currency (sum of posted balances): cheap, from the projection."""
    return dict(Balance.objects.values_list("currency").annotate(total=Sum("posted")).order_by("currency"))

"""Factories for ledger objects. Wallets are opened through the service, never inserted raw, so
every factory-made wallet has its WalletOpened event and a valid chain."""

from __future__ import annotations

import uuid

import factory

from wallets import services
from wallets.models import Wallet


class WalletFactory(factory.Factory):
    class Meta:
        model = Wallet

    owner_id = factory.LazyFunction(uuid.uuid4)
    kind = Wallet.Kind.USER
    base_currency = "USD"
    metadata = factory.Dict({})

    @classmethod
    def _create(cls, model_class, *args, **kwargs) -> Wallet:
        return services.wallet_open(**kwargs)


def funded(*, amount: int, currency: str = "USD", **kwargs) -> Wallet:
    wallet = WalletFactory(base_currency=currency, **kwargs)
    services.wallet_credit(wallet_id=wallet.id, amount=amount, currency=currency, reference=f"seed:{wallet.id}")
    return wallet


def balance_of(wallet: Wallet, currency: str = "USD") -> tuple[int, int]:
    row = wallet.balances.filter(currency=currency).values_list("posted", "held").first()
    return tuple(row) if row else (0, 0)

"""Columns and links the back-office pages share: money as people read it and links between the
pages of one owner (KYC profile ↔ wallets ↔ review cases ↔ sagas ↔ events).

Money columns keep the integer minor units in the database and in raw views (an event's JSON);
every list and page that shows an amount to a person goes through `wallets.currencies.format_money`.
Links are built from ids already on the row: none of them costs a query.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from wallets.currencies import format_money


def money_column(amount: str, currency: str, description: str, *, ordering: bool = True):
    """A list/read-only column showing `obj.<amount>` in `obj.<currency>` (currency may be a
    dotted path such as "wallet.base_currency", which the admin must select_related)."""

    def show(self, obj) -> str:
        value = getattr(obj, amount)
        code = obj
        for part in currency.split("."):
            code = getattr(code, part)
        return format_money(value, code)

    show.__name__ = f"{amount}_money"
    return admin.display(description=description, ordering=amount if ordering else None)(show)


def changelist_url(app_model: str, **filters: object) -> str:
    """`/admin/<app>/<model>/?field__exact=value…`: a list filtered to one owner, wallet or saga."""
    url = reverse(f"admin:{app_model}_changelist")
    return f"{url}?{urlencode({k: str(v) for k, v in filters.items()})}" if filters else url


def change_link(app_model: str, pk: object, text: object | None = None) -> str:
    if pk is None:
        return "—"
    return format_html('<a href="{}">{}</a>', reverse(f"admin:{app_model}_change", args=[pk]), text or pk)


def list_link(app_model: str, text: str, **filters: object) -> str:
    return format_html('<a href="{}">{}</a>', changelist_url(app_model, **filters), text)


def wallet_link(wallet_id: object, *, short: bool = False) -> str:
    if wallet_id is None:
        return "—"
    return change_link("wallets_wallet", wallet_id, str(wallet_id)[:8] if short else wallet_id)


def owner_link(owner_id: object) -> str:
    """The owner's KYC profile (found by owner id: the profile list filtered to that owner)."""
    if owner_id is None:
        return "—"
    return list_link("compliance_kycprofile", str(owner_id), owner_id__exact=owner_id)


def saga_link(saga_id: object, *, short: bool = False) -> str:
    if saga_id is None:
        return "—"
    return change_link("sagas_saga", saga_id, str(saga_id)[:8] if short else saga_id)

"""Read-only views of the ledger. Money fields are never editable here: balances, events and
postings change only through wallets.services."""

from django.contrib import admin

from crowdpay.admin import ReadOnlyAdmin, ReadOnlyInline

from .models import Balance, Event, Hold, JournalEntry, Posting, Wallet


class BalanceInline(ReadOnlyInline):
    model = Balance
    fields = ("currency", "posted", "held", "available")


class EventInline(ReadOnlyInline):
    model = Event
    fields = ("version", "type", "data", "occurred_at", "hash")
    ordering = ("-version",)


@admin.register(Wallet)
class WalletAdmin(ReadOnlyAdmin):
    list_display = ("id", "owner_id", "kind", "status", "base_currency", "version", "created_at")
    list_filter = ("kind", "status", "base_currency")
    search_fields = ("=id", "=owner_id")
    readonly_fields = (
        "id",
        "owner_id",
        "kind",
        "status",
        "base_currency",
        "metadata",
        "version",
        "head_hash",
        "created_at",
    )
    inlines = [BalanceInline, EventInline]


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ("wallet_id", "version", "type", "occurred_at")
    list_filter = ("type",)
    search_fields = ("=wallet__id",)


class PostingInline(ReadOnlyInline):
    model = Posting
    fields = ("account", "currency", "amount")


@admin.register(JournalEntry)
class JournalEntryAdmin(ReadOnlyAdmin):
    list_display = ("reference", "kind", "created_at")
    list_filter = ("kind",)
    search_fields = ("=reference",)
    inlines = [PostingInline]


@admin.register(Hold)
class HoldAdmin(ReadOnlyAdmin):
    list_display = ("reference", "wallet_id", "amount", "currency", "purpose", "status", "created_at")
    list_filter = ("status", "purpose")
    search_fields = ("=reference", "=wallet__id")

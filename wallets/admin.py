"""Read-only views of the ledger. Money fields are never editable here: balances, events and
postings change only through wallets.services."""

from django.contrib import admin

from crowdpay.admin import ExactSearchMixin, ReadOnlyAdmin, ReadOnlyInline
from crowdpay.admin_display import money_column
from crowdpay.admin_paging import LargeTableMixin

from .models import Balance, Event, Hold, JournalEntry, Posting, Wallet
from .projection import EventType


class EventTypeFilter(admin.SimpleListFilter):
    """The event types the ledger writes, from `projection.EventType`: Django's default filter for
    a plain column would read the distinct values of the whole events table on every page."""

    title = "type"
    parameter_name = "type"

    def lookups(self, request, model_admin):
        names = sorted(v for k, v in vars(EventType).items() if k.isupper() and isinstance(v, str))
        return [(name, name) for name in names]

    def queryset(self, request, queryset):
        return queryset.filter(type=self.value()) if self.value() else queryset


class BalanceInline(ReadOnlyInline):
    model = Balance
    fields = ("currency", "posted_money", "held_money", "available_money")
    posted_money = money_column("posted", "currency", "posted", ordering=False)
    held_money = money_column("held", "currency", "held", ordering=False)
    available_money = money_column("available", "currency", "available", ordering=False)


class EventInline(ReadOnlyInline):
    model = Event
    fields = ("version", "type", "data", "occurred_at", "mac", "link")
    ordering = ("-version",)


@admin.register(Wallet)
class WalletAdmin(ExactSearchMixin, LargeTableMixin, ReadOnlyAdmin):
    list_display = ("id", "owner_id", "kind", "status", "base_currency", "version", "created_at")
    list_filter = ("kind", "status", "base_currency")
    search_fields = ("=id", "=owner_id")
    exact_search = ("id", "owner_id")
    readonly_fields = (
        "id",
        "owner_id",
        "kind",
        "status",
        "base_currency",
        "metadata",
        "version",
        "head_link",
        "created_at",
    )
    inlines = [BalanceInline, EventInline]


@admin.register(Event)
class EventAdmin(ExactSearchMixin, LargeTableMixin, ReadOnlyAdmin):
    list_display = ("wallet_id", "version", "type", "occurred_at")
    # The type filter is served by the (type, wallet, version) index, in the list's own order.
    list_filter = (EventTypeFilter,)
    search_fields = ("wallet__id",)
    search_help_text = "Exact wallet id"
    exact_search = ("wallet_id",)  # the (wallet, version) index


class PostingInline(ReadOnlyInline):
    model = Posting
    fields = ("account", "currency", "money")
    money = money_column("amount", "currency", "amount", ordering=False)


@admin.register(JournalEntry)
class JournalEntryAdmin(ExactSearchMixin, LargeTableMixin, ReadOnlyAdmin):
    list_display = ("reference", "kind", "created_at")
    list_filter = ("kind",)
    search_fields = ("=reference",)
    exact_search = ("reference",)
    inlines = [PostingInline]


@admin.register(Hold)
class HoldAdmin(ExactSearchMixin, LargeTableMixin, ReadOnlyAdmin):
    list_display = ("reference", "wallet_id", "money", "purpose", "status", "created_at")
    readonly_fields = ("money",)  # on the hold's page too, above its raw fields
    money = money_column("amount", "currency", "amount")
    list_filter = ("status", "purpose")
    search_fields = ("=reference", "=wallet__id")
    exact_search = ("reference", "wallet_id")

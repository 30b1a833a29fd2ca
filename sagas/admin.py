"""Back-office views of the sagas. Sagas and their step logs are read-only; FX rates are edited
here; payouts of the built-in queue are settled by the "mark paid" / "mark failed" actions, which
call `sagas.services.payout_mark` like any other caller (so does `manage.py payout_settle`,
the same settlement from the shell)."""

from __future__ import annotations

from django.contrib import admin, messages

from crowdpay.admin import ReadOnlyAdmin, ReadOnlyInline
from crowdpay.errors import DomainError

from . import services
from .models import FxRate, Payout, Saga, SagaStep


class SagaStepInline(ReadOnlyInline):
    model = SagaStep
    fields = ("at", "step", "result", "detail")


@admin.register(Saga)
class SagaAdmin(ReadOnlyAdmin):
    list_display = ("id", "kind", "state", "amount", "currency", "wallet_id", "error_code", "attempts", "created_at")
    list_filter = ("kind", "state", "currency")
    search_fields = ("=id", "=wallet__id", "=counterparty_wallet__id", "reference", "source_reference")
    date_hierarchy = "created_at"
    inlines = [SagaStepInline]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Saga._meta.fields]


@admin.register(FxRate)
class FxRateAdmin(admin.ModelAdmin):
    list_display = ("base", "quote", "rate", "source", "updated_at")
    list_filter = ("base", "quote")
    search_fields = ("base", "quote")


def _settle(modeladmin, request, queryset, *, paid: bool) -> None:
    actor = request.user.get_username()
    done = 0
    for payout in queryset:
        try:
            services.payout_mark(
                payout_id=payout.id,
                paid=paid,
                actor=actor,
                reason=f"marked {'paid' if paid else 'failed'} in the admin",
            )
            done += 1
        except DomainError as exc:
            modeladmin.message_user(request, f"{payout}: {exc.detail}", level=messages.ERROR)
    if done:
        modeladmin.message_user(request, f"{done} payout(s) marked {'paid' if paid else 'failed'}", messages.SUCCESS)


@admin.register(Payout)
class PayoutAdmin(admin.ModelAdmin):
    list_display = ("id", "status", "amount", "currency", "destination", "saga", "decided_by", "created_at")
    list_filter = ("status", "currency")
    search_fields = ("=id", "reference", "destination")
    actions = ["mark_paid", "mark_failed"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Payout._meta.fields]

    def has_add_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Mark selected payouts paid", permissions=["change"])
    def mark_paid(self, request, queryset):
        _settle(self, request, queryset, paid=True)

    @admin.action(description="Mark selected payouts failed", permissions=["change"])
    def mark_failed(self, request, queryset):
        _settle(self, request, queryset, paid=False)

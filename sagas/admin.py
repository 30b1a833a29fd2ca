"""Back-office views of the sagas. Sagas and their step logs are read-only; FX rates are edited
here; payouts of the built-in queue are settled by the "mark paid" / "mark failed" actions, which
call `sagas.services.payout_mark` like any other caller (so does `manage.py payout_settle`,
the same settlement from the shell)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.utils.html import format_html_join

from compliance.search import Fields, SearchMixin
from crowdpay import admin_display as display
from crowdpay.admin import ReadOnlyAdmin, ReadOnlyInline
from crowdpay.admin_display import money_column
from crowdpay.admin_paging import LargeTableMixin
from crowdpay.errors import DomainError
from wallets.currencies import format_money

from . import services
from .models import FxRate, Payout, Saga, SagaStep


class SagaStepInline(ReadOnlyInline):
    model = SagaStep
    fields = ("at", "step", "result", "detail")


@admin.register(Saga)
class SagaAdmin(LargeTableMixin, SearchMixin, ReadOnlyAdmin):
    """Read-only for everyone (compliance officers included: they see, never change, an operation)."""

    list_display = ("id", "kind", "state", "money", "wallet_link", "error_code", "attempts", "created_at")
    # a date filter, not date_hierarchy: its links scan the table on each page view (issue 21, at scale)
    list_filter = ("kind", "state", "currency", ("created_at", admin.DateFieldListFilter))
    search_fields = ("id",)  # the box is compliance.search (SearchMixin): ids, prefixes, references
    search_layout = Fields(
        pk="id", wallet=("wallet_id", "counterparty_wallet_id"), reference=("reference", "source_reference")
    )
    inlines = [SagaStepInline]
    money = money_column("amount", "currency", "amount")

    @admin.display(description="wallet")
    def wallet_link(self, obj):
        return display.wallet_link(obj.wallet_id)

    @admin.display(description="target amount")
    def target_money(self, obj):
        return format_money(obj.target_amount, obj.target_currency) if obj.target_currency else "—"

    @admin.display(description="related")
    def related(self, obj):
        """The review case of this operation, the wallets' events and the owner's KYC profile."""
        from compliance.models import ReviewCase

        case = ReviewCase.objects.filter(saga_id=obj.pk).values_list("pk", flat=True).first()
        links = [display.list_link("wallets_event", "events of the wallet", wallet__id__exact=obj.wallet_id)]
        if obj.counterparty_wallet_id:
            links.append(
                display.list_link(
                    "wallets_event", "events of the counterparty", wallet__id__exact=obj.counterparty_wallet_id
                )
            )
        links.append(display.list_link("compliance_kycprofile", "owner's KYC", owner_id__exact=obj.wallet.owner_id))
        if case:
            links.insert(0, display.change_link("compliance_reviewcase", case, "review case"))
        return format_html_join(" · ", "{}", ((link,) for link in links))

    def get_readonly_fields(self, request, obj=None):
        return ["money", "target_money", "related", *(f.name for f in Saga._meta.fields)]


class FxRateForm(forms.ModelForm):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), max_length=1000, help_text="Why the rate changes (audited)."
    )

    class Meta:
        model = FxRate
        fields = ("base", "quote", "rate", "source")

    def clean_reason(self):
        from compliance.admin import clean_officer_reason

        return clean_officer_reason(self.cleaned_data["reason"])


@admin.register(FxRate)
class FxRateAdmin(admin.ModelAdmin):
    """A rate is added or changed with a reason (at least OFFICER_REASON_MIN_LENGTH characters) and
    audited with its true before and after values; it is never deleted here (a pair without a rate
    would stop conversions: change it instead)."""

    form = FxRateForm
    list_display = ("base", "quote", "rate", "source", "updated_at")
    list_filter = ("base", "quote")
    search_fields = ("base", "quote")

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        from compliance.services import audit_record

        with transaction.atomic():
            before = FxRate.objects.select_for_update().filter(pk=obj.pk).first() if change else None
            super().save_model(request, obj, form, change)
            audit_record(
                officer=request.user,
                action="fx_rate_change" if change else "fx_rate_add",
                object_type="fx_rate",
                object_id=f"{obj.base}/{obj.quote}",
                reason=form.cleaned_data["reason"],
                data={
                    "before": None if before is None else {"rate": str(before.rate), "source": before.source},
                    "after": {"rate": str(obj.rate), "source": obj.source},
                },
            )


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
class PayoutAdmin(LargeTableMixin, admin.ModelAdmin):
    list_display = ("id", "status", "money", "destination", "saga", "decided_by", "created_at")
    list_select_related = ("saga",)  # the saga column: one join, not a query per payout
    list_filter = ("status", "currency")
    search_fields = ("=id", "reference", "destination")
    actions = ["mark_paid", "mark_failed"]
    money = money_column("amount", "currency", "amount")

    def get_readonly_fields(self, request, obj=None):
        return ["money", *(f.name for f in Payout._meta.fields)]

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

"""The compliance officers' back-office.

Every action here calls a service in `compliance.services` (which calls `wallets.services` and
`sagas.services`): the admin is one more caller, with no path of its own that writes money.
Officer actions ask for a reason on an intermediate page and leave an audit entry. Balances,
events, postings, journal entries and holds stay read-only for everyone.
"""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, ClassVar, Protocol

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.timesince import timesince

from crowdpay.admin import ReadOnlyAdmin
from crowdpay.errors import DomainError
from wallets.admin import BalanceInline, WalletAdmin
from wallets.models import Event, Wallet

from . import crypto, selectors, services
from .models import AuditEntry, FrozenWallet, KycProfile, KycReview, ReviewCase, RiskAssessment, WalletLimit


class ReasonForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}), max_length=1000, help_text="Recorded in the audit log."
    )

    def clean_reason(self):
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError("A reason is required.")
        return reason


def _apply(request, objects, apply, verb: str) -> int:
    """Run `apply(obj, officer, reason)` for each object; report successes and refusals."""
    form = ReasonForm(request.POST)
    form.is_valid()
    done = 0
    for obj in objects:
        try:
            apply(obj, request.user, form.cleaned_data["reason"])
            done += 1
        except DomainError as exc:
            messages.error(request, f"{obj}: {exc.detail}")
    if done:
        messages.success(request, f"{verb}: {done} done.")
    return done


def _reason_page(modeladmin, request, *, objects, title: str, verb: str, action: str | None, form: ReasonForm):
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "verb": verb,
        "objects": objects,
        "action": action,
        "selected": [str(o.pk) for o in objects],
        "form": form,
        "opts": modeladmin.model._meta,
        "cancel_url": request.META.get("HTTP_REFERER", ""),
    }
    return TemplateResponse(request, "admin/compliance/reason_form.html", context)


def reason_action(*, name: str, verb: str, title: str, apply, permission: str):
    """A changelist action that asks for a reason on an intermediate page, then applies."""

    def action(modeladmin, request, queryset):
        objects = list(queryset)
        if "apply" in request.POST:
            form = ReasonForm(request.POST)
            if form.is_valid():
                _apply(request, objects, apply, verb)
                return None
        else:
            form = ReasonForm()
        return _reason_page(modeladmin, request, objects=objects, title=title, verb=verb, action=name, form=form)

    action.__name__ = name
    return admin.action(description=f"{verb}…", permissions=[permission])(action)


if TYPE_CHECKING:
    # The mixins below are only ever mixed into a ModelAdmin: let mypy see its API. At run time they
    # stay plain classes (the MRO is unchanged).
    _ModelAdminBase = admin.ModelAdmin
else:
    _ModelAdminBase = object


class ObjectActionsMixin(_ModelAdminBase):
    """Per-object actions (`<pk>/do/<name>/`) with the same intermediate reason page, linked from
    the object's page. `object_actions` maps a name to (verb, permission codename, apply)."""

    object_actions: dict = {}

    def get_urls(self):
        urls = super().get_urls()
        info = self.model._meta.app_label, self.model._meta.model_name
        return [
            path(
                "<path:object_id>/do/<str:name>/",
                self.admin_site.admin_view(self.object_action_view),
                name="{}_{}_object_action".format(*info),
            ),
            *urls,
        ]

    def object_action_view(self, request, object_id, name):
        if name not in self.object_actions:
            raise PermissionDenied
        verb, permission, apply = self.object_actions[name]
        if not request.user.has_perm(permission):
            raise PermissionDenied
        obj = get_object_or_404(self.get_queryset(request), pk=object_id)
        form = ReasonForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            _apply(request, [obj], apply, verb)
            info = obj._meta.app_label, obj._meta.model_name
            return HttpResponseRedirect(reverse("admin:{}_{}_change".format(*info), args=[obj.pk]))
        return _reason_page(self, request, objects=[obj], title=f"{verb}: {obj}", verb=verb, action=None, form=form)

    def allowed_object_actions(self, request, obj) -> list[tuple[str, str]]:
        return [
            (name, verb)
            for name, (verb, permission, _) in self.object_actions.items()
            if request.user.has_perm(permission)
        ]


# --- review cases and the dashboard ---------------------------------------------------------------


def _approve(case, officer, reason):
    services.review_case_approve(case_id=case.pk, officer=officer, reason=reason)


def _reject(case, officer, reason):
    services.review_case_reject(case_id=case.pk, officer=officer, reason=reason)


class _UuidSearchable(Protocol):
    @property
    def uuid_search_fields(self) -> tuple[str, ...]: ...


class UuidSearchMixin:
    """Search by exact id: a wallet, an owner, a saga or the object itself (an index lookup)."""

    uuid_search_fields: tuple[str, ...] = ()

    # `self` is any admin with uuid_search_fields: FrozenWalletAdmin calls this without the mixin
    def get_search_results(self: _UuidSearchable, request, queryset, search_term):
        if not search_term.strip():
            return queryset, False
        term = selectors.parse_uuid(search_term)
        if term is None:
            return queryset.none(), False
        query = Q()
        for name in self.uuid_search_fields:
            query |= Q(**{name: term})
        return queryset.filter(query), False


@admin.register(ReviewCase)
class ReviewCaseAdmin(UuidSearchMixin, ObjectActionsMixin, ReadOnlyAdmin):
    list_display = ("short_id", "status", "code", "wallet_link", "owner_id", "opened_at", "age", "decided_by")
    list_filter = ("status", "code", ("opened_at", admin.DateFieldListFilter))
    ordering = ("opened_at",)
    search_fields = ("wallet_id", "owner_id", "saga_id")  # searched by exact id, see UuidSearchMixin
    search_help_text = "Exact wallet, owner or saga id"
    uuid_search_fields = ("wallet_id", "owner_id", "saga_id", "id")
    readonly_fields = (
        "id",
        "status",
        "code",
        "reasons",
        "saga_id",
        "wallet_link",
        "owner_id",
        "opened_at",
        "decided_at",
        "decided_by",
        "decision_reason",
    )
    fields = readonly_fields
    change_form_template = "admin/compliance/object_change_form.html"
    object_actions = {
        "approve": ("Approve", "compliance.decide_reviewcase", _approve),
        "reject": ("Reject", "compliance.decide_reviewcase", _reject),
    }
    actions = [
        reason_action(
            name="approve_selected",
            verb="Approve",
            title="Approve the review cases (their sagas go on)",
            apply=_approve,
            permission="decide",
        ),
        reason_action(
            name="reject_selected",
            verb="Reject",
            title="Reject the review cases (their sagas are compensated)",
            apply=_reject,
            permission="decide",
        ),
    ]

    def has_decide_permission(self, request):
        return request.user.has_perm("compliance.decide_reviewcase")

    @admin.display(description="case")
    def short_id(self, obj):
        return str(obj.pk)[:8]

    @admin.display(description="wallet")
    def wallet_link(self, obj):
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:wallets_wallet_change", args=[obj.wallet_id]), obj.wallet_id
        )

    @admin.display(description="age", ordering="opened_at")
    def age(self, obj):
        return timesince(obj.opened_at, obj.decided_at or timezone.now())

    def get_urls(self):
        return [
            path("dashboard/", self.admin_site.admin_view(self.dashboard_view), name="compliance_dashboard"),
            *super().get_urls(),
        ]

    def dashboard_view(self, request):
        if not request.user.has_perm("compliance.view_reviewcase"):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "title": "Compliance dashboard",
            **selectors.dashboard_figures(),
        }
        return TemplateResponse(request, "admin/compliance/dashboard.html", context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, object_id)
        extra = {
            "object_actions": self.allowed_object_actions(request, obj)
            if obj and obj.status == ReviewCase.Status.OPEN
            else []
        }
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), **extra})


# --- wallets --------------------------------------------------------------------------------------


def _freeze(wallet, officer, reason):
    services.wallet_freeze_by_officer(wallet_id=wallet.pk, officer=officer, reason=reason)


def _unfreeze(wallet, officer, reason):
    services.wallet_unfreeze_by_officer(wallet_id=wallet.pk, officer=officer, reason=reason)


def _close(wallet, officer, reason):
    services.wallet_close_by_officer(wallet_id=wallet.pk, officer=officer, reason=reason)


WALLET_ACTIONS = {
    "freeze": ("Freeze", "compliance.freeze_wallet", _freeze),
    "unfreeze": ("Unfreeze", "compliance.unfreeze_wallet", _unfreeze),
    "close": ("Close", "compliance.close_wallet", _close),
}


class WalletActionsMixin(ObjectActionsMixin):
    object_actions = WALLET_ACTIONS

    def has_freeze_permission(self, request):
        return request.user.has_perm("compliance.freeze_wallet")

    def has_unfreeze_permission(self, request):
        return request.user.has_perm("compliance.unfreeze_wallet")

    def has_close_permission(self, request):
        return request.user.has_perm("compliance.close_wallet")

    def allowed_object_actions(self, request, obj):
        transitions: dict[str | None, tuple[str, ...]] = {
            Wallet.Status.ACTIVE: ("freeze", "close"),
            Wallet.Status.FROZEN: ("unfreeze", "close"),
        }
        possible = transitions.get(obj.status if obj else None, ())
        return [(n, v) for n, v in super().allowed_object_actions(request, obj) if n in possible]


admin.site.unregister(Wallet)


@admin.register(Wallet)
class OfficerWalletAdmin(WalletActionsMixin, WalletAdmin):
    """The wallet page: balances, recent events, sagas, cases and assessments — read-only; freeze,
    unfreeze and close through the services."""

    inlines = [BalanceInline]
    change_form_template = "admin/compliance/wallet/change_form.html"
    actions = [
        reason_action(
            name="freeze_selected", verb="Freeze", title="Freeze wallets", apply=_freeze, permission="freeze"
        ),
        reason_action(
            name="unfreeze_selected", verb="Unfreeze", title="Unfreeze wallets", apply=_unfreeze, permission="unfreeze"
        ),
        reason_action(name="close_selected", verb="Close", title="Close wallets", apply=_close, permission="close"),
    ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        wallet = self.get_object(request, object_id)
        extra = {}
        if wallet is not None:
            extra = {
                "object_actions": self.allowed_object_actions(request, wallet),
                "recent_events": list(Event.objects.filter(wallet_id=wallet.pk).order_by("-version")[:20]),
                "recent_sagas": selectors.recent_sagas(wallet_id=wallet.pk),
                "review_cases": list(ReviewCase.objects.filter(wallet_id=wallet.pk).order_by("-opened_at")[:10]),
                "assessments": list(RiskAssessment.objects.filter(wallet_id=wallet.pk).order_by("-created_at")[:10]),
                "audit_entries": list(
                    AuditEntry.objects.filter(object_type="wallet", object_id=str(wallet.pk)).select_related("actor")[
                        :10
                    ]
                ),
            }
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), **extra})


@admin.register(FrozenWallet)
class FrozenWalletAdmin(WalletActionsMixin, ReadOnlyAdmin):
    list_display = ("wallet_link", "owner_id", "kind", "base_currency", "frozen_since", "frozen_by", "frozen_reason")
    list_filter = ("kind", "base_currency")
    search_fields = ("id", "owner_id")
    search_help_text = "Exact wallet or owner id"
    actions = [
        reason_action(
            name="unfreeze_selected", verb="Unfreeze", title="Unfreeze wallets", apply=_unfreeze, permission="unfreeze"
        ),
        reason_action(name="close_selected", verb="Close", title="Close wallets", apply=_close, permission="close"),
    ]

    def get_search_results(self, request, queryset, search_term):
        return UuidSearchMixin.get_search_results(self, request, queryset, search_term)

    uuid_search_fields = ("id", "owner_id")
    # the changelist's events by wallet, set by _frozen_event and dropped on each changelist view
    _frozen_cache: dict[uuid.UUID, Event] | None

    def get_queryset(self, request):
        return super().get_queryset(request).filter(status=Wallet.Status.FROZEN)

    def _frozen_event(self, obj):
        cache = getattr(self, "_frozen_cache", None)
        if cache is None or obj.pk not in cache:
            cache = self._frozen_cache = selectors.last_status_events([obj.pk])
        return cache.get(obj.pk)

    @admin.display(description="wallet")
    def wallet_link(self, obj):
        return format_html('<a href="{}">{}</a>', reverse("admin:wallets_wallet_change", args=[obj.pk]), obj.pk)

    @admin.display(description="frozen since")
    def frozen_since(self, obj):
        event = self._frozen_event(obj)
        return event.occurred_at if event else "—"

    @admin.display(description="by")
    def frozen_by(self, obj):
        event = self._frozen_event(obj)
        return event.data.get("actor", "") if event else ""

    @admin.display(description="reason")
    def frozen_reason(self, obj):
        event = self._frozen_event(obj)
        return event.data.get("reason", "") if event else ""

    def changelist_view(self, request, extra_context=None):
        self._frozen_cache = None
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        return HttpResponseRedirect(reverse("admin:wallets_wallet_change", args=[object_id]))


# --- KYC/KYB --------------------------------------------------------------------------------------


def _verify(profile, officer, reason):
    services.kyc_profile_verify(profile_id=profile.pk, officer=officer, reason=reason)


def _reject_profile(profile, officer, reason):
    services.kyc_profile_reject(profile_id=profile.pk, officer=officer, reason=reason)


def _masked(field: str, label: str):
    @admin.display(description=label)
    def show(self, obj):
        return crypto.mask(getattr(obj, field))

    return show


@admin.register(KycProfile)
class KycProfileAdmin(UuidSearchMixin, ObjectActionsMixin, ReadOnlyAdmin):
    """Personal data is masked unless the officer has `compliance.view_pii`; each unmasked view of a
    profile is audited. The list always shows it masked."""

    # tuple[str, ...]: KycReviewAdmin lists other columns and filters
    list_display: tuple[str, ...] = (
        "owner_id",
        "kind",
        "status",
        "country",
        "masked_name",
        "submitted_at",
        "decided_at",
    )
    list_filter: ClassVar[tuple[str, ...]] = ("status", "kind", "country")
    search_fields = ("owner_id",)
    search_help_text = "Exact owner id"
    uuid_search_fields = ("owner_id", "id")
    ordering = ("-submitted_at",)
    head = ("owner_id", "kind", "status", "country")
    tail = ("provider_reasons", "check_id", "submitted_at", "decided_at", "decided_by", "decision_reason")
    masked_fields = (
        "masked_legal_name",
        "masked_date_of_birth",
        "masked_document_number",
        "masked_address",
        "masked_beneficial_owners",
    )
    change_form_template = "admin/compliance/object_change_form.html"
    object_actions = {
        "verify": ("Verify", "compliance.decide_kycprofile", _verify),
        "reject": ("Reject", "compliance.decide_kycprofile", _reject_profile),
    }
    actions = [
        reason_action(
            name="verify_selected", verb="Verify", title="Verify profiles", apply=_verify, permission="decide"
        ),
        reason_action(
            name="reject_selected", verb="Reject", title="Reject profiles", apply=_reject_profile, permission="decide"
        ),
    ]

    masked_legal_name = _masked("legal_name", "legal name")
    masked_date_of_birth = _masked("date_of_birth", "date of birth")
    masked_document_number = _masked("document_number", "document number")
    masked_address = _masked("address", "address")

    @admin.display(description="beneficial owners")
    def masked_beneficial_owners(self, obj):
        owners = json.loads(obj.beneficial_owners or "[]")
        return "; ".join(f"{crypto.mask(o.get('name', ''))} ({o.get('ownership_percent', '?')} %)" for o in owners)

    def get_fields(self, request, obj=None):
        pii = KycProfile.PII_FIELDS if request.user.has_perm("compliance.view_pii") else self.masked_fields
        return (*self.head, *pii, *self.tail)

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj)

    def has_decide_permission(self, request):
        return request.user.has_perm("compliance.decide_kycprofile")

    @admin.display(description="legal name")
    def masked_name(self, obj):
        return crypto.mask(obj.legal_name)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        profile = self.get_object(request, object_id)
        unmasked = request.user.has_perm("compliance.view_pii")
        if profile is not None and unmasked and request.method == "GET":
            services.pii_view_record(profile=profile, officer=request.user)
        actions = []
        if profile is not None and profile.status in (KycProfile.Status.PENDING, KycProfile.Status.NEEDS_REVIEW):
            actions = self.allowed_object_actions(request, profile)
        extra = {"object_actions": actions, "pii_unmasked": unmasked}
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), **extra})


@admin.register(KycReview)
class KycReviewAdmin(KycProfileAdmin):
    """The manual-review queue: profiles the KYC provider referred to an officer, oldest first, with
    the provider's reasons. Verify or reject (with a reason, audited) through the same services."""

    list_display = ("owner_id", "kind", "country", "masked_name", "reasons", "submitted_at")
    list_filter = ("kind", "country")
    ordering = ("submitted_at",)

    def get_queryset(self, request):
        return super().get_queryset(request).filter(status=KycProfile.Status.NEEDS_REVIEW)

    @admin.display(description="provider's reasons")
    def reasons(self, obj):
        return "; ".join(obj.provider_reasons)


# --- limits, assessments, audit -------------------------------------------------------------------


class WalletLimitForm(forms.ModelForm):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), help_text="Recorded in the audit log.")

    class Meta:
        model = WalletLimit
        fields = ("wallet", "daily_limit")


@admin.register(WalletLimit)
class WalletLimitAdmin(admin.ModelAdmin):
    form = WalletLimitForm
    list_display = ("wallet", "daily_limit", "reason", "set_by", "updated_at")
    raw_id_fields = ("wallet",)

    def get_readonly_fields(self, request, obj=None):
        return ("wallet",) if obj else ()

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        saved = services.wallet_limit_set(
            wallet_id=obj.wallet_id,
            daily_limit=form.cleaned_data["daily_limit"],
            officer=request.user,
            reason=form.cleaned_data["reason"],
        )
        obj.pk = saved.pk


@admin.register(RiskAssessment)
class RiskAssessmentAdmin(UuidSearchMixin, ReadOnlyAdmin):
    list_display = ("created_at", "operation", "wallet_id", "amount", "currency", "outcome", "code", "score", "source")
    list_filter = ("outcome", "operation", "code", "source", ("created_at", admin.DateFieldListFilter))
    search_fields = ("wallet_id", "owner_id", "saga_id")
    search_help_text = "Exact wallet, owner or saga id"
    uuid_search_fields = ("wallet_id", "owner_id", "saga_id", "counterparty_wallet_id")
    date_hierarchy = "created_at"


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ("at", "actor_label", "action", "object_type", "object_id", "reason")
    list_filter = ("action", "object_type", ("at", admin.DateFieldListFilter))
    search_fields = ("=object_id", "=actor_label")
    date_hierarchy = "at"

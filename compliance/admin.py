"""The compliance officers' back-office.

Every action here calls a service in `compliance.services` (which calls `wallets.services` and
`sagas.services`): the admin is one more caller, with no path of its own that writes money.
Officer actions ask for a reason on an intermediate page and leave an audit entry. Balances,
events, postings, journal entries and holds stay read-only for everyone.

Each decision is taken on the object's own page, never in bulk from a list. Those that take a
second officer (compliance.four_eyes) file a request instead of acting; personal data is masked for
everyone and revealed one field at a time with a reason (compliance.pii_reveal).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, ClassVar, Protocol

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import OuterRef, Q, Subquery
from django.db.models.fields.json import KT
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.timesince import timesince

from crowdpay import admin_display as display
from crowdpay.admin import ExactSearchMixin, ReadOnlyAdmin
from crowdpay.admin_paging import LargeTableMixin
from crowdpay.errors import DomainError
from sagas.models import Saga
from wallets.admin import BalanceInline, EventAdmin, WalletAdmin
from wallets.currencies import format_money
from wallets.models import Event, Wallet
from wallets.projection import EventType

from . import crypto, dashboard, four_eyes, pii_reveal, search, selectors, services
from .admin_case import case_view
from .models import (
    AuditEntry,
    DecisionRequest,
    FrozenWallet,
    KycProfile,
    KycReview,
    ReviewCase,
    ReviewReasonCode,
    RiskAssessment,
    WalletLimit,
)
from .search import Fields, SearchMixin


def clean_officer_reason(value: str) -> str:
    """An officer's reason: at least OFFICER_REASON_MIN_LENGTH characters once stripped."""
    reason = (value or "").strip()
    if not reason:
        raise forms.ValidationError("A reason is required.")
    minimum = settings.OFFICER_REASON_MIN_LENGTH
    if len(reason) < minimum:
        raise forms.ValidationError(
            f"Say why in at least {minimum} characters (this reason has {len(reason)}): it is what the audit log keeps."
        )
    return reason


class ReasonForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}), max_length=1000, help_text="Recorded in the audit log."
    )

    def clean_reason(self):
        return clean_officer_reason(self.cleaned_data["reason"])


class FreezeReasonForm(ReasonForm):
    """A freeze says why with a code too: a freeze for fraud takes a second officer to lift."""

    reason_code = forms.ChoiceField(
        choices=[(code, code.replace("_", " ")) for code in services.FREEZE_REASON_CODES],
        help_text="A wallet frozen for fraud is unfrozen only with a second officer's approval.",
    )
    field_order = ("reason_code", "reason")


class CaseDecisionForm(ReasonForm):
    """Approve or reject a review case: a code from the list (ReviewReasonCode) and the officer's
    own words, at least REVIEW_REASON_MIN_LENGTH characters (a setting of its own: a decision on
    money may ask for more than the other officer actions)."""

    reason_code = forms.ChoiceField(choices=[("", "— choose —"), *ReviewReasonCode.choices], label="Reason code")
    field_order = ("reason_code", "reason")

    def clean_reason(self):
        reason = " ".join(super().clean_reason().split())
        minimum = settings.REVIEW_REASON_MIN_LENGTH
        if len(reason) < minimum:
            raise forms.ValidationError(
                f"Explain the decision in at least {minimum} characters (this reason has {len(reason)})."
            )
        return reason


def _apply(request, objects, apply, verb: str, form: ReasonForm | None = None) -> int:
    """Run `apply(obj, officer, reason, **other fields)` for each object; report successes, requests
    filed for a second officer (compliance.four_eyes) and refusals."""
    if form is None:
        form = ReasonForm(request.POST)
        form.is_valid()
    extra = {k: v for k, v in form.cleaned_data.items() if k != "reason"}
    done = 0
    for obj in objects:
        try:
            result = apply(obj, request.user, form.cleaned_data["reason"], **extra)
        except DomainError as exc:
            messages.error(request, f"{obj}: {exc.detail}")
            continue
        # a request filed for a second officer (approving one returns it APPROVED: that is done)
        if isinstance(result, DecisionRequest) and result.status == DecisionRequest.Status.PENDING:
            messages.warning(
                request,
                format_html(
                    '{}: needs a second officer. <a href="{}">Request {}</a> waits for another officer\'s approval.',
                    obj,
                    reverse("admin:compliance_decisionrequest_change", args=[result.pk]),
                    str(result.pk)[:8],
                ),
            )
        else:
            done += 1
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
    object_action_forms: dict[str, type[ReasonForm]] = {}

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
        form = self.object_action_forms.get(name, ReasonForm)(request.POST or None)
        if request.method == "POST" and form.is_valid():
            _apply(request, [obj], apply, verb, form)
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


def _approve(case, officer, reason, reason_code=""):
    return four_eyes.review_case_approve_or_request(
        case_id=case.pk, officer=officer, reason=reason, reason_code=reason_code
    )


def _reject(case, officer, reason, reason_code=""):
    services.review_case_reject(case_id=case.pk, officer=officer, reason=reason, reason_code=reason_code)


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
class ReviewCaseAdmin(LargeTableMixin, SearchMixin, ObjectActionsMixin, ReadOnlyAdmin):
    list_display = (
        "short_id",
        "status",
        "code",
        "amount",
        "wallet_link",
        "owner_link",
        "opened_at",
        "age",
        "decided_by",
        "decision_code",
    )
    list_select_related = ("decided_by",)  # one join, not a query per decided case
    list_filter = ("status", "code", ("opened_at", admin.DateFieldListFilter))
    ordering = ("opened_at",)
    search_fields = ("id",)  # the box is compliance.search (SearchMixin), not these fields
    search_layout = Fields(pk="id", wallet=("wallet_id",), owner="owner_id", saga="saga_id")
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
        "decision_code",
        "decision_reason",
    )
    fields = readonly_fields
    change_form_template = "admin/compliance/reviewcase/change_form.html"
    object_actions = {
        "approve": ("Approve", "compliance.decide_reviewcase", _approve),
        "reject": ("Reject", "compliance.decide_reviewcase", _reject),
    }
    object_action_forms = {"approve": CaseDecisionForm, "reject": CaseDecisionForm}
    actions = None  # no decision in bulk: each case is decided on its own page

    def has_decide_permission(self, request):
        return request.user.has_perm("compliance.decide_reviewcase")

    @admin.display(description="case")
    def short_id(self, obj):
        return str(obj.pk)[:8]

    def get_queryset(self, request):
        # the operation's amount, by the saga's primary key: one index lookup per listed row
        saga = Saga.objects.filter(pk=OuterRef("saga_id"))
        return (
            super()
            .get_queryset(request)
            .annotate(
                saga_amount=Subquery(saga.values("amount")[:1]), saga_currency=Subquery(saga.values("currency")[:1])
            )
        )

    @admin.display(description="amount")
    def amount(self, obj):
        return format_money(obj.saga_amount, obj.saga_currency) if obj.saga_amount is not None else "—"

    @admin.display(description="owner")
    def owner_link(self, obj):
        return display.owner_link(obj.owner_id)

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
            path("find/", self.admin_site.admin_view(self.find_view), name="compliance_find"),
            *super().get_urls(),
        ]

    def find_view(self, request):
        """The one search box over owners, wallets, cases and sagas (compliance.search)."""
        if not request.user.has_perm("compliance.view_reviewcase"):
            raise PermissionDenied
        q = request.GET.get("q", "").strip()
        context = {
            **self.admin_site.each_context(request),
            "title": "Search",
            "q": q,
            "found": search.find(q, user=request.user),
        }
        return TemplateResponse(request, "admin/compliance/find.html", context)

    def dashboard_view(self, request):
        if not request.user.has_perm("compliance.view_reviewcase"):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "title": "Compliance dashboard",
            **selectors.dashboard_figures(),
            "board": dashboard.figures(),  # the tiles, each a link (compliance.dashboard)
        }
        return TemplateResponse(request, "admin/compliance/dashboard.html", context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, object_id)
        actions = self.allowed_object_actions(request, obj) if obj and obj.status == ReviewCase.Status.OPEN else []
        extra = {
            "object_actions": actions,
            # the page that is enough to decide (compliance.admin_case), with the decision form
            "case_view": case_view(obj) if obj is not None else None,
            "decision_form": CaseDecisionForm() if actions else None,
        }
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), **extra})


# --- wallets --------------------------------------------------------------------------------------


def _freeze(wallet, officer, reason, reason_code):
    return services.wallet_freeze_by_officer(
        wallet_id=wallet.pk, officer=officer, reason_code=reason_code, reason=reason
    )


def _unfreeze(wallet, officer, reason):
    return four_eyes.wallet_unfreeze_or_request(wallet_id=wallet.pk, officer=officer, reason=reason)


def _close(wallet, officer, reason):
    return four_eyes.wallet_close_request(wallet_id=wallet.pk, officer=officer, reason=reason)


WALLET_ACTIONS = {
    "freeze": ("Freeze", "compliance.freeze_wallet", _freeze),
    "unfreeze": ("Unfreeze", "compliance.unfreeze_wallet", _unfreeze),
    "close": ("Close", "compliance.close_wallet", _close),
}


class WalletActionsMixin(ObjectActionsMixin):
    object_actions = WALLET_ACTIONS
    object_action_forms = {"freeze": FreezeReasonForm}

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
class OfficerWalletAdmin(SearchMixin, WalletActionsMixin, WalletAdmin):
    """The wallet page: balances, recent events, sagas, cases and assessments — read-only; freeze,
    unfreeze and close through the services."""

    # search_fields inherited (they show the box); the search itself is compliance.search (SearchMixin)
    search_layout = Fields(pk="id", wallet=("id",), owner="owner_id")
    inlines = [BalanceInline]
    change_form_template = "admin/compliance/wallet/change_form.html"
    actions = None  # no decision in bulk: freeze, unfreeze and close on the wallet's own page

    def get_list_display(self, request):
        return ("id", "owner_link", "kind", "status", "base_currency", "version", "created_at")

    @admin.display(description="owner")
    def owner_link(self, obj):
        return display.owner_link(obj.owner_id)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        wallet = self.get_object(request, object_id)
        extra = {}
        if wallet is not None:
            extra = {
                "object_actions": self.allowed_object_actions(request, wallet),
                "recent_events": list(Event.objects.filter(wallet_id=wallet.pk).order_by("-version")[:20]),
                "owner_profile": KycProfile.objects.filter(owner_id=wallet.owner_id).first(),
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


admin.site.unregister(Event)


@admin.register(Event)
class OfficerEventAdmin(SearchMixin, EventAdmin):  # type: ignore[misc]  # both set search_help_text
    """The events list with the back-office's search box; one wallet's events in their sequence
    (newest first), the whole table in its index order (wallet, version) otherwise."""

    search_layout = Fields(pk=None, wallet=("wallet_id",))  # the box: compliance.search (SearchMixin)
    WALLET_FILTERS = ("wallet__id__exact", "wallet_id__exact", "wallet__exact", "wallet")

    def get_list_display(self, request):
        return ("wallet_link", "version", "type", "amount", "occurred_at")

    def get_ordering(self, request):
        # a wallet's filter or a search (an id, a prefix, an owner): the few wallets' events
        params = getattr(request, "GET", {})  # callers may hand a request without a query string
        one_wallet = any(params.get(name) for name in self.WALLET_FILTERS) or params.get("q", "").strip()
        # descending on both: the (wallet, version) unique index read backwards, a total order
        return ("-wallet_id", "-version") if one_wallet else ("wallet_id", "version")

    @admin.display(description="wallet")
    def wallet_link(self, obj):
        return display.wallet_link(obj.wallet_id)

    @admin.display(description="amount")
    def amount(self, obj):
        """The amount people read; the minor units stay in the event's JSON (its own page)."""
        value, currency = obj.data.get("amount"), obj.data.get("currency")
        if isinstance(value, int) and not isinstance(value, bool) and isinstance(currency, str):
            return format_money(value, currency)
        return ""


@admin.register(FrozenWallet)
class FrozenWalletAdmin(SearchMixin, WalletActionsMixin, ReadOnlyAdmin):
    list_display = ("wallet_link", "owner_link", "kind", "base_currency", "frozen_since", "frozen_by", "frozen_reason")
    list_filter = (dashboard.FreezeReasonFilter, "kind", "base_currency")
    search_fields = ("id",)  # the box is compliance.search (SearchMixin)
    search_layout = Fields(pk="id", wallet=("id",), owner="owner_id")
    actions = None  # no decision in bulk: unfreeze and close on the wallet's own page

    def get_ordering(self, request):
        return ("-frozen_at", "-pk")  # the most recent freeze first (the annotation below)

    @admin.display(description="owner")
    def owner_link(self, obj):
        return display.owner_link(obj.owner_id)

    def get_queryset(self, request):
        # When, by whom and why: the wallet's last WalletFrozen event, read by subqueries of the
        # list's own query through the (wallet, version) index. No query per row (a page of 100
        # frozen wallets made 100 more queries before).
        last = Event.objects.filter(wallet_id=OuterRef("pk"), type=EventType.WALLET_FROZEN).order_by("-version")
        # not super().get_queryset(): it orders by get_ordering() before the annotation exists
        return (
            self.model._default_manager.get_queryset()
            .filter(status=Wallet.Status.FROZEN)
            .annotate(
                frozen_at=Subquery(last.values("occurred_at")[:1]),
                frozen_actor=Subquery(last.annotate(value=KT("data__actor")).values("value")[:1]),
                frozen_why=Subquery(last.annotate(value=KT("data__reason")).values("value")[:1]),
            )
            .order_by(*self.get_ordering(request))
        )

    @admin.display(description="wallet")
    def wallet_link(self, obj):
        return format_html('<a href="{}">{}</a>', reverse("admin:wallets_wallet_change", args=[obj.pk]), obj.pk)

    @admin.display(description="frozen since", ordering="frozen_at")
    def frozen_since(self, obj):
        return obj.frozen_at or "—"

    @admin.display(description="by")
    def frozen_by(self, obj):
        return obj.frozen_actor or ""

    @admin.display(description="reason")
    def frozen_reason(self, obj):
        return obj.frozen_why or ""

    def change_view(self, request, object_id, form_url="", extra_context=None):
        return HttpResponseRedirect(reverse("admin:wallets_wallet_change", args=[object_id]))


# --- KYC/KYB --------------------------------------------------------------------------------------


def _verify(profile, officer, reason):
    services.kyc_profile_verify(profile_id=profile.pk, officer=officer, reason=reason)


def _reject_profile(profile, officer, reason):
    services.kyc_profile_reject(profile_id=profile.pk, officer=officer, reason=reason)


def _masked_value(obj, field: str) -> str:
    if field == "beneficial_owners":
        owners = json.loads(obj.beneficial_owners or "[]")
        return "; ".join(f"{crypto.mask(o.get('name', ''))} ({o.get('ownership_percent', '?')} %)" for o in owners)
    return crypto.mask(getattr(obj, field))


def _masked(field: str, label: str):
    @admin.display(description=label)
    def show(self, obj):
        return _masked_value(obj, field)

    return show


def _revealable(field: str, label: str):
    """The masked value with a "reveal" link (asks for a reason; see compliance.pii_reveal)."""

    @admin.display(description=label)
    def show(self, obj):
        info = obj._meta.app_label, obj._meta.model_name
        url = reverse("admin:{}_{}_pii_reveal".format(*info), args=[obj.pk, field])
        return format_html(
            '{} <a class="button" id="reveal-{}" href="{}">reveal</a>', _masked_value(obj, field), field, url
        )

    return show


@admin.register(KycProfile)
class KycProfileAdmin(LargeTableMixin, SearchMixin, ObjectActionsMixin, ReadOnlyAdmin):
    """Personal data is masked for everyone, always in the list. On a profile's page an officer with
    `compliance.view_pii` reveals one field at a time with a reason (audited), for PII_REVEAL_SECONDS
    and for that officer only (compliance.pii_reveal); support never can."""

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
    search_fields = ("owner_id",)  # the box is compliance.search (SearchMixin)
    search_layout = Fields(pk="id", owner="owner_id")
    ordering = ("-submitted_at",)
    head = ("owner_id", "linked", "kind", "status", "country")
    tail = ("provider_reasons", "check_id", "submitted_at", "decided_at", "decided_by", "decision_reason")
    change_form_template = "admin/compliance/object_change_form.html"
    object_actions = {
        "verify": ("Verify", "compliance.decide_kycprofile", _verify),
        "reject": ("Reject", "compliance.decide_kycprofile", _reject_profile),
    }
    actions = None  # no decision in bulk: each profile is verified or rejected on its own page

    def get_fields(self, request, obj=None):
        """Each personal field masked (with a reveal link for who may reveal), or unmasked while this
        officer's reveal of it lasts."""
        revealed = pii_reveal.revealed_fields(request, obj)
        prefix = "reveal_" if pii_reveal.may_reveal(request.user) else "masked_"
        pii = tuple(f if f in revealed else prefix + f for f in KycProfile.PII_FIELDS)
        return (*self.head, *pii, *self.tail)

    def get_urls(self):
        info = self.model._meta.app_label, self.model._meta.model_name
        return [
            path(
                "<path:object_id>/reveal/<str:field>/",
                self.admin_site.admin_view(self.pii_reveal_view),
                name="{}_{}_pii_reveal".format(*info),
            ),
            *super().get_urls(),
        ]

    def pii_reveal_view(self, request, object_id, field):
        """Reveal one personal field with a reason (GET: the form; POST: audit, reveal, back to the page)."""
        if not pii_reveal.may_reveal(request.user):
            raise PermissionDenied
        if field not in KycProfile.PII_FIELDS:
            raise Http404("no such personal field")
        profile = get_object_or_404(self.get_queryset(request), pk=object_id)
        form = ReasonForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            pii_reveal.pii_reveal(request=request, profile=profile, field=field, reason=form.cleaned_data["reason"])
            messages.info(
                request,
                f"{field.replace('_', ' ')} revealed to you for {settings.PII_REVEAL_SECONDS} seconds (audited).",
            )
            info = profile._meta.app_label, profile._meta.model_name
            return HttpResponseRedirect(reverse("admin:{}_{}_change".format(*info), args=[profile.pk]))
        label = field.replace("_", " ")
        return _reason_page(
            self,
            request,
            objects=[profile],
            title=f"Reveal the {label} of {profile}",
            verb="Reveal",
            action=None,
            form=form,
        )

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj)

    def has_decide_permission(self, request):
        return request.user.has_perm("compliance.decide_kycprofile")

    @admin.display(description="wallets, cases, sagas")
    def linked(self, obj):
        """The owner's wallets (the first 20, linked) and their cases, sagas and events as lists."""
        wallets = list(Wallet.objects.filter(owner_id=obj.owner_id).order_by("created_at")[:20])
        rows = format_html_join(
            "",
            "<div>{} · {} {} · {}</div>",
            ((display.wallet_link(w.pk), w.kind, w.status, w.base_currency) for w in wallets),
        )
        lists = format_html(
            "<div>{} · {} · {}</div>",
            display.list_link("wallets_wallet", "all wallets", owner_id__exact=obj.owner_id),
            display.list_link("compliance_reviewcase", "review cases", owner_id__exact=obj.owner_id),
            display.list_link("sagas_saga", "sagas", wallet__owner_id__exact=obj.owner_id),
        )
        return format_html("{}{}", rows or "no wallet", lists)

    @admin.display(description="legal name")
    def masked_name(self, obj):
        return crypto.mask(obj.legal_name)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        profile = self.get_object(request, object_id)
        unmasked = bool(pii_reveal.revealed_fields(request, profile))
        actions = []
        if profile is not None and profile.status in (KycProfile.Status.PENDING, KycProfile.Status.NEEDS_REVIEW):
            actions = self.allowed_object_actions(request, profile)
        extra = {"object_actions": actions, "pii_unmasked": unmasked}
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), **extra})


for _field in KycProfile.PII_FIELDS:  # masked_<field> and reveal_<field> for every personal field
    setattr(KycProfileAdmin, f"masked_{_field}", _masked(_field, _field.replace("_", " ")))
    setattr(KycProfileAdmin, f"reveal_{_field}", _revealable(_field, _field.replace("_", " ")))


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
        help_texts = {
            "daily_limit": "Minor units. Raising a limit takes a second officer; VELOCITY_LIMIT_CEILING is the most."
        }

    def clean_reason(self):
        return clean_officer_reason(self.cleaned_data["reason"])

    def clean_daily_limit(self):
        value = self.cleaned_data["daily_limit"]
        if value is not None and value > settings.VELOCITY_LIMIT_CEILING:
            raise forms.ValidationError(
                f"At most {settings.VELOCITY_LIMIT_CEILING} minor units (VELOCITY_LIMIT_CEILING), even with a"
                " second officer."
            )
        return value


@admin.register(WalletLimit)
class WalletLimitAdmin(admin.ModelAdmin):
    form = WalletLimitForm
    list_display = ("wallet", "limit", "reason", "set_by", "updated_at")
    list_select_related = ("wallet", "set_by")
    limit = display.money_column("daily_limit", "wallet.base_currency", "24 h limit")
    raw_id_fields = ("wallet",)

    def get_readonly_fields(self, request, obj=None):
        return ("wallet",) if obj else ()

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        """Lowering acts at once; raising files a request for a second officer (compliance.four_eyes)."""
        saved = four_eyes.wallet_limit_set_or_request(
            wallet_id=obj.wallet_id,
            daily_limit=form.cleaned_data["daily_limit"],
            officer=request.user,
            reason=form.cleaned_data["reason"],
        )
        if isinstance(saved, DecisionRequest):
            request.four_eyes_request = saved  # the limit is unchanged until a second officer approves
            return
        obj.pk = saved.pk

    def log_addition(self, request, obj, message):
        if getattr(request, "four_eyes_request", None) is None:
            return super().log_addition(request, obj, message)
        return None

    def log_change(self, request, obj, message):
        if getattr(request, "four_eyes_request", None) is None:
            return super().log_change(request, obj, message)
        return None

    def _four_eyes_response(self, request):
        filed = request.four_eyes_request
        messages.warning(request, "Raising a limit needs a second officer: the request waits for their approval.")
        return HttpResponseRedirect(reverse("admin:compliance_decisionrequest_change", args=[filed.pk]))

    def response_add(self, request, obj, post_url_continue=None):
        if getattr(request, "four_eyes_request", None) is not None:
            return self._four_eyes_response(request)
        return super().response_add(request, obj, post_url_continue)

    def response_change(self, request, obj):
        if getattr(request, "four_eyes_request", None) is not None:
            return self._four_eyes_response(request)
        return super().response_change(request, obj)


def _request_approve(decision, officer, reason):
    return four_eyes.decision_request_approve(request_id=decision.pk, officer=officer, reason=reason)


def _request_reject(decision, officer, reason):
    return four_eyes.decision_request_reject(request_id=decision.pk, officer=officer, reason=reason)


@admin.register(DecisionRequest)
class DecisionRequestAdmin(ObjectActionsMixin, ReadOnlyAdmin):
    """Requests waiting for a second officer (four-eyes), oldest first. Approving runs the action at
    once; the requester is offered only to withdraw (reject) their own."""

    list_display = ("short_id", "kind", "status", "target_link", "requested_by", "requested_at", "expires_at")
    list_filter = ("status", "kind")
    list_select_related = ("requested_by", "decided_by")
    ordering = ("requested_at",)
    fields = (
        "id",
        "kind",
        "status",
        "target_link",
        "payload",
        "reason",
        "requested_by",
        "requested_at",
        "expires_at",
        "decided_by",
        "decided_at",
        "decision_reason",
    )
    readonly_fields = fields
    change_form_template = "admin/compliance/object_change_form.html"
    object_actions = {
        "approve": ("Approve", "compliance.view_decisionrequest", _request_approve),
        "reject": ("Reject", "compliance.view_decisionrequest", _request_reject),
    }

    @admin.display(description="request")
    def short_id(self, obj):
        return str(obj.pk)[:8]

    @admin.display(description="on")
    def target_link(self, obj):
        page = "compliance_reviewcase_change" if obj.target_type == "review_case" else "wallets_wallet_change"
        return format_html(
            '<a href="{}">{} {}</a>', reverse(f"admin:{page}", args=[obj.target_id]), obj.target_type, obj.target_id
        )

    def allowed_object_actions(self, request, obj):
        if obj is None or obj.status != DecisionRequest.Status.PENDING:
            return []
        mine = obj.requested_by_id == request.user.pk
        may = request.user.has_perm(four_eyes.PERMISSIONS[DecisionRequest.Kind(obj.kind)])
        names = {"reject"} if mine else ({"approve", "reject"} if may else set())
        return [(n, v) for n, v in super().allowed_object_actions(request, obj) if n in names]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, object_id)
        extra = {"object_actions": self.allowed_object_actions(request, obj)}
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), **extra})


@admin.register(RiskAssessment)
class RiskAssessmentAdmin(LargeTableMixin, SearchMixin, ReadOnlyAdmin):
    list_display = ("created_at", "operation", "wallet_link", "money", "outcome", "code", "score", "source")
    list_filter = ("outcome", "operation", "code", "source", ("created_at", admin.DateFieldListFilter))
    search_fields = ("wallet_id",)  # the box is compliance.search (SearchMixin)
    search_layout = Fields(pk=None, wallet=("wallet_id", "counterparty_wallet_id"), owner="owner_id", saga="saga_id")
    money = display.money_column("amount", "currency", "amount")
    readonly_fields = ("money",)  # on the assessment's page too, above its raw fields

    @admin.display(description="wallet")
    def wallet_link(self, obj):
        return display.wallet_link(obj.wallet_id)

    # No date_hierarchy: its links are a SELECT DISTINCT date_trunc(...) over every row of the
    # year on each page view (issue 21, at scale); the created_at filter above serves instead.


@admin.register(AuditEntry)
class AuditEntryAdmin(ExactSearchMixin, LargeTableMixin, ReadOnlyAdmin):
    list_display = ("at", "actor_label", "action", "object_type", "object_id", "reason")
    list_filter = ("action", "object_type", ("at", admin.DateFieldListFilter))
    search_fields = ("=object_id", "=actor_label")
    exact_search = ("object_id", "actor_label")
    # no date_hierarchy (a scan of the log per page view, see RiskAssessmentAdmin): the `at` filter

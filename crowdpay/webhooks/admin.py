"""Webhooks in the back-office: endpoints (with an alert for those disabled because their receiver
failed for days or answered 410), the outbox, the delivery log with every attempt, monitors.
Actions call the same services as the API; nothing here is edited by hand."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet

from crowdpay.admin import ExactSearchMixin, ReadOnlyAdmin, ReadOnlyInline
from crowdpay.admin_paging import LargeTableMixin
from crowdpay.errors import DomainError

from . import services
from .events import EVENT_TYPES
from .models import Attempt, Delivery, Endpoint, Message, Monitor

_ALERT_REASONS = (Endpoint.DisabledReason.GONE, Endpoint.DisabledReason.FAILING)


def _each(request, objects, apply, verb: str) -> None:
    done = 0
    for obj in objects:
        try:
            apply(obj)
            done += 1
        except DomainError as exc:
            messages.error(request, f"{obj}: {exc.detail}")
    if done:
        messages.success(request, f"{verb}: {done} done.")


@admin.register(Endpoint)
class EndpointAdmin(ReadOnlyAdmin):
    list_display = ("url", "owner_id", "status", "disabled_reason", "failing_since", "created_at")
    list_filter = ("status",)
    search_fields = ("url", "owner_id")
    fields = (
        "id",
        "owner_id",
        "url",
        "description",
        "event_types",
        "status",
        "disabled_reason",
        "disabled_at",
        "failing_since",
        "previous_secret_expires_at",
        "created_at",
        "updated_at",
    )  # never the secrets
    readonly_fields = fields
    actions = ("disable_endpoints", "enable_endpoints")

    def changelist_view(self, request, extra_context=None):
        alerts = Endpoint.objects.filter(status=Endpoint.Status.DISABLED, disabled_reason__in=_ALERT_REASONS)
        for endpoint in alerts[:20]:
            reason = Endpoint.DisabledReason(endpoint.disabled_reason).label
            messages.warning(request, f"Webhook endpoint {endpoint.url} ({endpoint.id}) was disabled: {reason}.")
        return super().changelist_view(request, extra_context)

    def has_operate_permission(self, request):
        return request.user.has_perm("webhooks.change_endpoint")

    @admin.action(description="Disable the selected endpoints", permissions=["operate"])
    def disable_endpoints(self, request, queryset: QuerySet[Endpoint]):
        _each(
            request,
            queryset,
            lambda e: services.endpoint_disable(endpoint=e, reason=Endpoint.DisabledReason.OFFICER),
            "Disabled",
        )

    @admin.action(description="Enable the selected endpoints (pending deliveries are sent)", permissions=["operate"])
    def enable_endpoints(self, request, queryset: QuerySet[Endpoint]):
        _each(request, queryset, lambda e: services.endpoint_enable(endpoint=e), "Enabled")


class MessageTypeFilter(admin.SimpleListFilter):
    """The event types subscribers may ask for (`events.EventType`): Django's filter of a plain
    column would read the distinct types of the whole outbox on every page view."""

    title = "type"
    parameter_name = "type"

    def lookups(self, request, model_admin):
        return [(name, name) for name in sorted(EVENT_TYPES)]

    def queryset(self, request, queryset):
        return queryset.filter(type=self.value()) if self.value() else queryset


@admin.register(Message)
class MessageAdmin(ExactSearchMixin, LargeTableMixin, ReadOnlyAdmin):
    list_display = ("id", "type", "owner_id", "wallet_id", "created_at", "dispatched_at")
    list_filter = (MessageTypeFilter,)
    search_fields = ("uid", "owner_id")
    exact_search = ("uid", "owner_id")  # indexed: the message's id as delivered, the owner's messages
    readonly_fields = ("id", "uid", "type", "owner_id", "wallet_id", "data", "created_at", "dispatched_at")


class AttemptInline(ReadOnlyInline):
    model = Attempt
    fields = ("attempted_at", "outcome", "status_code", "latency_ms", "response_head", "error")


@admin.register(Delivery)
class DeliveryAdmin(ExactSearchMixin, ReadOnlyAdmin):
    list_display = ("id", "message", "endpoint", "status", "attempts", "last_status_code", "next_attempt_at")
    list_filter = ("status",)
    search_fields = ("endpoint__url", "message__uid")
    # the webhook-id a receiver logged; an endpoint by URL (the small endpoints table) or by id
    exact_search = ("message__uid", "endpoint__url", "endpoint_id")
    list_select_related = ("message", "endpoint")
    readonly_fields = (
        "message",
        "endpoint",
        "wallet_id",
        "status",
        "attempts",
        "next_attempt_at",
        "last_attempt_at",
        "last_status_code",
        "delivered_at",
        "created_at",
    )
    inlines = (AttemptInline,)
    actions = ("replay",)

    def has_operate_permission(self, request):
        return request.user.has_perm("webhooks.change_delivery")

    @admin.action(description="Replay the selected deliveries (same webhook-id)", permissions=["operate"])
    def replay(self, request, queryset: QuerySet[Delivery]):
        _each(request, queryset, lambda d: services.delivery_replay(delivery=d), "Replayed")


@admin.register(Monitor)
class MonitorAdmin(ReadOnlyAdmin):
    list_display = ("wallet_id", "currency", "direction", "threshold", "created_at")
    list_filter = ("direction",)
    readonly_fields = ("id", "wallet", "owner_id", "currency", "direction", "threshold", "description", "created_at")

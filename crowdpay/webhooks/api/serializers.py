"""Input and output serializers of the webhook endpoints and balance monitors."""

from __future__ import annotations

from rest_framework import serializers

from crowdpay.api.inputs import InputSerializer

from ..events import EVENT_TYPES
from ..models import Attempt, Delivery, Endpoint, Monitor

_EVENT_TYPES = serializers.ListField(
    child=serializers.ChoiceField(choices=EVENT_TYPES),
    min_length=1,
    max_length=len(EVENT_TYPES),
    help_text="The event types this endpoint receives.",
)


class WebhookEndpointRequestSerializer(InputSerializer):
    url = serializers.URLField(max_length=2048, help_text="https URL resolving to a public address.")
    event_types = _EVENT_TYPES
    description = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class WebhookEndpointUpdateSerializer(InputSerializer):
    url = serializers.URLField(max_length=2048, required=False)
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=EVENT_TYPES), min_length=1, max_length=len(EVENT_TYPES), required=False
    )
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)


class EmptyRequestSerializer(InputSerializer):
    pass


class WebhookEndpointSerializer(serializers.ModelSerializer):
    event_types = serializers.ListField(child=serializers.ChoiceField(choices=EVENT_TYPES), read_only=True)
    secret_overlap_until = serializers.DateTimeField(
        source="previous_secret_expires_at",
        allow_null=True,
        read_only=True,
        help_text="Until then the previous secret signs too (after a rotation).",
    )

    class Meta:
        model = Endpoint
        fields = [
            "id",
            "url",
            "description",
            "event_types",
            "status",
            "disabled_reason",
            "disabled_at",
            "failing_since",
            "secret_overlap_until",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class WebhookEndpointWithSecretSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(read_only=True, help_text="`whsec_<base64>`: shown only now.")

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class DeliveryAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = Attempt
        fields = ["attempted_at", "outcome", "status_code", "latency_ms", "response_head", "error"]
        read_only_fields = fields


class WebhookDeliverySerializer(serializers.ModelSerializer):
    message_id = serializers.CharField(source="message.webhook_id", read_only=True, help_text="The `webhook-id`.")
    event_type = serializers.CharField(source="message.type", read_only=True)
    attempt_log = DeliveryAttemptSerializer(many=True, read_only=True)

    class Meta:
        model = Delivery
        fields = [
            "id",
            "message_id",
            "event_type",
            "wallet_id",
            "status",
            "attempts",
            "next_attempt_at",
            "last_status_code",
            "delivered_at",
            "created_at",
            "attempt_log",
        ]
        read_only_fields = fields


class WebhookDeliveryPageSerializer(serializers.Serializer):
    results = WebhookDeliverySerializer(many=True)
    next_before = serializers.IntegerField(allow_null=True, help_text="Pass as `before` for the next (older) page.")


class DeliveryQuerySerializer(InputSerializer):
    before = serializers.IntegerField(required=False, min_value=1, help_text="Deliveries older than this id.")
    status = serializers.ChoiceField(choices=Delivery.Status.choices, required=False)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=200, default=50)


class ReplayFailedRequestSerializer(InputSerializer):
    since = serializers.DateTimeField(help_text="Replay every given-up delivery of messages since this time.")


class ReplayFailedResultSerializer(serializers.Serializer):
    replayed = serializers.IntegerField()


class MonitorRequestSerializer(InputSerializer):
    currency = serializers.CharField(min_length=3, max_length=3)
    direction = serializers.ChoiceField(choices=["below", "above"])
    threshold = serializers.IntegerField(min_value=0, max_value=10**15, help_text="Available balance, minor units.")
    description = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class BalanceMonitorSerializer(serializers.ModelSerializer):
    direction = serializers.SerializerMethodField()

    class Meta:
        model = Monitor
        fields = ["id", "wallet_id", "currency", "direction", "threshold", "description", "created_at"]
        read_only_fields = fields

    def get_direction(self, monitor: Monitor) -> str:
        return monitor.direction.lower()

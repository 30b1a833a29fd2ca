"""The event types as OpenAPI `webhooks` (SPECTACULAR_SETTINGS["WEBHOOKS"] lists these objects):
what a subscriber's endpoint receives, signed as Standard Webhooks."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, OpenApiWebhook, extend_schema
from rest_framework import serializers

from sagas.api.serializers import OperationSerializer

from .events import DESCRIPTIONS, EventType

SIGNED = (
    " Headers: `webhook-id` (the message id, the same on every retry: deduplicate on it),"
    " `webhook-timestamp` (Unix seconds), `webhook-signature` (`v1,<base64 HMAC-SHA256(secret,"
    " id.timestamp.body)>`, space-separated while a rotated secret overlaps). Answer 2xx within"
    " the read timeout; 410 disables the endpoint; anything else is retried on the schedule"
    " (crowdpay.webhooks.retries: about three days)."
)


class WalletStatusDataSerializer(serializers.Serializer):
    wallet_id = serializers.UUIDField()
    owner_id = serializers.UUIDField()
    from_status = serializers.CharField()
    to_status = serializers.CharField()
    reason = serializers.CharField()


class BalanceCrossingDataSerializer(serializers.Serializer):
    monitor_id = serializers.UUIDField()
    wallet_id = serializers.UUIDField()
    currency = serializers.CharField()
    direction = serializers.ChoiceField(choices=["below", "above"])
    threshold = serializers.IntegerField()
    previous_available = serializers.IntegerField()
    available = serializers.IntegerField()


class PodGoalReachedDataSerializer(serializers.Serializer):
    pod_id = serializers.UUIDField()
    goal_id = serializers.UUIDField()
    amount = serializers.IntegerField(help_text="Captured into the pod, minor units.")
    currency = serializers.CharField()
    goal_amount = serializers.IntegerField()
    pledges = serializers.IntegerField()
    contributors = serializers.IntegerField()
    journal_ids = serializers.ListField(child=serializers.UUIDField(), help_text="The capture batches' entries.")


class PodGoalExpiredDataSerializer(serializers.Serializer):
    pod_id = serializers.UUIDField()
    goal_id = serializers.UUIDField()
    goal_amount = serializers.IntegerField()
    currency = serializers.CharField()
    pledged = serializers.IntegerField(help_text="Held when it expired (all released), minor units.")


class PodOutflowDataSerializer(serializers.Serializer):
    pod_id = serializers.UUIDField()
    outflow_id = serializers.UUIDField()
    amount = serializers.IntegerField()
    currency = serializers.CharField()
    to_wallet_id = serializers.UUIDField()
    requested_by = serializers.UUIDField()
    status = serializers.CharField()
    approvals_required = serializers.IntegerField()
    memo = serializers.CharField()
    via = serializers.ChoiceField(choices=["allowance", "quorum"], required=False, help_text="pod.outflow_approved")
    reason = serializers.ChoiceField(
        choices=["rejected", "expired", "pod_dissolved"], required=False, help_text="pod.outflow_rejected"
    )


def _payload(name: str, data: serializers.Field) -> type[serializers.Serializer]:
    return type(
        name,
        (serializers.Serializer,),
        {
            "type": serializers.CharField(help_text="The event type."),
            "timestamp": serializers.DateTimeField(help_text="When the change was committed."),
            "data": data,
        },
    )


OperationEventSerializer = _payload("OperationEventSerializer", OperationSerializer())
WalletStatusEventSerializer = _payload("WalletStatusEventSerializer", WalletStatusDataSerializer())
BalanceCrossingEventSerializer = _payload("BalanceCrossingEventSerializer", BalanceCrossingDataSerializer())
PodGoalReachedEventSerializer = _payload("PodGoalReachedEventSerializer", PodGoalReachedDataSerializer())
PodGoalExpiredEventSerializer = _payload("PodGoalExpiredEventSerializer", PodGoalExpiredDataSerializer())
PodOutflowEventSerializer = _payload("PodOutflowEventSerializer", PodOutflowDataSerializer())

_PAYLOAD = {
    EventType.OPERATION_SUCCEEDED: OperationEventSerializer,
    EventType.OPERATION_FAILED: OperationEventSerializer,
    EventType.OPERATION_PENDING_REVIEW: OperationEventSerializer,
    EventType.WALLET_FROZEN: WalletStatusEventSerializer,
    EventType.WALLET_UNFROZEN: WalletStatusEventSerializer,
    EventType.WALLET_CLOSED: WalletStatusEventSerializer,
    EventType.WALLET_BALANCE_BELOW: BalanceCrossingEventSerializer,
    EventType.WALLET_BALANCE_ABOVE: BalanceCrossingEventSerializer,
    EventType.POD_GOAL_REACHED: PodGoalReachedEventSerializer,
    EventType.POD_GOAL_EXPIRED: PodGoalExpiredEventSerializer,
    EventType.POD_OUTFLOW_REQUESTED: PodOutflowEventSerializer,
    EventType.POD_OUTFLOW_APPROVED: PodOutflowEventSerializer,
    EventType.POD_OUTFLOW_REJECTED: PodOutflowEventSerializer,
}

# What a receiver may answer, and what each answer does: the only responses a webhook documents
# (the API's own error responses, which the schema generator adds to every operation, are the
# service's answers to its callers and mean nothing here: `as_x_webhooks` drops them).
RESPONSES = {
    "200": "Received (any 2xx): delivered, not sent again.",
    "410": "Gone: the endpoint is disabled and nothing more is sent to it.",
    "default": (
        "Any other answer, a timeout, a redirect (not followed) or a refused connection: the same"
        " message (same `webhook-id`) is retried on the schedule."
    ),
}


def _webhook(event: EventType) -> OpenApiWebhook:
    return OpenApiWebhook(
        name=str(event),
        decorator=extend_schema(
            summary=str(event),
            description=DESCRIPTIONS[event] + SIGNED,
            request=_PAYLOAD[event],
            responses={code: OpenApiResponse(description=text) for code, text in RESPONSES.items()},
        ),
    )


OPERATION_SUCCEEDED = _webhook(EventType.OPERATION_SUCCEEDED)
OPERATION_FAILED = _webhook(EventType.OPERATION_FAILED)
OPERATION_PENDING_REVIEW = _webhook(EventType.OPERATION_PENDING_REVIEW)
WALLET_FROZEN = _webhook(EventType.WALLET_FROZEN)
WALLET_UNFROZEN = _webhook(EventType.WALLET_UNFROZEN)
WALLET_CLOSED = _webhook(EventType.WALLET_CLOSED)
WALLET_BALANCE_BELOW = _webhook(EventType.WALLET_BALANCE_BELOW)
WALLET_BALANCE_ABOVE = _webhook(EventType.WALLET_BALANCE_ABOVE)
POD_GOAL_REACHED = _webhook(EventType.POD_GOAL_REACHED)
POD_GOAL_EXPIRED = _webhook(EventType.POD_GOAL_EXPIRED)
POD_OUTFLOW_REQUESTED = _webhook(EventType.POD_OUTFLOW_REQUESTED)
POD_OUTFLOW_APPROVED = _webhook(EventType.POD_OUTFLOW_APPROVED)
POD_OUTFLOW_REJECTED = _webhook(EventType.POD_OUTFLOW_REJECTED)


def as_x_webhooks(result, generator, request, public):
    """A POSTPROCESSING_HOOK: the schema is OpenAPI 3.0, where `webhooks` (3.1) is not allowed; the
    same objects go under `x-webhooks`, the extension ReDoc renders for 3.0 documents. Each keeps
    only the responses of `RESPONSES`: what the receiver answers, not the API's error responses."""
    webhooks = result.pop("webhooks", None)
    if webhooks:
        for item in webhooks.values():
            for operation in item.values():
                operation["responses"] = {
                    code: answer for code, answer in operation.get("responses", {}).items() if code in RESPONSES
                }
        result["x-webhooks"] = webhooks
    return result

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
    " the read timeout; 410 disables the endpoint; anything else is retried (about a day and a half)."
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

_PAYLOAD = {
    EventType.OPERATION_SUCCEEDED: OperationEventSerializer,
    EventType.OPERATION_FAILED: OperationEventSerializer,
    EventType.OPERATION_PENDING_REVIEW: OperationEventSerializer,
    EventType.WALLET_FROZEN: WalletStatusEventSerializer,
    EventType.WALLET_UNFROZEN: WalletStatusEventSerializer,
    EventType.WALLET_CLOSED: WalletStatusEventSerializer,
    EventType.WALLET_BALANCE_BELOW: BalanceCrossingEventSerializer,
    EventType.WALLET_BALANCE_ABOVE: BalanceCrossingEventSerializer,
}


def _webhook(event: EventType) -> OpenApiWebhook:
    return OpenApiWebhook(
        name=str(event),
        decorator=extend_schema(
            summary=str(event),
            description=DESCRIPTIONS[event] + SIGNED,
            request=_PAYLOAD[event],
            responses={
                200: OpenApiResponse(description="Received (any 2xx)."),
                410: OpenApiResponse(description="Gone: the endpoint is disabled."),
            },
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


def as_x_webhooks(result, generator, request, public):
    """A POSTPROCESSING_HOOK: the schema is OpenAPI 3.0, where `webhooks` (3.1) is not allowed; the
    same objects go under `x-webhooks`, the extension ReDoc renders for 3.0 documents."""
    webhooks = result.pop("webhooks", None)
    if webhooks:
        result["x-webhooks"] = webhooks
    return result

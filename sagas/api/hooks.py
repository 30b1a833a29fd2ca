"""`POST /v1/hooks/funding`: the payment provider's signed webhooks (`sagas.hooks`).

No bearer token (the provider signs instead) and no Idempotency-Key: the provider's own event id
(`webhook-id`) deduplicates, in the database. `idempotency_exempt` says so, for the check that every
other write under /v1 requires the key.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from crowdpay.api.problems import CONTENT_TYPE, ProblemSerializer
from sagas import hooks

_HEADERS = [
    OpenApiParameter(hooks.ID_HEADER, OpenApiTypes.STR, OpenApiParameter.HEADER, required=True),
    OpenApiParameter(
        hooks.TIMESTAMP_HEADER, OpenApiTypes.INT, OpenApiParameter.HEADER, required=True, description="Unix seconds."
    ),
    OpenApiParameter(
        hooks.SIGNATURE_HEADER,
        OpenApiTypes.STR,
        OpenApiParameter.HEADER,
        required=True,
        description="`v1,<base64 HMAC-SHA256(FUNDING_WEBHOOK_SECRET, id.timestamp.body)>`, space-separated.",
    ),
]


class FundingHookView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []
    # A provider's signed callback: deduplicated by its webhook-id, never by an Idempotency-Key.
    idempotency_exempt = "signed provider callback, deduplicated by webhook-id"

    @extend_schema(
        operation_id="funding_webhook",
        summary="Payment provider webhook (signed)",
        tags=["hooks"],
        auth=[],
        parameters=_HEADERS,
        request=inline_serializer(
            "FundingWebhook",
            {
                "type": serializers.CharField(help_text="`charge.captured`, `charge.pending`, `charge.failed` …"),
                "data": serializers.DictField(help_text='`{"id", "status", "amount", "currency"}` of the charge'),
            },
        ),
        responses={
            200: inline_serializer(
                "FundingWebhookReceipt", {"id": serializers.CharField(), "duplicate": serializers.BooleanField()}
            ),
            (400, CONTENT_TYPE): OpenApiResponse(ProblemSerializer, description="A signed body that is unusable."),
            (401, CONTENT_TYPE): OpenApiResponse(
                ProblemSerializer, description="Bad or missing signature, or a stale timestamp; nothing is written."
            ),
        },
    )
    def post(self, request):
        """Record the provider's word on a charge once (by `webhook-id`) and wake the funding that
        waits for it. A replay answers 200 with `duplicate: true` and changes nothing."""
        return Response(hooks.funding_hook_receive(headers=request.headers, body=request.body))

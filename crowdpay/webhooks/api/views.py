"""Webhook endpoints (`/v1/webhook-endpoints`), their delivery log and replays, and balance
monitors (`/v1/wallets/{id}/monitors`). Scope `webhook:manage`; a caller sees only its own
endpoints and the monitors of its own wallets (another owner's: 404). Every handler validates its
input before it looks anything up."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from crowdpay.api.idempotency import idempotent
from crowdpay.api.inputs import refuse_query, validated
from crowdpay.api.permissions import WebhookManageScope
from crowdpay.api.problems import ProblemSerializer
from wallets.api.views import WALLET_ID, owned_wallet

from .. import selectors, services
from ..models import Monitor
from .serializers import (
    BalanceMonitorSerializer,
    DeliveryQuerySerializer,
    EmptyRequestSerializer,
    MonitorRequestSerializer,
    ReplayFailedRequestSerializer,
    ReplayFailedResultSerializer,
    WebhookDeliveryPageSerializer,
    WebhookDeliverySerializer,
    WebhookEndpointRequestSerializer,
    WebhookEndpointSerializer,
    WebhookEndpointUpdateSerializer,
    WebhookEndpointWithSecretSerializer,
)

ENDPOINT_ID = OpenApiParameter(
    "endpoint_id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The webhook endpoint id."
)
DELIVERY_ID = OpenApiParameter("delivery_id", OpenApiTypes.STR, OpenApiParameter.PATH, description="The delivery id.")
MONITOR_ID = OpenApiParameter("monitor_id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The monitor id.")


def _endpoint(request, endpoint_id):
    return selectors.endpoint_get(endpoint_id=endpoint_id, owner_id=request.user.owner_filter())


class _Scoped(APIView):
    permission_classes = [WebhookManageScope]


class EndpointListView(_Scoped):
    @extend_schema(
        operation_id="list_webhook_endpoints",
        summary="List the caller's webhook endpoints",
        responses=WebhookEndpointSerializer(many=True),
    )
    def get(self, request):
        refuse_query(request)
        return Response(WebhookEndpointSerializer(selectors.endpoint_list(owner_id=request.user.id), many=True).data)

    @extend_schema(
        operation_id="create_webhook_endpoint",
        summary="Register a webhook endpoint",
        request=WebhookEndpointRequestSerializer,
        responses={201: WebhookEndpointWithSecretSerializer, 422: ProblemSerializer},
    )
    @idempotent(required=True)
    def post(self, request):
        """The answer carries the signing secret (`whsec_…`), the only time it is shown. A URL that is
        not https or resolves to a private address is 422 `webhook_url_refused` (in production)."""
        data = validated(WebhookEndpointRequestSerializer, request.data)
        endpoint = services.endpoint_create(
            owner_id=request.user.id, url=data["url"], event_types=data["event_types"], description=data["description"]
        )
        return Response(
            WebhookEndpointWithSecretSerializer(endpoint).data,
            status=status.HTTP_201_CREATED,
            headers={"Location": f"/v1/webhook-endpoints/{endpoint.id}"},
        )


class EndpointDetailView(_Scoped):
    @extend_schema(
        operation_id="get_webhook_endpoint",
        summary="Read a webhook endpoint",
        parameters=[ENDPOINT_ID],
        responses=WebhookEndpointSerializer,
    )
    def get(self, request, endpoint_id):
        refuse_query(request)
        return Response(WebhookEndpointSerializer(_endpoint(request, endpoint_id)).data)

    @extend_schema(
        operation_id="update_webhook_endpoint",
        summary="Change a webhook endpoint's URL, event types or description",
        parameters=[ENDPOINT_ID],
        request=WebhookEndpointUpdateSerializer,
        responses={200: WebhookEndpointSerializer, 422: ProblemSerializer},
    )
    @idempotent(required=True)
    def patch(self, request, endpoint_id):
        data = validated(WebhookEndpointUpdateSerializer, request.data)
        endpoint = services.endpoint_update(endpoint=_endpoint(request, endpoint_id), **data)
        return Response(WebhookEndpointSerializer(endpoint).data)

    @extend_schema(
        operation_id="delete_webhook_endpoint",
        summary="Delete a webhook endpoint and its delivery log",
        parameters=[ENDPOINT_ID],
        request=EmptyRequestSerializer,
        responses={204: None},
    )
    @idempotent(required=True)
    def delete(self, request, endpoint_id):
        validated(EmptyRequestSerializer, request.data)
        services.endpoint_delete(endpoint=_endpoint(request, endpoint_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class EndpointRotateView(_Scoped):
    @extend_schema(
        operation_id="rotate_webhook_secret",
        summary="Rotate a webhook endpoint's signing secret",
        parameters=[ENDPOINT_ID],
        request=EmptyRequestSerializer,
        responses=WebhookEndpointWithSecretSerializer,
    )
    @idempotent(required=True)
    def post(self, request, endpoint_id):
        """A new secret, shown once. The previous one keeps signing (both signatures are sent,
        space-separated) until `secret_overlap_until` (`WEBHOOK_SECRET_OVERLAP_SECONDS`)."""
        validated(EmptyRequestSerializer, request.data)
        endpoint = services.endpoint_rotate_secret(endpoint=_endpoint(request, endpoint_id))
        return Response(WebhookEndpointWithSecretSerializer(endpoint).data)


class EndpointDisableView(_Scoped):
    @extend_schema(
        operation_id="disable_webhook_endpoint",
        summary="Disable a webhook endpoint",
        parameters=[ENDPOINT_ID],
        request=EmptyRequestSerializer,
        responses={200: WebhookEndpointSerializer, 409: ProblemSerializer},
    )
    @idempotent(required=True)
    def post(self, request, endpoint_id):
        """Nothing is sent to it, and no new message is kept for it, until it is enabled again."""
        validated(EmptyRequestSerializer, request.data)
        endpoint = services.endpoint_disable(endpoint=_endpoint(request, endpoint_id))
        return Response(WebhookEndpointSerializer(endpoint).data)


class EndpointEnableView(_Scoped):
    @extend_schema(
        operation_id="enable_webhook_endpoint",
        summary="Enable a webhook endpoint again",
        parameters=[ENDPOINT_ID],
        request=EmptyRequestSerializer,
        responses={200: WebhookEndpointSerializer, 409: ProblemSerializer},
    )
    @idempotent(required=True)
    def post(self, request, endpoint_id):
        """Its deliveries still pending are sent at once, in order per wallet."""
        validated(EmptyRequestSerializer, request.data)
        endpoint = services.endpoint_enable(endpoint=_endpoint(request, endpoint_id))
        return Response(WebhookEndpointSerializer(endpoint).data)


class DeliveryListView(_Scoped):
    @extend_schema(
        operation_id="list_webhook_deliveries",
        summary="Read a webhook endpoint's delivery log",
        parameters=[ENDPOINT_ID, DeliveryQuerySerializer],
        responses=WebhookDeliveryPageSerializer,
    )
    def get(self, request, endpoint_id):
        """Newest first: each delivery with every attempt (status code, latency, the first bytes of
        the answer). Follow `next_before` until it is null."""
        query = validated(DeliveryQuerySerializer, request.query_params)
        endpoint = _endpoint(request, endpoint_id)
        page = selectors.delivery_page(
            endpoint=endpoint, before=query.get("before"), status=query.get("status"), limit=query["limit"] + 1
        )
        more = len(page) > query["limit"]
        page = page[: query["limit"]]
        body = {"results": page, "next_before": page[-1].id if more else None}
        return Response(WebhookDeliveryPageSerializer(body).data)


class DeliveryReplayView(_Scoped):
    @extend_schema(
        operation_id="replay_webhook_delivery",
        summary="Send one message to the endpoint again",
        parameters=[ENDPOINT_ID, DELIVERY_ID],
        request=EmptyRequestSerializer,
        responses={202: WebhookDeliverySerializer},
    )
    @idempotent(required=True)
    def post(self, request, endpoint_id, delivery_id):
        """Same `webhook-id`, a fresh retry schedule, whatever became of it before."""
        validated(EmptyRequestSerializer, request.data)
        endpoint = _endpoint(request, endpoint_id)
        delivery = services.delivery_replay(
            delivery=selectors.delivery_get(endpoint=endpoint, delivery_id=_int_or_none(delivery_id))
        )
        return Response(WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)


def _int_or_none(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class ReplayFailedView(_Scoped):
    @extend_schema(
        operation_id="replay_failed_webhook_deliveries",
        summary="Send every given-up message since a time to the endpoint again",
        parameters=[ENDPOINT_ID],
        request=ReplayFailedRequestSerializer,
        responses={202: ReplayFailedResultSerializer},
    )
    @idempotent(required=True)
    def post(self, request, endpoint_id):
        data = validated(ReplayFailedRequestSerializer, request.data)
        endpoint = _endpoint(request, endpoint_id)
        replayed = services.deliveries_replay_failed(endpoint=endpoint, since=data["since"])
        return Response(ReplayFailedResultSerializer({"replayed": replayed}).data, status=status.HTTP_202_ACCEPTED)


class MonitorListView(_Scoped):
    @extend_schema(
        operation_id="list_balance_monitors",
        summary="List a wallet's balance monitors",
        parameters=[WALLET_ID],
        responses=BalanceMonitorSerializer(many=True),
    )
    def get(self, request, wallet_id):
        refuse_query(request)
        wallet = owned_wallet(request, wallet_id)
        return Response(BalanceMonitorSerializer(selectors.monitor_list(wallet_id=wallet.id), many=True).data)

    @extend_schema(
        operation_id="create_balance_monitor",
        summary="Watch a wallet's available balance against a threshold",
        parameters=[WALLET_ID],
        request=MonitorRequestSerializer,
        responses={201: BalanceMonitorSerializer},
    )
    @idempotent(required=True)
    def post(self, request, wallet_id):
        """`wallet.balance_below` fires when the available balance in `currency` goes from at or above
        `threshold` to below it; `wallet.balance_above` from at or below to above. Once per crossing,
        not on every movement while past it; a balance already past the threshold fires nothing until
        it crosses."""
        data = validated(MonitorRequestSerializer, request.data)
        wallet = owned_wallet(request, wallet_id)
        monitor = services.monitor_create(
            wallet=wallet,
            currency=data["currency"],
            direction=Monitor.Direction(data["direction"].upper()),
            threshold=data["threshold"],
            description=data["description"],
        )
        return Response(BalanceMonitorSerializer(monitor).data, status=status.HTTP_201_CREATED)


class MonitorDetailView(_Scoped):
    @extend_schema(
        operation_id="delete_balance_monitor",
        summary="Delete a balance monitor",
        parameters=[WALLET_ID, MONITOR_ID],
        request=EmptyRequestSerializer,
        responses={204: None},
    )
    @idempotent(required=True)
    def delete(self, request, wallet_id, monitor_id):
        validated(EmptyRequestSerializer, request.data)
        wallet = owned_wallet(request, wallet_id)
        services.monitor_delete(monitor=selectors.monitor_get(wallet_id=wallet.id, monitor_id=monitor_id))
        return Response(status=status.HTTP_204_NO_CONTENT)

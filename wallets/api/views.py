"""Wallet endpoints: open, list, read (with balances) and the event stream. Each handler validates
with an input serializer, calls one service or selector, renders an output serializer."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from crowdpay.api.idempotency import idempotent
from crowdpay.api.inputs import refuse_query, validated
from crowdpay.api.permissions import WalletCreateScope, WalletReadScope
from crowdpay.errors import DomainError
from wallets import selectors, services
from wallets.errors import LedgerError, LedgerErrorCode

from .serializers import (
    EventPageSerializer,
    EventQuerySerializer,
    NewWalletRequestSerializer,
    WalletListQuerySerializer,
    WalletSerializer,
)

WALLET_ID = OpenApiParameter("wallet_id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The wallet id.")
UUID_PATTERN = r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"


def owned_wallet(request, wallet_id):
    """The caller's wallet (any wallet with `wallet:admin`); another owner's is 404, not 403."""
    wallet = selectors.wallet_get(wallet_id=wallet_id, owner_id=request.user.owner_filter())
    if wallet is None:
        raise LedgerError(f"wallet {wallet_id} not found", code=LedgerErrorCode.WALLET_NOT_FOUND)
    return wallet


class WalletViewSet(viewsets.ViewSet):
    lookup_field = "wallet_id"
    lookup_value_regex = UUID_PATTERN
    scopes = {"create": WalletCreateScope}

    def get_permissions(self):
        return [self.scopes.get(self.action, WalletReadScope)()]

    @extend_schema(
        operation_id="create_wallet",
        summary="Open a wallet",
        request=NewWalletRequestSerializer,
        responses={201: WalletSerializer},
    )
    @idempotent(required=True)
    def create(self, request):
        """Open a wallet with a zero balance in its base currency (emits `WalletOpened`)."""
        data = validated(NewWalletRequestSerializer, request.data)
        owner_id = data.get("owner_id") or request.user.id
        if owner_id != request.user.id and not request.user.is_admin:
            raise DomainError(
                "opening a wallet for another owner needs the `wallet:admin` scope",
                code="insufficient_scope",
                status=403,
            )
        wallet = services.wallet_open(
            owner_id=owner_id, kind=data["kind"], base_currency=data["base_currency"], metadata=data["metadata"]
        )
        return Response(
            WalletSerializer(wallet).data,
            status=status.HTTP_201_CREATED,
            headers={"Location": f"/v1/wallets/{wallet.id}"},
        )

    @extend_schema(
        operation_id="list_wallets",
        summary="List the caller's wallets",
        parameters=[WalletListQuerySerializer],
        responses={200: WalletSerializer(many=True)},
    )
    def list(self, request):
        """The caller's wallets, oldest first. With `wallet:admin`, `owner_id` lists another owner's."""
        query = validated(WalletListQuerySerializer, request.query_params)
        owner_id = query.get("owner_id") or request.user.id
        if owner_id != request.user.id and not request.user.is_admin:
            return Response([])  # another owner's wallets do not exist for this caller
        return Response(WalletSerializer(selectors.wallet_list(owner_id=owner_id), many=True).data)

    @extend_schema(
        operation_id="get_wallet", summary="Read a wallet", parameters=[WALLET_ID], responses={200: WalletSerializer}
    )
    def retrieve(self, request, wallet_id=None):
        """The wallet projection: status, version and per-currency balances (posted, held, available)."""
        refuse_query(request)
        return Response(WalletSerializer(owned_wallet(request, wallet_id)).data)

    @extend_schema(
        operation_id="list_wallet_events",
        summary="Read a wallet's event stream",
        parameters=[WALLET_ID, EventQuerySerializer],
        responses={200: EventPageSerializer},
    )
    @action(detail=True, methods=["get"])
    def events(self, request, wallet_id=None):
        """The wallet's HMAC-chained event stream in version order, `limit` events after version `after`.
        Follow `next_after` until it is null to read the whole stream."""
        query = validated(EventQuerySerializer, request.query_params)
        wallet = owned_wallet(request, wallet_id)
        page = selectors.event_page(wallet_id=wallet.id, after=query["after"], limit=query["limit"] + 1)
        more = len(page) > query["limit"]
        page = page[: query["limit"]]
        body = {"results": page, "next_after": page[-1].version if more else None}
        return Response(EventPageSerializer(body).data)

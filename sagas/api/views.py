"""Endpoints that move money (credit, debit, transfer: each starts a saga and answers 202 with
its Operation) and the Operation resource with its long-poll."""

from __future__ import annotations

import hashlib
import time

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from crowdpay.api.idempotency import HEADER, idempotent
from crowdpay.api.permissions import (
    WalletCreditScope,
    WalletDebitScope,
    WalletReadScope,
    WalletTransferScope,
)
from sagas import selectors, services
from wallets.api.views import WALLET_ID, validated

from .serializers import (
    CreditRequestSerializer,
    DebitRequestSerializer,
    OperationQuerySerializer,
    OperationSerializer,
    TransferRequestSerializer,
)

MAX_WAIT_SECONDS = 30
OPERATION_ID = OpenApiParameter(
    "operation_id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The operation id."
)


def saga_reference(request) -> str:
    """The saga's own idempotency reference: the caller and its Idempotency-Key. A long key is
    hashed so the reference stays within the saga's 200 characters."""
    key = request.headers[HEADER]
    if len(key) > 120:
        key = "sha256:" + hashlib.sha256(key.encode()).hexdigest()
    return f"{request.user.id}:{key}"


def accepted(saga) -> Response:
    operation = selectors.operation_as_dict(saga)
    return Response(
        OperationSerializer(operation).data,
        status=status.HTTP_202_ACCEPTED,
        headers={"Location": f"/v1/operations/{operation['id']}"},
    )


class CreditView(APIView):
    permission_classes = [WalletCreditScope]

    @extend_schema(
        operation_id="credit_wallet",
        summary="Credit a wallet (funding)",
        parameters=[WALLET_ID],
        request=CreditRequestSerializer,
        responses={202: OperationSerializer},
    )
    @idempotent(required=True)
    def post(self, request, wallet_id):
        """Start a FundingSaga: screening, confirmation with the payment provider, then the credit.
        Answers 202 with the Operation; wait for it with `GET /v1/operations/{id}?wait=30`."""
        data = validated(CreditRequestSerializer, request.data)
        saga = services.funding_start(
            wallet_id=wallet_id,
            amount=data["amount"],
            currency=data["currency"],
            source=data["source"],
            source_reference=data["reference"],
            reference=saga_reference(request),
            requested_by=str(request.user.id),
            owner_id=request.user.owner_filter(),  # another owner's wallet: 404
        )
        return accepted(saga)


class DebitView(APIView):
    permission_classes = [WalletDebitScope]

    @extend_schema(
        operation_id="debit_wallet",
        summary="Debit a wallet (withdrawal)",
        parameters=[WALLET_ID],
        request=DebitRequestSerializer,
        responses={202: OperationSerializer},
    )
    @idempotent(required=True)
    def post(self, request, wallet_id):
        """Start a WithdrawSaga: screening, a hold, the payout, then the capture (or the release of
        the hold if the payout fails). Answers 202 with the Operation."""
        data = validated(DebitRequestSerializer, request.data)
        saga = services.withdraw_start(
            wallet_id=wallet_id,
            amount=data["amount"],
            currency=data["currency"],
            destination=data["destination"],
            client_reference=data["reference"],
            reference=saga_reference(request),
            requested_by=str(request.user.id),
            owner_id=request.user.owner_filter(),  # another owner's wallet: 404
        )
        return accepted(saga)


class TransferView(APIView):
    permission_classes = [WalletTransferScope]
    problem_404_on_write = True

    @extend_schema(
        operation_id="transfer",
        summary="Transfer between wallets",
        request=TransferRequestSerializer,
        responses={202: OperationSerializer},
    )
    @idempotent(required=True)
    def post(self, request):
        """Move money from one of the caller's wallets to any wallet (`TransferInitiated` then
        `TransferCompleted` on the source). A same-currency transfer usually completes in the
        request (status SUCCEEDED); a refusal on its merits (funds, frozen wallet) is a FAILED
        Operation with its `error`."""
        data = validated(TransferRequestSerializer, request.data)
        saga = services.transfer_start(
            from_wallet_id=data["from_wallet_id"],
            to_wallet_id=data["to_wallet_id"],
            amount=data["amount"],
            currency=data["currency"],
            memo=data["memo"],
            reference=saga_reference(request),
            requested_by=str(request.user.id),
            owner_id=request.user.owner_filter(),  # another owner's wallet: 404
        )
        return accepted(saga)


class OperationView(APIView):
    permission_classes = [WalletReadScope]

    @extend_schema(
        operation_id="get_operation",
        summary="Read an operation (long-poll with ?wait=N)",
        parameters=[OPERATION_ID, OperationQuerySerializer],
        responses={200: OperationSerializer},
    )
    def get(self, request, operation_id):
        """The Operation. With `wait=N` (N ≤ 30) the answer waits until the operation is SUCCEEDED
        or FAILED, or its status changes, or N seconds pass, whichever comes first. No database
        transaction is open while it waits (each look is its own autocommit query)."""
        query = validated(OperationQuerySerializer, request.query_params)
        deadline = time.monotonic() + min(query["wait"], MAX_WAIT_SECONDS)
        owner = request.user.owner_filter()
        operation = selectors.operation_as_dict(selectors.operation_get(operation_id=operation_id, owner_id=owner))
        first_status = operation["status"]
        interval = settings.OPERATION_POLL_INTERVAL_SECONDS
        while operation["status"] == first_status and operation["status"] not in selectors.TERMINAL_STATUSES:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            time.sleep(min(interval, remaining))
            interval = min(interval * 1.5, 1.0)
            saga = selectors.operation_get(operation_id=operation_id, owner_id=owner)
            operation = selectors.operation_as_dict(saga)
        return Response(OperationSerializer(operation).data)

"""Endpoints that move money (credit, debit, transfer: each starts a saga) and the Operation
resource with its long-poll.

A write answers what is known when it returns: 200 with the Operation when it SUCCEEDED in the
request, 422 problem+json with the refusal's code (`insufficient_funds`, `wallet_frozen`,
`velocity_limit_exceeded` …) and the `operation_id` and `operation` when it FAILED there, and 202
only while something is still pending (a saga step for the worker, a review by an officer). The
Idempotency-Key store replays that status and body."""

from __future__ import annotations

import hashlib
import time

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from crowdpay.api.idempotency import HEADER, idempotent
from crowdpay.api.inputs import validated
from crowdpay.api.permissions import (
    WalletCreditScope,
    WalletDebitScope,
    WalletReadScope,
    WalletTransferScope,
)
from crowdpay.api.problems import CONTENT_TYPE, problem
from sagas import selectors, services
from wallets.api.views import WALLET_ID

from .serializers import (
    CreditRequestSerializer,
    DebitRequestSerializer,
    OperationProblemSerializer,
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


def answered(request, saga) -> Response:
    """The started saga's Operation under the status that says how far it got: 200 SUCCEEDED,
    422 problem+json FAILED (the refusal's code, with the operation), 202 still pending."""
    # `operation_as_dict` is already the Operation's JSON, field for field what OperationSerializer
    # (which documents it in the schema) would render from it: passing it through the serializer
    # again cost every write about 0.4 ms of CPU (sagas/tests/test_api.py keeps the two equal).
    operation = selectors.operation_as_dict(saga)
    headers = {"Location": f"/v1/operations/{operation['id']}"}
    if operation["status"] == selectors.SUCCEEDED:
        return Response(operation, status=status.HTTP_200_OK, headers=headers)
    if operation["status"] == selectors.FAILED:
        error = operation["error"] or {}
        body = problem(
            422,
            error.get("code") or "operation_failed",
            error.get("detail") or f"operation {operation['id']} failed",
            instance=request.path,
            operation_id=operation["id"],
            operation=operation,
        )
        # Returned, not raised: the FAILED saga row is the answer and must stay written.
        return Response(body, status=422, headers=headers, content_type=CONTENT_TYPE)
    return Response(operation, status=status.HTTP_202_ACCEPTED, headers=headers)


_EXAMPLE_WALLET = "0d9c8b7a-6f5e-4d3c-8b2a-1f0e9d8c7b6a"


def _operation_example(kind: str, status_: str, **fields) -> dict:
    return {
        "id": "5b0f3a4e-8f0c-4c3e-9d7a-2f1e6c9b8a10",
        "kind": kind,
        "status": status_,
        "amount": 100_00,
        "currency": "USD",
        "wallet_id": _EXAMPLE_WALLET,
        "counterparty_wallet_id": None,
        "created_at": "2024-06-01T12:00:00+00:00",
        "updated_at": "2024-06-01T12:00:00+00:00",
        "error": None,
        **fields,
    }


def outcome_schema(kind: str) -> dict:
    """`responses` and `examples` for a money write: 200 / 202 / 422 as `answered` gives them."""
    responses = {
        200: OpenApiResponse(OperationSerializer, description="The Operation SUCCEEDED within the request."),
        202: OpenApiResponse(
            OperationSerializer,
            description="Accepted and still pending: the Operation is PENDING (a saga step for the worker) or "
            "IN_REVIEW (a compliance officer decides). Follow it with `GET /v1/operations/{id}?wait=30`.",
        ),
        (422, CONTENT_TYPE): OpenApiResponse(
            OperationProblemSerializer,
            description="Refused: the Operation FAILED within the request; `code` is its error (`insufficient_funds`, "
            "`wallet_frozen`, `wallet_closed`, `velocity_limit_exceeded`, a screening decline …) and `operation_id` "
            "and `operation` name it. Or the Idempotency-Key was reused for another request "
            "(`idempotency_key_reused`, no operation).",
        ),
    }
    failed = _operation_example(
        kind,
        "FAILED",
        error={"code": "insufficient_funds", "detail": f"wallet {_EXAMPLE_WALLET} has 5000 USD available"},
    )
    examples = [
        OpenApiExample(
            "succeeded", value=_operation_example(kind, "SUCCEEDED"), response_only=True, status_codes=["200"]
        ),
        OpenApiExample("pending", value=_operation_example(kind, "PENDING"), response_only=True, status_codes=["202"]),
        OpenApiExample(
            "insufficient_funds",
            value=problem(
                422,
                "insufficient_funds",
                failed["error"]["detail"],
                operation_id=failed["id"],
                operation=failed,
            ),
            response_only=True,
            status_codes=["422"],
            media_type=CONTENT_TYPE,
        ),
    ]
    return {"responses": responses, "examples": examples}


class CreditView(APIView):
    permission_classes = [WalletCreditScope]

    @extend_schema(
        operation_id="credit_wallet",
        summary="Credit a wallet (funding)",
        parameters=[WALLET_ID],
        request=CreditRequestSerializer,
        **outcome_schema("FUNDING"),
    )
    @idempotent(required=True)
    def post(self, request, wallet_id):
        """Start a FundingSaga: screening, confirmation with the payment provider, then the credit.
        The worker runs those steps, so this answers 202 with the PENDING Operation; wait for it with
        `GET /v1/operations/{id}?wait=30`. A repeat of a finished saga answers its outcome (200 / 422)."""
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
        return answered(request, saga)


class DebitView(APIView):
    permission_classes = [WalletDebitScope]

    @extend_schema(
        operation_id="debit_wallet",
        summary="Debit a wallet (withdrawal)",
        parameters=[WALLET_ID],
        request=DebitRequestSerializer,
        **outcome_schema("WITHDRAW"),
    )
    @idempotent(required=True)
    def post(self, request, wallet_id):
        """Start a WithdrawSaga: screening, a hold, the payout, then the capture (or the release of
        the hold if the payout fails). The worker runs those steps, so this answers 202 with the
        PENDING Operation; a repeat of a finished saga answers its outcome (200 / 422)."""
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
        return answered(request, saga)


class TransferView(APIView):
    permission_classes = [WalletTransferScope]
    problem_404_on_write = True

    @extend_schema(
        operation_id="transfer",
        summary="Transfer between wallets",
        request=TransferRequestSerializer,
        **outcome_schema("TRANSFER"),
    )
    @idempotent(required=True)
    def post(self, request):
        """Move money from one of the caller's wallets to any wallet (`TransferInitiated` then
        `TransferCompleted` on the source). A same-currency transfer completes in the request: 200
        with the SUCCEEDED Operation. A refusal on its merits (funds, frozen wallet, velocity limit,
        a screening decline) is decided here too: 422 problem+json with its code, `operation_id` and
        `operation`. 202 only while something is pending: a conversion's FX step, or a review."""
        data = validated(TransferRequestSerializer, request.data)
        completion = request.idempotency
        saga = services.transfer_start(
            from_wallet_id=data["from_wallet_id"],
            to_wallet_id=data["to_wallet_id"],
            amount=data["amount"],
            currency=data["currency"],
            memo=data["memo"],
            reference=saga_reference(request),
            requested_by=str(request.user.id),
            owner_id=request.user.owner_filter(),  # another owner's wallet: 404
            # a transfer completed here: its answer stored in the movement's transaction
            alongside=completion.storing(lambda saga: answered(request, saga)),
        )
        return completion.stored or answered(request, saga)


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

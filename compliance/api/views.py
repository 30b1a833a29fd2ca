"""KYC/KYB endpoints: the caller submits and reads its own profile (there is no way to name another
owner's: every handler works on `request.user.id`), and the provider's signed callback."""

from __future__ import annotations

import json

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from compliance import services, webhooks
from compliance.models import KycProfile
from crowdpay.api.idempotency import idempotent
from crowdpay.api.inputs import refuse_query, validated
from crowdpay.api.permissions import KycReadScope, KycWriteScope
from crowdpay.api.problems import CONTENT_TYPE, ProblemSerializer
from crowdpay.errors import DomainError

from .serializers import (
    BusinessSubmissionSerializer,
    KycCallbackReceiptSerializer,
    KycCallbackSerializer,
    KycStatusSerializer,
    PersonSubmissionSerializer,
    kyc_status_body,
)

LOCATION = "/v1/kyc"


def _own_profile(request) -> KycProfile | None:
    return KycProfile.objects.filter(owner_id=request.user.id).first()


def _submitted(profile: KycProfile) -> Response:
    # The provider decides later (callback, poll): 202 while the profile is PENDING.
    body = KycStatusSerializer(kyc_status_body(profile)).data
    code = status.HTTP_202_ACCEPTED if profile.status == KycProfile.Status.PENDING else status.HTTP_200_OK
    return Response(body, status=code, headers={"Location": LOCATION})


class KycStatusView(APIView):
    permission_classes = [KycReadScope]

    @extend_schema(
        operation_id="get_kyc_status", summary="Read the caller's KYC/KYB status", responses=KycStatusSerializer
    )
    def get(self, request):
        """Status, kind, what is still missing, the provider's reasons when rejected or in review, and
        the submitted data masked. An owner who never submitted is UNVERIFIED with `next_step: submit`."""
        refuse_query(request)
        return Response(KycStatusSerializer(kyc_status_body(_own_profile(request))).data)


class KycPersonView(APIView):
    permission_classes = [KycWriteScope]

    @extend_schema(
        operation_id="submit_kyc_person",
        summary="Submit (or resubmit) the caller as a person (KYC)",
        request=PersonSubmissionSerializer,
        responses={
            202: KycStatusSerializer,
            (409, CONTENT_TYPE): OpenApiResponse(
                ProblemSerializer, description="A profile pending, in review or verified: `invalid_transition`."
            ),
        },
    )
    @idempotent(required=True)
    def post(self, request):
        """Stores the data encrypted, moves the profile to PENDING and sends the check to the KYC
        provider once committed. Allowed for a new or a REJECTED profile; 409 `invalid_transition`
        while one is pending, in review or verified."""
        data = validated(PersonSubmissionSerializer, request.data)
        profile = services.kyc_profile_submit(
            owner_id=request.user.id,
            kind=KycProfile.Kind.PERSON,
            country=data["country"],
            legal_name=data["legal_name"],
            date_of_birth=data["date_of_birth"],
            document_number=data["document_reference"],
            address=data["address"],
            email=data.get("email", ""),
        )
        return _submitted(profile)


class KycBusinessView(APIView):
    permission_classes = [KycWriteScope]

    @extend_schema(
        operation_id="submit_kyc_business",
        summary="Submit (or resubmit) the caller as a business (KYB)",
        request=BusinessSubmissionSerializer,
        responses={
            202: KycStatusSerializer,
            (409, CONTENT_TYPE): OpenApiResponse(
                ProblemSerializer, description="A profile pending, in review or verified: `invalid_transition`."
            ),
        },
    )
    @idempotent(required=True)
    def post(self, request):
        """As for a person; the beneficial owners (everyone holding 25 % or more) are stored encrypted."""
        data = validated(BusinessSubmissionSerializer, request.data)
        profile = services.kyc_profile_submit(
            owner_id=request.user.id,
            kind=KycProfile.Kind.BUSINESS,
            country=data["country"],
            legal_name=data["name"],
            document_number=data["registration_number"],
            address=data["address"],
            beneficial_owners=data["beneficial_owners"],
        )
        return _submitted(profile)


def _header(name: str, description: str) -> OpenApiParameter:
    return OpenApiParameter(name, OpenApiTypes.STR, OpenApiParameter.HEADER, required=True, description=description)


class KycCallbackView(APIView):
    """The KYC provider's callback. No bearer token: the provider's signature authenticates it
    (`compliance.webhooks`). No Idempotency-Key either: the callback's own id deduplicates it."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []

    @extend_schema(
        operation_id="kyc_provider_callback",
        summary="The KYC provider's signed callback",
        auth=[],
        request=KycCallbackSerializer,
        parameters=[
            _header(webhooks.ID_HEADER, "The callback's unique id (kept on the provider's retries)."),
            _header(webhooks.TIMESTAMP_HEADER, "Unix seconds when the callback was signed."),
            _header(
                webhooks.SIGNATURE_HEADER,
                "`v1,<base64 HMAC-SHA256(KYC_WEBHOOK_SECRET, id.timestamp.body)>`, space-separated if several.",
            ),
        ],
        responses={
            200: KycCallbackReceiptSerializer,
            (401, CONTENT_TYPE): OpenApiResponse(
                ProblemSerializer, description="Bad or missing signature, or a stale timestamp; nothing is written."
            ),
        },
    )
    def post(self, request):
        """Verified before anything is read: a bad signature, a stale or future timestamp is 401 and
        nothing is written. A callback id already processed answers `duplicate` and changes nothing."""
        refuse_query(request)
        raw = request._request.body
        callback_id = webhooks.verify(headers=request.headers, body=raw)
        try:
            document = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise DomainError("the callback body is not JSON", code="malformed_request") from None
        data = validated(KycCallbackSerializer, document)
        outcome = services.kyc_callback_receive(
            callback_id=callback_id,
            reference=data["reference"],
            status=data["status"],
            reasons=data.get("reasons", []),
            check_id=data.get("id", ""),
        )
        return Response(KycCallbackReceiptSerializer({"received": True, "outcome": outcome}).data)

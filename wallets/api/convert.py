"""Conversion inside one wallet, in two steps: `POST /v1/wallets/{id}/quotes` fixes a rate and both
amounts for `FX_QUOTE_TTL_SECONDS` and stores them; `POST /v1/wallets/{id}/convert` with that
quote's id moves the money (CurrencyConverted) at most once. The client never states a rate.

Both take the `wallet:transfer` scope: a conversion moves the caller's own money through the house
FX account, as a cross-currency transfer between two of its wallets already does, so a scope of its
own would protect nothing more. Both act on the caller's own wallets only (another owner's is 404).
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from crowdpay.api.idempotency import idempotent
from crowdpay.api.inputs import InputSerializer, validated
from crowdpay.api.permissions import WalletTransferScope
from wallets import services
from wallets.api.fields import CurrencyField, MinorUnitsField
from wallets.fx import ROUNDING
from wallets.models import FxQuote

from .views import WALLET_ID, owned_wallet

# --- bodies ---------------------------------------------------------------------------------------


class QuoteRequestSerializer(InputSerializer):
    from_currency = CurrencyField(help_text="The currency the wallet gives (ISO 4217).")
    to_currency = CurrencyField(help_text="The currency the wallet receives (ISO 4217).")
    amount = MinorUnitsField(help_text="How much of `from_currency` to convert, in its minor units.")

    class Meta:
        ref_name = "QuoteRequest"

    def validate(self, attrs: dict) -> dict:
        if attrs["from_currency"] == attrs["to_currency"]:
            raise serializers.ValidationError(
                {"to_currency": "a conversion needs two different currencies"}, code="same_currency"
            )
        return attrs


class QuoteSerializer(serializers.Serializer):
    id = serializers.UUIDField(help_text="Pass as `quote_id` to `POST /v1/wallets/{id}/convert`.")
    wallet_id = serializers.UUIDField()
    from_currency = serializers.CharField()
    from_amount = serializers.IntegerField(help_text="Minor units of `from_currency` the wallet gives.")
    to_currency = serializers.CharField()
    to_amount = serializers.IntegerField(
        help_text="Minor units of `to_currency` the wallet receives: `from_amount` at `rate`, rounded down."
    )
    rate = serializers.DecimalField(
        max_digits=30,
        decimal_places=12,
        coerce_to_string=True,
        help_text="One unit of `from_currency` buys `rate` units of `to_currency` (a decimal string).",
    )
    rate_source = serializers.CharField(help_text="Where the rate comes from (the FX table or service).")
    rounding = serializers.SerializerMethodField(
        help_text="`down`: the remainder below one minor unit stays with the house FX account."
    )
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField(help_text="Convert before this instant, or ask for a new quote.")

    class Meta:
        ref_name = "Quote"

    @extend_schema_field(OpenApiTypes.STR)
    def get_rounding(self, quote: FxQuote) -> str:
        return ROUNDING


class ConvertRequestSerializer(InputSerializer):
    quote_id = serializers.UUIDField(help_text="A quote of this wallet, unexpired and unused.")

    class Meta:
        ref_name = "ConvertRequest"


class ConversionSerializer(serializers.Serializer):
    quote_id = serializers.UUIDField(source="id")
    wallet_id = serializers.UUIDField()
    journal_id = serializers.UUIDField(help_text="The journal entry of the conversion.")
    from_currency = serializers.CharField()
    from_amount = serializers.IntegerField()
    to_currency = serializers.CharField()
    to_amount = serializers.IntegerField()
    rate = serializers.DecimalField(max_digits=30, decimal_places=12, coerce_to_string=True)
    rate_source = serializers.CharField()
    rounding = serializers.SerializerMethodField(help_text="`down`, as for the quote.")
    remainder_minor = serializers.SerializerMethodField(
        help_text="What rounding down left out, in minor units of `to_currency` (a decimal string): "
        "kept by the house FX account."
    )
    converted_at = serializers.DateTimeField(source="used_at")

    class Meta:
        ref_name = "Conversion"

    @extend_schema_field(OpenApiTypes.STR)
    def get_rounding(self, quote: FxQuote) -> str:
        return ROUNDING

    @extend_schema_field(OpenApiTypes.STR)
    def get_remainder_minor(self, quote: FxQuote) -> str:
        return str(services.fx_quote_conversion(quote).remainder)


_QUOTE_EXAMPLE = {
    "id": "8e4b8c0e-3f0a-4a57-9d43-2b0c5f3b7e21",
    "wallet_id": "0d9c8b7a-6f5e-4d3c-8b2a-1f0e9d8c7b6a",
    "from_currency": "USD",
    "from_amount": 100_00,
    "to_currency": "JPY",
    "to_amount": 15_712,
    "rate": "157.123400000000",
    "rate_source": "admin",
    "rounding": "down",
    "created_at": "2024-06-01T12:00:00Z",
    "expires_at": "2024-06-01T12:00:30Z",
}


# --- views ----------------------------------------------------------------------------------------


class QuoteView(APIView):
    permission_classes = [WalletTransferScope]

    @extend_schema(
        operation_id="quote_conversion",
        summary="Quote a conversion inside a wallet",
        parameters=[WALLET_ID],
        request=QuoteRequestSerializer,
        responses={201: QuoteSerializer},
        examples=[OpenApiExample("USD to JPY", value=_QUOTE_EXAMPLE, response_only=True, status_codes=["201"])],
    )
    @idempotent(required=True)
    def post(self, request, wallet_id):
        """Fix the rate for converting `amount` of `from_currency` into `to_currency` in this wallet:
        the rate (a decimal string) and its source, the converted amount rounded down to the minor
        unit, and when the quote expires (`FX_QUOTE_TTL_SECONDS`, 30 s by default). Nothing moves
        yet, and funds are not checked until the conversion. Like every write it takes an
        Idempotency-Key: a retry with the same key answers the same quote. Errors: the same
        currency twice or an unknown one (400), a frozen or closed wallet (422), no rate for the
        pair (422 `fx_rate_unavailable`), the FX service down (503 `fx_unavailable`)."""
        data = validated(QuoteRequestSerializer, request.data)
        wallet = owned_wallet(request, wallet_id)
        quote = services.fx_quote_create(
            wallet_id=wallet.id,
            from_currency=data["from_currency"],
            to_currency=data["to_currency"],
            amount=data["amount"],
        )
        return Response(QuoteSerializer(quote).data, status=status.HTTP_201_CREATED)


class ConvertView(APIView):
    permission_classes = [WalletTransferScope]

    @extend_schema(
        operation_id="convert_currency",
        summary="Convert money inside a wallet at a quoted rate",
        parameters=[WALLET_ID],
        request=ConvertRequestSerializer,
        responses={
            200: OpenApiResponse(ConversionSerializer, description="Converted within the request."),
        },
    )
    @idempotent(required=True)
    def post(self, request, wallet_id):
        """Convert at the quote's rate: the wallet gives `from_amount`, receives `to_amount`, through
        the house FX account (which keeps the rounding remainder), and its stream records
        `CurrencyConverted` with the rate, its source and the remainder. The outcome is decided in
        the request: 200 with the conversion, or a refusal: `quote_expired`, `quote_used`,
        `insufficient_funds`, `wallet_frozen`, `wallet_closed` (422); `quote_not_found` (404, also
        for another wallet's quote)."""
        data = validated(ConvertRequestSerializer, request.data)
        wallet = owned_wallet(request, wallet_id)
        services.currency_convert(wallet_id=wallet.id, quote_id=data["quote_id"])
        quote = FxQuote.objects.get(pk=data["quote_id"])
        return Response(ConversionSerializer(quote).data, status=status.HTTP_200_OK)

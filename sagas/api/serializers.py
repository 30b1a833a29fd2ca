"""Request and response bodies of the money-moving endpoints and the Operation resource,
named as the SDK names its models."""

from __future__ import annotations

from rest_framework import serializers

from crowdpay.api.inputs import InputSerializer
from crowdpay.api.problems import ProblemSerializer
from wallets.api.fields import CurrencyField, MinorUnitsField

# The enums of an operation as the OpenAPI schema names them (SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]).
OPERATION_KINDS = [("FUNDING", "FUNDING"), ("WITHDRAW", "WITHDRAW"), ("TRANSFER", "TRANSFER")]
OPERATION_STATUSES = [
    ("PENDING", "PENDING"),
    ("IN_REVIEW", "IN_REVIEW"),
    ("SUCCEEDED", "SUCCEEDED"),
    ("FAILED", "FAILED"),
]


class CreditRequestSerializer(InputSerializer):
    amount = MinorUnitsField()
    currency = CurrencyField()
    # the API field `source` shadows Field.source (a by-design DRF clash: the field name is the API)
    source = serializers.CharField(  # type: ignore[assignment]  # API field name, see above
        max_length=32, default="CARD", help_text="Funding instrument, e.g. `CARD`."
    )
    reference = serializers.CharField(
        max_length=200, help_text="The payment provider's charge id, which the funding saga confirms."
    )

    class Meta:
        ref_name = "CreditRequest"


class DebitRequestSerializer(InputSerializer):
    amount = MinorUnitsField()
    currency = CurrencyField()
    destination = serializers.CharField(max_length=200, help_text="Where the payout goes (e.g. a bank account id).")
    reference = serializers.CharField(
        max_length=200,
        required=False,
        default="",
        allow_blank=True,
        help_text="The client's own reference, kept on the withdraw saga (its memo).",
    )

    class Meta:
        ref_name = "DebitRequest"


class TransferRequestSerializer(InputSerializer):
    from_wallet_id = serializers.UUIDField()
    to_wallet_id = serializers.UUIDField()
    amount = MinorUnitsField()
    currency = CurrencyField()
    memo = serializers.CharField(max_length=500, required=False, default="", allow_blank=True)

    class Meta:
        ref_name = "TransferRequest"

    def validate(self, attrs: dict) -> dict:
        if attrs["from_wallet_id"] == attrs["to_wallet_id"]:
            raise serializers.ValidationError(
                {"to_wallet_id": "a wallet cannot transfer to itself"}, code="same_wallet"
            )
        return attrs


class OperationQuerySerializer(InputSerializer):
    wait = serializers.IntegerField(
        required=False,
        default=0,
        min_value=0,
        help_text="Long-poll: wait up to this many seconds (capped at 30) for the operation to finish "
        "or change status.",
    )


class OperationErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    detail = serializers.CharField()

    class Meta:
        ref_name = "OperationError"


class OperationSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    kind = serializers.ChoiceField(choices=OPERATION_KINDS)
    status = serializers.ChoiceField(
        choices=OPERATION_STATUSES,
        help_text="PENDING while the saga runs; IN_REVIEW while a compliance officer decides; "
        "SUCCEEDED or FAILED at the end.",
    )
    amount = serializers.IntegerField(help_text="Minor units.")
    currency = serializers.CharField()
    wallet_id = serializers.UUIDField()
    counterparty_wallet_id = serializers.UUIDField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    error = OperationErrorSerializer(allow_null=True, help_text="Why it failed; null unless FAILED.")

    class Meta:
        ref_name = "Operation"


class OperationProblemSerializer(ProblemSerializer):
    """The problem of a money write refused within the request: its operation exists, FAILED."""

    operation_id = serializers.UUIDField(required=False, help_text="The FAILED operation's id.")
    operation = OperationSerializer(required=False, help_text="The FAILED operation.")

    class Meta:
        ref_name = "OperationProblem"

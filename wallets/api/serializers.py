"""Request and response bodies of the wallet endpoints, named as the SDK names its models."""

from __future__ import annotations

import json

from rest_framework import serializers

from crowdpay.api.inputs import InputSerializer
from wallets.api.fields import CurrencyField
from wallets.models import Wallet

METADATA_MAX_BYTES = 16 * 1024


class NewWalletRequestSerializer(InputSerializer):
    owner_id = serializers.UUIDField(
        required=False,
        help_text="The owner (a user or CrowdPod id). Defaults to the caller; another owner needs `wallet:admin`.",
    )
    kind = serializers.ChoiceField(choices=Wallet.Kind.choices, default=Wallet.Kind.USER)
    base_currency = CurrencyField()
    metadata = serializers.DictField(required=False, default=dict, help_text="Free-form JSON object (≤ 16 KiB).")

    class Meta:
        ref_name = "NewWalletRequest"

    def validate_metadata(self, value: dict) -> dict:
        if len(json.dumps(value, separators=(",", ":"))) > METADATA_MAX_BYTES:
            raise serializers.ValidationError(f"metadata is limited to {METADATA_MAX_BYTES} bytes of JSON")
        return value


class BalanceSerializer(serializers.Serializer):
    currency = serializers.CharField()
    posted = serializers.IntegerField(help_text="Settled money, minor units.")
    held = serializers.IntegerField(help_text="Reserved by pending withdrawals and transfers, minor units.")
    available = serializers.IntegerField(help_text="posted - held: what the wallet can spend.")

    class Meta:
        ref_name = "Balance"


class WalletSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    owner_id = serializers.UUIDField()
    kind = serializers.ChoiceField(choices=Wallet.Kind.choices)
    status = serializers.ChoiceField(choices=Wallet.Status.choices)
    base_currency = serializers.CharField()
    metadata = serializers.DictField()
    version = serializers.IntegerField(help_text="The number of the last event in the wallet's stream.")
    created_at = serializers.DateTimeField()
    balances = BalanceSerializer(many=True, source="balances.all")

    class Meta:
        ref_name = "Wallet"


class WalletListQuerySerializer(InputSerializer):
    owner_id = serializers.UUIDField(required=False, help_text="Another owner's wallets (needs `wallet:admin`).")


class EventQuerySerializer(InputSerializer):
    after = serializers.IntegerField(
        required=False, default=0, min_value=0, help_text="Cursor: return events with a version above this one."
    )
    limit = serializers.IntegerField(required=False, default=100, min_value=1, max_value=500)


class EventSerializer(serializers.Serializer):
    wallet_id = serializers.UUIDField()
    version = serializers.IntegerField()
    type = serializers.CharField()
    data = serializers.DictField()  # type: ignore[assignment]  # API field shadows Serializer.data by design
    occurred_at = serializers.DateTimeField()
    uid = serializers.UUIDField(help_text="The event's public id.")
    key_id = serializers.CharField(help_text="Which HMAC key made this event's mac.")
    mac = serializers.CharField(
        help_text="HMAC-SHA256(key[key_id], canonical_json({wallet_id, uid, type, data, occurred_at}))."
    )
    link = serializers.CharField(
        help_text="sha256(previous event's link ‖ mac ‖ version); the first event's previous link is 64 zeros."
    )

    class Meta:
        ref_name = "Event"


class EventPageSerializer(serializers.Serializer):
    results = EventSerializer(many=True)
    next_after = serializers.IntegerField(
        allow_null=True, help_text="Pass as `after` for the next page; null when this page is the last."
    )

    class Meta:
        ref_name = "EventPage"

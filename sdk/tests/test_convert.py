"""Conversion inside a wallet through the SDK: `quote()` then `convert()`, against the live service,
and the request models on their own."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal

import pytest
from crowdpay_connect_sdk import errors
from crowdpay_connect_sdk.models import ConvertRequest, QuoteRequest
from crowdpay_connect_sdk.wallet import RetryPolicy, WalletClient

from sagas.models import FxRate
from wallets.integrity import reconcile
from wallets.tests.factories import balance_of, funded

from .conftest import token


def test_conversion_requests_serialise_as_the_api_names_them():
    assert QuoteRequest(from_currency="USD", to_currency="JPY", amount=100_00).to_dict() == {
        "from_currency": "USD",
        "to_currency": "JPY",
        "amount": 100_00,
    }
    quote_id = uuid.uuid4()
    assert ConvertRequest(quote_id=str(quote_id)).to_generated().quote_id == quote_id
    with pytest.raises(TypeError, match="minor units"):
        QuoteRequest(from_currency="USD", to_currency="JPY", amount=1.5)
    with pytest.raises(ValueError, match="two different currencies"):
        QuoteRequest(from_currency="USD", to_currency="USD", amount=1)
    with pytest.raises(ValueError, match="quote_id"):
        ConvertRequest(quote_id="q-1").to_dict()


@pytest.mark.slow
def test_quote_then_convert_once(service):
    FxRate.objects.create(base="USD", quote="JPY", rate=Decimal("157.1234"), source="admin")
    caller = uuid.uuid4()
    wallet = funded(amount=200_00, owner_id=caller)

    async def scenario():
        async with WalletClient(
            base_url=service.url, api_key=token(caller), retry=RetryPolicy(max_retries=0)
        ) as client:
            quote = await client.quote(wallet.id, QuoteRequest(from_currency="USD", to_currency="JPY", amount=100_00))
            conversion = await client.convert(wallet.id, quote, idempotency_key="convert-1")
            replayed = await client.convert(wallet.id, quote.id, idempotency_key="convert-1")
            with pytest.raises(errors.Refused) as used:
                await client.convert(wallet.id, quote)
            return quote, conversion, replayed, used.value

    quote, conversion, replayed, used = asyncio.run(scenario())
    assert (quote.from_amount, quote.to_amount, Decimal(quote.rate)) == (100_00, 15_712, Decimal("157.1234"))
    assert (quote.rate_source, quote.rounding) == ("admin", "down") and quote.expires_at > quote.created_at
    assert (conversion.quote_id, conversion.to_amount, Decimal(conversion.remainder_minor)) == (
        quote.id,
        15_712,
        Decimal("0.34"),
    )
    assert replayed.to_dict() == conversion.to_dict()  # the same key answers the first conversion
    assert (used.code, used.status) == ("quote_used", 422)
    assert balance_of(wallet) == (100_00, 0) and balance_of(wallet, "JPY") == (15_712, 0)
    assert reconcile() == []

"""Conversion inside one wallet: quotes (`POST /v1/wallets/{id}/quotes`, `services.fx_quote_create`)
and conversions (`POST /v1/wallets/{id}/convert`, `services.currency_convert(quote_id=...)`)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.utils import timezone

from crowdpay.tests.fixtures import client_for
from sagas.gateways import GatewayUnavailable
from sagas.models import FxRate
from wallets import services
from wallets.errors import LedgerError
from wallets.fx import Quote
from wallets.integrity import reconcile
from wallets.models import Event, FxQuote, JournalEntry, Posting
from wallets.tests.factories import WalletFactory, balance_of, funded

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"


@pytest.fixture(autouse=True)
def rates():
    """The built-in FX table (the sandbox gateway): only these pairs and their inverses."""
    for base, quote, rate in [
        ("USD", "JPY", "157.1234"),
        ("JPY", "USD", "0.0064"),
        ("USD", "KWD", "0.3071"),
        ("KWD", "JPY", "512.37"),
        ("USD", "EUR", "0.9"),
    ]:
        FxRate.objects.create(base=base, quote=quote, rate=Decimal(rate), source="admin")


def code_of(call, **kwargs) -> str:
    with pytest.raises(LedgerError) as info:
        call(**kwargs)
    return info.value.code


def written(wallet) -> tuple:
    """Everything a conversion could have written for `wallet`."""
    return (
        list(Event.objects.filter(wallet=wallet).values_list("version", "type")),
        sorted(wallet.balances.values_list("currency", "posted", "held")),
        Posting.objects.filter(wallet=wallet).count(),
        list(FxQuote.objects.filter(wallet=wallet).values_list("used_at", "journal_id")),
    )


def assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["status"] == status and body["code"] == code, body
    return body


def quote_for(wallet, amount: int, from_currency: str = "USD", to_currency: str = "JPY") -> FxQuote:
    return services.fx_quote_create(
        wallet_id=wallet.id, from_currency=from_currency, to_currency=to_currency, amount=amount
    )


# --- services: rates and rounding -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "target", "amount", "rate", "to_amount", "remainder"),
    [
        # 100.00 USD at 157.1234 = 15,712.34 JPY: 15,712 yen, 0.34 yen to the house
        ("USD", "JPY", 100_00, "157.123400000000", 15_712, "0.34"),
        # 15,712 JPY at 0.0064 = 100.5568 USD: 100.55, 0.68 of a cent to the house
        ("JPY", "USD", 15_712, "0.006400000000", 100_55, "0.68"),
        # 123.45 USD at 0.3071 = 37.911495 KWD: 37.911 (three decimals), 0.495 of a fils to the house
        ("USD", "KWD", 123_45, "0.307100000000", 37_911, "0.495"),
        # 1.000 KWD at 512.37 = 512.37 JPY: 512 yen
        ("KWD", "JPY", 1_000, "512.370000000000", 512, "0.37"),
        # EUR/USD is only set the other way round: its inverse, to 12 places, says so in its source
        ("EUR", "USD", 90_00, "1.111111111111", 99_99, "0.999999999"),
    ],
)
def test_a_quote_states_the_rate_and_rounds_down_to_the_minor_unit(source, target, amount, rate, to_amount, remainder):
    wallet = funded(amount=1, currency=source)
    quote = quote_for(wallet, amount, source, target)
    assert (quote.from_currency, quote.from_amount, quote.to_currency) == (source, amount, target)
    assert str(quote.rate) == rate and quote.to_amount == to_amount
    assert services.fx_quote_conversion(quote).remainder == Decimal(remainder)
    assert quote.rate_source == ("admin (inverse)" if source == "EUR" else "admin")
    assert quote.used_at is None and quote.journal_id is None


def test_a_quote_expires_after_the_configured_ttl(settings):
    settings.FX_QUOTE_TTL_SECONDS = 45
    quote = quote_for(funded(amount=100_00), 100_00)
    assert quote.expires_at - quote.created_at == timedelta(seconds=45)


def test_a_quote_needs_a_rate_an_active_wallet_and_two_currencies():
    wallet = funded(amount=100_00)
    assert code_of(quote_for, wallet=wallet, amount=100, to_currency="CHF") == "fx_rate_unavailable"
    assert code_of(quote_for, wallet=wallet, amount=100, to_currency="USD") == "currency_mismatch"
    assert code_of(quote_for, wallet=wallet, amount=100, to_currency="XXX") == "unsupported_currency"
    services.wallet_freeze(wallet_id=wallet.id, actor="officer", reason="review")
    assert code_of(quote_for, wallet=wallet, amount=100) == "wallet_frozen"
    assert not FxQuote.objects.exists()


def test_an_fx_service_outage_is_a_503_to_retry():
    class Down:
        def quote(self, *, base, quote):
            raise GatewayUnavailable("fx-http: ConnectTimeout")

    wallet = funded(amount=100_00)
    with pytest.raises(LedgerError) as info:
        services.fx_quote_create(wallet_id=wallet.id, from_currency="USD", to_currency="JPY", amount=1, rates=Down())
    assert (info.value.code, info.value.status) == ("fx_unavailable", 503)


def test_the_stored_rate_is_the_gateways_rounded_to_twelve_places():
    class Remote:
        def quote(self, *, base, quote):
            return Quote(base, quote, Decimal("157.12345678901234567"), "remote-fx", "rq_1")

    wallet = funded(amount=100_00)
    quote = services.fx_quote_create(
        wallet_id=wallet.id, from_currency="USD", to_currency="JPY", amount=100_00, rates=Remote()
    )
    assert quote.rate == Decimal("157.123456789012")
    assert (quote.rate_source, quote.rate_quote_id, quote.to_amount) == ("remote-fx", "rq_1", 15_712)


# --- services: converting -------------------------------------------------------------------------


def test_converting_a_quote_moves_the_money_through_the_house_fx_account():
    wallet = funded(amount=200_00)
    quote = quote_for(wallet, 100_00)
    journal_id = services.currency_convert(wallet_id=wallet.id, quote_id=quote.id)

    assert balance_of(wallet) == (100_00, 0)
    assert balance_of(wallet, "JPY") == (15_712, 0)
    entry = JournalEntry.objects.get(pk=journal_id)
    assert (entry.kind, entry.reference) == ("conversion", f"fxquote:{quote.id}")
    legs = sorted(entry.postings.values_list("account", "currency", "amount"))
    assert legs == sorted(
        [
            (f"wallet:{wallet.id}", "USD", -100_00),
            ("fx:USD", "USD", 100_00),
            ("fx:JPY", "JPY", -15_712),
            (f"wallet:{wallet.id}", "JPY", 15_712),
        ]
    )
    # each currency balances, across the whole ledger too
    for currency in ("USD", "JPY"):
        assert entry.postings.filter(currency=currency).aggregate(total=Sum("amount"))["total"] == 0
    quote.refresh_from_db()
    assert quote.used_at is not None and quote.journal_id == journal_id
    assert reconcile() == []


def test_the_event_carries_the_rate_its_source_and_the_remainder():
    wallet = funded(amount=200_00)
    quote = quote_for(wallet, 100_00)
    journal_id = services.currency_convert(wallet_id=wallet.id, quote_id=quote.id)
    event = Event.objects.filter(wallet=wallet).latest("version")
    assert event.type == "CurrencyConverted"
    # the remainder is exact: 100.00 USD at 157.1234 is 15,712.34 yen, 0.34 of one kept by the house
    assert Decimal(event.data.pop("remainder_minor")) == Decimal("0.34")
    assert event.data == {
        "from_currency": "USD",
        "from_amount": 100_00,
        "to_currency": "JPY",
        "to_amount": 15_712,
        "rate": "157.123400000000",
        "rate_source": "admin",
        "quote_id": quote.rate_quote_id,
        "rounding": "down",
        "fx_quote_id": str(quote.id),
        "reference": f"fxquote:{quote.id}",
        "journal_id": str(journal_id),
    }


def test_a_quote_converts_once():
    wallet = funded(amount=200_00)
    quote = quote_for(wallet, 50_00)
    services.currency_convert(wallet_id=wallet.id, quote_id=quote.id)
    before = written(wallet)
    assert code_of(services.currency_convert, wallet_id=wallet.id, quote_id=quote.id) == "quote_used"
    assert written(wallet) == before
    assert balance_of(wallet) == (150_00, 0)


def test_a_quote_already_converted_under_the_lock_is_used_not_replayed():
    """Two converts of one quote racing: the second finds the first's entry under the wallet lock."""
    wallet = funded(amount=200_00)
    quote = quote_for(wallet, 50_00)
    services.currency_convert(wallet_id=wallet.id, quote_id=quote.id)
    FxQuote.objects.filter(pk=quote.pk).update(used_at=None)  # as the loser read it, before the winner's commit
    assert code_of(services.currency_convert, wallet_id=wallet.id, quote_id=quote.id) == "quote_used"
    assert balance_of(wallet) == (150_00, 0)


def test_an_expired_quote_is_refused_with_nothing_written():
    wallet = funded(amount=200_00)
    quote = quote_for(wallet, 100_00)
    before = written(wallet)
    later = quote.expires_at + timedelta(microseconds=1)
    assert code_of(services.currency_convert, wallet_id=wallet.id, quote_id=quote.id, now=later) == "quote_expired"
    assert written(wallet) == before


def test_insufficient_funds_are_refused_with_nothing_written():
    wallet = funded(amount=99_99)
    quote = quote_for(wallet, 100_00)
    before = written(wallet)
    assert code_of(services.currency_convert, wallet_id=wallet.id, quote_id=quote.id) == "insufficient_funds"
    assert written(wallet) == before
    assert not JournalEntry.objects.filter(reference=f"fxquote:{quote.id}").exists()


def test_a_currency_the_wallet_never_held_is_insufficient_funds():
    wallet = funded(amount=100_00)
    quote = quote_for(wallet, 1_000, "KWD", "JPY")
    assert code_of(services.currency_convert, wallet_id=wallet.id, quote_id=quote.id) == "insufficient_funds"


@pytest.mark.parametrize(("change", "code"), [("freeze", "wallet_frozen"), ("close", "wallet_closed")])
def test_a_wallet_frozen_or_closed_after_quoting_cannot_convert(change, code):
    wallet = WalletFactory() if change == "close" else funded(amount=100_00)
    quote = quote_for(wallet, 100_00)
    getattr(services, f"wallet_{change}")(wallet_id=wallet.id, actor="officer", reason="review")
    assert code_of(services.currency_convert, wallet_id=wallet.id, quote_id=quote.id) == code
    quote.refresh_from_db()
    assert quote.used_at is None


def test_another_wallets_quote_is_not_found():
    mine, other = funded(amount=100_00), funded(amount=100_00)
    quote = quote_for(other, 10_00)
    assert code_of(services.currency_convert, wallet_id=mine.id, quote_id=quote.id) == "quote_not_found"
    assert code_of(services.currency_convert, wallet_id=mine.id, quote_id=uuid.uuid4()) == "quote_not_found"


def test_a_quote_or_a_stated_conversion_not_both():
    wallet = funded(amount=100_00)
    quote = quote_for(wallet, 10_00)
    with pytest.raises(TypeError):
        services.currency_convert(wallet_id=wallet.id, quote_id=quote.id, reference="x")
    with pytest.raises(TypeError):
        services.currency_convert(wallet_id=wallet.id)


# --- API ------------------------------------------------------------------------------------------


def post_quote(api, wallet, **body):
    return api.post(
        f"/v1/wallets/{wallet.id}/quotes",
        {"from_currency": "USD", "to_currency": "JPY", "amount": 100_00, **body},
        format="json",
        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
    )


def post_convert(api, wallet, quote_id, key: str | None = None):
    return api.post(
        f"/v1/wallets/{wallet.id}/convert",
        {"quote_id": str(quote_id)},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key or str(uuid.uuid4()),
    )


def test_api_quote_then_convert(api, caller, settings):
    settings.FX_QUOTE_TTL_SECONDS = 30
    wallet = funded(amount=200_00, owner_id=caller)
    response = post_quote(api, wallet)
    assert response.status_code == 201, response.content
    quote = response.json()
    assert {k: quote[k] for k in ("from_currency", "from_amount", "to_currency", "to_amount")} == {
        "from_currency": "USD",
        "from_amount": 100_00,
        "to_currency": "JPY",
        "to_amount": 15_712,
    }
    assert (quote["rate"], quote["rate_source"], quote["rounding"]) == ("157.123400000000", "admin", "down")
    assert quote["wallet_id"] == str(wallet.id)
    stored = FxQuote.objects.get(pk=quote["id"])
    assert stored.expires_at - stored.created_at == timedelta(seconds=30)

    response = post_convert(api, wallet, quote["id"])
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["quote_id"] == quote["id"] and body["wallet_id"] == str(wallet.id)
    assert (body["from_amount"], body["to_amount"], body["rate"]) == (100_00, 15_712, "157.123400000000")
    assert (Decimal(body["remainder_minor"]), body["rounding"], body["rate_source"]) == (
        Decimal("0.34"),
        "down",
        "admin",
    )
    assert JournalEntry.objects.filter(pk=body["journal_id"], kind="conversion").exists()
    assert body["converted_at"]
    assert balance_of(wallet) == (100_00, 0) and balance_of(wallet, "JPY") == (15_712, 0)
    assert reconcile() == []


def test_api_convert_replays_its_idempotency_key_with_one_effect(api, caller):
    wallet = funded(amount=200_00, owner_id=caller)
    quote_id = post_quote(api, wallet).json()["id"]
    first = post_convert(api, wallet, quote_id, key="convert-1")
    again = post_convert(api, wallet, quote_id, key="convert-1")
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert Event.objects.filter(wallet=wallet, type="CurrencyConverted").count() == 1
    assert balance_of(wallet) == (100_00, 0)
    # another key for the same quote is a second use
    assert_problem(post_convert(api, wallet, quote_id, key="convert-2"), 422, "quote_used")
    assert balance_of(wallet) == (100_00, 0)


def test_api_convert_needs_an_idempotency_key(api, caller):
    wallet = funded(amount=200_00, owner_id=caller)
    quote_id = post_quote(api, wallet).json()["id"]
    response = api.post(f"/v1/wallets/{wallet.id}/convert", {"quote_id": quote_id}, format="json")
    assert_problem(response, 400, "idempotency_key_required")
    assert balance_of(wallet) == (200_00, 0)


def test_api_expired_quote_is_422_with_nothing_written(api, caller):
    wallet = funded(amount=200_00, owner_id=caller)
    quote_id = post_quote(api, wallet).json()["id"]
    FxQuote.objects.filter(pk=quote_id).update(expires_at=timezone.now() - timedelta(seconds=1))
    before = written(wallet)
    assert_problem(post_convert(api, wallet, quote_id), 422, "quote_expired")
    assert written(wallet) == before


def test_api_insufficient_funds_is_422_with_nothing_written(api, caller):
    wallet = funded(amount=50_00, owner_id=caller)
    quote_id = post_quote(api, wallet).json()["id"]
    before = written(wallet)
    assert_problem(post_convert(api, wallet, quote_id), 422, "insufficient_funds")
    assert written(wallet) == before


def test_api_another_owners_wallet_is_404(api, caller):
    theirs = funded(amount=200_00)
    assert_problem(post_quote(api, theirs), 404, "wallet_not_found")
    their_quote = quote_for(theirs, 100_00)
    assert_problem(post_convert(api, theirs, their_quote.id), 404, "wallet_not_found")
    # and a quote of another wallet, even through one's own, is unknown
    mine = funded(amount=200_00, owner_id=caller)
    assert_problem(post_convert(api, mine, their_quote.id), 404, "quote_not_found")
    assert balance_of(theirs) == (200_00, 0) and balance_of(mine) == (200_00, 0)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"to_currency": "USD"}, "validation_error"),  # the same currency twice
        ({"to_currency": "XXX"}, "unsupported_currency"),
        ({"from_currency": "ABC"}, "unsupported_currency"),
        ({"amount": "100"}, "invalid_amount"),
        ({"amount": 0}, "invalid_amount"),
        ({"rate": "200"}, "unknown_field"),  # a client never states the rate
    ],
)
def test_api_quote_refuses_bad_input_with_400(api, caller, body, code):
    wallet = funded(amount=200_00, owner_id=caller)
    problem = assert_problem(post_quote(api, wallet, **body), 400, code)
    if "to_currency" in body and body["to_currency"] == "USD":
        assert problem["errors"][0]["code"] == "same_currency"
    assert not FxQuote.objects.exists()


def test_api_convert_refuses_unknown_fields(api, caller):
    wallet = funded(amount=200_00, owner_id=caller)
    quote_id = post_quote(api, wallet).json()["id"]
    response = api.post(
        f"/v1/wallets/{wallet.id}/convert",
        {"quote_id": quote_id, "rate": "999"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k",
    )
    assert_problem(response, 400, "unknown_field")
    assert balance_of(wallet) == (200_00, 0)


def test_api_frozen_wallet_is_422(api, caller):
    wallet = funded(amount=200_00, owner_id=caller)
    quote_id = post_quote(api, wallet).json()["id"]
    services.wallet_freeze(wallet_id=wallet.id, actor="officer", reason="review")
    assert_problem(post_quote(api, wallet), 422, "wallet_frozen")
    assert_problem(post_convert(api, wallet, quote_id), 422, "wallet_frozen")


def test_api_quote_and_convert_need_the_transfer_scope(caller):
    wallet = funded(amount=200_00, owner_id=caller)
    client = client_for(caller, "wallet:read wallet:credit")
    assert_problem(post_quote(client, wallet), 403, "insufficient_scope")
    assert_problem(post_convert(client, wallet, uuid.uuid4()), 403, "insufficient_scope")


def test_api_quote_retried_with_its_key_answers_the_same_quote(api, caller):
    wallet = funded(amount=200_00, owner_id=caller)
    body = {"from_currency": "USD", "to_currency": "JPY", "amount": 100_00}
    first = api.post(f"/v1/wallets/{wallet.id}/quotes", body, format="json", HTTP_IDEMPOTENCY_KEY="q-1")
    again = api.post(f"/v1/wallets/{wallet.id}/quotes", body, format="json", HTTP_IDEMPOTENCY_KEY="q-1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert FxQuote.objects.count() == 1

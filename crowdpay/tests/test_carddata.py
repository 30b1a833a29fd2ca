"""No card data: a card number anywhere in a request under /v1 is refused with 422
`card_data_not_allowed`, before anything reads or keeps it; afterwards neither the database (every
table, read whole) nor the log output holds its digits."""

from __future__ import annotations

import io
import logging
import uuid

import pytest
from django.db import connection
from rest_framework.test import APIClient

from crowdpay.carddata import find_card_number, has_card_number, luhn_valid, mask_card_numbers
from crowdpay.logging import ContextFilter, EcsFormatter, RedactFilter, redact_text
from wallets.tests.factories import WalletFactory

VISA = "4111 1111 1111 1111"
MASTERCARD = "5555-5555-5555-4444"
AMEX = "378282246310005"
DISCOVER = "6011111111111117"
CARDS = (VISA, MASTERCARD, AMEX, DISCOVER)


def digits(card: str) -> str:
    return card.replace(" ", "").replace("-", "")


@pytest.mark.parametrize(
    "text",
    [
        VISA,
        MASTERCARD,
        AMEX,
        DISCOVER,
        "4111111111111111",
        f"card {VISA} exp 12/30",
        "ref:4111-1111-1111-1111;",
        "1 4111 1111 1111 1111",  # a card inside a longer run of groups
        "4222222222222",  # 13 digits
        "6304000000000000018",  # 19 digits (Maestro)
        "ch_4111111111111111",  # after an underscore: a separator, not part of a word
    ],
)
def test_card_numbers_are_found(text):
    assert has_card_number(text)


@pytest.mark.parametrize(
    "text",
    [
        "4111 1111 1111 1112",  # Luhn-invalid
        "411111111111",  # 12 digits
        "41111111111111111111",  # 20 digits in a row: not a card number
        "4111  1111 1111 1111",  # two spaces: not how a card number is written
        "ch_test_ok_1Nx32",
        # inside a longer token: an identifier (a random hex, an order id), not a typed card number
        "ch_test_ok_4111111111111111ab9f",
        "ch_test_ok_9f4111111111111111",
        "INV4111111111111111X",
        "12345678-1234-1234-1234-123456789012",  # a (digits-only) UUID
        "order 2024-06-01 12:00",
        "+44 20 7946 0958",
        "",
    ],
)
def test_other_text_is_not_a_card_number(text):
    assert not has_card_number(text)


def test_luhn():
    assert luhn_valid("79927398713") and not luhn_valid("79927398710")


def test_the_document_is_searched_at_any_depth_keys_included_amounts_excepted():
    assert find_card_number({"metadata": {"a": [{"b": ["x", VISA]}]}}) == "metadata.a[0].b[1]"
    assert find_card_number({"metadata": {digits(VISA): "x"}}) == "metadata (a field name)"
    assert find_card_number({"metadata": {"n": int(digits(VISA))}}) == "metadata.n"
    assert find_card_number({"amount": 4222222222222, "memo": "rent"}) is None
    assert find_card_number(["fine", {"memo": "fine"}]) is None


def test_the_log_backstop_masks_card_numbers_and_keeps_uuids():
    wallet = "12345678-1234-1234-1234-123456789012"
    text = f"Unprocessable Content: /v1/wallets/{wallet}/x?pan={VISA} and {AMEX}"
    masked = mask_card_numbers(text)
    assert wallet in masked and digits(VISA)[:6] not in masked.replace(wallet, "") and AMEX not in masked
    assert VISA not in redact_text(f"card {VISA}")


# --- through the API: refused, nothing kept ---------------------------------------------------------


@pytest.fixture
def log_output():
    """What production writes: the root logger through the project's own filters and ECS format."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(ContextFilter())
    handler.addFilter(RedactFilter())
    handler.setFormatter(EcsFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)


def every_row_as_text() -> str:
    """The whole database: every table's every row, as PostgreSQL prints it."""
    rows = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT t::text FROM "{table}" t')  # the catalogue's own names
            rows.extend(row[0] for row in cursor.fetchall())
    return "\n".join(rows)


def refused(response) -> None:
    assert response.status_code == 422, response.content
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "card_data_not_allowed"
    for card in CARDS:
        assert digits(card) not in response.content.decode() and card not in response.content.decode()


@pytest.mark.django_db
def test_card_numbers_sent_to_many_endpoints_are_refused_and_leave_no_trace(api, caller, log_output, caplog):
    wallet = WalletFactory(owner_id=caller)
    other = WalletFactory()
    key = {"HTTP_IDEMPOTENCY_KEY": str(uuid.uuid4())}
    before = every_row_as_text()
    attempts = [
        (f"/v1/wallets/{wallet.id}/credit", {"amount": 100, "currency": "USD", "source": "CARD", "reference": VISA}),
        (
            f"/v1/wallets/{wallet.id}/credit",
            {"amount": 100, "currency": "USD", "reference": f"ch_{digits(MASTERCARD)}"},
        ),
        ("/v1/wallets", {"kind": "USER", "base_currency": "USD", "metadata": {"card": {"pan": [AMEX]}}}),
        ("/v1/wallets", {"kind": "USER", "base_currency": "USD", "metadata": {digits(DISCOVER): "key"}}),
        ("/v1/wallets", {"kind": "USER", "base_currency": "USD", "metadata": {"n": int(digits(VISA))}}),
        (
            "/v1/transfer",
            {
                "from_wallet_id": str(wallet.id),
                "to_wallet_id": str(other.id),
                "amount": 1,
                "currency": "USD",
                "memo": f"for card {MASTERCARD}",
            },
        ),
        (f"/v1/wallets/{wallet.id}/debit", {"amount": 1, "currency": "USD", "destination": DISCOVER}),
        ("/v1/kyc/person", {"legal_name": "Ada", "document_reference": VISA}),
        ("/v1/hooks/funding", {"type": "charge.captured", "data": {"id": AMEX, "amount": 1, "currency": "USD"}}),
    ]
    for path, body in attempts:
        refused(api.post(path, body, format="json", **key))
    refused(api.post(f"/v1/wallets/{wallet.id}/credit", f"amount=1&reference={VISA}", content_type="text/plain"))
    refused(api.get(f"/v1/wallets?cursor={digits(VISA)}"))
    refused(api.get(f"/v1/wallets/{digits(AMEX)}"))
    refused(APIClient().post("/v1/wallets", {"metadata": {"x": VISA}}, format="json"))  # before auth too

    after = every_row_as_text()
    assert after == before  # nothing written at all: no saga, no idempotency record, no event
    output = log_output.getvalue()
    assert "card_data" in output or "Unprocessable" in output  # the refusals were logged ...
    for card in CARDS:  # ... without the number, formatted or raw
        for form in {card, digits(card)}:
            assert form not in after and form not in output
            for record in caplog.records:
                if "/v1/wallets/" + digits(AMEX) not in record.getMessage():  # the path: masked by the handler
                    assert form not in record.getMessage()

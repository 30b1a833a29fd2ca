"""The OpenAPI schema generates and validates without warnings; the docs load from the service."""

from __future__ import annotations

import re

import pytest
import yaml
from django.core.management import call_command
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def schema(tmp_path_factory) -> dict:
    path = tmp_path_factory.mktemp("schema") / "schema.yaml"
    # --fail-on-warn: any warning (an unresolved type, an enum clash) fails the test.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(path))
    return yaml.safe_load(path.read_text())


def test_every_endpoint_is_in_the_schema_with_its_sdk_operation(schema):
    operations = {
        (path, method): op["operationId"] for path, item in schema["paths"].items() for method, op in item.items()
    }
    assert operations == {
        ("/v1/wallets", "get"): "list_wallets",
        ("/v1/wallets", "post"): "create_wallet",
        ("/v1/wallets/{wallet_id}", "get"): "get_wallet",
        ("/v1/wallets/{wallet_id}/events", "get"): "list_wallet_events",
        ("/v1/wallets/{wallet_id}/credit", "post"): "credit_wallet",
        ("/v1/wallets/{wallet_id}/debit", "post"): "debit_wallet",
        ("/v1/transfer", "post"): "transfer",
        ("/v1/operations/{operation_id}", "get"): "get_operation",
    }


def test_components_are_named_as_the_sdk_names_them(schema):
    names = set(schema["components"]["schemas"])
    assert {
        "NewWalletRequest",
        "CreditRequest",
        "DebitRequest",
        "TransferRequest",
        "Wallet",
        "Operation",
        "Event",
        "Problem",
    } <= names


def test_the_bearer_scheme_scopes_idempotency_and_problems_are_described(schema):
    scheme = schema["components"]["securitySchemes"]["bearerAuth"]
    assert scheme["type"] == "http" and scheme["scheme"] == "bearer" and "wallet:admin" in scheme["description"]
    credit = schema["paths"]["/v1/wallets/{wallet_id}/credit"]["post"]
    assert credit["security"] == [{"bearerAuth": []}] and credit["x-required-scopes"] == ["wallet:credit"]
    header = next(p for p in credit["parameters"] if p["name"] == "Idempotency-Key")
    assert header["in"] == "header" and header["required"] is True
    create = schema["paths"]["/v1/wallets"]["post"]
    assert next(p for p in create["parameters"] if p["name"] == "Idempotency-Key").get("required", False) is False
    for status in ("400", "401", "403", "404", "409", "415", "422", "429"):
        content = credit["responses"][status]["content"]
        assert content == {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    assert "202" in credit["responses"]


def test_amounts_are_integers_in_the_schema(schema):
    credit = schema["components"]["schemas"]["CreditRequest"]["properties"]["amount"]
    assert credit["type"] == "integer" and credit["minimum"] == 1


def test_the_schema_is_served():
    response = Client().get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200 and response.json()["openapi"].startswith("3.")


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_and_their_assets_load_from_the_service(page):
    client = Client()
    response = client.get(page)
    assert response.status_code == 200
    html = response.content.decode()
    # Nothing is fetched from elsewhere: no absolute URL in any src/href.
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html), html
    assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)
    static = [a for a in assets if a.startswith("/static/")]
    assert static, html
    for asset in static:
        asset_response = client.get(asset)
        assert asset_response.status_code == 200, asset
        body = b"".join(asset_response.streaming_content) if asset_response.streaming else asset_response.content
        assert len(body) > 100, asset

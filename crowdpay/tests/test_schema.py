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
        ("/v1/wallets/{wallet_id}/quotes", "post"): "quote_conversion",
        ("/v1/wallets/{wallet_id}/convert", "post"): "convert_currency",
        ("/v1/transfer", "post"): "transfer",
        ("/v1/operations/{operation_id}", "get"): "get_operation",
        ("/v1/kyc", "get"): "get_kyc_status",
        ("/v1/kyc/person", "post"): "submit_kyc_person",
        ("/v1/kyc/business", "post"): "submit_kyc_business",
        ("/v1/hooks/kyc", "post"): "kyc_provider_callback",
        ("/v1/hooks/funding", "post"): "funding_webhook",
        ("/v1/pods/{pod_id}", "get"): "get_pod",
        ("/v1/pods/{pod_id}/members", "get"): "list_pod_members",
        ("/v1/pods/{pod_id}/members", "post"): "invite_pod_member",
        ("/v1/pods/{pod_id}/members/{member_id}/accept", "post"): "accept_pod_invitation",
        ("/v1/pods/{pod_id}/members/{member_id}/role", "post"): "change_pod_member_role",
        ("/v1/pods/{pod_id}/members/{member_id}/remove", "post"): "remove_pod_member",
        ("/v1/pods/{pod_id}/policy", "post"): "set_pod_policy",
        ("/v1/pods/{pod_id}/goals", "get"): "list_pod_goals",
        ("/v1/pods/{pod_id}/goals", "post"): "set_pod_goal",
        ("/v1/pods/{pod_id}/goals/{goal_id}/refund", "post"): "refund_pod_goal",
        ("/v1/pods/{pod_id}/pledges", "get"): "list_pod_pledges",
        ("/v1/pods/{pod_id}/pledges", "post"): "make_pledge",
        ("/v1/pods/{pod_id}/outflows", "get"): "list_pod_outflows",
        ("/v1/pods/{pod_id}/outflows", "post"): "request_pod_outflow",
        ("/v1/pods/{pod_id}/outflows/{outflow_id}/approve", "post"): "approve_pod_outflow",
        ("/v1/pods/{pod_id}/outflows/{outflow_id}/reject", "post"): "reject_pod_outflow",
        ("/v1/pods/{pod_id}/contributions", "get"): "list_pod_contributions",
        ("/v1/pods/{pod_id}/dissolve", "post"): "dissolve_pod",
        ("/v1/webhook-endpoints", "get"): "list_webhook_endpoints",
        ("/v1/webhook-endpoints", "post"): "create_webhook_endpoint",
        ("/v1/webhook-endpoints/{endpoint_id}", "get"): "get_webhook_endpoint",
        ("/v1/webhook-endpoints/{endpoint_id}", "patch"): "update_webhook_endpoint",
        ("/v1/webhook-endpoints/{endpoint_id}", "delete"): "delete_webhook_endpoint",
        ("/v1/webhook-endpoints/{endpoint_id}/rotate-secret", "post"): "rotate_webhook_secret",
        ("/v1/webhook-endpoints/{endpoint_id}/disable", "post"): "disable_webhook_endpoint",
        ("/v1/webhook-endpoints/{endpoint_id}/enable", "post"): "enable_webhook_endpoint",
        ("/v1/webhook-endpoints/{endpoint_id}/deliveries", "get"): "list_webhook_deliveries",
        ("/v1/webhook-endpoints/{endpoint_id}/deliveries/{delivery_id}/replay", "post"): "replay_webhook_delivery",
        ("/v1/webhook-endpoints/{endpoint_id}/replay", "post"): "replay_failed_webhook_deliveries",
        ("/v1/wallets/{wallet_id}/monitors", "get"): "list_balance_monitors",
        ("/v1/wallets/{wallet_id}/monitors", "post"): "create_balance_monitor",
        ("/v1/wallets/{wallet_id}/monitors/{monitor_id}", "delete"): "delete_balance_monitor",
    }


def test_every_webhook_event_type_is_documented_under_x_webhooks(schema):
    from crowdpay.webhooks.events import EVENT_TYPES

    webhooks = schema["x-webhooks"]  # OpenAPI 3.0 has no `webhooks`: ReDoc renders this extension
    assert "webhooks" not in schema
    assert set(EVENT_TYPES) <= set(webhooks)
    for event_type in EVENT_TYPES:
        operation = webhooks[event_type]["post"]
        assert "webhook-signature" in operation["description"], event_type
        assert set(operation["responses"]) >= {"200", "410"}, event_type
        payload = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
        assert set(schema["components"]["schemas"][payload]["properties"]) == {"type", "timestamp", "data"}
    operation = webhooks["operation.succeeded"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    payload = schema["components"]["schemas"][operation["$ref"].rsplit("/", 1)[-1]]
    assert payload["properties"]["data"] == {"$ref": "#/components/schemas/Operation"}


def test_components_are_named_as_the_sdk_names_them(schema):
    names = set(schema["components"]["schemas"])
    assert {
        "NewWalletRequest",
        "CreditRequest",
        "DebitRequest",
        "TransferRequest",
        "QuoteRequest",
        "Quote",
        "ConvertRequest",
        "Conversion",
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
    for status in ("400", "401", "403", "404", "409", "415", "429"):
        content = credit["responses"][status]["content"]
        assert content == {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}


def test_every_write_requires_an_idempotency_key_and_every_operation_documents_unknown_field(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if {"bearerAuth": []} not in (operation.get("security") or []):
                continue  # a provider's signed callback: its own rules (crowdpay/tests/test_strict_input.py)
            assert "unknown_field" in operation["responses"]["400"]["description"], (method, path)
            if method == "post":
                header = next(p for p in operation.get("parameters", []) if p["name"] == "Idempotency-Key")
                assert header["in"] == "header" and header["required"] is True, path


@pytest.mark.parametrize("path", ["/v1/wallets/{wallet_id}/credit", "/v1/wallets/{wallet_id}/debit", "/v1/transfer"])
def test_money_writes_document_200_202_and_422_with_examples(schema, path):
    responses = schema["paths"][path]["post"]["responses"]
    for status, state in (("200", "SUCCEEDED"), ("202", "PENDING")):
        content = responses[status]["content"]["application/json"]
        assert content["schema"] == {"$ref": "#/components/schemas/Operation"}
        assert [e["value"]["status"] for e in content["examples"].values()] == [state]
    refused = responses["422"]["content"]["application/problem+json"]
    assert refused["schema"] == {"$ref": "#/components/schemas/OperationProblem"}
    (example,) = refused["examples"].values()
    assert example["value"]["code"] == "insufficient_funds"
    assert example["value"]["operation_id"] == example["value"]["operation"]["id"]
    assert example["value"]["operation"]["status"] == "FAILED"
    properties = schema["components"]["schemas"]["OperationProblem"]["properties"]
    assert {"code", "detail", "status", "operation_id", "operation"} <= set(properties)


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

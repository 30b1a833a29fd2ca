"""Every endpoint of the schema refuses names it does not know (`unknown_field`), and every write
needs an Idempotency-Key (`idempotency_key_required`), with nothing written. The endpoints are
read from the generated schema, so a new one is covered without touching this file.

Providers' signed callbacks (`/v1/hooks/…`, the operations without the bearer scheme) are left
out: they authenticate by signature, deduplicate by their event id, and must keep accepting the
fields a provider adds to its events over time."""

from __future__ import annotations

import re
import uuid

import pytest
from django.apps import apps
from drf_spectacular.generators import SchemaGenerator

from crowdpay.api.permissions import SCOPES
from crowdpay.tests.fixtures import client_for
from sagas import services as saga_services
from wallets.tests.factories import funded

pytestmark = pytest.mark.django_db

UNKNOWN = "zz_not_a_field"


def _endpoints() -> list[tuple[str, str]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return sorted(
        (method.upper(), path)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if path.startswith("/v1/") and {"bearerAuth": []} in (operation.get("security") or [])
    )


ENDPOINTS = _endpoints()
WRITES = [(m, p) for m, p in ENDPOINTS if m in ("POST", "PUT", "PATCH", "DELETE")]
READS = [(m, p) for m, p in ENDPOINTS if m == "GET"]


def _rows() -> dict[str, int]:
    """Row counts of every table the project owns (Django's own apps left out)."""
    return {
        model._meta.label: model.objects.count()
        for model in apps.get_models()
        if not model.__module__.startswith("django.") and model._meta.managed
    }


@pytest.fixture
def world():
    """A caller with every scope, its funded wallet and an operation on it."""
    caller = uuid.uuid4()
    wallet = funded(amount=1000_00, owner_id=caller)
    saga = saga_services.funding_start(
        wallet_id=wallet.id, amount=1, currency="USD", source="CARD", source_reference="ch_test_ok_strict",
        reference=f"{caller}:strict", requested_by=str(caller),
    )  # fmt: skip
    return client_for(caller, " ".join(SCOPES)), {"wallet": wallet.id, "operation": saga.id}


def _url(path: str, ids: dict) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: str(ids["operation" if "operation" in m[1] else "wallet"]), path)


def _problem(response, code: str) -> dict:
    assert response.status_code == 400, response.content[:300]
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == code, body
    return body


def test_the_schema_lists_writes_and_reads():
    assert ("POST", "/v1/wallets") in WRITES and ("POST", "/v1/transfer") in WRITES
    assert ("GET", "/v1/wallets/{wallet_id}/events") in READS


@pytest.mark.parametrize(("method", "path"), WRITES, ids=[f"{m} {p}" for m, p in WRITES])
def test_every_write_refuses_an_unknown_body_field_writing_nothing(world, method, path):
    client, ids = world
    before = _rows()
    response = client.generic(
        method,
        _url(path, ids),
        f'{{"{UNKNOWN}": 1}}',
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
    )
    body = _problem(response, "unknown_field")
    assert [(e["field"], e["code"]) for e in body["errors"]] == [(UNKNOWN, "unknown_field")]
    assert UNKNOWN in body["detail"]
    assert _rows() == before  # nothing written, the Idempotency-Key released too


@pytest.mark.parametrize(("method", "path"), WRITES, ids=[f"{m} {p}" for m, p in WRITES])
def test_every_write_refuses_an_unknown_query_parameter_writing_nothing(world, method, path):
    client, ids = world
    before = _rows()
    response = client.generic(
        method,
        f"{_url(path, ids)}?{UNKNOWN}=1",
        "{}",
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
    )
    assert _problem(response, "unknown_field")["errors"][0]["field"] == UNKNOWN
    assert _rows() == before


@pytest.mark.parametrize(("method", "path"), WRITES, ids=[f"{m} {p}" for m, p in WRITES])
def test_every_write_needs_an_idempotency_key_writing_nothing(world, method, path):
    client, ids = world
    before = _rows()
    response = client.generic(method, _url(path, ids), "{}", content_type="application/json")
    _problem(response, "idempotency_key_required")
    assert _rows() == before


@pytest.mark.parametrize(("method", "path"), READS, ids=[f"{m} {p}" for m, p in READS])
def test_every_read_refuses_an_unknown_query_parameter(world, method, path):
    client, ids = world
    body = _problem(client.get(_url(path, ids), {UNKNOWN: "1"}), "unknown_field")
    assert [e["field"] for e in body["errors"]] == [UNKNOWN]

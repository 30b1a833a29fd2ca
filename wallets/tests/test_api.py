"""The wallet endpoints: open, list, read, events — successes and refusals."""

from __future__ import annotations

import uuid

import pytest

from crowdpay.tests.fixtures import client_for
from wallets import chain, services
from wallets.models import Event, Wallet
from wallets.tests.factories import WalletFactory, funded

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"


def key() -> str:
    """A fresh Idempotency-Key: every write needs one."""
    return str(uuid.uuid4())


def assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["status"] == status and body["code"] == code and body["title"] and body["detail"]
    return body


# --- POST /v1/wallets ------------------------------------------------------------------------------


def test_create_wallet_opens_it_for_the_caller_and_emits_wallet_opened(api, caller):
    response = api.post(
        "/v1/wallets",
        {"kind": "POD", "base_currency": "USD", "metadata": {"name": "Summer Trip"}},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key(),
    )
    assert response.status_code == 201
    body = response.json()
    assert body["owner_id"] == str(caller) and body["kind"] == "POD" and body["status"] == "ACTIVE"
    assert body["metadata"] == {"name": "Summer Trip"} and body["version"] == 1
    assert body["balances"] == [{"currency": "USD", "posted": 0, "held": 0, "available": 0}]
    assert response["Location"] == f"/v1/wallets/{body['id']}"
    assert list(Event.objects.filter(wallet_id=body["id"]).values_list("type", flat=True)) == ["WalletOpened"]


def test_create_wallet_accepts_the_callers_own_owner_id(api, caller):
    response = api.post(
        "/v1/wallets", {"owner_id": str(caller), "base_currency": "JPY"}, format="json", HTTP_IDEMPOTENCY_KEY=key()
    )
    assert response.status_code == 201
    assert response.json()["kind"] == "USER"


def test_create_wallet_for_another_owner_needs_admin(api, admin_api):
    other = uuid.uuid4()
    assert_problem(
        api.post(
            "/v1/wallets", {"owner_id": str(other), "base_currency": "USD"}, format="json", HTTP_IDEMPOTENCY_KEY=key()
        ),
        403,
        "insufficient_scope",
    )
    response = admin_api.post(
        "/v1/wallets", {"owner_id": str(other), "base_currency": "USD"}, format="json", HTTP_IDEMPOTENCY_KEY=key()
    )
    assert response.status_code == 201 and response.json()["owner_id"] == str(other)


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"base_currency": "XYZ"}, "unsupported_currency", "base_currency"),
        ({"base_currency": "XAU"}, "unsupported_currency", "base_currency"),
        ({"base_currency": 840}, "unsupported_currency", "base_currency"),
        ({}, "validation_error", "base_currency"),
        ({"base_currency": "USD", "kind": "SHARED"}, "validation_error", "kind"),
        ({"base_currency": "USD", "owner_id": "not-a-uuid"}, "validation_error", "owner_id"),
        ({"base_currency": "USD", "metadata": ["x"]}, "validation_error", "metadata"),
        ({"base_currency": "USD", "metadata": {"x": "y" * 20000}}, "validation_error", "metadata"),
    ],
)
def test_create_wallet_refuses_bad_input_and_writes_nothing(api, body, code, field):
    body = assert_problem(api.post("/v1/wallets", body, format="json", HTTP_IDEMPOTENCY_KEY=key()), 400, code)
    assert field in {e["field"] for e in body["errors"]}
    assert not Wallet.objects.exists()


def test_create_wallet_refuses_a_json_array_body(api):
    assert_problem(api.post("/v1/wallets", [1, 2], format="json", HTTP_IDEMPOTENCY_KEY=key()), 400, "validation_error")


def test_malformed_json_is_400(api):
    response = api.post(
        "/v1/wallets", b'{"base_currency": "USD"', content_type="application/json", HTTP_IDEMPOTENCY_KEY=key()
    )
    assert_problem(response, 400, "malformed_request")
    assert not Wallet.objects.exists()


def test_wrong_content_type_is_415(api):
    response = api.post(
        "/v1/wallets",
        b"base_currency=USD",
        content_type="application/x-www-form-urlencoded",
        HTTP_IDEMPOTENCY_KEY=key(),
    )
    assert_problem(response, 415, "unsupported_media_type")
    assert not Wallet.objects.exists()


def test_create_wallet_refuses_an_unknown_field_instead_of_defaulting(api):
    body = assert_problem(
        api.post("/v1/wallets", {"kindd": "POD", "base_currency": "USD"}, format="json", HTTP_IDEMPOTENCY_KEY=key()),
        400,
        "unknown_field",
    )
    assert [(e["field"], e["code"]) for e in body["errors"]] == [("kindd", "unknown_field")]
    assert body["detail"].startswith("kindd: unknown field") and "kind" in body["detail"]
    assert not Wallet.objects.exists()


def test_create_wallet_refuses_unknown_nested_and_query_names_too(api):
    response = api.post("/v1/wallets?kind=POD", {"base_currency": "USD"}, format="json", HTTP_IDEMPOTENCY_KEY=key())
    assert assert_problem(response, 400, "unknown_field")["errors"][0]["field"] == "kind"
    assert not Wallet.objects.exists()


def test_create_wallet_needs_an_idempotency_key(api):
    response = api.post("/v1/wallets", {"base_currency": "USD"}, format="json")
    assert_problem(response, 400, "idempotency_key_required")
    assert not Wallet.objects.exists()


# --- GET /v1/wallets ---------------------------------------------------------------------------------


def test_list_wallets_returns_only_the_callers(api, caller):
    mine = [WalletFactory(owner_id=caller), WalletFactory(owner_id=caller, base_currency="EUR")]
    WalletFactory()  # someone else's
    response = api.get("/v1/wallets")
    assert response.status_code == 200
    assert [w["id"] for w in response.json()] == [str(w.id) for w in mine]


def test_list_wallets_of_another_owner_is_empty_without_admin(api, admin_api):
    other = WalletFactory()
    assert api.get("/v1/wallets", {"owner_id": str(other.owner_id)}).json() == []
    listed = admin_api.get("/v1/wallets", {"owner_id": str(other.owner_id)}).json()
    assert [w["id"] for w in listed] == [str(other.id)]


def test_list_wallets_refuses_a_bad_owner_filter(api):
    assert_problem(api.get("/v1/wallets", {"owner_id": "nope"}), 400, "validation_error")


# --- GET /v1/wallets/{id} ---------------------------------------------------------------------------


def test_get_wallet_shows_posted_held_and_available(api, caller):
    wallet = funded(amount=500_00, owner_id=caller)
    services.funds_hold(wallet_id=wallet.id, amount=120_00, currency="USD", reference="hold-1", saga_id=None)
    response = api.get(f"/v1/wallets/{wallet.id}")
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == str(wallet.id) and body["version"] == 3
    assert body["balances"] == [{"currency": "USD", "posted": 500_00, "held": 120_00, "available": 380_00}]


def test_another_owners_wallet_is_404_not_403(api):
    other = funded(amount=100)
    assert_problem(api.get(f"/v1/wallets/{other.id}"), 404, "wallet_not_found")
    assert_problem(api.get(f"/v1/wallets/{other.id}/events"), 404, "wallet_not_found")


def test_admin_reads_any_wallet(admin_api):
    other = funded(amount=100)
    assert admin_api.get(f"/v1/wallets/{other.id}").json()["balances"][0]["posted"] == 100


def test_unknown_and_malformed_wallet_ids_are_404(api):
    assert_problem(api.get(f"/v1/wallets/{uuid.uuid4()}"), 404, "wallet_not_found")
    assert_problem(api.get("/v1/wallets/not-a-uuid"), 404, "not_found")


def test_a_verb_the_endpoint_lacks_is_405(api, caller):
    wallet = WalletFactory(owner_id=caller)
    assert_problem(api.delete(f"/v1/wallets/{wallet.id}"), 405, "method_not_allowed")
    assert_problem(api.put("/v1/wallets", {}, format="json"), 405, "method_not_allowed")


# --- GET /v1/wallets/{id}/events ----------------------------------------------------------------------


def test_events_are_paged_by_version_complete_and_in_order(api, caller):
    wallet = WalletFactory(owner_id=caller)
    for n in range(6):
        services.wallet_credit(wallet_id=wallet.id, amount=100 + n, currency="USD", reference=f"c{n}")
    seen, after = [], 0
    while after is not None:
        page = api.get(f"/v1/wallets/{wallet.id}/events", {"after": after, "limit": 3}).json()
        seen += page["results"]
        after = page["next_after"]
    assert [e["version"] for e in seen] == list(range(1, 8))
    assert [e["type"] for e in seen] == ["WalletOpened"] + ["WalletCredited"] * 6
    first, second = seen[0], seen[1]
    assert first["link"] == chain.next_link(chain.GENESIS_LINK, first["mac"], 1)
    assert second["link"] == chain.next_link(first["link"], second["mac"], 2)
    assert first["uid"] != second["uid"]
    assert set(first) == {"wallet_id", "version", "type", "data", "occurred_at", "key_id", "uid", "mac", "link"}
    assert seen[1]["data"]["amount"] == 100 and seen[1]["data"]["currency"] == "USD"


def test_events_last_page_has_no_cursor(api, caller):
    wallet = WalletFactory(owner_id=caller)
    page = api.get(f"/v1/wallets/{wallet.id}/events").json()
    assert [e["version"] for e in page["results"]] == [1] and page["next_after"] is None
    assert api.get(f"/v1/wallets/{wallet.id}/events", {"after": 1}).json() == {"results": [], "next_after": None}


@pytest.mark.parametrize("query", [{"limit": 501}, {"limit": 0}, {"after": -1}, {"after": "x"}])
def test_events_refuse_bad_cursors(api, caller, query):
    wallet = WalletFactory(owner_id=caller)
    body = assert_problem(api.get(f"/v1/wallets/{wallet.id}/events", query), 400, "validation_error")
    assert body["errors"][0]["field"] in query


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/v1/wallets", {"owner": "x"}),
        ("/v1/wallets/{id}", {"expand": "balances"}),
        ("/v1/wallets/{id}/events", {"after": 0, "cursor": "abc"}),
    ],
)
def test_reads_refuse_unknown_query_parameters(api, caller, path, query):
    wallet = WalletFactory(owner_id=caller)
    body = assert_problem(api.get(path.format(id=wallet.id), query), 400, "unknown_field")
    assert [e["field"] for e in body["errors"]] == [name for name in query if name not in ("after",)]


def test_events_accept_the_maximum_limit(api, caller):
    wallet = WalletFactory(owner_id=caller)
    assert api.get(f"/v1/wallets/{wallet.id}/events", {"limit": 500}).status_code == 200


def test_read_endpoints_need_wallet_read(caller):
    wallet = WalletFactory(owner_id=caller)
    client = client_for(caller, "wallet:create")
    for url in ("/v1/wallets", f"/v1/wallets/{wallet.id}", f"/v1/wallets/{wallet.id}/events"):
        assert_problem(client.get(url), 403, "insufficient_scope")

"""Webhooks end to end against a real receiver on loopback: subscribe through the API, a transfer's
`operation.succeeded` signed and verified with the Standard Webhooks reference verifier, retries,
410, replays, rotation, SSRF refusals, monitors once per crossing, order per wallet, the outbox
written with (and only with) the change."""

from __future__ import annotations

import json
import uuid

import pytest
from django.db import transaction
from standardwebhooks.webhooks import Webhook

from crowdpay.tests.fixtures import client_for
from crowdpay.webhooks import selectors, services, transport
from crowdpay.webhooks.models import Attempt, Delivery, Endpoint, Message
from sagas import services as sagas
from wallets import services as ledger
from wallets.tests.factories import funded

from .conftest import drain

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("inline")]

SCOPES = "wallet:create wallet:read wallet:credit wallet:debit wallet:transfer webhook:manage"


def _key() -> dict:
    return {"HTTP_IDEMPOTENCY_KEY": str(uuid.uuid4())}


def _subscribe(owner, url, types=("operation.succeeded",)) -> Endpoint:
    endpoint = services.endpoint_create(owner_id=owner, url=url, event_types=list(types))
    return endpoint


def _transfer(source, target, amount=10_00):
    return sagas.transfer_start(
        from_wallet_id=source.id,
        to_wallet_id=target.id,
        amount=amount,
        currency="USD",
        memo="",
        reference=str(uuid.uuid4()),
        requested_by="test",
    )


def test_an_sdk_user_subscribes_and_receives_a_verified_operation_succeeded(receiver):
    owner = uuid.uuid4()
    client = client_for(owner, SCOPES)
    created = client.post(
        "/v1/webhook-endpoints",
        {"url": receiver.url, "event_types": ["operation.succeeded"], "description": "app"},
        format="json",
        **_key(),
    )
    assert created.status_code == 201, created.content
    secret = created.json()["secret"]
    assert secret.startswith("whsec_")
    endpoint_id = created.json()["id"]
    assert "secret" not in client.get(f"/v1/webhook-endpoints/{endpoint_id}").json()

    source, target = funded(amount=100_00, owner_id=owner), funded(amount=1, owner_id=uuid.uuid4())
    transferred = client.post(
        "/v1/transfer",
        {"from_wallet_id": str(source.id), "to_wallet_id": str(target.id), "amount": 10_00, "currency": "USD"},
        format="json",
        **_key(),
    )
    assert transferred.json()["status"] == "SUCCEEDED"
    assert drain() == ["delivered"]
    (got,) = receiver.received
    payload = Webhook(secret).verify(got.body, got.headers)
    assert payload["type"] == "operation.succeeded"
    assert payload["data"]["id"] == transferred.json()["id"] and payload["data"]["status"] == "SUCCEEDED"
    assert set(payload) == {"type", "timestamp", "data"}

    log = client.get(f"/v1/webhook-endpoints/{endpoint_id}/deliveries").json()
    (delivery,) = log["results"]
    assert delivery["message_id"] == got.headers["webhook-id"] and delivery["status"] == "DELIVERED"
    (attempt,) = delivery["attempt_log"]
    assert attempt["status_code"] == 200 and attempt["outcome"] == "delivered" and attempt["response_head"] == "ok"


def test_another_owners_endpoint_is_not_found():
    owner = uuid.uuid4()
    endpoint = _subscribe(owner, "http://127.0.0.1:9/x")
    other = client_for(uuid.uuid4(), SCOPES)
    assert other.get(f"/v1/webhook-endpoints/{endpoint.id}").status_code == 404
    assert other.post(f"/v1/webhook-endpoints/{endpoint.id}/disable", {}, format="json", **_key()).status_code == 404
    assert other.get("/v1/webhook-endpoints").json() == []


def test_nothing_is_written_without_a_subscriber_nor_for_a_rolled_back_change(receiver):
    owner = uuid.uuid4()
    source, target = funded(amount=100_00, owner_id=owner), funded(amount=1)
    _transfer(source, target)
    assert not Message.objects.exists()  # nobody subscribes
    _subscribe(owner, receiver.url, ["wallet.frozen", "operation.succeeded"])
    with pytest.raises(RuntimeError), transaction.atomic():
        ledger.wallet_freeze(wallet_id=source.id, actor="officer", reason="test")
        assert Message.objects.filter(type="wallet.frozen").exists()
        raise RuntimeError("rolled back")
    assert not Message.objects.exists()
    assert drain() == [] and receiver.received == []


def test_a_500_and_a_timeout_are_retried_with_the_same_webhook_id(receiver, settings):
    settings.WEBHOOK_READ_TIMEOUT_SECONDS = 0.5
    owner = uuid.uuid4()
    endpoint = _subscribe(owner, receiver.url)
    receiver.script = [500, ("sleep", 1.5), 200]
    _transfer(funded(amount=100_00, owner_id=owner), funded(amount=1))
    assert drain() == ["failed", "failed", "delivered"]
    ids = {r.headers["webhook-id"] for r in receiver.wait_for(3)}
    assert len(ids) == 1
    delivery = Delivery.objects.get(endpoint=endpoint)
    assert delivery.status == Delivery.Status.DELIVERED and delivery.attempts == 3
    outcomes = list(Attempt.objects.filter(delivery=delivery).values_list("outcome", "status_code", "error"))
    assert outcomes[0] == ("failed", 500, "") and outcomes[1][:2] == ("failed", None)
    assert outcomes[1][2] == "timeout" and outcomes[2] == ("delivered", 200, "")


def test_retries_give_up_after_the_schedule(receiver, settings):
    settings.WEBHOOK_RETRY_SCHEDULE = [0.0, 0.0]
    owner = uuid.uuid4()
    endpoint = _subscribe(owner, receiver.url)
    receiver.default = 503
    _transfer(funded(amount=100_00, owner_id=owner), funded(amount=1))
    assert drain() == ["failed", "failed"]
    assert Delivery.objects.get(endpoint=endpoint).status == Delivery.Status.FAILED
    endpoint.refresh_from_db()
    assert endpoint.failing_since is not None and endpoint.status == Endpoint.Status.ENABLED


def test_an_endpoint_failing_for_days_is_disabled(receiver, settings):
    settings.WEBHOOK_DISABLE_AFTER_SECONDS = 0
    owner = uuid.uuid4()
    endpoint = _subscribe(owner, receiver.url)
    receiver.default = 500
    _transfer(funded(amount=100_00, owner_id=owner), funded(amount=1))
    drain()
    endpoint.refresh_from_db()
    assert endpoint.status == Endpoint.Status.DISABLED and endpoint.disabled_reason == "failing"


def test_410_gone_disables_the_endpoint(receiver):
    owner = uuid.uuid4()
    endpoint = _subscribe(owner, receiver.url)
    receiver.default = 410
    source = funded(amount=100_00, owner_id=owner)
    _transfer(source, funded(amount=1))
    _transfer(source, funded(amount=1))
    assert drain() == ["gone"]  # the second is not sent to a disabled endpoint
    endpoint.refresh_from_db()
    assert endpoint.status == Endpoint.Status.DISABLED and endpoint.disabled_reason == "gone"
    assert len(receiver.received) == 1


def test_a_wallets_messages_arrive_in_order(receiver):
    owner = uuid.uuid4()
    endpoint = _subscribe(owner, receiver.url, ["operation.succeeded", "wallet.frozen", "wallet.unfrozen"])
    source = funded(amount=100_00, owner_id=owner)
    _transfer(source, funded(amount=1))
    ledger.wallet_freeze(wallet_id=source.id, actor="officer", reason="check")
    ledger.wallet_unfreeze(wallet_id=source.id, actor="officer", reason="fine")
    services.messages_dispatch()
    first, second, _third = Delivery.objects.filter(endpoint=endpoint).order_by("message_id")
    # the second is not sent before the first is delivered (or given up)
    assert services.delivery_attempt(delivery_id=second.id) is None
    receiver.script = [500]
    assert services.delivery_attempt(delivery_id=first.id) == "failed"
    assert services.delivery_attempt(delivery_id=second.id) is None
    assert drain() == ["delivered", "delivered", "delivered"]
    types = [json.loads(r.body)["type"] for r in receiver.received]
    assert types == ["operation.succeeded", "operation.succeeded", "wallet.frozen", "wallet.unfrozen"]


def test_replay_one_message_and_every_failed_one_since_a_time(receiver, settings):
    settings.WEBHOOK_RETRY_SCHEDULE = [0.0]
    owner = uuid.uuid4()
    client = client_for(owner, SCOPES)
    endpoint = _subscribe(owner, receiver.url)
    source = funded(amount=100_00, owner_id=owner)
    _transfer(source, funded(amount=1))
    assert drain() == ["delivered"]
    delivery = Delivery.objects.get(endpoint=endpoint)
    replayed = client.post(
        f"/v1/webhook-endpoints/{endpoint.id}/deliveries/{delivery.id}/replay", {}, format="json", **_key()
    )
    assert replayed.status_code == 202, replayed.content
    assert drain() == ["delivered"]
    assert receiver.received[0].headers["webhook-id"] == receiver.received[1].headers["webhook-id"]

    receiver.default = 500
    _transfer(source, funded(amount=1))
    assert drain() == ["failed"]
    receiver.default = 200
    since = delivery.message.created_at.isoformat()
    answer = client.post(f"/v1/webhook-endpoints/{endpoint.id}/replay", {"since": since}, format="json", **_key())
    assert answer.status_code == 202 and answer.json() == {"replayed": 1}
    assert drain() == ["delivered"]


def test_during_a_rotation_both_secrets_sign(receiver):
    owner = uuid.uuid4()
    client = client_for(owner, SCOPES)
    endpoint = _subscribe(owner, receiver.url)
    old = endpoint.secret
    rotated = client.post(f"/v1/webhook-endpoints/{endpoint.id}/rotate-secret", {}, format="json", **_key())
    new = rotated.json()["secret"]
    assert new != old and rotated.json()["secret_overlap_until"]
    _transfer(funded(amount=100_00, owner_id=owner), funded(amount=1))
    drain()
    (got,) = receiver.received
    assert len(got.headers["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        Webhook(secret).verify(got.body, got.headers)


def test_disable_and_enable(receiver):
    owner = uuid.uuid4()
    client = client_for(owner, SCOPES)
    endpoint = _subscribe(owner, receiver.url)
    assert (
        client.post(f"/v1/webhook-endpoints/{endpoint.id}/disable", {}, format="json", **_key()).json()["status"]
        == "DISABLED"
    )
    _transfer(funded(amount=100_00, owner_id=owner), funded(amount=1))
    assert not Message.objects.exists()  # no enabled subscriber: nothing kept
    again = client.post(f"/v1/webhook-endpoints/{endpoint.id}/disable", {}, format="json", **_key())
    assert again.status_code == 409
    assert (
        client.post(f"/v1/webhook-endpoints/{endpoint.id}/enable", {}, format="json", **_key()).json()["status"]
        == "ENABLED"
    )


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/hook",  # not https
        "https://127.0.0.1/hook",  # loopback
        "https://10.1.2.3/hook",  # private
        "https://169.254.169.254/latest/meta-data",  # link-local (cloud metadata)
        "https://[::1]/hook",
        "https://localhost/hook",
        "https://user:pw@example.com/hook",
        "ftp://example.com/hook",
    ],
)
def test_production_rules_refuse_urls_at_registration(settings, url):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    settings.WEBHOOK_ALLOW_HTTP = False
    client = client_for(uuid.uuid4(), SCOPES)
    answer = client.post(
        "/v1/webhook-endpoints", {"url": url, "event_types": ["wallet.frozen"]}, format="json", **_key()
    )
    assert answer.status_code in (400, 422), answer.content
    if answer.status_code == 422:
        assert answer.json()["code"] == "webhook_url_refused"
    assert not Endpoint.objects.exists()


def test_production_rules_refuse_at_delivery_time_too(receiver, settings):
    owner = uuid.uuid4()
    endpoint = _subscribe(owner, receiver.url)  # registered while loopback was allowed
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    settings.WEBHOOK_RETRY_SCHEDULE = [0.0]
    _transfer(funded(amount=100_00, owner_id=owner), funded(amount=1))
    assert drain() == ["refused"]
    assert receiver.received == []
    attempt = Attempt.objects.get(delivery__endpoint=endpoint)
    assert "non-public" in attempt.error


def test_the_checked_address_is_the_one_connected_to(monkeypatch, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    settings.WEBHOOK_ALLOW_HTTP = False
    answers = iter([[(2, 1, 6, "", ("93.184.216.34", 443))], [(2, 1, 6, "", ("127.0.0.1", 443))]])
    monkeypatch.setattr(transport.socket, "getaddrinfo", lambda *a, **k: next(answers))
    target = transport.resolve("https://rebind.example/hook")
    assert target.address == "93.184.216.34"  # the second (rebound) answer is never asked for
    with pytest.raises(transport.UrlRefused):
        transport.resolve("https://rebind.example/hook")


def test_monitors_fire_once_per_crossing(receiver):
    owner = uuid.uuid4()
    client = client_for(owner, SCOPES)
    _subscribe(owner, receiver.url, ["wallet.balance_below", "wallet.balance_above"])
    wallet = funded(amount=1000_00, owner_id=owner)
    for direction in ("below", "above"):
        made = client.post(
            f"/v1/wallets/{wallet.id}/monitors",
            {"currency": "USD", "direction": direction, "threshold": 500_00},
            format="json",
            **_key(),
        )
        assert made.status_code == 201, made.content
    other = funded(amount=10000_00)
    for amount in (300_00, 300_00, 100_00):  # 700, 400 (crossed below), 300
        _transfer(wallet, other, amount)
    assert list(Message.objects.values_list("type", flat=True)) == ["wallet.balance_below"]
    sagas.transfer_start(
        from_wallet_id=other.id, to_wallet_id=wallet.id, amount=300_00, currency="USD", memo="",
        reference=str(uuid.uuid4()), requested_by="test",
    )  # fmt: skip  # 600: crossed above
    _transfer(wallet, other, 200_00)  # 400: below again
    types = list(Message.objects.order_by("id").values_list("type", flat=True))
    assert types == ["wallet.balance_below", "wallet.balance_above", "wallet.balance_below"]
    assert drain() == ["delivered"] * 3
    first = json.loads(receiver.received[0].body)["data"]
    assert first["previous_available"] == 700_00 and first["available"] == 400_00 and first["threshold"] == 500_00
    assert len(client.get(f"/v1/wallets/{wallet.id}/monitors").json()) == 2
    assert client_for(uuid.uuid4(), SCOPES).get(f"/v1/wallets/{wallet.id}/monitors").status_code == 404


def test_operation_failed_and_pending_review_are_told(receiver):
    owner = uuid.uuid4()
    _subscribe(owner, receiver.url, ["operation.failed"])
    poor = funded(amount=1_00, owner_id=owner)
    saga = _transfer(poor, funded(amount=1), 50_00)
    assert saga.state == "FAILED"
    (message,) = Message.objects.all()
    assert message.type == "operation.failed" and message.data["error"]["code"] == "insufficient_funds"


def test_queue_figures_and_metrics(receiver, client):
    owner = uuid.uuid4()
    _subscribe(owner, receiver.url)
    _transfer(funded(amount=100_00, owner_id=owner), funded(amount=1))
    pending, undispatched, oldest = selectors.queue_figures()
    assert (pending, undispatched) == (0, 1) and oldest >= 0
    drain()
    assert selectors.queue_figures()[:2] == (0, 0)
    body = client.get("/metrics").content.decode()
    assert "webhook_queue_depth" in body and "webhook_oldest_undelivered_seconds" in body
    assert 'webhook_deliveries_total{outcome="delivered"}' in body

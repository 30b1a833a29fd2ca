"""Webhooks through the SDK against the live service and worker, with a real receiver on loopback:
an SDK user subscribes, makes a transfer, receives the signed `operation.succeeded`, verifies it
with the Standard Webhooks reference verifier and finds it in the delivery log (issue 20's "done
when"); then the rest of the endpoint's life (rotation, replay, disable/enable, delete) and balance
monitors. The request models and error classes on their own first."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from crowdpay_connect_sdk import errors
from crowdpay_connect_sdk.models import (
    BalanceMonitorRequest,
    EventType,
    TransferRequest,
    WebhookDeliveryStatus,
    WebhookEndpointRequest,
    WebhookEndpointStatus,
    WebhookEndpointUpdate,
)
from crowdpay_connect_sdk.wallet import RetryPolicy, WalletClient
from standardwebhooks.webhooks import Webhook

from crowdpay.webhooks import tasks
from crowdpay.webhooks.models import Endpoint
from crowdpay.webhooks.tests.receiver import Receiver
from wallets.tests.factories import funded

from .conftest import ALL_SCOPES, token

SCOPES = f"{ALL_SCOPES} webhook:manage"


def test_webhook_requests_serialise_as_the_api_names_them():
    request = WebhookEndpointRequest(
        url="https://app.example/hooks", event_types=[EventType.OPERATION_SUCCEEDED, "wallet.balance_below"]
    )
    assert request.to_dict() == {
        "url": "https://app.example/hooks",
        "event_types": ["operation.succeeded", "wallet.balance_below"],
        "description": "",
    }
    assert request.to_generated().event_types == [EventType.OPERATION_SUCCEEDED, EventType.WALLET_BALANCE_BELOW]
    assert WebhookEndpointUpdate(description="app").to_dict() == {"description": "app"}
    assert WebhookEndpointUpdate().to_generated().to_dict() == {}
    with pytest.raises(ValueError, match="unknown event types"):
        WebhookEndpointRequest(url="https://app.example/hooks", event_types=["operation.done"])
    with pytest.raises(ValueError, match="at least one"):
        WebhookEndpointRequest(url="https://app.example/hooks", event_types=[])
    with pytest.raises(TypeError, match="list of event types"):
        WebhookEndpointRequest(url="https://app.example/hooks", event_types="operation.succeeded")

    monitor = BalanceMonitorRequest(currency="USD", direction="BELOW", threshold=50_00)
    assert monitor.to_dict() == {"currency": "USD", "direction": "below", "threshold": 50_00, "description": ""}
    with pytest.raises(ValueError, match="below"):
        BalanceMonitorRequest(currency="USD", direction="under", threshold=1)
    with pytest.raises(TypeError, match="minor units"):
        BalanceMonitorRequest(currency="USD", direction="above", threshold=1.5)  # type: ignore[arg-type]


def test_webhook_error_codes_have_their_classes():
    assert errors.error_class("webhook_url_refused", 422) is errors.WebhookUrlRefused
    assert issubclass(errors.WebhookUrlRefused, errors.Refused)
    assert errors.error_class("unknown_event_type", 422) is errors.UnknownEventType
    assert errors.error_class("too_many_endpoints", 422) is errors.TooManyEndpoints
    for code in ("webhook_endpoint_not_found", "webhook_delivery_not_found", "monitor_not_found"):
        assert errors.error_class(code, 404) is errors.NotFound


async def _received(receiver: Receiver, count: int, timeout: float = 30.0) -> list:
    """Wait for `count` deliveries. The service asks its worker for a dispatch right after the
    commit; if none came (its hint that anyone subscribes is cached a moment per thread, and this
    test's worker runs no beat), the sweep that beat would run every few seconds is sent once."""
    swept = False
    deadline = asyncio.get_running_loop().time() + timeout
    while len(receiver.received) < count and asyncio.get_running_loop().time() < deadline:
        if not swept and asyncio.get_running_loop().time() > deadline - timeout / 2:
            tasks.webhooks_sweep.delay()
            swept = True
        await asyncio.sleep(0.05)
    return receiver.received


@pytest.mark.slow
def test_an_sdk_user_subscribes_receives_a_verified_operation_succeeded_and_sees_it_in_the_log(service):
    caller = uuid.uuid4()
    source, target = funded(amount=100_00, owner_id=caller), funded(amount=1, owner_id=uuid.uuid4())
    receiver = Receiver().start()

    async def scenario():
        async with WalletClient(
            base_url=service.url, api_key=token(caller, SCOPES), retry=RetryPolicy(max_retries=1, base=0.05)
        ) as client:
            created = await client.create_webhook_endpoint(
                WebhookEndpointRequest(
                    url=receiver.url, event_types=[EventType.OPERATION_SUCCEEDED], description="my app"
                )
            )
            op = await client.transfer(
                TransferRequest(from_wallet_id=source.id, to_wallet_id=target.id, amount=10_00, currency="USD")
            )
            (got,) = await _received(receiver, 1)
            page = await client.list_webhook_deliveries(created.id)
            return created, op, got, page

    try:
        created, op, got, page = asyncio.run(scenario())
    finally:
        receiver.stop()
    assert created.secret.startswith("whsec_") and created.status == WebhookEndpointStatus.ENABLED
    assert created.event_types == [EventType.OPERATION_SUCCEEDED] and created.description == "my app"
    assert op.done  # a same-currency transfer succeeds in the request

    payload = Webhook(created.secret).verify(got.body, got.headers)  # the spec's reference verifier
    assert payload["type"] == "operation.succeeded"
    assert payload["data"]["id"] == str(op.id) and payload["data"]["status"] == "SUCCEEDED"
    assert payload["data"]["amount"] == 10_00

    (delivery,) = page.results
    assert page.next_before is None
    assert delivery.message_id == got.headers["webhook-id"] and delivery.event_type == "operation.succeeded"
    assert delivery.status == WebhookDeliveryStatus.DELIVERED and delivery.wallet_id == source.id
    (attempt,) = delivery.attempt_log
    assert (attempt.status_code, str(attempt.outcome), attempt.response_head) == (200, "delivered", "ok")


@pytest.mark.slow
def test_an_endpoints_life_and_balance_monitors_through_the_sdk(service):
    caller = uuid.uuid4()
    source, target = funded(amount=100_00, owner_id=caller), funded(amount=1, owner_id=uuid.uuid4())
    receiver = Receiver().start()
    types = [EventType.OPERATION_SUCCEEDED, EventType.WALLET_BALANCE_BELOW]

    async def scenario():
        async with WalletClient(base_url=service.url, api_key=token(caller, SCOPES)) as client:
            created = await client.create_webhook_endpoint(
                WebhookEndpointRequest(url=receiver.url, event_types=types), idempotency_key="endpoint-1"
            )
            replayed = await client.create_webhook_endpoint(
                WebhookEndpointRequest(url=receiver.url, event_types=types), idempotency_key="endpoint-1"
            )
            listed = await client.list_webhook_endpoints()
            updated = await client.update_webhook_endpoint(created.id, WebhookEndpointUpdate(description="ops"))
            rotated = await client.rotate_webhook_secret(created.id)

            monitor = await client.create_balance_monitor(
                source.id, BalanceMonitorRequest(currency="USD", direction="below", threshold=95_00)
            )
            monitors = await client.list_balance_monitors(source.id)
            await client.transfer(
                TransferRequest(from_wallet_id=source.id, to_wallet_id=target.id, amount=10_00, currency="USD")
            )
            received = list(await _received(receiver, 2))
            deliveries = [d async for d in client.webhook_deliveries(created.id, page_size=1)]

            # replay one: sent again with the same webhook-id
            again = await client.replay_webhook_delivery(created.id, deliveries[-1].id)
            resent = (await _received(receiver, 3))[2]
            nothing_failed = await client.replay_failed_webhook_deliveries(
                created.id, since=datetime.now(UTC) - timedelta(hours=1)
            )

            disabled = await client.disable_webhook_endpoint(created.id)
            with pytest.raises(errors.Conflict) as twice:
                await client.disable_webhook_endpoint(created.id)
            enabled = await client.enable_webhook_endpoint(created.id)

            await client.delete_balance_monitor(source.id, monitor.id)
            after_delete = await client.list_balance_monitors(source.id)
            with pytest.raises(errors.NotFound) as gone_monitor:
                await client.delete_balance_monitor(source.id, monitor.id)
            await client.delete_webhook_endpoint(created.id)
            with pytest.raises(errors.NotFound) as gone:
                await client.get_webhook_endpoint(created.id)
            return locals()

    try:
        r = asyncio.run(scenario())
    finally:
        receiver.stop()
    created, rotated = r["created"], r["rotated"]
    assert r["replayed"].id == created.id  # the same Idempotency-Key answers the first registration
    assert [e.id for e in r["listed"]] == [created.id] and not hasattr(r["listed"][0], "secret")
    assert r["updated"].description == "ops"
    assert rotated.secret != created.secret and rotated.secret_overlap_until is not None

    assert r["monitor"].direction == "below" and r["monitor"].threshold == 95_00
    assert [m.id for m in r["monitors"]] == [r["monitor"].id]
    # both deliveries are signed by both secrets during the rotation's overlap
    got = {}
    for message in r["received"]:
        payload = Webhook(rotated.secret).verify(message.body, message.headers)
        assert Webhook(created.secret).verify(message.body, message.headers) == payload
        got[payload["type"]] = payload["data"]
    assert set(got) == {"operation.succeeded", "wallet.balance_below"}
    assert got["wallet.balance_below"]["previous_available"] == 100_00
    assert got["wallet.balance_below"]["available"] == 90_00
    assert got["wallet.balance_below"]["monitor_id"] == str(r["monitor"].id)

    deliveries = r["deliveries"]
    assert len(deliveries) == 2 and deliveries[0].id > deliveries[1].id  # newest first, across pages
    assert all(d.status == WebhookDeliveryStatus.DELIVERED for d in deliveries)
    assert r["again"].status == WebhookDeliveryStatus.PENDING and r["again"].attempts == 0
    assert r["resent"].headers["webhook-id"] == deliveries[-1].message_id
    assert r["nothing_failed"] == 0

    assert r["disabled"].status == WebhookEndpointStatus.DISABLED and r["disabled"].disabled_reason == "owner"
    assert r["twice"].value.code == "invalid_transition"
    assert r["enabled"].status == WebhookEndpointStatus.ENABLED
    assert r["after_delete"] == [] and r["gone_monitor"].value.code == "monitor_not_found"
    assert r["gone"].value.code == "webhook_endpoint_not_found"
    assert not Endpoint.objects.filter(pk=created.id).exists()


@pytest.mark.slow
def test_an_invalid_url_and_a_missing_scope_raise_their_classes(service):
    caller = uuid.uuid4()

    async def scenario():
        async with WalletClient(
            base_url=service.url, api_key=token(caller, SCOPES), retry=RetryPolicy(max_retries=0)
        ) as client:
            with pytest.raises(errors.InvalidRequest) as invalid:
                await client.create_webhook_endpoint(
                    WebhookEndpointRequest(url="not a url", event_types=["operation.succeeded"])
                )
            with pytest.raises(errors.PermissionDenied) as denied:
                async with WalletClient(base_url=service.url, api_key=token(caller, ALL_SCOPES)) as other:
                    await other.list_webhook_endpoints()
            return invalid.value, denied.value

    invalid, denied = asyncio.run(scenario())
    assert invalid.status == 400 and {e["field"] for e in invalid.errors} == {"url"}
    assert denied.code == "insufficient_scope"

"""A call retried after its answer was lost has one effect: every try carries the call's one
Idempotency-Key, and the service replays its first answer."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from types import SimpleNamespace

import pytest
from crowdpay_connect_sdk.errors import NetworkError
from crowdpay_connect_sdk.models import CreditRequest, OperationStatus, TransferRequest
from crowdpay_connect_sdk.wallet import RetryPolicy, WalletClient
from django.db import connection

from crowdpay import services as idempotency
from crowdpay.api.idempotency import request_fingerprint
from crowdpay.models import IdempotencyKey
from sagas.models import Saga
from wallets.integrity import reconcile
from wallets.tests.factories import WalletFactory, balance_of, funded

from .conftest import free_port, token
from .proxy import FlakyProxy

pytestmark = pytest.mark.slow


class RecordingPolicy(RetryPolicy):
    """Quick retries, each one recorded."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**{"base": 0.05, "cap": 0.5, **kwargs})
        self.retries: list[int] = []

    def backoff(self, attempt: int, *, at_least: float | None = None) -> float:
        self.retries.append(attempt)
        return super().backoff(attempt, at_least=at_least)


def test_a_transfer_whose_answer_was_dropped_is_retried_with_one_effect(service):
    caller = uuid.uuid4()
    source, target = funded(amount=1000_00, owner_id=caller), WalletFactory()
    policy = RecordingPolicy()

    async def scenario():
        with FlakyProxy(service.port, faults=1, mode="drop") as proxy:
            async with WalletClient(base_url=proxy.url, api_key=token(caller), retry=policy) as client:
                handle = await client.transfer(
                    TransferRequest(
                        from_wallet_id=source.id, to_wallet_id=str(target.id), amount=100_00, currency="USD"
                    )
                )
            return proxy, handle

    proxy, handle = asyncio.run(scenario())
    assert proxy.lost == [b"HTTP/1.1 200 OK"]  # the first try took effect (done in the request); its answer was lost
    assert proxy.connections == 2 and policy.retries == [0]
    assert handle.replayed and handle.status == OperationStatus.SUCCEEDED
    assert balance_of(source) == (900_00, 0)
    assert balance_of(target) == (100_00, 0)
    assert Saga.objects.filter(kind=Saga.Kind.TRANSFER).count() == 1
    assert IdempotencyKey.objects.filter(caller=str(caller)).count() == 1
    assert reconcile() == []


def test_a_credit_answered_502_after_it_ran_is_retried_with_one_effect(service):
    caller = uuid.uuid4()
    wallet = WalletFactory(owner_id=caller)
    policy = RecordingPolicy()

    async def scenario():
        with FlakyProxy(service.port, faults=1, mode="502") as proxy:
            async with WalletClient(base_url=proxy.url, api_key=token(caller), retry=policy) as client:
                handle = await client.credit_wallet(
                    wallet.id, CreditRequest(amount=250_00, currency="USD", reference="ch_test_ok_retry")
                )
                final = await handle.wait(timeout=60)
            return proxy, handle, final

    proxy, handle, final = asyncio.run(scenario())
    assert proxy.lost == [b"HTTP/1.1 202 Accepted"]
    assert policy.retries == [0] and handle.replayed
    assert final.status == OperationStatus.SUCCEEDED
    assert Saga.objects.filter(kind=Saga.Kind.FUNDING).count() == 1
    assert balance_of(wallet) == (250_00, 0)
    assert reconcile() == []


def test_a_key_still_in_progress_is_retried_until_its_first_request_is_done(service):
    caller = uuid.uuid4()
    wallet = WalletFactory(owner_id=caller)
    request = CreditRequest(amount=10_00, currency="USD", reference="ch_test_ok_in_progress")
    key = "order-42"
    path = f"/v1/wallets/{wallet.id}/credit"
    # Another request with this key and body holds the key (as if it were still running).
    # (the service canonicalises the JSON body before hashing it, so this matches the SDK's request)
    raw = json.dumps(request.to_generated().to_dict()).encode()
    fingerprint = request_fingerprint(
        SimpleNamespace(_request=SimpleNamespace(body=raw), method="POST", get_full_path=lambda: path)
    )
    claim = idempotency.idempotency_claim(
        caller=str(caller), key=key, fingerprint=fingerprint, method="POST", path=path
    )
    assert not claim.replay

    def finish_the_first_request() -> None:
        time.sleep(1.0)
        idempotency.idempotency_release(record=claim.record)  # it died before doing anything
        connection.close()

    releaser = threading.Thread(target=finish_the_first_request)
    policy = RecordingPolicy(max_retries=10, base=0.2, cap=0.4)

    async def scenario():
        async with WalletClient(base_url=service.url, api_key=token(caller), retry=policy) as client:
            handle = await client.credit_wallet(wallet.id, request, idempotency_key=key)
            return await handle.wait(timeout=60)

    releaser.start()
    final = asyncio.run(scenario())
    releaser.join()
    assert len(policy.retries) >= 1  # answered 409 idempotency_key_in_progress, then retried
    assert final.status == OperationStatus.SUCCEEDED
    assert Saga.objects.filter(kind=Saga.Kind.FUNDING).count() == 1
    assert balance_of(wallet) == (10_00, 0)


def test_an_unreachable_service_raises_network_error_after_the_retries():
    policy = RecordingPolicy(max_retries=2, base=0.0, cap=0.0)

    async def scenario():
        async with WalletClient(base_url=f"http://127.0.0.1:{free_port()}", api_key="t", retry=policy) as client:
            await client.get_wallet(uuid.uuid4())

    with pytest.raises(NetworkError) as info:
        asyncio.run(scenario())
    assert info.value.code == "network_error" and info.value.status is None
    assert policy.retries == [0, 1]

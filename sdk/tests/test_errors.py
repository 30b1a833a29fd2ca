"""Each error of the live service reaches the caller as the exception for its code, carrying the
problem's `code`, `status` and `detail`. A write refused within the request (422) raises the class
for its code with the FAILED operation attached; one that fails later raises it from `wait()`."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from crowdpay_connect_sdk import errors
from crowdpay_connect_sdk.models import (
    CreditRequest,
    DebitRequest,
    NewWalletRequest,
    OperationStatus,
    TransferRequest,
    WalletKind,
)
from crowdpay_connect_sdk.wallet import RetryPolicy, WalletClient

from sagas import services as saga_services
from sagas.models import Payout
from wallets import services
from wallets.tests.factories import WalletFactory, balance_of, funded

from .conftest import token

pytestmark = pytest.mark.slow


def run(service, api_key: str, call):
    """Run `call(client)` against the live service and return its result."""

    async def scenario():
        async with WalletClient(base_url=service.url, api_key=api_key, retry=RetryPolicy(max_retries=0)) as client:
            return await call(client)

    return asyncio.run(scenario())


def raised(service, api_key: str, call) -> errors.CrowdPayError:
    with pytest.raises(errors.CrowdPayError) as info:
        run(service, api_key, call)
    return info.value


def test_a_bad_token_is_an_authentication_error(service):
    error = raised(service, "not-a-jwt", lambda c: c.list_wallets())
    assert type(error) is errors.AuthenticationError
    assert (error.code, error.status) == ("invalid_token", 401)
    assert error.detail


def test_a_missing_scope_is_permission_denied(service):
    error = raised(
        service, token(uuid.uuid4(), "wallet:read"), lambda c: c.create_wallet(NewWalletRequest(base_currency="USD"))
    )
    assert type(error) is errors.PermissionDenied
    assert (error.code, error.status) == ("insufficient_scope", 403)
    assert "wallet:create" in error.detail


def test_another_owners_wallet_and_an_unknown_operation_are_not_found(service):
    theirs = WalletFactory()
    error = raised(service, token(uuid.uuid4()), lambda c: c.get_wallet(theirs.id))
    assert type(error) is errors.NotFound
    assert (error.code, error.status) == ("wallet_not_found", 404)
    error = raised(service, token(uuid.uuid4()), lambda c: c.get_operation(uuid.uuid4()))
    assert (type(error), error.code, error.status) == (errors.NotFound, "operation_not_found", 404)


def test_an_unsupported_currency_is_an_invalid_request(service):
    error = raised(service, token(uuid.uuid4()), lambda c: c.create_wallet(NewWalletRequest(base_currency="XXX")))
    assert type(error) is errors.UnsupportedCurrency and isinstance(error, errors.InvalidRequest)
    assert (error.code, error.status) == ("unsupported_currency", 400)
    assert [e["field"] for e in error.errors] == ["base_currency"]


def test_a_transfer_to_the_same_wallet_is_refused(service):
    caller = uuid.uuid4()
    wallet = funded(amount=10_00, owner_id=caller)
    request = TransferRequest(from_wallet_id=wallet.id, to_wallet_id=wallet.id, amount=1_00, currency="USD")
    error = raised(service, token(caller), lambda c: c.transfer(request))
    assert (type(error), error.code, error.status) == (errors.SameWallet, "same_wallet", 400)


def test_a_key_reused_for_another_request_is_idempotency_key_reused(service):
    caller = uuid.uuid4()
    wallet = WalletFactory(owner_id=caller)

    async def twice(client):
        await client.credit_wallet(
            wallet.id, CreditRequest(amount=1_00, currency="USD", reference="ch_test_ok_a"), idempotency_key="k1"
        )
        await client.credit_wallet(
            wallet.id, CreditRequest(amount=2_00, currency="USD", reference="ch_test_ok_a"), idempotency_key="k1"
        )

    error = raised(service, token(caller), twice)
    assert type(error) is errors.IdempotencyKeyReused and isinstance(error, errors.Refused)
    assert (error.code, error.status) == ("idempotency_key_reused", 422)


def test_a_transfer_beyond_the_balance_raises_insufficient_funds_with_its_operation(service):
    caller = uuid.uuid4()
    source, target = funded(amount=50_00, owner_id=caller), WalletFactory()
    request = TransferRequest(from_wallet_id=source.id, to_wallet_id=target.id, amount=80_00, currency="USD")
    error = raised(service, token(caller), lambda c: c.transfer(request))
    assert type(error) is errors.InsufficientFunds and isinstance(error, errors.Refused)
    assert (error.code, error.status) == ("insufficient_funds", 422)
    assert error.operation.status == OperationStatus.FAILED and error.operation.amount == 80_00
    assert error.operation_id == error.operation.id and str(error.operation_id) == error.problem["operation_id"]
    assert balance_of(source) == (50_00, 0) and balance_of(target) == (0, 0)
    # the FAILED operation is kept: it can be read back by the id the error carries
    handle = run(service, token(caller), lambda c: c.get_operation(error.operation_id))
    assert handle.status == OperationStatus.FAILED and handle.operation.error.code == "insufficient_funds"


def test_a_refusal_replayed_under_its_key_raises_the_same_error(service):
    caller = uuid.uuid4()
    source, target = funded(amount=1_00, owner_id=caller), WalletFactory()
    request = TransferRequest(from_wallet_id=source.id, to_wallet_id=target.id, amount=2_00, currency="USD")
    first = raised(service, token(caller), lambda c: c.transfer(request, idempotency_key="poor-1"))
    again = raised(service, token(caller), lambda c: c.transfer(request, idempotency_key="poor-1"))
    assert (type(again), again.status, again.operation_id) == (type(first), 422, first.operation_id)
    assert again.problem == first.problem


def test_a_transfer_from_a_frozen_wallet_raises_wallet_frozen(service):
    caller = uuid.uuid4()
    source, target = funded(amount=50_00, owner_id=caller), WalletFactory()
    services.wallet_freeze(wallet_id=source.id, actor="officer:1", reason="KYC review")
    request = TransferRequest(from_wallet_id=source.id, to_wallet_id=target.id, amount=10_00, currency="USD")
    error = raised(service, token(caller), lambda c: c.transfer(request))
    assert (type(error), error.code, error.status) == (errors.WalletFrozen, "wallet_frozen", 422)
    assert error.operation is not None and error.operation_id == error.operation.id
    assert balance_of(source) == (50_00, 0)


def test_a_withdrawal_refused_by_the_worker_raises_from_wait(service):
    caller = uuid.uuid4()
    wallet = funded(amount=30_00, owner_id=caller)

    async def withdraw(client):
        handle = await client.debit_wallet(wallet.id, DebitRequest(amount=40_00, currency="USD", destination="iban:X"))
        assert handle.status == OperationStatus.PENDING and not handle.done
        await handle.wait(timeout=60)

    error = raised(service, token(caller), withdraw)
    assert (type(error), error.code, error.status) == (errors.InsufficientFunds, "insufficient_funds", None)
    assert error.operation.status == OperationStatus.FAILED
    assert balance_of(wallet) == (30_00, 0)


def test_a_failed_payout_is_operation_failed_and_a_paid_one_succeeds(service):
    caller = uuid.uuid4()
    wallet = funded(amount=30_00, owner_id=caller)
    api_key = token(caller)

    def withdraw_and_settle(amount: int, *, paid: bool):
        request = DebitRequest(amount=amount, currency="USD", destination="iban:X")
        operation_id = run(service, api_key, lambda c: c.debit_wallet(wallet.id, request)).id
        deadline = time.monotonic() + 60  # the worker screens, holds, then queues the payout
        while not (payout := Payout.objects.filter(saga_id=operation_id).first()) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert payout is not None, service.logs()
        saga_services.payout_mark(payout_id=payout.id, paid=paid, actor="finance:1", reason="" if paid else "closed")
        return run(service, api_key, lambda c: _wait(c, operation_id))

    with pytest.raises(errors.OperationFailed) as info:
        withdraw_and_settle(10_00, paid=False)
    error = info.value
    assert (error.code, error.status, error.operation.status) == ("payout_failed", None, OperationStatus.FAILED)
    assert balance_of(wallet) == (30_00, 0)  # the hold was released
    assert withdraw_and_settle(10_00, paid=True).status == OperationStatus.SUCCEEDED
    assert balance_of(wallet) == (20_00, 0)


async def _wait(client, operation_id):
    handle = await client.get_operation(operation_id)
    return await handle.wait(timeout=60)


def test_waiting_past_the_timeout_raises_operation_timeout(service):
    caller = uuid.uuid4()
    wallet = funded(amount=30_00, owner_id=caller)

    async def withdraw(client):
        # the built-in settlement waits for finance staff to mark the payout paid
        handle = await client.debit_wallet(wallet.id, DebitRequest(amount=10_00, currency="USD", destination="iban:X"))
        await handle.wait(timeout=1.5)

    error = raised(service, token(caller), withdraw)
    assert type(error) is errors.OperationTimeout and isinstance(error, TimeoutError)
    assert error.operation.status == OperationStatus.PENDING


def test_an_admin_opens_and_lists_another_owners_wallets(service):
    owner = uuid.uuid4()
    admin = token(uuid.uuid4(), "wallet:create wallet:read wallet:admin")

    async def without_operation(client):
        wallet = await client.create_wallet(
            NewWalletRequest(owner_id=owner, kind=WalletKind.POD, base_currency="EUR", metadata={"name": "Pod"})
        )
        return wallet, await client.list_wallets(owner_id=str(owner))

    wallet, listed = run(service, admin, without_operation)
    assert (wallet.owner_id, wallet.kind, wallet.base_currency) == (owner, WalletKind.POD, "EUR")
    assert [w.id for w in listed] == [wallet.id]
    # without the admin scope, another owner's wallets do not exist
    assert run(service, token(uuid.uuid4()), lambda c: c.list_wallets(owner_id=owner)) == []

"""Funding confirmed by a payment provider: the HTTP gateway against a real stub provider on
loopback, the charge used at most once, the wait for a pending charge, refunds through the provider,
and the built-in sandbox's test tokens."""

from __future__ import annotations

import json
import time
import uuid
from urllib.parse import unquote

import pytest

from sagas import charges, hooks, services
from sagas.gateways import GatewayRejected, GatewayUnavailable, funding_gateway
from sagas.gateways.funding import (
    SANDBOX_TOKENS,
    Charge,
    ChargePending,
    HttpFundingGateway,
    SandboxFundingGateway,
)
from sagas.models import FundingClaim, FundingWebhook, Saga, SagaStep
from sagas.tests.conftest import UNREACHABLE, advance
from wallets import services as ledger
from wallets.integrity import reconcile
from wallets.models import JournalEntry
from wallets.tests.factories import WalletFactory, balance_of

pytestmark = pytest.mark.django_db


def start(wallet, charge="ch_live_1", *, amount=500_00, currency="USD", key=None):
    return services.funding_start(
        wallet_id=wallet.id,
        amount=amount,
        currency=currency,
        source="CARD",
        source_reference=charge,
        reference=key or f"op-{uuid.uuid4()}",
        requested_by="user:1",
    )


def steps(saga) -> list[tuple[str, str]]:
    return list(SagaStep.objects.filter(saga=saga).values_list("step", "result"))


def charge_route(status="captured", amount=500_00, currency="USD"):
    return lambda request: (
        200,
        {"id": unquote(request["path"].rsplit("/", 1)[-1]), "status": status, "amount": amount, "currency": currency},
    )


@pytest.fixture
def provider(local_service, settings):
    """A real HTTP payment provider on loopback, the configured funding endpoint; refunds accepted."""
    settings.FUNDING_SERVICE_ENDPOINT = local_service.url
    settings.FUNDING_PROVIDER_NAME = "stub-psp"
    settings.FUNDING_HTTP_TRIES = 3
    local_service.routes[("POST", "/charges/")] = lambda request: (201, {"status": "refunded"})
    return local_service


def lookups(service) -> list[dict]:
    return [r for r in service.requests if r["method"] == "GET"]


def refunds(service) -> list[dict]:
    return [r for r in service.requests if r["method"] == "POST"]


# --- the HTTP gateway -----------------------------------------------------------------------------


def test_the_settings_choose_the_http_provider_or_the_sandbox(settings):
    settings.FUNDING_SERVICE_ENDPOINT = ""
    assert isinstance(funding_gateway(), SandboxFundingGateway) and funding_gateway().provider == "sandbox"
    settings.FUNDING_SERVICE_ENDPOINT = "https://psp.example/v1"
    settings.FUNDING_PROVIDER_NAME = ""
    gateway = funding_gateway()
    assert isinstance(gateway, HttpFundingGateway) and gateway.provider == "psp.example"


def test_a_captured_charge_is_looked_up_and_funds_the_wallet(provider, wallet):
    provider.routes[("GET", "/charges/")] = charge_route()
    saga = advance(start(wallet, "ch_live/1 x"))
    assert saga.state == Saga.State.SUCCEEDED
    assert balance_of(wallet) == (1500_00, 0)
    (lookup,) = lookups(provider)
    assert lookup["path"] == "/charges/ch_live%2F1%20x"  # the reference is one path segment, quoted
    assert steps(saga)[-2:] == [("confirm", "ok"), ("credit", "ok")]
    claim = FundingClaim.objects.get()
    assert (claim.provider, claim.charge_reference, claim.saga_id) == ("stub-psp", "ch_live/1 x", saga.id)
    assert reconcile() == []


@pytest.mark.parametrize(
    ("route", "code"),
    [
        (lambda r: (404, {"code": "resource_missing"}), "charge_not_found"),
        (charge_route(status="refunded"), "charge_not_captured"),
        (charge_route(status="failed"), "charge_declined"),
        (charge_route(amount=499_99), "charge_mismatch"),
        (charge_route(currency="EUR"), "charge_mismatch"),
        (lambda r: (402, {"code": "card_declined"}), "card_declined"),
    ],
)
def test_a_charge_that_cannot_fund_fails_the_saga_cleanly(provider, wallet, route, code):
    provider.routes[("GET", "/charges/")] = route
    saga = advance(start(wallet))
    assert (saga.state, saga.error_code) == (Saga.State.FAILED, code)
    assert steps(saga)[-1] == ("confirm", "declined")
    assert balance_of(wallet) == (1000_00, 0)
    assert not JournalEntry.objects.filter(reference__startswith=f"saga:{saga.id}").exists()
    assert refunds(provider) == []  # nothing was taken, nothing to give back


def test_a_failed_saga_does_not_burn_its_charge(provider, wallet):
    provider.routes[("GET", "/charges/")] = lambda r: (404, {})
    first = advance(start(wallet))
    assert first.error_code == "charge_not_found"
    provider.routes[("GET", "/charges/")] = charge_route()  # the provider has it now
    second = advance(start(wallet))
    assert second.state == Saga.State.SUCCEEDED
    assert FundingClaim.objects.get().saga_id == second.id  # the claim moved to the saga that funded


def test_provider_5xx_is_retried_within_the_call(provider, wallet):
    answers = [(503, {}), (502, {}), None]

    def flaky(request):
        answer = answers.pop(0)
        return answer or charge_route()(request)

    provider.routes[("GET", "/charges/")] = flaky
    assert advance(start(wallet)).state == Saga.State.SUCCEEDED
    assert len(lookups(provider)) == 3


def test_a_provider_that_keeps_failing_is_retried_with_backoff_then_refunded(provider, wallet, settings):
    settings.SAGA_MAX_ATTEMPTS = 2
    settings.FUNDING_HTTP_TRIES = 1
    provider.routes[("GET", "/charges/")] = lambda r: (500, {"error": "boom"})
    saga = advance(start(wallet))
    assert (saga.state, saga.attempts) == (Saga.State.APPROVED, 1)
    saga = advance(saga)  # the last try: the provider may have taken the charge, so it is given back
    assert (saga.state, saga.error_code) == (Saga.State.FAILED, "gateway_unavailable")
    (refund,) = refunds(provider)
    assert refund["path"] == "/charges/ch_live_1/refunds"
    assert refund["headers"]["Idempotency-Key"] == f"saga:{saga.id}:refund"
    assert refund["json"] == {"amount": 500_00, "currency": "USD", "reference": f"saga:{saga.id}:refund"}
    assert balance_of(wallet) == (1000_00, 0)


def test_a_lookup_that_times_out_is_unavailable(local_service, settings):
    settings.GATEWAY_TIMEOUT_SECONDS = 0.2

    def slow(request):
        time.sleep(0.6)
        return charge_route()(request)

    local_service.routes[("GET", "/charges/")] = slow
    gateway = HttpFundingGateway(local_service.url, tries=2)
    started = time.monotonic()
    with pytest.raises(GatewayUnavailable) as info:
        gateway.confirm(source="CARD", source_reference="ch_1", amount=500_00, currency="USD")
    assert "Timeout" in info.value.detail
    assert time.monotonic() - started < 2.5
    assert len(local_service.requests) == 2


@pytest.mark.parametrize(
    "body",
    [
        {"id": "ch_1", "status": "weird", "amount": 1, "currency": "USD"},
        {"id": "ch_1", "status": "captured", "amount": "500", "currency": "USD"},
        {"id": "ch_other", "status": "captured", "amount": 500_00, "currency": "USD"},
        {"status": "captured"},
    ],
)
def test_an_unusable_charge_is_unavailable_not_a_decision(local_service, body):
    local_service.routes[("GET", "/charges/")] = lambda r: (200, body)
    with pytest.raises(GatewayUnavailable):
        HttpFundingGateway(local_service.url, tries=1).confirm(
            source="CARD", source_reference="ch_1", amount=500_00, currency="USD"
        )


def test_an_unreachable_provider_is_unavailable():
    with pytest.raises(GatewayUnavailable):
        HttpFundingGateway(UNREACHABLE, tries=1).charge_get(reference="ch_1", amount=1, currency="USD")


def test_a_refund_of_a_charge_the_provider_never_took_is_done(local_service):
    local_service.routes[("POST", "/charges/")] = lambda r: (404, {"code": "resource_missing"})
    gateway = HttpFundingGateway(local_service.url, tries=1)
    assert gateway.refund(source="CARD", source_reference="ch_1", amount=5, currency="USD", reference="saga:x") is None
    local_service.routes[("POST", "/charges/")] = lambda r: (409, {"code": "charge_disputed"})
    with pytest.raises(GatewayRejected) as info:
        gateway.refund(source="CARD", source_reference="ch_1", amount=5, currency="USD", reference="saga:x")
    assert info.value.code == "charge_disputed"


def test_a_refund_retried_after_an_outage_carries_the_same_idempotency_key(provider, settings):
    settings.SAGA_MAX_ATTEMPTS = 5
    empty = WalletFactory()
    provider.routes[("GET", "/charges/")] = charge_route()
    saga = start(empty)
    services.step_run(saga)
    services.step_run(Saga.objects.get(pk=saga.id))
    ledger.wallet_close(wallet_id=empty.id, actor="officer", reason="customer left")
    outage = [(503, {})] * 3  # one call's three tries
    provider.routes[("POST", "/charges/")] = lambda r: outage.pop(0) if outage else (200, {"status": "refunded"})
    saga = advance(saga)
    assert (saga.state, saga.error_code) == (Saga.State.COMPENSATING, "wallet_closed")
    saga = advance(saga)
    assert (saga.state, saga.error_code) == (Saga.State.FAILED, "wallet_closed")
    keys = {r["headers"]["Idempotency-Key"] for r in refunds(provider)}
    assert keys == {f"saga:{saga.id}:refund"} and len(refunds(provider)) == 4
    advance(saga)  # run again: never refunded twice
    assert len(refunds(provider)) == 4


# --- at most once ---------------------------------------------------------------------------------


def test_the_same_charge_twice_is_refused_and_nothing_is_written(provider, wallet, other_wallet):
    provider.routes[("GET", "/charges/")] = charge_route()
    first = advance(start(wallet, "ch_once"))
    assert first.state == Saga.State.SUCCEEDED
    sagas, entries, steps_before = Saga.objects.count(), JournalEntry.objects.count(), SagaStep.objects.count()
    for target in (wallet, other_wallet):
        with pytest.raises(Exception) as info:
            start(target, "ch_once")
        assert (info.value.code, info.value.status) == ("charge_already_used", 422)
    assert (Saga.objects.count(), JournalEntry.objects.count(), SagaStep.objects.count()) == (
        sagas,
        entries,
        steps_before,
    )
    assert FundingClaim.objects.get().saga_id == first.id
    assert len(lookups(provider)) == 1  # the refused credits never reached the provider


def test_a_charge_held_by_a_running_saga_is_refused_to_another(provider, wallet):
    provider.routes[("GET", "/charges/")] = charge_route(status="pending")
    waiting = advance(start(wallet, "ch_pending"))
    assert waiting.state == Saga.State.APPROVED
    with pytest.raises(Exception) as info:
        start(wallet, "ch_pending")
    assert info.value.code == "charge_already_used"


def test_the_same_request_replayed_is_its_own_saga_not_a_reuse(provider, wallet):
    provider.routes[("GET", "/charges/")] = charge_route()
    first = advance(start(wallet, "ch_replay", key="op-same"))
    assert start(wallet, "ch_replay", key="op-same").id == first.id


def test_the_same_charge_twice_through_the_api_is_422_whatever_the_key(api, caller, settings):
    settings.FUNDING_SERVICE_ENDPOINT = ""
    wallet = WalletFactory(owner_id=caller)
    body = {"amount": 25_00, "currency": "USD", "source": "CARD", "reference": "ch_test_ok_twice"}
    url = f"/v1/wallets/{wallet.id}/credit"
    first = api.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="key-1")
    assert first.status_code in (200, 202), first.content
    advance(Saga.objects.get())
    sagas = Saga.objects.count()
    again = api.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="key-2")
    assert again.status_code == 422 and again["Content-Type"] == "application/problem+json"
    assert again.json()["code"] == "charge_already_used"
    assert Saga.objects.count() == sagas and FundingClaim.objects.count() == 1
    assert balance_of(wallet) == (25_00, 0)


# --- waiting for the capture ----------------------------------------------------------------------


def signed_capture(reference, *, amount=500_00, currency="USD", webhook_id=None, status="captured"):
    data = {"id": reference, "status": status, "amount": amount, "currency": currency}
    body = json.dumps({"type": f"charge.{status}", "data": data}).encode()
    return body, hooks.signed_headers(body, webhook_id=webhook_id or f"evt_{uuid.uuid4().hex}")


def test_a_pending_charge_waits_then_a_signed_webhook_confirms_it(
    provider, wallet, client, django_capture_on_commit_callbacks
):
    provider.routes[("GET", "/charges/")] = charge_route(status="pending")
    saga = advance(start(wallet, "ch_late"))
    assert saga.state == Saga.State.APPROVED and saga.next_attempt_at is not None
    assert steps(saga)[-1] == ("confirm", "pending")
    advance(saga)  # a poll meanwhile: still pending, one log line for the whole wait
    assert steps(saga).count(("confirm", "pending")) == 1
    body, headers = signed_capture("ch_late")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(
            "/v1/hooks/funding",
            body,
            content_type="application/json",
            **{f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()},
        )
    assert response.status_code == 200, response.content
    assert response.json() == {"id": headers["webhook-id"], "duplicate": False}
    assert [cb.__qualname__ for cb in callbacks].count("enqueue.<locals>.send") == 1  # the saga is woken
    saga = advance(saga)
    assert saga.state == Saga.State.SUCCEEDED
    assert balance_of(wallet) == (1500_00, 0)


def test_a_webhook_for_another_amount_fails_the_funding(provider, wallet):
    provider.routes[("GET", "/charges/")] = charge_route(status="pending")
    saga = advance(start(wallet, "ch_late"))
    body, headers = signed_capture("ch_late", amount=1)
    hooks.funding_hook_receive(headers=headers, body=body)
    saga = advance(saga)
    assert (saga.state, saga.error_code) == (Saga.State.FAILED, "charge_mismatch")


def test_the_wait_times_out_then_the_charge_is_refunded_and_the_saga_fails(provider, wallet, settings):
    settings.FUNDING_CONFIRM_TIMEOUT_SECONDS = 0.5
    settings.FUNDING_CONFIRM_POLL_SECONDS = 10
    provider.routes[("GET", "/charges/")] = charge_route(status="pending")
    saga = advance(start(wallet, "ch_never"))
    assert saga.state == Saga.State.APPROVED
    assert (saga.next_attempt_at - SagaStep.objects.filter(saga=saga).last().at).total_seconds() <= 0.6
    time.sleep(0.6)
    saga = advance(saga)
    assert (saga.state, saga.error_code) == (Saga.State.FAILED, "charge_not_captured")
    assert steps(saga)[-3:] == [("confirm", "pending"), ("confirm", "gave_up"), ("refund", "refunded")]
    (refund,) = refunds(provider)
    assert refund["headers"]["Idempotency-Key"] == f"saga:{saga.id}:refund"
    assert balance_of(wallet) == (1000_00, 0)
    # a capture reported after we stopped waiting changes nothing (the provider voids it on the refund)
    body, headers = signed_capture("ch_never")
    hooks.funding_hook_receive(headers=headers, body=body)
    assert advance(saga).state == Saga.State.FAILED and balance_of(wallet) == (1000_00, 0)


# --- the sandbox ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "state", "code"),
    [
        ("ch_test_ok", Saga.State.SUCCEEDED, ""),
        ("ch_test_ok_order-77", Saga.State.SUCCEEDED, ""),
        ("ch_test_declined_1", Saga.State.FAILED, "charge_declined"),
        ("ch_test_mismatch_1", Saga.State.FAILED, "charge_mismatch"),
        ("ch_1Nx32", Saga.State.FAILED, "charge_not_found"),
        ("ch_test_unknownkind_1", Saga.State.FAILED, "charge_not_found"),
    ],
)
def test_the_sandbox_knows_its_test_tokens_only(wallet, token, state, code):
    saga = advance(start(wallet, token))
    assert (saga.state, saga.error_code) == (state, code)


def test_the_sandbox_charges_any_amount_for_an_ok_token(wallet):
    assert advance(start(wallet, "ch_test_ok_a", amount=1, currency="EUR")).state == Saga.State.SUCCEEDED


def test_the_sandbox_late_token_is_captured_by_its_own_signed_webhook(wallet, monkeypatch):
    sent = []
    monkeypatch.setattr("sagas.tasks.funding_sandbox_capture.apply_async", lambda **kw: sent.append(kw))
    saga = advance(start(wallet, "ch_test_late_1"))
    assert saga.state == Saga.State.APPROVED
    assert sent == [
        {
            "kwargs": {"reference": "ch_test_late_1", "amount": 500_00, "currency": "USD"},
            "countdown": 2.0,
        }
    ]
    # what the task does after the countdown; twice, as a redelivered message would: one report
    assert hooks.sandbox_capture_deliver(**sent[0]["kwargs"])["duplicate"] is False
    assert hooks.sandbox_capture_deliver(**sent[0]["kwargs"])["duplicate"] is True
    assert FundingWebhook.objects.count() == 1
    saga = advance(saga)
    assert saga.state == Saga.State.SUCCEEDED and balance_of(wallet) == (1500_00, 0)


def test_the_sandbox_pending_token_never_captures(wallet, settings):
    settings.FUNDING_CONFIRM_TIMEOUT_SECONDS = 0
    saga = advance(start(wallet, "ch_test_pending_1"))
    saga = advance(saga)
    assert (saga.state, saga.error_code) == (Saga.State.FAILED, "charge_not_captured")


def test_the_sandbox_documents_every_kind_it_knows():
    assert set(SANDBOX_TOKENS) == {"ok", "declined", "late", "pending", "mismatch"}
    with pytest.raises(ChargePending):
        SandboxFundingGateway().confirm(source="CARD", source_reference="ch_test_pending", amount=1, currency="USD")


def test_a_settled_webhook_report_is_trusted_before_a_lookup(provider, wallet):
    provider.routes[("GET", "/charges/")] = lambda r: (500, {})
    body, headers = signed_capture("ch_reported")
    hooks.funding_hook_receive(headers=headers, body=body)
    assert charges.charge_report(provider="stub-psp", reference="ch_reported") == Charge(
        "ch_reported", "captured", 500_00, "USD"
    )
    assert advance(start(wallet, "ch_reported")).state == Saga.State.SUCCEEDED
    assert lookups(provider) == []


@pytest.mark.django_db(transaction=True)
def test_without_a_broker_the_sandbox_captures_late_charges_from_a_timer(monkeypatch, settings):
    """`make run` (no REDIS_URL: tasks run in-process) has no countdown: a timer thread sends the
    sandbox's signed capture instead."""
    from sagas.tasks import funding_sandbox_capture

    settings.FUNDING_SANDBOX_CAPTURE_DELAY_SECONDS = 0.1
    monkeypatch.setitem(funding_sandbox_capture.app.conf, "task_always_eager", True)
    hooks.sandbox_capture_schedule(charge=Charge("ch_test_late_timer", "captured", 7_00, "USD"))
    assert not FundingWebhook.objects.exists()
    deadline = time.monotonic() + 5
    while not FundingWebhook.objects.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    report = FundingWebhook.objects.get()
    assert (report.charge_reference, report.charge_status, report.amount) == ("ch_test_late_timer", "captured", 7_00)

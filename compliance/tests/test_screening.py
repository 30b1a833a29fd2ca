"""Screening: the KYC gate, the velocity limit, the risk score (rules and remote), auto-freeze."""

import json
import threading
import time
import uuid
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from unittest import mock

import pytest
from django.utils import timezone

from compliance import screening, velocity
from compliance.models import AuditEntry, KycProfile, RiskAssessment, WalletLimit
from compliance.tests.factories import profile
from wallets import services as ledger
from wallets.models import Event, VelocityBucket, Wallet
from wallets.tests.factories import WalletFactory, funded

pytestmark = pytest.mark.django_db

V = KycProfile.Status


def screen(wallet, operation="credit", amount=100_00, currency="USD", **kw):
    return screening.screen(operation=operation, wallet_id=wallet.id, amount=amount, currency=currency, **kw)


# --- the matrix -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kyc", "operation", "amount", "outcome", "code"),
    [
        (None, "credit", 1000_00, "approve", None),
        (None, "credit", 1000_01, "decline", "kyc_required"),
        (None, "transfer", 250_00, "approve", None),
        (None, "transfer", 250_01, "decline", "kyc_required"),
        (None, "withdraw", 1, "decline", "kyc_required"),
        (V.UNVERIFIED, "withdraw", 1, "decline", "kyc_required"),
        (V.PENDING, "withdraw", 1, "decline", "kyc_required"),
        (V.PENDING, "credit", 1000_01, "decline", "kyc_required"),
        (V.REJECTED, "credit", 1, "decline", "kyc_rejected"),
        (V.REJECTED, "transfer", 1, "decline", "kyc_rejected"),
        (V.VERIFIED, "withdraw", 500_00, "approve", None),
        (V.VERIFIED, "credit", 1500_00, "approve", None),
        (V.VERIFIED, "transfer", 900_00, "approve", None),
    ],
)
def test_kyc_gate(kyc, operation, amount, outcome, code):
    wallet = funded(amount=1000_00)
    if kyc is not None:
        profile(wallet.owner_id, status=kyc)
    other = WalletFactory()
    kw = {"counterparty_wallet_id": other.id} if operation == "transfer" else {}
    decision = screen(wallet, operation, amount, **kw)
    assert (decision.outcome, decision.code) == (outcome, code)
    stored = RiskAssessment.objects.get(wallet_id=wallet.id)
    assert (stored.outcome, stored.code or None, stored.amount, stored.operation) == (outcome, code, amount, operation)
    assert stored.reasons == list(decision.reasons)


def test_unverified_bounds_are_configurable(settings):
    settings.KYC_TIER_LIMITS = {**settings.KYC_TIER_LIMITS, "unverified": {"credit": 10_00, "transfer": 0}}
    wallet = funded(amount=100_00)
    assert screen(wallet, "credit", 10_01).code == "kyc_required"
    assert screen(wallet, "credit", 10_00).approved


@pytest.mark.parametrize(
    ("status", "operation", "outcome", "code"),
    [
        (Wallet.Status.FROZEN, "withdraw", "decline", "wallet_frozen"),
        (Wallet.Status.FROZEN, "transfer", "decline", "wallet_frozen"),
        (Wallet.Status.FROZEN, "credit", "approve", None),  # money may arrive in a frozen wallet
        (Wallet.Status.CLOSED, "credit", "decline", "wallet_closed"),
        (Wallet.Status.CLOSED, "withdraw", "decline", "wallet_closed"),
    ],
)
def test_wallet_status(status, operation, outcome, code):
    wallet = WalletFactory()
    profile(wallet.owner_id)
    if status == Wallet.Status.FROZEN:
        ledger.wallet_freeze(wallet_id=wallet.id, actor="t", reason="test")
    else:
        ledger.wallet_close(wallet_id=wallet.id, actor="t", reason="test")
    decision = screen(wallet, operation, 10_00, counterparty_wallet_id=uuid.uuid4())
    assert (decision.outcome, decision.code) == (outcome, code)


def test_unknown_wallet_and_unknown_operation():
    assert screening.screen(operation="credit", wallet_id=uuid.uuid4(), amount=1, currency="USD").code == (
        "wallet_not_found"
    )
    with pytest.raises(ValueError):
        screening.screen(operation="mint", wallet_id=uuid.uuid4(), amount=1, currency="USD")


def test_a_saga_asking_again_gets_the_same_answer_once_stored(verified_wallet):
    saga_id = uuid.uuid4()
    first = screen(verified_wallet, "withdraw", 100_00, saga_id=saga_id)
    again = screen(verified_wallet, "withdraw", 100_00, saga_id=saga_id)
    assert first == again and first.approved
    assert RiskAssessment.objects.filter(saga_id=saga_id).count() == 1


# --- velocity -------------------------------------------------------------------------------------


def hold(wallet, amount, ref="h1"):
    return ledger.funds_hold(wallet_id=wallet.id, amount=amount, currency="USD", reference=ref)


def test_velocity_at_the_limit_and_one_minor_unit_over(verified_wallet, settings):
    settings.WALLET_DEFAULT_LIMIT = 300_00
    hold(verified_wallet, 200_00)
    assert screening.outflow_24h(wallet_id=verified_wallet.id, currency="USD") == 200_00
    assert screen(verified_wallet, "withdraw", 100_00).approved  # exactly at the limit
    over = screen(verified_wallet, "withdraw", 100_01)
    assert (over.outcome, over.code) == ("decline", "velocity_limit_exceeded")
    assert "30001" in over.reasons[0] and "30000" in over.reasons[0]


def test_velocity_counts_instant_transfers_and_gives_back_released_holds(verified_wallet, settings):
    settings.WALLET_DEFAULT_LIMIT = 500_00
    other = WalletFactory()
    ledger.transfer_execute(
        transfer_id=uuid.uuid4(),
        from_wallet_id=verified_wallet.id,
        to_wallet_id=other.id,
        amount=150_00,
        currency="USD",
    )
    withdrawal = hold(verified_wallet, 350_00)
    assert velocity.outflow_24h(wallet_id=verified_wallet.id, currency="USD") == 500_00
    assert screen(verified_wallet, "withdraw", 1).code == "velocity_limit_exceeded"
    ledger.hold_release(hold_id=withdrawal.id, reason="payout failed")  # compensation: never left
    assert velocity.outflow_24h(wallet_id=verified_wallet.id, currency="USD") == 150_00
    ledger.hold_capture(hold_id=hold(verified_wallet, 50_00, ref="h2").id)  # the capture adds nothing more
    assert velocity.outflow_24h(wallet_id=verified_wallet.id, currency="USD") == 200_00
    # money coming in is not outflow
    ledger.wallet_credit(wallet_id=verified_wallet.id, amount=10_00, currency="USD", reference="in")
    assert velocity.outflow_24h(wallet_id=verified_wallet.id, currency="USD") == 200_00


def test_velocity_after_the_window_slides(verified_wallet, settings):
    settings.WALLET_DEFAULT_LIMIT = 300_00
    hold(verified_wallet, 300_00)
    assert screen(verified_wallet, "withdraw", 1).code == "velocity_limit_exceeded"
    now = timezone.now()
    with mock.patch("compliance.velocity.timezone.now", return_value=now + timedelta(hours=23, minutes=59)):
        assert screen(verified_wallet, "withdraw", 1).code == "velocity_limit_exceeded"
    with mock.patch("compliance.velocity.timezone.now", return_value=now + timedelta(hours=24, minutes=1)):
        assert velocity.outflow_24h(wallet_id=verified_wallet.id, currency="USD") == 0
        assert screen(verified_wallet, "withdraw", 300_00).approved


def test_a_release_after_the_window_gives_nothing_back(verified_wallet):
    held = hold(verified_wallet, 100_00)
    later = timezone.now() + timedelta(hours=25)
    with mock.patch("django.utils.timezone.now", return_value=later):
        ledger.hold_release(hold_id=held.id, reason="late")
    assert velocity.outflow_24h(wallet_id=verified_wallet.id, currency="USD") == 100_00
    assert velocity.outflow_24h(wallet_id=verified_wallet.id, currency="USD", now=later) == 0


def test_a_per_wallet_override_replaces_the_default(verified_wallet, settings):
    settings.WALLET_DEFAULT_LIMIT = 10_000_00
    WalletLimit.objects.create(wallet=verified_wallet, daily_limit=50_00, reason="new customer")
    assert screen(verified_wallet, "withdraw", 50_01).code == "velocity_limit_exceeded"
    assert screen(verified_wallet, "withdraw", 50_00).approved


def test_velocity_reads_a_bounded_range_of_buckets(verified_wallet, django_assert_num_queries):
    for i in range(5):
        hold(verified_wallet, 10_00, ref=f"h{i}")
    assert VelocityBucket.objects.filter(wallet_id=verified_wallet.id).count() <= 5
    with django_assert_num_queries(1):
        assert velocity.outflow_24h(wallet_id=verified_wallet.id, currency="USD") == 50_00


def test_old_buckets_are_pruned(verified_wallet):
    hold(verified_wallet, 10_00)
    from compliance.tasks import outflow_buckets_prune

    assert outflow_buckets_prune() == 0
    with mock.patch("compliance.velocity.timezone.now", return_value=timezone.now() + timedelta(hours=26)):
        assert outflow_buckets_prune() == 1
    assert not VelocityBucket.objects.exists()


# --- risk score -----------------------------------------------------------------------------------


def test_a_risky_credit_goes_to_review_with_its_reasons(verified_wallet):
    # young wallet (15) + a currency the owner never used (15) + a large amount, no history (20)
    decision = screen(verified_wallet, "credit", 2500_00, currency="EUR")
    assert (decision.outcome, decision.code, decision.score) == ("review", "risk_review", 50)
    assert any("EUR" in r for r in decision.reasons) and any("24 hours" in r for r in decision.reasons)
    stored = RiskAssessment.objects.get(wallet_id=verified_wallet.id)
    assert (stored.score, stored.source, stored.outcome) == (50, "rules", "review")


def test_thresholds_decide_review_decline_and_freeze(verified_wallet, settings):
    settings.RISK_DECLINE_SCORE = 50
    assert screen(verified_wallet, "credit", 2500_00, currency="EUR").code == "risk_declined"
    assert Wallet.objects.get(pk=verified_wallet.id).status == Wallet.Status.ACTIVE


def test_a_configured_signal_freezes_the_wallet_with_its_reason(verified_wallet, settings):
    settings.RISK_FREEZE_SCORE = 50
    decision = screen(verified_wallet, "credit", 2500_00, currency="EUR")
    assert (decision.outcome, decision.code) == ("decline", "risk_critical")
    assert Wallet.objects.get(pk=verified_wallet.id).status == Wallet.Status.FROZEN
    frozen = Event.objects.get(wallet_id=verified_wallet.id, type="WalletFrozen")
    assert frozen.data["actor"] == screening.AUTO_FREEZE_ACTOR and "risk_critical" in frozen.data["reason"]
    audit = AuditEntry.objects.get(action="wallet_auto_freeze")
    assert audit.object_id == str(verified_wallet.id) and audit.actor is None
    # already frozen: the next critical answer does not try again
    assert screen(verified_wallet, "credit", 2500_00, currency="EUR").code == "risk_critical"
    assert Event.objects.filter(wallet_id=verified_wallet.id, type="WalletFrozen").count() == 1


def test_velocity_declines_can_be_configured_to_freeze(verified_wallet, settings):
    settings.COMPLIANCE_AUTO_FREEZE_CODES = ["velocity_limit_exceeded"]
    settings.WALLET_DEFAULT_LIMIT = 10_00
    assert screen(verified_wallet, "withdraw", 10_01).code == "velocity_limit_exceeded"
    assert Wallet.objects.get(pk=verified_wallet.id).status == Wallet.Status.FROZEN


def test_amount_spike_against_the_wallets_history(verified_wallet):
    for _ in range(3):
        assert screen(verified_wallet, "credit", 10_00).approved
    decision = screen(verified_wallet, "credit", 60_00)
    assert any("usual" in r for r in decision.reasons)
    assert decision.score == 15 + 35


def test_rapid_succession(verified_wallet):
    for _ in range(5):
        screen(verified_wallet, "credit", 1_00)
    assert any("operations in the last 10 min" in r for r in screen(verified_wallet, "credit", 1_00).reasons)


def test_a_new_counterparty_is_a_signal_only_the_first_time(verified_wallet):
    other = WalletFactory()
    first = screen(verified_wallet, "transfer", 10_00, counterparty_wallet_id=other.id)
    assert first.approved and any("first transfer" in r for r in first.reasons)
    again = screen(verified_wallet, "transfer", 10_00, counterparty_wallet_id=other.id)
    assert not any("first transfer" in r for r in again.reasons)


def test_an_old_wallet_in_its_own_currency_scores_zero(verified_wallet):
    with mock.patch("compliance.screening.timezone.now", return_value=timezone.now() + timedelta(days=2)):
        decision = screen(verified_wallet, "credit", 10_00)
    assert (decision.outcome, decision.score, decision.reasons) == ("approve", 0, ())


def test_a_currency_the_owner_only_holds_is_not_unusual(verified_wallet):
    # the owner's wallets are all based in USD, but one of them holds EUR: EUR is known
    ledger.wallet_credit(wallet_id=verified_wallet.id, amount=5_00, currency="EUR", reference="eur-seed")
    assert not any("never used" in r for r in screen(verified_wallet, "credit", 1_00, currency="EUR").reasons)
    assert any("never used GBP" in r for r in screen(verified_wallet, "credit", 1_00, currency="GBP").reasons)


def test_screening_reads_signals_and_history_in_one_query(verified_wallet, django_assert_num_queries):
    other = WalletFactory()
    with django_assert_num_queries(2):  # the context with the amount history, the stored answer
        decision = screen(verified_wallet, "transfer", 10_00, counterparty_wallet_id=other.id, saga_id=uuid.uuid4())
    assert decision.approved
    with django_assert_num_queries(2):  # a gate decides: the same read, the stored answer
        assert screen(verified_wallet, "withdraw", 10**12).code == "velocity_limit_exceeded"


# --- remote risk service --------------------------------------------------------------------------


class RiskService:
    """A real HTTP server on a free local port standing in for the remote risk service."""

    def __init__(self, answer):
        self.answer, self.requests = answer, []
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                service.requests.append((self.path, body))
                status, payload = service.answer(body)
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def risk_service(settings):
    made = []

    def start(answer):
        service = RiskService(answer)
        made.append(service)
        settings.RISK_SERVICE_ENDPOINT = service.url
        return service

    yield start
    for service in made:
        service.close()


def test_the_remote_score_decides_when_configured(verified_wallet, risk_service):
    service = risk_service(lambda body: (200, {"score": 85, "reasons": ["device seen in fraud ring"]}))
    decision = screen(verified_wallet, "credit", 10_00)
    assert (decision.outcome, decision.code, decision.score) == ("decline", "risk_declined", 85)
    assert decision.reasons == ("device seen in fraud ring",)
    path, body = service.requests[0]
    assert path == "/score" and body["wallet_id"] == str(verified_wallet.id) and body["amount"] == 10_00
    assert body["rules"]["score"] == 15 and body["rules"]["signals"] == ["young_wallet"]
    assert RiskAssessment.objects.get(wallet_id=verified_wallet.id).source == "remote"


@pytest.mark.parametrize(
    "answer",
    [
        lambda body: (503, {"error": "down"}),
        lambda body: (200, b"not json"),
        lambda body: (200, {"score": "high"}),
        lambda body: (200, {"score": 101}),
        lambda body: (200, {"reasons": []}),
    ],
)
def test_a_failing_remote_service_falls_back_to_the_rules(verified_wallet, risk_service, answer):
    risk_service(answer)
    decision = screen(verified_wallet, "credit", 10_00)
    assert (decision.outcome, decision.score) == ("approve", 15)
    assert "rule score used" in decision.reasons[-1]
    assert RiskAssessment.objects.get(wallet_id=verified_wallet.id).source == "rules-fallback"


def test_a_slow_remote_service_times_out_to_the_rules(verified_wallet, risk_service, settings):
    settings.RISK_SERVICE_TIMEOUT_SECONDS = 0.2

    def slow(body):
        time.sleep(1.0)
        return 200, {"score": 99}

    risk_service(slow)
    decision = screen(verified_wallet, "credit", 10_00)
    assert decision.score == 15 and "ReadTimeout" in decision.reasons[-1]


def test_an_unreachable_remote_service_falls_back(verified_wallet, settings):
    settings.RISK_SERVICE_ENDPOINT = "http://127.0.0.1:9"
    decision = screen(verified_wallet, "credit", 10_00)
    assert decision.approved and "ConnectError" in decision.reasons[-1]

"""The back-office's safeguards (issue 21): four-eyes, no decision in bulk, reasons of a settable
length, personal data revealed one field at a time with a reason, staff login (lockout, idle timeout,
TOTP second factor), FX rates changed with a reason and audited."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.test import RequestFactory
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from compliance import four_eyes, pii_reveal, services
from compliance.admin import ReasonForm
from compliance.errors import ComplianceError, ComplianceErrorCode
from compliance.models import AuditEntry, DecisionRequest, KycProfile, ReviewCase, WalletLimit
from compliance.tests.factories import officer_user, profile, support_user
from crowdpay import auth_security
from sagas import services as sagas
from sagas.models import FxRate, Saga
from wallets.models import Event, Wallet
from wallets.tests.factories import WalletFactory, funded

pytestmark = pytest.mark.django_db
REASON = "checked with the customer's bank by phone"


@pytest.fixture
def second(db):
    return officer_user("oscar")


@pytest.fixture
def fraud_frozen(officer):
    wallet = funded(amount=10_00)
    services.wallet_freeze_by_officer(wallet_id=wallet.id, officer=officer, reason_code="fraud", reason="mule account")
    return wallet


def _case(wallet, amount: int, currency: str = "USD") -> ReviewCase:
    saga = sagas.funding_start(
        wallet_id=wallet.id,
        amount=amount,
        currency=currency,
        source="CARD",
        source_reference=f"ch_test_ok_{uuid.uuid4().hex[:8]}",
        reference=f"op-{uuid.uuid4()}",
        requested_by="user:1",
    )
    assert sagas.saga_advance(saga_id=saga.id).state == Saga.State.IN_REVIEW
    return ReviewCase.objects.get(saga_id=saga.id)


# --- four-eyes ------------------------------------------------------------------------------------


def test_the_requester_cannot_approve_their_own_request(officer, fraud_frozen, client):
    request = four_eyes.wallet_unfreeze_or_request(wallet_id=fraud_frozen.id, officer=officer, reason=REASON)
    assert isinstance(request, DecisionRequest) and request.kind == DecisionRequest.Kind.UNFREEZE_FRAUD
    with pytest.raises(ComplianceError) as refused:
        four_eyes.decision_request_approve(request_id=request.pk, officer=officer, reason=REASON)
    assert refused.value.code == ComplianceErrorCode.SAME_OFFICER and refused.value.status == 403
    # in the admin: the requester is offered only to withdraw it, and a forced POST changes nothing
    client.force_login(officer)
    page = client.get(reverse("admin:compliance_decisionrequest_change", args=[request.pk]))
    assert {name for name, _ in page.context["object_actions"]} == {"reject"}
    approve = reverse("admin:compliance_decisionrequest_object_action", args=[request.pk, "approve"])
    client.post(approve, {"reason": REASON})
    assert DecisionRequest.objects.get(pk=request.pk).status == DecisionRequest.Status.PENDING
    assert Wallet.objects.get(pk=fraud_frozen.pk).status == Wallet.Status.FROZEN


def test_a_second_officer_approval_runs_the_action_exactly_once(officer, second, fraud_frozen, client):
    request = four_eyes.wallet_unfreeze_or_request(wallet_id=fraud_frozen.id, officer=officer, reason=REASON)
    with pytest.raises(ComplianceError) as duplicate:  # one pending request per action on a wallet
        four_eyes.wallet_unfreeze_or_request(wallet_id=fraud_frozen.id, officer=second, reason=REASON)
    assert duplicate.value.code == ComplianceErrorCode.REQUEST_PENDING
    client.force_login(second)
    approve = reverse("admin:compliance_decisionrequest_object_action", args=[request.pk, "approve"])
    assert client.post(approve, {"reason": "the bank's letter is on file"}).status_code == 302
    assert client.post(approve, {"reason": "the bank's letter is on file"}).status_code in (302, 403)
    with pytest.raises(ComplianceError) as again:
        four_eyes.decision_request_approve(request_id=request.pk, officer=second, reason=REASON)
    assert again.value.code == ComplianceErrorCode.REQUEST_DECIDED
    assert Wallet.objects.get(pk=fraud_frozen.pk).status == Wallet.Status.ACTIVE
    assert Event.objects.filter(wallet_id=fraud_frozen.pk, type="WalletUnfrozen").count() == 1
    done = DecisionRequest.objects.get(pk=request.pk)
    assert (done.status, done.decided_by, done.requested_by) == ("APPROVED", second, officer)
    unfreeze = AuditEntry.objects.get(action="wallet_unfreeze")
    assert unfreeze.actor == second
    assert (unfreeze.data["requested_by"], unfreeze.data["approved_by"]) == ("officer:olivia", "officer:oscar")
    assert AuditEntry.objects.filter(action="four_eyes_approve").count() == 1


def test_a_freeze_not_for_fraud_is_lifted_by_one_officer(officer):
    wallet = funded(amount=10_00)
    services.wallet_freeze_by_officer(
        wallet_id=wallet.id, officer=officer, reason_code="customer_request", reason="lost phone"
    )
    done = four_eyes.wallet_unfreeze_or_request(wallet_id=wallet.id, officer=officer, reason=REASON)
    assert isinstance(done, Wallet) and done.status == Wallet.Status.ACTIVE
    with pytest.raises(ComplianceError) as bad:
        services.wallet_freeze_by_officer(wallet_id=wallet.id, officer=officer, reason_code="because", reason="x")
    assert bad.value.code == ComplianceErrorCode.INVALID_FREEZE_REASON


def test_closing_a_wallet_takes_a_second_officer(officer, second):
    wallet = WalletFactory()
    request = four_eyes.wallet_close_request(wallet_id=wallet.id, officer=officer, reason=REASON)
    assert Wallet.objects.get(pk=wallet.pk).status == Wallet.Status.ACTIVE
    four_eyes.decision_request_approve(request_id=request.pk, officer=second, reason=REASON)
    assert Wallet.objects.get(pk=wallet.pk).status == Wallet.Status.CLOSED


def test_a_case_above_the_four_eyes_amount_takes_a_second_officer(officer, second, verified_wallet, settings):
    settings.FOUR_EYES_APPROVAL_AMOUNT = 2800_00  # 2,800.00 USD
    FxRate.objects.create(base="EUR", quote="USD", rate=Decimal("1.10"), source="test")
    small = _case(verified_wallet, 2500_00, "EUR")  # 2,750.00 USD: one officer
    assert four_eyes.review_case_approve_or_request(case_id=small.pk, officer=officer, reason=REASON).status == (
        ReviewCase.Status.APPROVED
    )
    large = _case(verified_wallet, 2600_00, "EUR")  # 2,860.00 USD: two
    request = four_eyes.review_case_approve_or_request(case_id=large.pk, officer=officer, reason=REASON)
    assert isinstance(request, DecisionRequest) and ReviewCase.objects.get(pk=large.pk).status == "OPEN"
    four_eyes.decision_request_approve(request_id=request.pk, officer=second, reason=REASON)
    assert ReviewCase.objects.get(pk=large.pk).status == ReviewCase.Status.APPROVED
    assert Saga.objects.get(pk=large.saga_id).state == Saga.State.APPROVED


def test_an_expired_request_is_not_approved(officer, second, fraud_frozen):
    request = four_eyes.wallet_unfreeze_or_request(wallet_id=fraud_frozen.id, officer=officer, reason=REASON)
    DecisionRequest.objects.filter(pk=request.pk).update(expires_at=request.requested_at)  # test setup only
    with pytest.raises(ComplianceError) as late:
        four_eyes.decision_request_approve(request_id=request.pk, officer=second, reason=REASON)
    assert late.value.code == ComplianceErrorCode.REQUEST_EXPIRED
    assert DecisionRequest.objects.get(pk=request.pk).status == DecisionRequest.Status.EXPIRED
    assert Wallet.objects.get(pk=fraud_frozen.pk).status == Wallet.Status.FROZEN


# --- velocity limits ------------------------------------------------------------------------------


def test_a_limit_above_the_ceiling_is_refused_even_with_two_officers(officer, verified_wallet, client, settings):
    settings.VELOCITY_LIMIT_CEILING = 50_000_00
    for call in (
        lambda: four_eyes.wallet_limit_set_or_request(
            wallet_id=verified_wallet.id, daily_limit=10**18, officer=officer, reason=REASON
        ),
        lambda: services.wallet_limit_set(
            wallet_id=verified_wallet.id, daily_limit=50_000_01, officer=officer, reason=REASON
        ),
    ):
        with pytest.raises(ComplianceError) as refused:
            call()
        assert refused.value.code == ComplianceErrorCode.LIMIT_ABOVE_CEILING
    client.force_login(officer)
    page = client.post(
        reverse("admin:compliance_walletlimit_add"),
        {"wallet": str(verified_wallet.pk), "daily_limit": str(10**18), "reason": REASON},
    )
    assert page.status_code == 200 and "VELOCITY_LIMIT_CEILING" in str(page.context["adminform"].form.errors)
    assert not WalletLimit.objects.exists() and not DecisionRequest.objects.exists()


def test_the_audit_log_records_the_true_limit_before_and_after(officer, second, verified_wallet, client):
    client.force_login(officer)
    lower = client.post(
        reverse("admin:compliance_walletlimit_add"),
        {"wallet": str(verified_wallet.pk), "daily_limit": "5000", "reason": REASON},
    )
    assert lower.status_code == 302  # lowering acts at once
    first = AuditEntry.objects.get(action="wallet_limit_set")
    assert (first.data["before"], first.data["before_source"], first.data["after"]) == (1000000, "default", 5000)
    limit = WalletLimit.objects.get(wallet_id=verified_wallet.pk)
    lift = client.post(
        reverse("admin:compliance_walletlimit_change", args=[limit.pk]), {"daily_limit": "900000", "reason": REASON}
    )
    request = DecisionRequest.objects.get(kind=DecisionRequest.Kind.LIFT_LIMIT)
    assert lift.status_code == 302 and lift["Location"].endswith(f"{request.pk}/change/")
    assert WalletLimit.objects.get(pk=limit.pk).daily_limit == 5000  # unchanged until approved
    four_eyes.decision_request_approve(request_id=request.pk, officer=second, reason=REASON)
    entry = AuditEntry.objects.filter(action="wallet_limit_set").order_by("-id").first()
    assert (entry.data["before"], entry.data["after"], entry.actor) == (5000, 900000, second)
    assert WalletLimit.objects.get(pk=limit.pk).daily_limit == 900000


# --- no decision in bulk, reasons -------------------------------------------------------------------


def test_no_admin_list_decides_in_bulk(db):
    root = get_user_model().objects.create_superuser("root-bulk", password="pw-root-123")
    request = RequestFactory().get("/admin/")
    request.user = root
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label != "compliance" and model is not Wallet:
            continue
        assert not model_admin.get_actions(request), (
            f"{model._meta.label} offers {list(model_admin.get_actions(request))}"
        )


def test_a_short_reason_is_refused_with_a_clear_message(settings):
    settings.OFFICER_REASON_MIN_LENGTH = 20
    short = ReasonForm({"reason": "x"})
    assert not short.is_valid()
    assert "at least 20 characters" in short.errors["reason"][0]
    assert ReasonForm({"reason": "the customer sent a new passport scan"}).is_valid()


# --- personal data ----------------------------------------------------------------------------------


def test_personal_data_is_masked_by_default_and_a_reveal_is_audited_and_expires(officer, client, monkeypatch):
    made = profile(uuid.uuid4(), status=KycProfile.Status.PENDING)
    page = reverse("admin:compliance_kycprofile_change", args=[made.pk])
    client.force_login(officer)
    assert "Ada Lovelace" not in client.get(page).content.decode()
    reveal = reverse("admin:compliance_kycprofile_pii_reveal", args=[made.pk, "legal_name"])
    assert client.get(reveal).status_code == 200
    assert client.post(reveal, {"reason": "x"}).status_code == 200  # too short: refused
    assert not AuditEntry.objects.filter(action="pii_reveal").exists()
    now = pii_reveal.time.time()
    assert client.post(reveal, {"reason": "sanctions near-match to rule out"}).status_code == 302
    entry = AuditEntry.objects.get(action="pii_reveal")
    assert (entry.actor, entry.object_id, entry.data["field"]) == (officer, str(made.pk), "legal_name")
    assert entry.reason == "sanctions near-match to rule out"
    shown = client.get(page).content.decode()
    assert "Ada Lovelace" in shown and "X1234567" not in shown
    other = officer_user("oscar")  # another officer does not see what olivia revealed
    client.force_login(other)
    assert "Ada Lovelace" not in client.get(page).content.decode()
    client.force_login(officer)
    monkeypatch.setattr(pii_reveal.time, "time", lambda: now + 301)  # PII_REVEAL_SECONDS later
    assert "Ada Lovelace" not in client.get(page).content.decode()


def test_support_can_never_reveal(client):
    made = profile(uuid.uuid4(), status=KycProfile.Status.PENDING)
    client.force_login(support_user())
    reveal = reverse("admin:compliance_kycprofile_pii_reveal", args=[made.pk, "legal_name"])
    assert client.get(reveal).status_code == 403
    assert client.post(reveal, {"reason": "just curious about this person"}).status_code == 403
    page = client.get(reverse("admin:compliance_kycprofile_change", args=[made.pk])).content.decode()
    assert reveal not in page and "Ada Lovelace" not in page
    assert not AuditEntry.objects.filter(action="pii_reveal").exists()


# --- staff login ------------------------------------------------------------------------------------


def test_axes_locks_out_after_the_failure_limit(officer, client, settings):
    login = reverse("admin:login")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(login, {"username": "olivia", "password": "wrong", "next": "/admin/"})
    locked = client.post(login, {"username": "olivia", "password": "pw-officer-123", "next": "/admin/"})
    assert locked.status_code == settings.AXES_HTTP_RESPONSE_CODE  # the right password, refused
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("admin:index")).status_code == 302


def test_a_good_password_signs_in_below_the_limit(officer, client, settings):
    login = reverse("admin:login")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        client.post(login, {"username": "olivia", "password": "wrong", "next": "/admin/"})
    assert (
        client.post(login, {"username": "olivia", "password": "pw-officer-123", "next": "/admin/"}).status_code == 302
    )
    assert client.get(reverse("admin:index")).status_code == 200


def test_an_idle_admin_session_is_signed_out(officer, client, monkeypatch, settings):
    client.force_login(officer)
    index = reverse("admin:index")
    assert client.get(index).status_code == 200
    now = auth_security.time.time()
    monkeypatch.setattr(auth_security.time, "time", lambda: now + settings.ADMIN_IDLE_TIMEOUT_SECONDS - 5)
    assert client.get(index).status_code == 200  # still within the timeout
    later = now + 2 * settings.ADMIN_IDLE_TIMEOUT_SECONDS
    monkeypatch.setattr(auth_security.time, "time", lambda: later)
    out = client.get(index)
    assert out.status_code == 302 and out["Location"].startswith(reverse("admin:login"))
    assert "_auth_user_id" not in client.session
    assert client.get(index).status_code == 302


def test_the_second_factor_is_required_when_the_setting_is_on(officer, client, settings):
    settings.ADMIN_REQUIRE_OTP = True
    device = TOTPDevice.objects.create(user=officer, name="phone", confirmed=True)
    login, index = reverse("admin:login"), reverse("admin:index")
    client.force_login(officer)  # a password session without the second factor is not enough
    assert client.get(index).status_code == 302
    client.logout()
    no_token = client.post(login, {"username": "olivia", "password": "pw-officer-123", "next": index})
    assert no_token.status_code == 200 and no_token.context["form"].errors
    assert client.get(index).status_code == 302
    token = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift).token()
    signed_in = client.post(
        login,
        {
            "username": "olivia",
            "password": "pw-officer-123",
            "otp_device": device.persistent_id,
            "otp_token": f"{token:0{device.digits}d}",
            "next": index,
        },
    )
    assert signed_in.status_code == 302
    assert client.get(index).status_code == 200


# --- FX rates -------------------------------------------------------------------------------------


def test_an_fx_rate_change_needs_a_reason_and_is_audited(client):
    root = get_user_model().objects.create_superuser("root-fx", password="pw-root-123")
    rate = FxRate.objects.create(base="USD", quote="EUR", rate=Decimal("0.92"), source="admin")
    client.force_login(root)
    url = reverse("admin:sagas_fxrate_change", args=[rate.pk])
    form = {"base": "USD", "quote": "EUR", "rate": "0.95", "source": "admin"}
    refused = client.post(url, form)
    assert refused.status_code == 200 and "reason" in refused.context["adminform"].form.errors
    assert FxRate.objects.get(pk=rate.pk).rate == Decimal("0.92")
    assert client.post(url, {**form, "reason": "ECB reference rate of today"}).status_code == 302
    entry = AuditEntry.objects.get(action="fx_rate_change")
    assert entry.data["before"]["rate"] == "0.920000000000" and entry.data["after"]["rate"] == "0.95"
    assert (entry.actor, entry.object_id, entry.reason) == (root, "USD/EUR", "ECB reference rate of today")
    assert client.get(reverse("admin:sagas_fxrate_delete", args=[rate.pk])).status_code == 403


def test_production_settings_require_the_second_factor():
    """Off for `make run` and the tests (force_login and the browser walk sign in with a password),
    on in production whatever the environment says."""
    import subprocess
    import sys
    from pathlib import Path

    from crowdpay.tests.test_health import _production_env

    probe = "import django; django.setup(); from django.conf import settings; print(settings.ADMIN_REQUIRE_OTP)"
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=Path(__file__).resolve().parents[2],
        env=_production_env(ADMIN_REQUIRE_OTP="false"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "True"


def test_otp_enrol_gives_a_staff_user_a_totp_device(officer):
    from io import StringIO

    from django.core.management import CommandError, call_command

    out = StringIO()
    call_command("otp_enrol", "olivia", "--name", "phone", stdout=out)
    device = TOTPDevice.objects.get(user=officer)
    assert device.confirmed and device.name == "phone"
    assert out.getvalue().strip() == device.config_url and device.config_url.startswith("otpauth://totp/")
    get_user_model().objects.create_user("customer", password="pw-customer-123")
    with pytest.raises(CommandError):
        call_command("otp_enrol", "customer")
    with pytest.raises(CommandError):
        call_command("otp_enrol", "nobody")


def test_the_beat_job_expires_requests_past_their_time(officer, fraud_frozen, settings):
    from compliance import tasks

    late = four_eyes.wallet_unfreeze_or_request(wallet_id=fraud_frozen.id, officer=officer, reason=REASON)
    fresh = four_eyes.wallet_close_request(wallet_id=WalletFactory().id, officer=officer, reason=REASON)
    DecisionRequest.objects.filter(pk=late.pk).update(expires_at=late.requested_at)  # test setup only
    assert tasks.decision_requests_expire() == 1
    assert DecisionRequest.objects.get(pk=late.pk).status == DecisionRequest.Status.EXPIRED
    assert DecisionRequest.objects.get(pk=fresh.pk).status == DecisionRequest.Status.PENDING
    assert AuditEntry.objects.filter(action="four_eyes_expire", object_id=str(fraud_frozen.pk)).count() == 1
    schedule = settings.CELERY_BEAT_SCHEDULE["compliance-decision-requests-expire"]
    assert schedule["task"] == "compliance.tasks.decision_requests_expire"

"""The officers' back-office through Django's test client."""

import uuid
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from compliance import screening, services
from compliance.models import AuditEntry, KycProfile, ReviewCase
from compliance.tests.factories import officer_user, profile
from sagas import services as sagas
from sagas.models import Saga
from wallets import services as ledger
from wallets.models import Event, Wallet
from wallets.tests.factories import WalletFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def client_officer(client, officer):
    client.force_login(officer)
    return client


@pytest.fixture
def case(verified_wallet):
    saga = sagas.funding_start(
        wallet_id=verified_wallet.id,
        amount=2500_00,
        currency="EUR",
        source="CARD",
        source_reference="ch_test_ok_1",
        reference="op-admin",
        requested_by="user:1",
    )
    assert sagas.saga_advance(saga_id=saga.id).state == Saga.State.IN_REVIEW
    return ReviewCase.objects.get(saga_id=saga.id)


def test_the_group_has_exactly_the_permissions_it_needs():
    perms = set(
        Group.objects.get(name="Compliance officer").permissions.values_list("content_type__app_label", "codename")
    )
    assert ("compliance", "view_pii") in perms and ("compliance", "decide_reviewcase") in perms
    assert ("compliance", "freeze_wallet") in perms and ("wallets", "view_wallet") in perms
    writes = {(app, c) for app, c in perms if c.split("_")[0] in ("add", "change", "delete")}
    assert writes == {("compliance", "add_walletlimit"), ("compliance", "change_walletlimit")}
    # with view_kycreview (the manual-review queue), the 8 pods views, the 3 saga views and
    # view_decisionrequest (four-eyes requests)
    assert len(perms) == 33
    pods = {c for app, c in perms if app == "pods"}
    assert pods == {f"view_{m}" for m in ("pod", "podmember", "podcontribution", "podgoal", "pledge")} | {
        "view_podoutflow",
        "view_podoutflowvote",
        "view_podrefund",
    }


@pytest.mark.parametrize("pods_first", [False, True], ids=["compliance-first", "pods-first"])
def test_the_group_syncs_whichever_app_is_migrated_first(pods_first):
    """compliance.0003 may run before the pods app has any table (its migration-time registry has no
    "pods" app then): the sync skips the pods views, and pods.0003 adds them. Run the other way round,
    compliance.0003 already grants them."""
    from django.db import connection
    from django.db.migrations.loader import MigrationLoader

    from compliance.roles import officer_group_sync

    loader = MigrationLoader(connection)
    officers = ("compliance", "0003_compliance_officer_group")
    pods = ("pods", "0002_write_path_fks_immediate")
    state = loader.project_state([officers, pods] if pods_first else [officers]).apps
    group = Group.objects.get(name="Compliance officer")
    group.permissions.clear()
    officer_group_sync(state)
    granted = set(group.permissions.values_list("content_type__app_label", flat=True))
    assert ("pods" in granted) is pods_first and {"wallets", "compliance"} <= granted
    if not pods_first:  # then the pods app is migrated: its 0003 runs the sync with the pods models
        officer_group_sync(loader.project_state([("pods", "0003_officer_pod_permissions")]).apps)
    assert group.permissions.filter(content_type__app_label="pods").count() == 8


def test_index_links_the_dashboard_and_the_dashboard_shows_the_figures(client_officer, case, verified_wallet):
    frozen = WalletFactory()
    ledger.wallet_freeze(wallet_id=frozen.id, actor="officer:x", reason="chargebacks")
    screening.screen(operation="withdraw", wallet_id=WalletFactory().id, amount=1, currency="USD")  # kyc decline
    index = client_officer.get(reverse("admin:index"))
    assert reverse("admin:compliance_dashboard") in index.content.decode()
    page = client_officer.get(reverse("admin:compliance_dashboard"))
    assert page.status_code == 200
    figures = page.context
    assert (figures["frozen_count"], figures["open_count"], figures["declines_today"]) == (1, 1, 1)
    assert figures["open_ages"][0] == {"label": "under 1 hour", "count": 1}
    html = page.content.decode()
    assert "chargebacks" in html and "kyc_required" in html and str(case.wallet_id) in html


def test_review_cases_oldest_first_with_filters_and_search(client_officer, case, verified_wallet):
    url = reverse("admin:compliance_reviewcase_changelist")
    page = client_officer.get(url)
    assert page.status_code == 200 and str(case.pk)[:8] in page.content.decode()
    assert list(page.context["cl"].result_list) == [case]
    older = services.review_case_open(saga_id=uuid.uuid4(), wallet_id=verified_wallet.id, code="x", reasons=())
    ReviewCase.objects.filter(pk=older.pk).update(opened_at=case.opened_at - timedelta(hours=5))
    assert list(client_officer.get(url).context["cl"].result_list) == [older, case]  # oldest first
    other_wallet = WalletFactory()
    services.review_case_open(saga_id=uuid.uuid4(), wallet_id=other_wallet.id, code="y", reasons=())
    assert set(client_officer.get(url, {"q": str(verified_wallet.owner_id)}).context["cl"].result_list) == {older, case}
    found = client_officer.get(url, {"q": str(other_wallet.id)}).context["cl"].result_list
    assert [c.wallet_id for c in found] == [other_wallet.id]
    assert list(client_officer.get(url, {"q": str(uuid.uuid4())}).context["cl"].result_list) == []
    assert list(client_officer.get(url, {"q": "not-an-id"}).context["cl"].result_list) == []
    assert list(client_officer.get(url, {"status__exact": "APPROVED"}).context["cl"].result_list) == []


def test_approve_from_the_case_page_asks_for_a_reason(client_officer, case):
    page = client_officer.get(reverse("admin:compliance_reviewcase_change", args=[case.pk]))
    action_url = reverse("admin:compliance_reviewcase_object_action", args=[case.pk, "approve"])
    assert action_url in page.content.decode()
    assert client_officer.get(action_url).status_code == 200
    refused = client_officer.post(action_url, {"reason": "   "})
    assert refused.status_code == 200 and refused.context["form"].errors
    assert ReviewCase.objects.get(pk=case.pk).status == "OPEN"
    done = client_officer.post(
        action_url, {"reason": "documents match the customer's passport", "reason_code": "customer_confirmed"}
    )
    assert done.status_code == 302
    assert ReviewCase.objects.get(pk=case.pk).status == "APPROVED"
    assert Saga.objects.get(pk=case.saga_id).state == Saga.State.APPROVED
    # a decided case offers no more actions
    assert (
        action_url
        not in client_officer.get(reverse("admin:compliance_reviewcase_change", args=[case.pk])).content.decode()
    )


def test_no_changelist_decides_in_bulk(client_officer, case):
    """Each decision is taken on the object's own page: the lists offer no action at all."""
    url = reverse("admin:compliance_reviewcase_changelist")
    page = client_officer.get(url)
    assert page.status_code == 200 and page.context["action_form"] is None
    refused = client_officer.post(
        url,
        {"action": "reject_selected", "_selected_action": [str(case.pk)], "apply": "1", "reason": "x" * 30},
    )
    assert refused.status_code in (200, 302)
    assert ReviewCase.objects.get(pk=case.pk).status == "OPEN"


def test_wallet_page_freeze_with_a_code_then_unfreeze_and_close(client_officer, case, officer):
    wallet = WalletFactory()
    page = client_officer.get(reverse("admin:wallets_wallet_change", args=[wallet.pk]))
    html = page.content.decode()
    assert page.status_code == 200 and "WalletOpened" in html and "recent-sagas" in html
    freeze = reverse("admin:wallets_wallet_object_action", args=[wallet.pk, "freeze"])
    assert freeze in html
    no_code = client_officer.post(freeze, {"reason": "card testing on many merchants"})
    assert no_code.status_code == 200 and "reason_code" in no_code.context["form"].errors
    done = client_officer.post(freeze, {"reason": "card testing on many merchants", "reason_code": "customer_request"})
    assert done.status_code == 302
    assert Wallet.objects.get(pk=wallet.pk).status == Wallet.Status.FROZEN
    event = Event.objects.filter(wallet_id=wallet.pk, type="WalletFrozen").get()
    assert event.data["actor"] == "officer:olivia" and event.data["reason"] == "card testing on many merchants"
    assert AuditEntry.objects.get(action="wallet_freeze").data["reason_code"] == "customer_request"

    frozen_list = reverse("admin:compliance_frozenwallet_changelist")
    listing = client_officer.get(frozen_list)
    assert [w.pk for w in listing.context["cl"].result_list] == [wallet.pk]
    assert "card testing on many merchants" in listing.content.decode()
    # not frozen for fraud: one officer unfreezes, on the wallet's page
    unfreeze = reverse("admin:wallets_wallet_object_action", args=[wallet.pk, "unfreeze"])
    assert client_officer.post(unfreeze, {"reason": "the customer asked to unfreeze it"}).status_code == 302
    assert Wallet.objects.get(pk=wallet.pk).status == Wallet.Status.ACTIVE
    # closing always takes a second officer (compliance/tests/test_admin_v2_safeguards.py)
    close = reverse("admin:wallets_wallet_object_action", args=[wallet.pk, "close"])
    assert client_officer.post(close, {"reason": "the customer left the service"}).status_code == 302
    assert Wallet.objects.get(pk=wallet.pk).status == Wallet.Status.ACTIVE
    actions = list(
        AuditEntry.objects.filter(object_id=str(wallet.pk)).order_by("at", "id").values_list("action", flat=True)
    )
    assert actions == ["wallet_freeze", "wallet_unfreeze", "four_eyes_request"]


def test_no_officer_can_edit_money(client_officer, verified_wallet):
    # (which pages answer 403 or read-only to whom: test_admin_walk)
    event = Event.objects.filter(wallet_id=verified_wallet.pk).first()
    for url in (
        reverse("admin:wallets_event_change", args=[event.pk]),
        reverse("admin:wallets_wallet_change", args=[verified_wallet.pk]),
    ):
        client_officer.post(url, {"type": "X", "status": "CLOSED"})
    assert Event.objects.get(pk=event.pk).type == event.type
    assert Wallet.objects.get(pk=verified_wallet.pk).status == Wallet.Status.ACTIVE


def test_personal_data_is_masked_and_a_decision_taken_on_the_profile_page(client, officer):
    # (revealing one field with a reason: compliance/tests/test_admin_v2_safeguards.py)
    made = profile(uuid.uuid4(), status=KycProfile.Status.PENDING)
    url = reverse("admin:compliance_kycprofile_change", args=[made.pk])
    client.force_login(officer)
    shown = client.get(url).content.decode()
    assert "Ada Lovelace" not in shown and "X1234567" not in shown
    assert reverse("admin:compliance_kycprofile_pii_reveal", args=[made.pk, "legal_name"]) in shown

    verify = reverse("admin:compliance_kycprofile_object_action", args=[made.pk, "verify"])
    assert verify in shown
    client.post(verify, {"reason": "passport checked against the selfie"})
    assert KycProfile.objects.get(pk=made.pk).status == KycProfile.Status.VERIFIED
    assert AuditEntry.objects.filter(action="kyc_verify", object_id=str(made.pk)).exists()


def test_a_wallet_limit_set_in_the_admin_is_audited(client_officer, verified_wallet):
    response = client_officer.post(
        reverse("admin:compliance_walletlimit_add"),
        {"wallet": str(verified_wallet.pk), "daily_limit": "5000", "reason": "new account, low limit first"},
    )
    assert response.status_code == 302
    assert verified_wallet.compliance_limit.daily_limit == 5000
    entry = AuditEntry.objects.get(action="wallet_limit_set")
    assert (entry.data["daily_limit"], entry.data["after"], entry.data["before"]) == (5000, 5000, 1000000)


def test_a_non_officer_is_refused(client, case):
    staff = officer_user("sam", group=False)
    client.force_login(staff)
    for url in (
        reverse("admin:compliance_dashboard"),
        reverse("admin:compliance_reviewcase_changelist"),
        reverse("admin:compliance_reviewcase_object_action", args=[case.pk, "approve"]),
        reverse("admin:compliance_frozenwallet_changelist"),
        reverse("admin:compliance_kycprofile_changelist"),
    ):
        assert client.get(url).status_code == 403, url
    assert (
        client.post(
            reverse("admin:compliance_reviewcase_object_action", args=[case.pk, "approve"]), {"reason": "x"}
        ).status_code
        == 403
    )
    assert ReviewCase.objects.get(pk=case.pk).status == "OPEN"
    assert reverse("admin:compliance_dashboard") not in client.get(reverse("admin:index")).content.decode()

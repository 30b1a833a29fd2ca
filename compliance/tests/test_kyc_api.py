"""The KYC/KYB API: the caller's own profile only, scopes, strict input, masking, resubmission."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection

from compliance import tasks
from compliance.models import KycProfile
from crowdpay.tests.fixtures import client_for

pytestmark = pytest.mark.django_db

PERSON = {
    "legal_name": "Ada Lovelace",
    "date_of_birth": "1985-12-10",
    "address": "12 St James's Square, London",
    "country": "gb",
    "document_reference": "X1234567",
}
BUSINESS = {
    "name": "Analytical Engines Ltd",
    "registration_number": "HRB-12345",
    "country": "DE",
    "address": "Unter den Linden 1, Berlin",
    "beneficial_owners": [
        {"name": "Ada Lovelace", "date_of_birth": "1985-12-10", "ownership_percent": "60"},
        {"name": "Charles Babbage", "date_of_birth": "1971-12-26", "ownership_percent": "40"},
    ],
}


@pytest.fixture
def send_now(monkeypatch):
    """The check task runs in this process when the transaction commits (as with no broker)."""
    monkeypatch.setattr(tasks.kyc_check_send, "delay", lambda pid: tasks.kyc_check_send.apply(args=[pid]))


@pytest.fixture
def kyc(caller):
    return client_for(caller, "kyc:read kyc:write")


def post(client, path, body, key=None):
    return client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=key or str(uuid.uuid4()))


def test_an_owner_without_a_profile_is_unverified_and_told_to_submit(kyc):
    body = kyc.get("/v1/kyc").json()
    assert body["status"] == "UNVERIFIED" and body["kind"] is None and body["next_step"] == "submit"
    assert body["missing"] == ["legal_name", "date_of_birth", "address", "country", "document_reference"]


def test_submitting_a_person_is_pending_masked_and_encrypted_at_rest(kyc, caller):
    response = post(kyc, "/v1/kyc/person", PERSON)
    assert response.status_code == 202, response.json()
    body = response.json()
    assert response["Location"] == "/v1/kyc"
    assert (body["status"], body["kind"], body["next_step"], body["missing"]) == ("PENDING", "PERSON", "wait", [])
    assert body["country"] == "GB"
    assert body["legal_name"] == "A••••••••••e" and "Lovelace" not in response.content.decode()
    assert "X1234567" not in response.content.decode() and "1985" not in response.content.decode()
    profile = KycProfile.objects.get(owner_id=caller)
    assert profile.legal_name == "Ada Lovelace" and profile.document_number == "X1234567"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {KycProfile._meta.db_table} WHERE owner_id = %s", [caller])
        row = " ".join(str(v) for v in cursor.fetchone())
    assert "Lovelace" not in row and "X1234567" not in row and "St James" not in row


def test_the_sandbox_verifies_after_commit(kyc, caller, send_now, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assert post(kyc, "/v1/kyc/person", PERSON).status_code == 202
    body = kyc.get("/v1/kyc").json()
    assert (body["status"], body["next_step"], body["reasons"]) == ("VERIFIED", "none", [])


def test_a_rejected_profile_shows_the_reasons_and_may_be_resubmitted(kyc, send_now, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        post(kyc, "/v1/kyc/person", {**PERSON, "legal_name": "Ada Reject"})
    body = kyc.get("/v1/kyc").json()
    assert body["status"] == "REJECTED" and body["next_step"] == "resubmit"
    assert body["reasons"] == ["sandbox: the identity document could not be verified"]
    with django_capture_on_commit_callbacks(execute=True):
        again = post(kyc, "/v1/kyc/person", PERSON)
    assert again.status_code == 202 and again.json()["reasons"] == []
    assert kyc.get("/v1/kyc").json()["status"] == "VERIFIED"


@pytest.mark.parametrize("status", [KycProfile.Status.PENDING, KycProfile.Status.VERIFIED])
def test_resubmitting_while_pending_or_verified_is_a_conflict(kyc, caller, status):
    from compliance.tests.factories import profile

    profile(caller, status=status)
    response = post(kyc, "/v1/kyc/person", PERSON)
    assert response.status_code == 409
    assert response["Content-Type"] == "application/problem+json" and response.json()["code"] == "invalid_transition"


def test_a_business_with_its_beneficial_owners(kyc, caller):
    response = post(kyc, "/v1/kyc/business", BUSINESS)
    assert response.status_code == 202, response.json()
    body = response.json()
    assert body["kind"] == "BUSINESS" and body["missing"] == []
    assert [o["ownership_percent"] for o in body["beneficial_owners"]] == ["60.00", "40.00"]
    assert body["beneficial_owners"][0]["name"] == "A••••••••••e"
    assert "Babbage" not in response.content.decode()
    profile = KycProfile.objects.get(owner_id=caller)
    assert "Babbage" in profile.beneficial_owners and profile.document_number == "HRB-12345"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT beneficial_owners FROM {KycProfile._meta.db_table} WHERE owner_id = %s", [caller])
        assert "Babbage" not in cursor.fetchone()[0]


@pytest.mark.parametrize(
    ("owners", "needle"),
    [
        ([{"name": "A", "date_of_birth": "1980-01-01", "ownership_percent": "70"}], "not declared"),
        (
            [
                {"name": "A", "date_of_birth": "1980-01-01", "ownership_percent": "70"},
                {"name": "B", "date_of_birth": "1980-01-01", "ownership_percent": "40"},
            ],
            "above 100",
        ),
        ([], "empty"),
    ],
)
def test_beneficial_owners_of_25_percent_or_more_are_required(kyc, owners, needle):
    response = post(kyc, "/v1/kyc/business", {**BUSINESS, "beneficial_owners": owners})
    assert response.status_code == 400
    assert needle in response.json()["detail"]
    assert not KycProfile.objects.exists()


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/kyc/person", {**PERSON, "nickname": "Ada"}),
        ("/v1/kyc/business", {**BUSINESS, "vat": "DE1"}),
        (
            "/v1/kyc/business",
            {
                **BUSINESS,
                "beneficial_owners": [{**BUSINESS["beneficial_owners"][0], "ownership_percent": "100", "x": 1}],
            },
        ),
    ],
)
def test_unknown_fields_are_refused(kyc, path, body):
    response = post(kyc, path, body)
    assert response.status_code == 400 and response.json()["code"] == "unknown_field"
    assert not KycProfile.objects.exists()


def test_invalid_person_data_is_refused(kyc):
    response = post(kyc, "/v1/kyc/person", {**PERSON, "date_of_birth": "2999-01-01", "country": "GBR"})
    assert response.status_code == 400
    assert {e["field"] for e in response.json()["errors"]} == {"date_of_birth", "country"}


def test_submissions_need_an_idempotency_key_and_replay_under_it(kyc):
    response = kyc.post("/v1/kyc/person", PERSON, format="json")
    assert response.status_code == 400 and response.json()["code"] == "idempotency_key_required"
    first = post(kyc, "/v1/kyc/person", PERSON, key="k-1")
    again = post(kyc, "/v1/kyc/person", PERSON, key="k-1")
    assert (first.status_code, again.status_code) == (202, 202)
    assert again["Idempotent-Replayed"] == "true" and again.json() == first.json()
    assert KycProfile.objects.count() == 1


def test_scopes(caller):
    reader, writer = client_for(caller, "kyc:read"), client_for(caller, "kyc:write")
    assert post(reader, "/v1/kyc/person", PERSON).json()["code"] == "insufficient_scope"
    assert writer.get("/v1/kyc").status_code == 403
    assert post(writer, "/v1/kyc/person", PERSON).status_code == 202
    assert reader.get("/v1/kyc").json()["status"] == "PENDING"
    wallet_only = client_for(caller)  # every wallet scope, no kyc scope
    assert wallet_only.get("/v1/kyc").status_code == 403
    from rest_framework.test import APIClient

    assert APIClient().get("/v1/kyc").status_code == 401


def test_an_owner_sees_and_changes_only_its_own_profile(kyc, caller):
    post(kyc, "/v1/kyc/person", PERSON)
    other = client_for(uuid.uuid4(), "kyc:read kyc:write wallet:admin")
    body = other.get("/v1/kyc").json()
    assert body["status"] == "UNVERIFIED" and body["legal_name"] == ""
    assert post(other, "/v1/kyc/person", {**PERSON, "legal_name": "Mallory"}).status_code == 202
    mine = KycProfile.objects.get(owner_id=caller)
    assert mine.legal_name == "Ada Lovelace" and KycProfile.objects.count() == 2


def test_an_email_given_with_the_submission_is_kept_encrypted_and_found_by_its_blind_index(kyc, caller):
    from compliance import blind_index
    from compliance.models import PiiSearchToken

    response = post(kyc, "/v1/kyc/person", {**PERSON, "email": "Ada@Example.org"})
    assert response.status_code == 202, response.json()
    assert "Example" not in response.content.decode()
    profile = KycProfile.objects.get(owner_id=caller)
    assert profile.email == "Ada@Example.org"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT email FROM {KycProfile._meta.db_table} WHERE owner_id = %s", [caller])
        assert "Example" not in cursor.fetchone()[0]
    wanted = blind_index.digest(PiiSearchToken.Kind.EMAIL, blind_index.normalise(" ada@example.ORG "))
    assert PiiSearchToken.objects.filter(profile=profile, digest=wanted).exists()
    assert post(kyc, "/v1/kyc/person", {**PERSON, "email": "not-an-email"}).status_code == 400

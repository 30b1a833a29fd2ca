"""Every error is problem+json with a stable code: DRF's, the domain's, Django's, and crashes."""

from __future__ import annotations

import uuid
from http import HTTPStatus

import pytest
from django.test import Client, RequestFactory, override_settings
from django.urls import path
from rest_framework import exceptions

from crowdpay import urls as crowdpay_urls
from crowdpay.api import problems
from crowdpay.errors import DomainError
from wallets.errors import LedgerError, LedgerErrorCode

pytestmark = pytest.mark.django_db


def _context(path="/v1/x"):
    return {"request": RequestFactory().get(path)}


def test_a_domain_error_keeps_its_code_status_and_extras():
    response = problems.exception_handler(
        LedgerError("not enough", code=LedgerErrorCode.INSUFFICIENT_FUNDS, available=5), _context()
    )
    assert response.status_code == 422 and response.content_type == "application/problem+json"
    assert response.data == {
        "type": "about:blank",
        "title": HTTPStatus(422).phrase,
        "status": 422,
        "detail": "not enough",
        "code": "insufficient_funds",
        "instance": "/v1/x",
        "available": 5,
    }


def test_a_plain_domain_error_maps_its_status():
    response = problems.exception_handler(DomainError("busy", code="busy", status=409), _context())
    assert (response.status_code, response.data["code"]) == (409, "busy")


def test_an_unexpected_exception_is_a_500_problem_without_internals(caplog):
    response = problems.exception_handler(RuntimeError("secret internals"), _context())
    assert response.status_code == 500 and response.data["code"] == "internal_error"
    assert "secret" not in response.data["detail"]
    assert "unhandled error" in caplog.text


def test_throttled_carries_retry_after():
    response = problems.exception_handler(exceptions.Throttled(wait=12), _context())
    assert response.status_code == 429 and response.data["code"] == "rate_limited"
    assert response["Retry-After"] == "12"


def test_django_404_and_permission_denied_map():
    from django.core.exceptions import PermissionDenied
    from django.http import Http404

    assert problems.exception_handler(Http404(), _context()).data["code"] == "not_found"
    assert problems.exception_handler(PermissionDenied(), _context()).status_code == 403


def test_nested_validation_errors_are_flattened():
    exc = exceptions.ValidationError({"a": {"b": ["bad"]}, "non_field_errors": ["whole"], "c": [{"d": ["x"]}]})
    errors = problems.exception_handler(exc, _context()).data["errors"]
    assert {"field": "a.b", "code": "invalid", "detail": "bad"} in errors
    assert {"field": "body", "code": "invalid", "detail": "whole"} in errors
    assert any(e["field"] == "c[0].d" for e in errors)


def test_an_unknown_url_is_a_problem_404():
    response = Client().get(f"/v1/nothing/{uuid.uuid4()}")
    assert response.status_code == 404 and response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "not_found"


@pytest.mark.parametrize(
    ("handler", "status", "code"),
    [
        (problems.server_error, 500, "internal_error"),
        (problems.bad_request, 400, "bad_request"),
        (problems.permission_denied, 403, "forbidden"),
    ],
)
def test_django_level_handlers_answer_problem_json_under_v1(handler, status, code):
    request = RequestFactory().get("/v1/x")
    response = handler(request) if handler is problems.server_error else handler(request, None)
    assert response.status_code == status and response["Content-Type"] == "application/problem+json"
    assert b'"code": "' + code.encode() + b'"' in response.content


def test_a_crash_in_a_view_is_a_500_problem(api, monkeypatch):
    from wallets import selectors

    def boom(**kwargs):
        raise RuntimeError("db exploded")

    monkeypatch.setattr(selectors, "wallet_list", boom)
    response = api.get("/v1/wallets")
    assert response.status_code == 500 and response.json()["code"] == "internal_error"


def _open(client):
    return client.post("/v1/wallets", {"base_currency": "USD"}, format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))


def test_writes_are_throttled_per_caller(settings, api):
    settings.API_WRITE_THROTTLE_RATE = "2/minute"
    for _ in range(2):
        assert _open(api).status_code == 201
    response = _open(api)
    assert response.status_code == 429 and response.json()["code"] == "rate_limited"
    assert int(response["Retry-After"]) > 0
    assert api.get("/v1/wallets").status_code == 200  # reads are not counted
    from crowdpay.tests.fixtures import client_for

    other = client_for(uuid.uuid4())  # another caller has its own budget
    assert _open(other).status_code == 201


def test_cors_answers_a_preflight_with_the_idempotency_header():
    response = Client().options(
        "/v1/wallets",
        HTTP_ORIGIN="https://app.example",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, idempotency-key",
    )
    assert response.status_code == 200
    assert "idempotency-key" in response["Access-Control-Allow-Headers"]


# --- under /v1/ every error is problem+json, DEBUG on or off; elsewhere Django's pages stay -----------

# A URLconf for these tests: the real one plus a plain Django view (outside DRF) that crashes.
urlpatterns = [
    path("v1/test-crash", lambda request: 1 / 0),
    path("test-crash", lambda request: 1 / 0),
    *crowdpay_urls.urlpatterns,
]
handler400, handler403 = crowdpay_urls.handler400, crowdpay_urls.handler403
handler404, handler500 = crowdpay_urls.handler404, crowdpay_urls.handler500

DEBUG_ON_AND_OFF = pytest.mark.parametrize("debug", [True, False], ids=["DEBUG", "no-DEBUG"])


def _assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert (body["status"], body["code"], body["title"]) == (status, code, HTTPStatus(status).phrase)
    assert body["detail"] and body["instance"]
    return body


@DEBUG_ON_AND_OFF
def test_v1_errors_are_problems_whatever_debug_is(api, debug):
    with override_settings(DEBUG=debug):
        _assert_problem(api.get("/v1/wallets/not-a-uuid"), 404, "not_found")  # a URL-resolver miss
        _assert_problem(api.get("/v1/nothing/here"), 404, "not_found")
        _assert_problem(Client().get("/v1/wallets/not-a-uuid"), 404, "not_found")  # no token: still a problem
        cors = Client().get("/v1/nothing", HTTP_ORIGIN="https://app.example")
        assert _assert_problem(cors, 404, "not_found") and cors.has_header("Access-Control-Allow-Origin")
        _assert_problem(api.delete("/v1/wallets"), 405, "method_not_allowed")
        response = api.post(
            "/v1/wallets", "base_currency=USD", content_type="text/plain", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4())
        )
        _assert_problem(response, 415, "unsupported_media_type")


@DEBUG_ON_AND_OFF
def test_a_crash_in_a_v1_view_outside_drf_is_a_500_problem(debug, caplog):
    client = Client(raise_request_exception=False)
    with override_settings(DEBUG=debug, ROOT_URLCONF=__name__):
        body = _assert_problem(client.get("/v1/test-crash"), 500, "internal_error")
    assert "division" not in body["detail"] and "Traceback" not in body["detail"]
    assert "ZeroDivisionError" in caplog.text  # Django still logs the crash with its traceback


@DEBUG_ON_AND_OFF
def test_a_crash_in_a_drf_view_is_a_500_problem(api, monkeypatch, debug):
    from wallets import selectors

    def boom(**kwargs):
        raise RuntimeError("db exploded")

    monkeypatch.setattr(selectors, "wallet_list", boom)
    api.raise_request_exception = False
    with override_settings(DEBUG=debug):
        body = _assert_problem(api.get("/v1/wallets"), 500, "internal_error")
    assert "exploded" not in body["detail"]


@DEBUG_ON_AND_OFF
def test_outside_v1_django_keeps_its_own_pages(admin_client, debug):
    client = Client(raise_request_exception=False)
    with override_settings(DEBUG=debug, ROOT_URLCONF=__name__):
        for response in (client.get("/nothing-here"), admin_client.get("/admin/wallets/nothing-here/")):
            assert response.status_code == 404 and response["Content-Type"].startswith("text/html")
        crashed = client.get("/test-crash")
        assert crashed.status_code == 500 and crashed["Content-Type"].startswith("text/html")
        assert Client().get("/docs")["Content-Type"].startswith("text/html")

"""Every error as `application/problem+json` (RFC 9457) with a stable machine-readable `code`.

One DRF exception handler maps `DomainError` (the application's one error type) and DRF's own
exceptions; the Django-level handlers cover what never reaches DRF (an unknown URL, a crash
outside a view). Problem documents use `type: about:blank`, so `title` is the status phrase;
clients switch on `code`.
"""

from __future__ import annotations

import logging
from http import HTTPStatus

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError as DatabaseInterfaceError
from django.db import OperationalError as DatabaseOperationalError
from django.http import Http404, JsonResponse
from django.views import defaults
from kombu.exceptions import OperationalError as BrokerOperationalError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.views import set_rollback

from crowdpay.errors import DomainError

logger = logging.getLogger(__name__)

CONTENT_TYPE = "application/problem+json"

# DRF exception -> stable code. Validation errors get a finer code from their fields (below).
_DRF_CODES: list[tuple[type[exceptions.APIException], str]] = [
    (exceptions.ParseError, "malformed_request"),
    (exceptions.UnsupportedMediaType, "unsupported_media_type"),
    (exceptions.NotAuthenticated, "not_authenticated"),
    (exceptions.AuthenticationFailed, "invalid_token"),
    (exceptions.PermissionDenied, "forbidden"),
    (exceptions.NotFound, "not_found"),
    (exceptions.MethodNotAllowed, "method_not_allowed"),
    (exceptions.NotAcceptable, "not_acceptable"),
    (exceptions.Throttled, "rate_limited"),
]

# A validation error that is exactly one of these field codes is reported under it, so clients
# can switch on `unsupported_currency` whether a serializer or the ledger found it, and on
# `unknown_field` (crowdpay.api.inputs) for a name the endpoint does not take.
DOMAIN_FIELD_CODES = {"unsupported_currency", "invalid_amount", "amount_too_large", "same_wallet", "unknown_field"}


class ProblemFieldErrorSerializer(serializers.Serializer):
    field = serializers.CharField(help_text="The request field, dotted for nested ones.")
    code = serializers.CharField()
    detail = serializers.CharField()

    class Meta:
        ref_name = "ProblemFieldError"


class ProblemSerializer(serializers.Serializer):
    """An RFC 9457 problem document."""

    type = serializers.CharField(default="about:blank")
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    code = serializers.CharField(help_text="Stable machine-readable error code.")
    instance = serializers.CharField(required=False, help_text="The request path.")
    # RFC 9457's `errors` member shadows Serializer.errors (a by-design clash: the name is the API)
    errors = ProblemFieldErrorSerializer(  # type: ignore[assignment]  # API field name, see above
        many=True, required=False, help_text="Per-field validation errors."
    )

    class Meta:
        ref_name = "Problem"


def problem(status: int, code: str, detail: str, *, instance: str | None = None, **extra: object) -> dict:
    body: dict = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if instance:
        body["instance"] = instance
    body.update({k: v for k, v in extra.items() if v is not None})
    return body


def _flatten(detail, prefix: str = "") -> list[dict]:
    """DRF's nested ValidationError detail -> [{field, code, detail}]."""
    out: list[dict] = []
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = "" if key == "non_field_errors" else str(key)
            out += _flatten(value, f"{prefix}.{name}" if prefix and name else (name or prefix))
    elif isinstance(detail, list):
        for index, value in enumerate(detail):
            if isinstance(value, dict | list) and not isinstance(value, exceptions.ErrorDetail):
                out += _flatten(value, f"{prefix}[{index}]")
            else:
                out += _flatten(value, prefix)
    else:
        out.append({"field": prefix or "body", "code": getattr(detail, "code", "invalid"), "detail": str(detail)})
    return out


def _validation_problem(exc: exceptions.ValidationError, instance: str | None) -> dict:
    errors = _flatten(exc.detail)
    codes = {e["code"] for e in errors}
    code = codes.pop() if len(codes) == 1 and next(iter(codes)) in DOMAIN_FIELD_CODES else "validation_error"
    detail = "; ".join(f"{e['field']}: {e['detail']}" for e in errors) or "the request is invalid"
    return problem(400, code, detail, instance=instance, errors=errors)


def _api_problem(exc: exceptions.APIException, instance: str | None) -> dict:
    code = next((c for cls, c in _DRF_CODES if isinstance(exc, cls)), "error")
    detail: object = exc.detail  # rebound below to the message alone
    if isinstance(detail, dict):
        # simplejwt's InvalidToken carries {"detail", "code", "messages"}: keep only the message.
        specific = detail.get("code")
        detail = detail.get("detail", "")
        if isinstance(exc, exceptions.AuthenticationFailed) and specific == "token_not_valid":
            code = "invalid_token"
    elif isinstance(exc, exceptions.PermissionDenied):
        specific = getattr(detail, "code", None)
        if specific and specific != exceptions.PermissionDenied.default_code:
            code = specific  # e.g. insufficient_scope
    return problem(exc.status_code, code, str(detail), instance=instance)


# An outage of a dependency, not a bug: the request may be retried (with its Idempotency-Key).
_OUTAGES: list[tuple[tuple[type[BaseException], ...], str]] = [
    ((DatabaseOperationalError, DatabaseInterfaceError), "database"),
    ((BrokerOperationalError,), "broker"),
    ((RedisConnectionError, RedisTimeoutError), "cache"),
]
RETRY_AFTER_SECONDS = 2


def unavailable_dependency(exc: BaseException) -> str | None:
    """The dependency that `exc` says is down ("database", "broker", "cache"), or None."""
    for types, name in _OUTAGES:
        if isinstance(exc, types):
            return name
    return None


def exception_handler(exc: Exception, context: dict) -> Response:
    request = context.get("request")
    instance = request.path if request is not None else None
    headers: dict[str, str] = {}
    if isinstance(exc, DomainError):
        body = problem(exc.status, exc.code, exc.detail, instance=instance, **exc.extra)
    elif isinstance(exc, Http404):
        body = problem(404, "not_found", "not found", instance=instance)
    elif isinstance(exc, DjangoPermissionDenied):
        body = problem(403, "forbidden", "forbidden", instance=instance)
    elif isinstance(exc, exceptions.ValidationError):
        body = _validation_problem(exc, instance)
    elif isinstance(exc, RequestDataTooBig):
        body = problem(413, "payload_too_large", "the request body is too large", instance=instance)
    elif (dependency := unavailable_dependency(exc)) is not None:
        # Bounded timeouts (settings) make this fail fast; the client retries with the same key.
        logger.warning("dependency unavailable: %s (%s)", dependency, type(exc).__name__)
        body = problem(
            503, "dependency_unavailable", f"the {dependency} is unavailable; retry shortly", instance=instance
        )
        headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    elif isinstance(exc, exceptions.APIException):
        body = _api_problem(exc, instance)
        # set by DRF on an authentication failure (APIView.handle_exception) and on Throttled
        auth_header = getattr(exc, "auth_header", None)
        if auth_header:
            headers["WWW-Authenticate"] = auth_header
        wait = getattr(exc, "wait", None)
        if wait is not None:
            headers["Retry-After"] = str(int(wait))
    else:
        # A bug: log it with its traceback, answer without leaking internals.
        logger.exception("unhandled error in %s", instance)
        body = problem(500, "internal_error", "an internal error occurred", instance=instance)
    set_rollback()
    return Response(body, status=body["status"], headers=headers, content_type=CONTENT_TYPE)


# --- Django-level handlers (crowdpay.urls handler404/handler500/...) ---------------------------------
# Only the API answers problem+json: the admin, the docs and the rest keep Django's own pages.

API_PREFIX = "/v1/"

# What a Django-level error under /v1/ is called when it never reached the DRF handler above.
_STATUS_CODES = {
    400: ("bad_request", "bad request"),
    403: ("forbidden", "forbidden"),
    404: ("not_found", "no resource at {path}"),
    405: ("method_not_allowed", "method {method} is not allowed on {path}"),
    413: ("payload_too_large", "the request body is too large"),
    415: ("unsupported_media_type", "the request body must be application/json"),
    500: ("internal_error", "an internal error occurred"),
}


def is_api(request) -> bool:
    return request.path.startswith(API_PREFIX)


def _response(request, status: int, code: str | None = None, detail: str | None = None) -> JsonResponse:
    default_code, default_detail = _STATUS_CODES.get(status, (f"http_{status}", HTTPStatus(status).phrase.lower()))
    detail = detail or default_detail.format(path=request.path, method=request.method)
    body = problem(status, code or default_code, detail, instance=request.path)
    return JsonResponse(body, status=status, content_type=CONTENT_TYPE)


def not_found(request, exception=None):
    if not is_api(request):
        return defaults.page_not_found(request, exception)
    return _response(request, 404)


def server_error(request):
    if not is_api(request):
        return defaults.server_error(request)
    return _response(request, 500)


def permission_denied(request, exception=None):
    if not is_api(request):
        return defaults.permission_denied(request, exception)
    return _response(request, 403)


def bad_request(request, exception=None):
    if not is_api(request):
        return defaults.bad_request(request, exception)
    return _response(request, 400)


class ProblemMiddleware:
    """Under /v1/, every error answer is problem+json, whatever DEBUG is. The handlers above cover
    DEBUG=False; with DEBUG=True Django answers a resolver miss or a crash outside DRF with its
    technical HTML page instead, so an error response that is not problem+json is replaced here
    (the crash is still logged, by Django, with its traceback). Outside /v1/ nothing changes."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            response.status_code >= 400
            and is_api(request)
            and not response.get("Content-Type", "").startswith(CONTENT_TYPE)
        ):
            replaced = _response(request, response.status_code)
            for header, value in response.items():  # Allow, CORS, Retry-After …: all but the body's own
                if header.lower() not in ("content-type", "content-length"):
                    replaced[header] = value
            return replaced
        return response

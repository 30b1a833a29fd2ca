"""Structured logs: one ECS JSON line per event, correlated, with secrets and personal data removed.

- `RequestIdMiddleware` takes a sane incoming `X-Request-ID` (or makes one), keeps it in a context
  variable for the request's duration and echoes it in the response.
- `ContextFilter` (on the handler) puts `http.request.id`, `trace.id` and `span.id` on every line:
  the OpenTelemetry trace when tracing is on, otherwise a W3C-shaped trace id taken from an incoming
  `traceparent` header or made per request, so lines still correlate with tracing off.
- Celery: the publisher copies both ids into the task's headers and the worker restores them around
  the task, so a worker's lines carry the id of the request that enqueued the task.
- `RedactFilter` (on the handler, so it sees every record, whichever logger it came through) masks
  bearer tokens, JWTs, Authorization/Cookie values and known personal-data or secret fields in the
  message, its arguments and the `extra` fields, and replaces a Django request object by its method
  and path.
"""

from __future__ import annotations

import contextvars
import logging
import re
import secrets
import uuid
from collections.abc import Mapping

import ecs_logging

from crowdpay.carddata import mask_card_numbers

REQUEST_ID_HEADER = "X-Request-ID"
_CELERY_REQUEST_ID = "crowdpay_request_id"
_CELERY_TRACE_ID = "crowdpay_trace_id"
REDACTED = "[REDACTED]"

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("crowdpay_request_id", default=None)
trace_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("crowdpay_trace_id", default=None)

_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{7,127}$")
_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$")


def sane_request_id(value: str | None) -> str | None:
    """The incoming id if it is safe to log and echo (8 to 128 of [A-Za-z0-9._:-]); None otherwise."""
    value = (value or "").strip()
    return value if _SANE_REQUEST_ID.match(value) else None


def new_request_id() -> str:
    return uuid.uuid4().hex


def trace_id_from_traceparent(value: str | None) -> str | None:
    match = _TRACEPARENT.match((value or "").strip().lower())
    if not match or match.group(1) == "0" * 32:
        return None
    return match.group(1)


def current_ids() -> tuple[str | None, str | None, str | None]:
    """(request id, trace id, span id) for the running request or task."""
    trace_id = span_id = None
    try:
        from opentelemetry import trace

        context = trace.get_current_span().get_span_context()
        if context.is_valid:
            trace_id, span_id = format(context.trace_id, "032x"), format(context.span_id, "016x")
    except ImportError:  # pragma: no cover - opentelemetry is a pinned dependency
        pass
    return request_id_var.get(), trace_id or trace_id_var.get(), span_id


# --- Django ---------------------------------------------------------------------------------------
class RequestIdMiddleware:
    """Binds a request id (and a fallback trace id) to everything the request logs; echoes the id."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = sane_request_id(request.headers.get(REQUEST_ID_HEADER)) or new_request_id()
        trace_id = trace_id_from_traceparent(request.headers.get("traceparent")) or secrets.token_hex(16)
        request.request_id, request.trace_id = request_id, trace_id
        tokens = (request_id_var.set(request_id), trace_id_var.set(trace_id))
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(tokens[0])
            trace_id_var.reset(tokens[1])
        response[REQUEST_ID_HEADER] = request_id
        return response


# --- Filters --------------------------------------------------------------------------------------
class ContextFilter(logging.Filter):
    """Adds the request id, trace id and span id (ECS field names) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        request_id, trace_id, span_id = current_ids()
        # Django logs a 4xx/5xx response after the middleware chain has returned: use the request's ids.
        request = record.__dict__.get("request")
        request_id = request_id or getattr(request, "request_id", None)
        trace_id = trace_id or getattr(request, "trace_id", None)
        if request_id and not hasattr(record, "http.request.id"):
            setattr(record, "http.request.id", request_id)
        if trace_id:
            setattr(record, "trace.id", trace_id)
        if span_id:
            setattr(record, "span.id", span_id)
        return True


# Field names whose values are personal data, credentials or secrets, wherever they appear.
SENSITIVE_KEYS = frozenset(
    {
        "authorization",
        "http_authorization",
        "proxy_authorization",
        "cookie",
        "http_cookie",
        "set_cookie",
        "token",
        "access_token",
        "refresh_token",
        "id_token",
        "api_key",
        "apikey",
        "password",
        "secret",
        "secret_key",
        "private_key",
        "jwt_private_key",
        "event_hmac_keys",
        "pii_encryption_keys",
        "idempotency_key",
        # personal data (KYC/KYB profiles and anything shaped like them)
        "full_name",
        "first_name",
        "last_name",
        "legal_name",
        "email",
        "phone",
        "phone_number",
        "address",
        "street",
        "postal_code",
        "date_of_birth",
        "dob",
        "birth_date",
        "national_id",
        "tax_id",
        "ssn",
        "passport_number",
        "document_number",
        "iban",
        "account_number",
        "card_number",
        "pan",
        "ip_address",
    }
)

_SENSITIVE_KEY_RE = "|".join(sorted((re.escape(k) for k in SENSITIVE_KEYS), key=len, reverse=True))
_SECRET_PATTERNS = (
    # "Authorization: Bearer xyz", "Bearer xyz", "Basic xyz"
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+"), r"\1 " + REDACTED),
    # a JWT anywhere (three base64url segments, the first two starting like JSON objects)
    (re.compile(r"\beyJ[A-Za-z0-9_-]*\.eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*"), REDACTED),
    # key=value, key: value, "key": "value" and 'key': 'value' pairs whose key is sensitive
    (
        re.compile(rf"(?i)([\"']?\b(?:{_SENSITIVE_KEY_RE})\b[\"']?\s*[:=]\s*)(\"[^\"]*\"|'[^']*'|[^\s,;&}}]+)"),
        r"\1" + REDACTED,
    ),
    # e-mail addresses
    (re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"), REDACTED),
    # PEM blocks
    (re.compile(r"-----BEGIN [A-Z ]+-----.*?-----END [A-Z ]+-----", re.S), REDACTED),
)


def redact_text(text: str) -> str:
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    # Card numbers are refused at the door (crowdpay.carddata); this is the backstop for any that
    # reach a log line another way (a path, an exception message).
    return mask_card_numbers(text)


def _normalise_key(key: object) -> str:
    return re.sub(r"[^a-z0-9]+", "_", str(key).lower()).strip("_").rsplit(".", 1)[-1]


def redact_value(value, depth: int = 0):
    """A copy of `value` with sensitive keys masked and secrets removed from strings."""
    if depth > 6:
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {
            k: (REDACTED if _normalise_key(k) in SENSITIVE_KEYS else redact_value(v, depth + 1))
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple, set, frozenset)):
        return [redact_value(v, depth + 1) for v in value]
    if isinstance(value, (int, float, bool)) or value is None:
        return value
    return redact_text(str(value))


# Attributes a LogRecord has by itself; anything else came through `extra=`.
_RECORD_ATTRS = frozenset(logging.LogRecord("x", logging.INFO, "x", 0, "x", None, None).__dict__) | {
    "message",
    "asctime",
}


class RedactFilter(logging.Filter):
    """Removes tokens, secrets and personal data from a record before any handler formats it."""

    def filter(self, record: logging.LogRecord) -> bool:
        # Mask the arguments structurally first (a dict argument keeps its keys), then the text.
        if isinstance(record.args, Mapping):
            record.args = redact_value(record.args)
        elif isinstance(record.args, tuple):
            record.args = tuple(redact_value(arg) for arg in record.args)
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: keep the template, drop the arguments
            message = str(record.msg)
        record.msg, record.args = redact_text(message), None
        for key in [k for k in record.__dict__ if k not in _RECORD_ATTRS]:
            value = record.__dict__[key]
            if key == "request" and hasattr(value, "method"):
                # Django's request loggers pass the request object; keep only what is safe.
                del record.__dict__[key]
                record.__dict__["http.request.method"] = value.method
                record.__dict__["url.path"] = redact_text(getattr(value, "path", ""))
            elif _normalise_key(key) in SENSITIVE_KEYS:
                record.__dict__[key] = REDACTED
            else:
                record.__dict__[key] = redact_value(value)
        if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
            # Exception messages can quote input (a token, an e-mail): format and scrub them once.
            record.exc_text = redact_text(logging.Formatter().formatException(record.exc_info))
        return True


class EcsFormatter(ecs_logging.StdlibFormatter):
    """ecs_logging's formatter with the exception message and stack trace scrubbed as well."""

    def format_to_ecs(self, record: logging.LogRecord) -> dict:
        result = super().format_to_ecs(record)
        error = result.get("error")
        if isinstance(error, dict):
            for field in ("message", "stack_trace"):
                if isinstance(error.get(field), str):
                    error[field] = redact_text(error[field])
        return result


# --- Celery ---------------------------------------------------------------------------------------
def _on_before_task_publish(headers=None, **kwargs):
    if headers is None:
        return
    request_id, trace_id, _span = current_ids()
    if request_id:
        headers.setdefault(_CELERY_REQUEST_ID, request_id)
    if trace_id:
        headers.setdefault(_CELERY_TRACE_ID, trace_id)


_task_tokens: dict[str, tuple] = {}


def _on_task_prerun(task_id=None, task=None, **kwargs):
    request = getattr(task, "request", None)
    request_id = sane_request_id(getattr(request, _CELERY_REQUEST_ID, None)) or request_id_var.get() or task_id
    trace_id = getattr(request, _CELERY_TRACE_ID, None) or trace_id_var.get() or secrets.token_hex(16)
    _task_tokens[task_id] = (request_id_var.set(request_id), trace_id_var.set(trace_id))


def _on_task_postrun(task_id=None, **kwargs):
    tokens = _task_tokens.pop(task_id, None)
    if tokens:
        try:
            request_id_var.reset(tokens[0])
            trace_id_var.reset(tokens[1])
        except ValueError:  # set in another context (should not happen): just clear
            request_id_var.set(None)
            trace_id_var.set(None)


def _on_setup_logging(**kwargs):
    # Celery would install its own plain-text handler; use the project's ECS configuration instead.
    import logging.config

    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)


def connect_celery_signals() -> None:
    from celery import signals

    signals.before_task_publish.connect(_on_before_task_publish, weak=False, dispatch_uid="crowdpay.logging.publish")
    signals.task_prerun.connect(_on_task_prerun, weak=False, dispatch_uid="crowdpay.logging.prerun")
    signals.task_postrun.connect(_on_task_postrun, weak=False, dispatch_uid="crowdpay.logging.postrun")
    signals.setup_logging.connect(_on_setup_logging, weak=False, dispatch_uid="crowdpay.logging.setup")

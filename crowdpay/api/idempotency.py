"""The Idempotency-Key header on writes (Stripe's semantics), as a decorator for view handlers.

    same key, same request      -> the stored status and body, with `Idempotent-Replayed: true`
    same key, another request   -> 422 idempotency_key_reused
    same key, first still runs  -> 409 idempotency_key_in_progress

What is stored: every response the handler produced, success or refusal (a 402-like 422 is an
answer, and replaying it is the point), except those that mean the request never ran: malformed
or invalid input (400, 415) and crashes (5xx). Those release the key so a corrected retry may use it.

A handler whose answer is decided inside its own transaction may store it there
(`request.idempotency`, a `Completion`): the answer then commits with what it answers, and the
wrapper's UPDATE after the handler (a statement and a commit of its own) is not needed.

Every write under /v1 is wrapped here with `required=True` (400 `idempotency_key_required` without
a key); only a provider's signed callback, deduplicated by its own event id, may opt out. Being the
one wrapper of every write, it also refuses a query string on one (`unknown_field`): a write takes
its input in its body.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from collections.abc import Callable
from typing import Any, Protocol, cast

from django.db import connection, transaction
from rest_framework.response import Response

from crowdpay import metrics, services
from crowdpay.errors import DomainError
from crowdpay.services import IdempotencyErrorCode

from .inputs import refuse_query

log = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
_NOT_STORED = {400, 415}
_REPLAYED_HEADERS = ("Location",)


class IdempotentHandler(Protocol):
    """A handler wrapped by `idempotent`, marked with its mode ("required" or "optional"), which the
    schema (crowdpay.api.schema) reads."""

    idempotency: str

    def __call__(self, view: Any, request: Any, /, *args: Any, **kwargs: Any) -> Any: ...


def request_fingerprint(request) -> str:
    """SHA-256 over method, path and body. A JSON body is canonicalised first, so a client that
    re-serialises the same document (other key order, other spacing) is still the same request."""
    raw = request._request.body  # read before DRF parses the stream; Django caches it
    try:
        body = json.dumps(json.loads(raw), sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, UnicodeDecodeError, RecursionError):
        body = raw  # not JSON (or too deep to canonicalise): the bytes as sent; the parser refuses it
    digest = hashlib.sha256()
    for part in (request.method.encode(), request.get_full_path().encode(), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def _answer(response) -> dict[str, Any]:
    """What is stored of `response`: its status, body and the headers a replay repeats."""
    headers = {name: response[name] for name in _REPLAYED_HEADERS if response.has_header(name)}
    if response.content_type:
        headers["Content-Type"] = response.content_type
    return {"status": response.status_code, "body": response.data, "headers": headers}


class Completion:
    """The Idempotency-Key claim of the request being handled, as `request.idempotency`.

    `storing(render)` gives a hook for a service that writes in one transaction (e.g. `alongside` of
    `sagas.services.transfer_start`): called there with what the service wrote, it renders the
    response and returns the UPDATE that stores it, to be sent in that transaction. Once that
    transaction has committed, `stored` is the response: the handler returns it and the wrapper
    stores nothing more. Rolled back (a refusal, a twin request), nothing is kept: the handler
    answers as usual and the wrapper stores that answer. The key's row is this request's own claim;
    no one who waits on another lock holds it, so locking it last in the service's transaction
    keeps the lock order."""

    def __init__(self, record) -> None:
        self.record = record
        self.stored: Response | None = None

    def storing(self, render: Callable[[Any], Response]) -> Callable[[Any], tuple[str, dict[str, Any]]]:
        def statement(written: Any) -> tuple[str, dict[str, Any]]:
            if not connection.in_atomic_block:
                raise RuntimeError("an answer is stored inside the transaction of what it answers")
            response = render(written)
            sql, params = services.idempotency_complete_statement(record=self.record, **_answer(response))
            transaction.on_commit(lambda: setattr(self, "stored", response))
            return sql, params

        return statement


def idempotent(*, required: bool = True):
    """Wrap a DRF handler (`def post(self, request, ...)`) with Idempotency-Key handling.
    Runs after authentication, permissions and throttling, so keys belong to a known caller."""

    def decorator(handler):
        @functools.wraps(handler)
        def wrapper(view, request, *args, **kwargs):
            refuse_query(request)
            key = request.headers.get(HEADER)
            if key is None:
                if required:
                    raise DomainError(
                        f"this endpoint needs an {HEADER} header (any unique string, e.g. a UUID)",
                        code=IdempotencyErrorCode.REQUIRED,
                        status=400,
                    )
                request.idempotency = None
                return handler(view, request, *args, **kwargs)
            claim = services.idempotency_claim(
                caller=str(request.user.id),
                key=key,
                fingerprint=request_fingerprint(request),
                method=request.method,
                path=request.get_full_path(),
            )
            record = claim.record
            if claim.replay:
                metrics.record_idempotent_replay()
                headers = {**record.response_headers, REPLAYED_HEADER: "true"}
                content_type = headers.pop("Content-Type", None)
                return Response(
                    record.response_body, status=record.response_status, headers=headers, content_type=content_type
                )
            completion = request.idempotency = Completion(record)
            try:
                try:
                    response = handler(view, request, *args, **kwargs)
                except Exception as exc:
                    # Map it now (as dispatch would) so the refusal itself can be stored.
                    response = view.handle_exception(exc)
            except BaseException:
                services.idempotency_release(record=record)
                raise
            if completion.stored is not None:
                # Stored by the handler in the transaction of what it answers: the answer, first and
                # on every replay, whatever happened after that commit.
                if response is not completion.stored:
                    log.error(
                        "a handler failed after its answer was stored; answering the stored one",
                        extra={"status": response.status_code, "stored_status": completion.stored.status_code},
                    )
                return completion.stored
            if response.status_code >= 500 or response.status_code in _NOT_STORED:
                services.idempotency_release(record=record)
            else:
                services.idempotency_complete(record=record, **_answer(response))
            return response

        cast(IdempotentHandler, wrapper).idempotency = "required" if required else "optional"
        return wrapper

    return decorator

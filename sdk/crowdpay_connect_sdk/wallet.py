"""`WalletClient`: the async facade over the generated low-level client.

    async with WalletClient(base_url="https://wallet.example", api_key=token) as client:
        wallet = await client.create_wallet(NewWalletRequest(base_currency="USD"))
        op = await client.credit_wallet(wallet.id, CreditRequest(amount=500_00, currency="USD"))
        await op.wait()

Retries. Every logical call gets one `Idempotency-Key` (a UUID, or the caller's own) and keeps it
on each of its retries, so however often a write is sent it has one effect: the service replays
the first answer for a repeated key. A call is retried on a transport error (connection refused
or dropped, a timeout), on 5xx, on 429 (after `Retry-After`) and on 409
`idempotency_key_in_progress` (the first try is still running), with capped exponential backoff
and jitter. Any other 409 is the service's final answer, stored under the key: a retry would
only replay it, so it is raised at once.

Every write (opening a wallet too) carries its key: the service refuses a write without one.

Outcomes. A credit, debit or transfer answers what is known when the request returns: 200 with
the Operation when it SUCCEEDED in the request, 202 while it is pending (a saga step, a review),
422 when it was refused on its merits in the request (insufficient funds, a frozen wallet, a
velocity limit). The call returns an `OperationHandle` for 200 and 202 and raises the exception
for the 422's code (`InsufficientFunds` …) with the FAILED operation as `.operation` and its id as
`.operation_id`. A refusal found later by the worker (a declined card, a failed payout) raises the
same classes from `op.wait()`.

Failures. Problems are raised as the typed exceptions of `crowdpay_connect_sdk.errors`.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

import httpx

from . import __version__
from . import errors as _errors
from ._generated.api.kyc import get_kyc_status as _get_kyc_status
from ._generated.api.kyc import submit_kyc_business as _submit_kyc_business
from ._generated.api.kyc import submit_kyc_person as _submit_kyc_person
from ._generated.api.operations import get_operation as _get_operation
from ._generated.api.transfer import transfer as _transfer
from ._generated.api.wallets import (
    convert_currency as _convert_currency,
)
from ._generated.api.wallets import create_balance_monitor as _create_balance_monitor
from ._generated.api.wallets import (
    create_wallet as _create_wallet,
)
from ._generated.api.wallets import (
    credit_wallet as _credit_wallet,
)
from ._generated.api.wallets import (
    debit_wallet as _debit_wallet,
)
from ._generated.api.wallets import delete_balance_monitor as _delete_balance_monitor
from ._generated.api.wallets import (
    get_wallet as _get_wallet,
)
from ._generated.api.wallets import list_balance_monitors as _list_balance_monitors
from ._generated.api.wallets import (
    list_wallet_events as _list_wallet_events,
)
from ._generated.api.wallets import (
    list_wallets as _list_wallets,
)
from ._generated.api.wallets import (
    quote_conversion as _quote_conversion,
)
from ._generated.api.webhook_endpoints import create_webhook_endpoint as _create_webhook_endpoint
from ._generated.api.webhook_endpoints import delete_webhook_endpoint as _delete_webhook_endpoint
from ._generated.api.webhook_endpoints import disable_webhook_endpoint as _disable_webhook_endpoint
from ._generated.api.webhook_endpoints import enable_webhook_endpoint as _enable_webhook_endpoint
from ._generated.api.webhook_endpoints import get_webhook_endpoint as _get_webhook_endpoint
from ._generated.api.webhook_endpoints import list_webhook_deliveries as _list_webhook_deliveries
from ._generated.api.webhook_endpoints import list_webhook_endpoints as _list_webhook_endpoints
from ._generated.api.webhook_endpoints import replay_failed_webhook_deliveries as _replay_failed
from ._generated.api.webhook_endpoints import replay_webhook_delivery as _replay_webhook_delivery
from ._generated.api.webhook_endpoints import rotate_webhook_secret as _rotate_webhook_secret
from ._generated.api.webhook_endpoints import update_webhook_endpoint as _update_webhook_endpoint
from ._generated.client import AuthenticatedClient
from ._generated.models.list_webhook_deliveries_status import ListWebhookDeliveriesStatus
from ._generated.models.replay_failed_request import ReplayFailedRequest
from ._generated.types import UNSET, Response
from .consistency import ReadAfter
from .models import (
    TERMINAL_STATUSES,
    BalanceMonitor,
    BalanceMonitorRequest,
    BeneficialOwner,
    BusinessSubmission,
    Conversion,
    ConvertRequest,
    CreditRequest,
    DebitRequest,
    Event,
    EventPage,
    KycStatus,
    NewWalletRequest,
    Operation,
    OperationStatus,
    PersonSubmission,
    Quote,
    QuoteRequest,
    TransferRequest,
    Wallet,
    WalletId,
    WebhookDelivery,
    WebhookDeliveryPage,
    WebhookDeliveryStatus,
    WebhookEndpoint,
    WebhookEndpointRequest,
    WebhookEndpointUpdate,
    WebhookEndpointWithSecret,
)
from .pods import PodsClient

T = TypeVar("T")

MAX_WAIT_SECONDS = 30  # the service caps a long-poll at 30 s
_STARTED = (200, 202)  # SUCCEEDED in the request / still pending; a refusal is a 422 problem
_RETRIED_CONFLICTS = frozenset({"idempotency_key_in_progress"})


def _as_uuid(name: str, value: WalletId) -> uuid.UUID:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        raise ValueError(f"{name} must be a UUID, not {value!r}") from None


class RetryPolicy:
    """How a call is retried: up to `max_retries` more tries, sleeping `backoff(attempt)` between
    them: `base * 2**attempt` seconds capped at `cap`, drawn uniformly from its upper half (jitter,
    so clients that failed together do not retry together)."""

    def __init__(self, *, max_retries: int = 4, base: float = 0.25, cap: float = 8.0) -> None:
        if max_retries < 0 or base < 0 or cap < 0:
            raise ValueError("max_retries, base and cap must not be negative")
        self.max_retries = max_retries
        self.base = base
        self.cap = cap

    def backoff(self, attempt: int, *, at_least: float | None = None) -> float:
        delay = min(self.cap, self.base * 2**attempt)
        delay = random.uniform(delay / 2, delay)
        if at_least is not None:
            delay = max(delay, min(at_least, self.cap))
        return delay


class OperationHandle:
    """A started credit, debit or transfer. `operation` is the last state seen;
    `await handle.wait()` long-polls the service until the operation is terminal."""

    def __init__(self, client: WalletClient, operation: Operation, *, replayed: bool = False) -> None:
        self._client = client
        self.operation = operation
        self.replayed = replayed  # the service answered from its Idempotency-Key store

    @property
    def id(self) -> uuid.UUID:
        return self.operation.id

    @property
    def status(self) -> OperationStatus:
        return self.operation.status

    @property
    def done(self) -> bool:
        return self.operation.status in TERMINAL_STATUSES

    def __repr__(self) -> str:
        return f"<OperationHandle {self.operation.kind.value} {self.id} {self.status.value}>"

    async def refresh(self) -> Operation:
        """Read the operation once (no waiting)."""
        self.operation = await self._client._operation(self.id, wait=0)
        return self.operation

    async def wait(
        self, *, timeout: float | None = None, stop_on_review: bool = False, raise_on_failure: bool = True
    ) -> Operation:
        """Long-poll `GET /v1/operations/{id}?wait=N` until the operation is SUCCEEDED or FAILED
        (or IN_REVIEW, with `stop_on_review`: a review waits for a compliance officer).

        A FAILED operation raises the exception for its error code (`InsufficientFunds`, …) unless
        `raise_on_failure` is False. With `timeout` (seconds), `OperationTimeout` is raised when it
        runs out; without one, this waits as long as the operation takes."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._settled(stop_on_review):
            wait = MAX_WAIT_SECONDS
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise _errors.OperationTimeout(
                        f"operation {self.id} is still {self.status.value} after {timeout} s",
                        code="operation_timeout",
                        operation=self.operation,
                    )
                wait = max(0, min(wait, math.ceil(remaining)))
            self.operation = await self._client._operation(self.id, wait=wait)
        if raise_on_failure:
            _raise_if_failed(self.operation)
        return self.operation

    def _settled(self, stop_on_review: bool) -> bool:
        return self.done or (stop_on_review and self.status == OperationStatus.IN_REVIEW)


def _raise_if_failed(operation: Operation) -> None:
    if operation.status == OperationStatus.FAILED:
        raise _errors.from_operation(operation)


class WalletClient:
    """The async client of the CrowdPay Connect wallet API; use it as an async context manager.

    `api_key` is the bearer token (a JWT with the scopes the calls need). `timeout` bounds
    connecting and each ordinary request; a long-poll may take up to 30 s more."""

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        headers: dict[str, str] | None = None,
        httpx_args: dict[str, Any] | None = None,
    ) -> None:
        if not api_key:
            raise ValueError("api_key (the bearer token) is required")
        self.retry = retry or RetryPolicy()
        # Read-your-writes: every response's CrowdPay-Read-After is remembered, the highest is sent
        # on every later request, async and sync (consistency.py).
        self.read_after = ReadAfter()
        self._client = AuthenticatedClient(
            base_url=base_url.rstrip("/"),
            token=api_key,
            timeout=httpx.Timeout(timeout, read=timeout + MAX_WAIT_SECONDS),
            headers={
                "User-Agent": f"crowdpay-connect-sdk/{__version__}",
                "Accept": "application/json",
                **(headers or {}),
            },
            httpx_args=self.read_after.install(httpx_args or {}),
        )

    @property
    def low_level(self) -> AuthenticatedClient:
        """The generated client, for endpoints or options this facade does not cover."""
        return self._client

    @property
    def pods(self) -> PodsClient:
        """The CrowdPod calls (`/v1/pods/...`, crowdpay_connect_sdk.pods): `await client.pods.get(pod_id)` …"""
        return PodsClient(self)

    async def __aenter__(self) -> WalletClient:
        await self._client.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._client.__aexit__(*exc)

    async def aclose(self) -> None:
        await self._client.get_async_httpx_client().aclose()

    # --- wallets -----------------------------------------------------------------------------------

    async def create_wallet(self, request: NewWalletRequest, *, idempotency_key: str | None = None) -> Wallet:
        """Open a wallet (`POST /v1/wallets`, scope `wallet:create`)."""
        body = request.to_generated()
        key = idempotency_key or _new_key()
        response = await self._send(
            lambda: _create_wallet.asyncio_detailed(client=self._client, body=body, idempotency_key=key), 201
        )
        return response.parsed

    async def get_wallet(self, wallet_id: WalletId) -> Wallet:
        """The wallet with its balances (`GET /v1/wallets/{id}`, scope `wallet:read`)."""
        wid = _as_uuid("wallet_id", wallet_id)
        response = await self._send(lambda: _get_wallet.asyncio_detailed(wid, client=self._client), 200)
        return response.parsed

    async def list_wallets(self, *, owner_id: WalletId | None = None) -> list[Wallet]:
        """The caller's wallets, oldest first; another owner's with `wallet:admin`."""
        owner = UNSET if owner_id is None else _as_uuid("owner_id", owner_id)
        response = await self._send(lambda: _list_wallets.asyncio_detailed(client=self._client, owner_id=owner), 200)
        return list(response.parsed)

    async def events(self, wallet_id: WalletId, *, after: int = 0, page_size: int = 100) -> AsyncIterator[Event]:
        """Every event of the wallet's stream after version `after`, in order, fetched page by page
        (following the `next_after` version cursor until the stream's end)."""
        wid = _as_uuid("wallet_id", wallet_id)
        cursor: int | None = after
        while cursor is not None:
            page = await self._event_page(wid, cursor, page_size)
            for event in page.results:
                yield Event.from_dict(event.to_dict())
            cursor = page.next_after if isinstance(page.next_after, int) else None

    async def _event_page(self, wallet_id: uuid.UUID, after: int, limit: int) -> EventPage:
        response = await self._send(
            lambda: _list_wallet_events.asyncio_detailed(wallet_id, client=self._client, after=after, limit=limit), 200
        )
        return response.parsed

    # --- money -------------------------------------------------------------------------------------

    async def credit_wallet(
        self, wallet_id: WalletId, request: CreditRequest, *, idempotency_key: str | None = None
    ) -> OperationHandle:
        """Start a funding (`POST /v1/wallets/{id}/credit`, scope `wallet:credit`)."""
        wid = _as_uuid("wallet_id", wallet_id)
        body, key = request.to_generated(), idempotency_key or _new_key()
        return await self._started(
            lambda: _credit_wallet.asyncio_detailed(wid, client=self._client, body=body, idempotency_key=key)
        )

    async def debit_wallet(
        self, wallet_id: WalletId, request: DebitRequest, *, idempotency_key: str | None = None
    ) -> OperationHandle:
        """Start a withdrawal (`POST /v1/wallets/{id}/debit`, scope `wallet:debit`)."""
        wid = _as_uuid("wallet_id", wallet_id)
        body, key = request.to_generated(), idempotency_key or _new_key()
        return await self._started(
            lambda: _debit_wallet.asyncio_detailed(wid, client=self._client, body=body, idempotency_key=key)
        )

    async def transfer(self, request: TransferRequest, *, idempotency_key: str | None = None) -> OperationHandle:
        """Move money between wallets (`POST /v1/transfer`, scope `wallet:transfer`). A same-currency
        transfer usually completes in the request: the handle is then already SUCCEEDED."""
        body, key = request.to_generated(), idempotency_key or _new_key()
        return await self._started(
            lambda: _transfer.asyncio_detailed(client=self._client, body=body, idempotency_key=key)
        )

    # --- conversion inside a wallet ----------------------------------------------------------------

    async def quote(self, wallet_id: WalletId, request: QuoteRequest, *, idempotency_key: str | None = None) -> Quote:
        """Quote a conversion inside a wallet (`POST /v1/wallets/{id}/quotes`, scope `wallet:transfer`):
        the rate (`Decimal` as a string), its source, the converted amount rounded down to the minor
        unit and `expires_at`. Nothing moves until `convert` is called with it before it expires."""
        wid = _as_uuid("wallet_id", wallet_id)
        body, key = request.to_generated(), idempotency_key or _new_key()
        response = await self._send(
            lambda: _quote_conversion.asyncio_detailed(wid, client=self._client, body=body, idempotency_key=key), 201
        )
        return response.parsed

    async def convert(
        self, wallet_id: WalletId, quote: Quote | WalletId, *, idempotency_key: str | None = None
    ) -> Conversion:
        """Convert at a quote's rate (`POST /v1/wallets/{id}/convert`, scope `wallet:transfer`); the
        outcome is decided in the request. A quote converts once: a second use raises `Refused`
        with code `quote_used`, a late one `quote_expired`; too little money `InsufficientFunds`."""
        wid = _as_uuid("wallet_id", wallet_id)
        quote_id = quote.id if isinstance(quote, Quote) else quote
        body, key = ConvertRequest(quote_id=quote_id).to_generated(), idempotency_key or _new_key()
        response = await self._send(
            lambda: _convert_currency.asyncio_detailed(wid, client=self._client, body=body, idempotency_key=key), 200
        )
        return response.parsed

    async def get_operation(self, operation_id: uuid.UUID | str) -> OperationHandle:
        """A handle on an operation started earlier (e.g. by another process)."""
        return OperationHandle(self, await self._operation(_as_uuid("operation_id", operation_id), wait=0))

    async def _operation(self, operation_id: uuid.UUID, *, wait: int) -> Operation:
        response = await self._send(
            lambda: _get_operation.asyncio_detailed(operation_id, client=self._client, wait=wait), 200
        )
        return response.parsed

    async def _started(self, send: Callable[[], Awaitable[Response[Any]]]) -> OperationHandle:
        response = await self._send(send, *_STARTED)
        operation = response.parsed
        _raise_if_failed(operation)  # a FAILED operation is a 422; kept for a service that answers otherwise
        return OperationHandle(self, operation, replayed=response.headers.get("Idempotent-Replayed") == "true")

    # --- transport ---------------------------------------------------------------------------------

    # --- KYC/KYB onboarding ---------------------------------------------------------------------------

    async def submit_person(
        self,
        *,
        legal_name: str,
        date_of_birth: Any,
        address: str,
        country: str,
        document_reference: str,
        idempotency_key: str | None = None,
    ) -> KycStatus:
        """Submit (or, after a rejection, resubmit) the caller as a person (`POST /v1/kyc/person`,
        scope `kyc:write`). Answers the masked profile, PENDING until the provider decides; a profile
        pending or verified already raises `Conflict` (`invalid_transition`)."""
        body = PersonSubmission(legal_name, date_of_birth, address, country, document_reference).to_generated()
        key = idempotency_key or _new_key()
        response = await self._send(
            lambda: _submit_kyc_person.asyncio_detailed(client=self._client, body=body, idempotency_key=key), 200, 202
        )
        return response.parsed

    async def submit_business(
        self,
        *,
        name: str,
        registration_number: str,
        country: str,
        address: str,
        beneficial_owners: list[BeneficialOwner | dict[str, Any]],
        idempotency_key: str | None = None,
    ) -> KycStatus:
        """Submit (or resubmit) the caller as a business with its beneficial owners
        (`POST /v1/kyc/business`, scope `kyc:write`)."""
        body = BusinessSubmission(name, registration_number, country, address, tuple(beneficial_owners)).to_generated()
        key = idempotency_key or _new_key()
        response = await self._send(
            lambda: _submit_kyc_business.asyncio_detailed(client=self._client, body=body, idempotency_key=key),
            200,
            202,
        )
        return response.parsed

    async def kyc_status(self) -> KycStatus:
        """The caller's KYC/KYB status (`GET /v1/kyc`, scope `kyc:read`): status, kind, next step, what
        is missing, the provider's reasons when rejected; personal data masked."""
        response = await self._send(lambda: _get_kyc_status.asyncio_detailed(client=self._client), 200)
        return response.parsed

    # --- webhook endpoints, their delivery log, balance monitors (scope `webhook:manage`) ----------------

    async def create_webhook_endpoint(
        self, request: WebhookEndpointRequest, *, idempotency_key: str | None = None
    ) -> WebhookEndpointWithSecret:
        """Register an endpoint (`POST /v1/webhook-endpoints`). The answer's `secret` (`whsec_…`) is
        shown only this once: keep it to verify deliveries (`standardwebhooks.Webhook(secret)`). A URL
        the service will not call (production: not https, or a private address) raises
        `WebhookUrlRefused`."""
        body, key = request.to_generated(), idempotency_key or _new_key()
        response = await self._send(
            lambda: _create_webhook_endpoint.asyncio_detailed(client=self._client, body=body, idempotency_key=key), 201
        )
        return response.parsed

    async def list_webhook_endpoints(self) -> list[WebhookEndpoint]:
        """The caller's endpoints, oldest first (`GET /v1/webhook-endpoints`); no secrets."""
        response = await self._send(lambda: _list_webhook_endpoints.asyncio_detailed(client=self._client), 200)
        return list(response.parsed)

    async def get_webhook_endpoint(self, endpoint_id: WalletId) -> WebhookEndpoint:
        """One of the caller's endpoints (`GET /v1/webhook-endpoints/{id}`); another owner's is `NotFound`."""
        eid = _as_uuid("endpoint_id", endpoint_id)
        response = await self._send(lambda: _get_webhook_endpoint.asyncio_detailed(eid, client=self._client), 200)
        return response.parsed

    async def update_webhook_endpoint(
        self, endpoint_id: WalletId, update: WebhookEndpointUpdate, *, idempotency_key: str | None = None
    ) -> WebhookEndpoint:
        """Change the URL, event types or description (`PATCH /v1/webhook-endpoints/{id}`): only what
        `update` gives."""
        eid = _as_uuid("endpoint_id", endpoint_id)
        body, key = update.to_generated(), idempotency_key or _new_key()
        response = await self._send(
            lambda: _update_webhook_endpoint.asyncio_detailed(eid, client=self._client, body=body, idempotency_key=key),
            200,
        )
        return response.parsed

    async def delete_webhook_endpoint(self, endpoint_id: WalletId, *, idempotency_key: str | None = None) -> None:
        """Delete an endpoint and its delivery log (`DELETE /v1/webhook-endpoints/{id}`)."""
        eid = _as_uuid("endpoint_id", endpoint_id)
        key = idempotency_key or _new_key()
        await self._send(
            lambda: _delete_webhook_endpoint.asyncio_detailed(eid, client=self._client, idempotency_key=key), 204
        )

    async def rotate_webhook_secret(
        self, endpoint_id: WalletId, *, idempotency_key: str | None = None
    ) -> WebhookEndpointWithSecret:
        """A new signing secret, shown once (`POST …/rotate-secret`); the previous one keeps signing
        too until `secret_overlap_until`."""
        eid = _as_uuid("endpoint_id", endpoint_id)
        key = idempotency_key or _new_key()
        response = await self._send(
            lambda: _rotate_webhook_secret.asyncio_detailed(eid, client=self._client, idempotency_key=key), 200
        )
        return response.parsed

    async def disable_webhook_endpoint(
        self, endpoint_id: WalletId, *, idempotency_key: str | None = None
    ) -> WebhookEndpoint:
        """Stop sending to an endpoint (`POST …/disable`); one already disabled raises `Conflict`
        (`invalid_transition`)."""
        eid = _as_uuid("endpoint_id", endpoint_id)
        key = idempotency_key or _new_key()
        response = await self._send(
            lambda: _disable_webhook_endpoint.asyncio_detailed(eid, client=self._client, idempotency_key=key), 200
        )
        return response.parsed

    async def enable_webhook_endpoint(
        self, endpoint_id: WalletId, *, idempotency_key: str | None = None
    ) -> WebhookEndpoint:
        """Send to it again (`POST …/enable`): its pending deliveries go out at once, in order per
        wallet; one already enabled raises `Conflict` (`invalid_transition`)."""
        eid = _as_uuid("endpoint_id", endpoint_id)
        key = idempotency_key or _new_key()
        response = await self._send(
            lambda: _enable_webhook_endpoint.asyncio_detailed(eid, client=self._client, idempotency_key=key), 200
        )
        return response.parsed

    async def list_webhook_deliveries(
        self,
        endpoint_id: WalletId,
        *,
        status: WebhookDeliveryStatus | str | None = None,
        before: int | None = None,
        limit: int = 50,
    ) -> WebhookDeliveryPage:
        """One page of an endpoint's delivery log, newest first (`GET …/deliveries`): each delivery
        with its `attempt_log` (status code, latency, the first bytes of the answer). Pass the page's
        `next_before` as `before` for the next (older) page; `webhook_deliveries()` follows it."""
        eid = _as_uuid("endpoint_id", endpoint_id)
        wanted = UNSET if status is None else ListWebhookDeliveriesStatus(str(status))
        older = UNSET if before is None else before
        response = await self._send(
            lambda: _list_webhook_deliveries.asyncio_detailed(
                eid, client=self._client, before=older, limit=limit, status=wanted
            ),
            200,
        )
        return response.parsed

    async def webhook_deliveries(
        self, endpoint_id: WalletId, *, status: WebhookDeliveryStatus | str | None = None, page_size: int = 50
    ) -> AsyncIterator[WebhookDelivery]:
        """Every delivery of an endpoint's log, newest first, fetched page by page."""
        before: int | None = None
        while True:
            page = await self.list_webhook_deliveries(endpoint_id, status=status, before=before, limit=page_size)
            for delivery in page.results:
                yield delivery
            if not isinstance(page.next_before, int):
                return
            before = page.next_before

    async def replay_webhook_delivery(
        self, endpoint_id: WalletId, delivery_id: int, *, idempotency_key: str | None = None
    ) -> WebhookDelivery:
        """Send one message to the endpoint again (`POST …/deliveries/{id}/replay`): the same
        `webhook-id`, a fresh retry schedule, whatever became of it before."""
        eid = _as_uuid("endpoint_id", endpoint_id)
        did, key = str(int(delivery_id)), idempotency_key or _new_key()
        response = await self._send(
            lambda: _replay_webhook_delivery.asyncio_detailed(eid, did, client=self._client, idempotency_key=key), 202
        )
        return response.parsed

    async def replay_failed_webhook_deliveries(
        self, endpoint_id: WalletId, since: datetime, *, idempotency_key: str | None = None
    ) -> int:
        """Send again every given-up delivery of messages since `since` (an aware datetime)
        (`POST …/replay`); answers how many were replayed."""
        if since.tzinfo is None:
            raise ValueError("since must be an aware datetime (with a time zone)")
        eid = _as_uuid("endpoint_id", endpoint_id)
        body, key = ReplayFailedRequest(since=since), idempotency_key or _new_key()
        response = await self._send(
            lambda: _replay_failed.asyncio_detailed(eid, client=self._client, body=body, idempotency_key=key), 202
        )
        return response.parsed.replayed

    async def create_balance_monitor(
        self, wallet_id: WalletId, request: BalanceMonitorRequest, *, idempotency_key: str | None = None
    ) -> BalanceMonitor:
        """Watch one of the caller's wallets (`POST /v1/wallets/{id}/monitors`): the owner's endpoints
        subscribed to `wallet.balance_below` / `wallet.balance_above` hear of each crossing, once."""
        wid = _as_uuid("wallet_id", wallet_id)
        body, key = request.to_generated(), idempotency_key or _new_key()
        response = await self._send(
            lambda: _create_balance_monitor.asyncio_detailed(wid, client=self._client, body=body, idempotency_key=key),
            201,
        )
        return response.parsed

    async def list_balance_monitors(self, wallet_id: WalletId) -> list[BalanceMonitor]:
        """A wallet's balance monitors, oldest first (`GET /v1/wallets/{id}/monitors`)."""
        wid = _as_uuid("wallet_id", wallet_id)
        response = await self._send(lambda: _list_balance_monitors.asyncio_detailed(wid, client=self._client), 200)
        return list(response.parsed)

    async def delete_balance_monitor(
        self, wallet_id: WalletId, monitor_id: WalletId, *, idempotency_key: str | None = None
    ) -> None:
        """Stop watching (`DELETE /v1/wallets/{id}/monitors/{monitor_id}`)."""
        wid, mid = _as_uuid("wallet_id", wallet_id), _as_uuid("monitor_id", monitor_id)
        key = idempotency_key or _new_key()
        await self._send(
            lambda: _delete_balance_monitor.asyncio_detailed(wid, mid, client=self._client, idempotency_key=key), 204
        )

    async def _send(self, send: Callable[[], Awaitable[Response[T]]], *expected: int) -> Response[T]:
        """Send (and re-send) one logical call until it answers one of the `expected` statuses.
        `send` closes over its Idempotency-Key, so every try carries the same one."""
        attempt = 0
        while True:
            retry_after: float | None = None
            try:
                response = await send()
            except httpx.TransportError as exc:
                if attempt >= self.retry.max_retries:
                    raise _errors.NetworkError(
                        f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__, code="network_error"
                    ) from exc
            except (ValueError, KeyError, TypeError) as exc:
                raise _errors.InvalidResponse(f"unreadable response: {exc!r}", code="invalid_response") from exc
            else:
                if response.status_code in expected and (response.parsed is not None or response.status_code == 204):
                    return response  # 204 No Content (a delete) parses to None
                error = (
                    _errors.from_problem(int(response.status_code), response.content, response.headers)
                    if response.status_code >= 400
                    else _errors.InvalidResponse(
                        f"unexpected HTTP {int(response.status_code)}",
                        code="invalid_response",
                        status=response.status_code,
                    )
                )
                if not _retryable(error) or attempt >= self.retry.max_retries:
                    raise error
                retry_after = getattr(error, "retry_after", None)
            await asyncio.sleep(self.retry.backoff(attempt, at_least=retry_after))
            attempt += 1


def _retryable(error: _errors.CrowdPayError) -> bool:
    if isinstance(error, _errors.ServerError | _errors.RateLimited):
        return True
    return error.status == 409 and error.code in _RETRIED_CONFLICTS


def _new_key() -> str:
    return str(uuid.uuid4())


__all__ = ["OperationHandle", "RetryPolicy", "WalletClient"]

"""What every gateway to the outside world shares: its two failure kinds and the HTTP plumbing.

Neutral ground for the apps that call out: the saga gateways (`sagas.gateways`), the KYC provider
(`compliance.kyc_provider`) and the FX-rate source the wallets read (`wallets.fx`). It lives here,
in the project package, so that none of them imports another app for it (`crowdpay/tests/
test_app_imports.py` keeps it so).

A gateway raises `GatewayUnavailable` for a failure worth retrying (timeout, connection refused,
5xx, 429, a body it cannot read) and `GatewayRejected` for a definitive answer (a 4xx, a refused
payout, an unknown rate): the saga retries the first with backoff, and compensates on the second.
"""

from __future__ import annotations

import httpx
from django.conf import settings


class GatewayError(Exception):
    code = "gateway_error"

    def __init__(self, detail: str, *, code: str | None = None, status: int | None = None):
        super().__init__(detail)
        self.detail = detail
        self.status = status  # the HTTP status of the answer that raised it, when there was one
        if code:
            self.code = code


class GatewayUnavailable(GatewayError):
    code = "gateway_unavailable"


class GatewayRejected(GatewayError):
    code = "gateway_rejected"


class HttpGateway:
    """An httpx client bound to one endpoint, with the configured timeout. `transport` lets a test
    put an `httpx.MockTransport` in place of the network."""

    name = "http"

    def __init__(self, endpoint: str, *, transport: httpx.BaseTransport | None = None, timeout: float | None = None):
        self.endpoint = endpoint.rstrip("/")
        self.timeout = settings.GATEWAY_TIMEOUT_SECONDS if timeout is None else timeout
        self.transport = transport

    def request(self, method: str, path: str, **kwargs) -> dict:
        try:
            with httpx.Client(base_url=self.endpoint, timeout=self.timeout, transport=self.transport) as client:
                response = client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:  # timeouts, refused connections, protocol errors
            raise GatewayUnavailable(f"{self.name}: {type(exc).__name__}: {exc}") from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise GatewayUnavailable(f"{self.name}: HTTP {response.status_code}")
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code >= 400:
            code = body.get("code") if isinstance(body, dict) else None
            raise GatewayRejected(
                f"{self.name}: HTTP {response.status_code}",
                code=code if isinstance(code, str) else None,
                status=response.status_code,
            )
        if not isinstance(body, dict):
            raise GatewayUnavailable(f"{self.name}: the response is not a JSON object")
        return body

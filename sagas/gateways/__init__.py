"""Gateways to the outside world, each a small interface with a built-in implementation that needs
no network and an HTTP one chosen by its `*_SERVICE_ENDPOINT` setting. Never called inside a
transaction or under a row lock."""

from __future__ import annotations

from django.conf import settings

from crowdpay.gateways import GatewayError, GatewayRejected, GatewayUnavailable

from .funding import ChargePending, HttpFundingGateway, SandboxFundingGateway
from .fx import HttpFxGateway, TableFxGateway
from .settlement import HttpSettlementGateway, QueueSettlementGateway

__all__ = [
    "ChargePending",
    "GatewayError",
    "GatewayRejected",
    "GatewayUnavailable",
    "TableFxGateway",
    "funding_gateway",
    "fx_gateway",
    "settlement_gateway",
]


def fx_gateway():
    endpoint = settings.FX_SERVICE_ENDPOINT
    return HttpFxGateway(endpoint) if endpoint else TableFxGateway()


def settlement_gateway():
    endpoint = settings.SETTLEMENT_SERVICE_ENDPOINT
    return HttpSettlementGateway(endpoint) if endpoint else QueueSettlementGateway()


def funding_gateway():
    """The payment provider: over HTTP when FUNDING_SERVICE_ENDPOINT is set, else the built-in
    sandbox (test tokens only; production settings refuse to start with it)."""
    endpoint = settings.FUNDING_SERVICE_ENDPOINT
    if endpoint:
        return HttpFundingGateway(endpoint, provider=settings.FUNDING_PROVIDER_NAME)
    return SandboxFundingGateway()

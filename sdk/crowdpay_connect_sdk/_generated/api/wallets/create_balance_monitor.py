from http import HTTPStatus
from typing import Any
from urllib.parse import quote
from uuid import UUID

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.balance_monitor import BalanceMonitor
from ...models.monitor_request import MonitorRequest
from ...models.problem import Problem
from ...types import Response


def _get_kwargs(
    wallet_id: UUID,
    *,
    body: MonitorRequest,
    idempotency_key: str,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    headers["Idempotency-Key"] = idempotency_key

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/wallets/{wallet_id}/monitors".format(
            wallet_id=quote(str(wallet_id), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> BalanceMonitor | Problem | None:
    if response.status_code == 201:
        response_201 = BalanceMonitor.from_dict(response.json())

        return response_201

    if response.status_code == 400:
        response_400 = Problem.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = Problem.from_dict(response.json())

        return response_403

    if response.status_code == 404:
        response_404 = Problem.from_dict(response.json())

        return response_404

    if response.status_code == 409:
        response_409 = Problem.from_dict(response.json())

        return response_409

    if response.status_code == 413:
        response_413 = Problem.from_dict(response.json())

        return response_413

    if response.status_code == 415:
        response_415 = Problem.from_dict(response.json())

        return response_415

    if response.status_code == 422:
        response_422 = Problem.from_dict(response.json())

        return response_422

    if response.status_code == 429:
        response_429 = Problem.from_dict(response.json())

        return response_429

    if response.status_code == 503:
        response_503 = Problem.from_dict(response.json())

        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[BalanceMonitor | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    wallet_id: UUID,
    *,
    client: AuthenticatedClient,
    body: MonitorRequest,
    idempotency_key: str,
) -> Response[BalanceMonitor | Problem]:
    """Watch a wallet's available balance against a threshold

     `wallet.balance_below` fires when the available balance in `currency` goes from at or above
    `threshold` to below it; `wallet.balance_above` from at or below to above. Once per crossing,
    not on every movement while past it; a balance already past the threshold fires nothing until
    it crosses.

    Requires scope: `webhook:manage`.

    Args:
        wallet_id (UUID):
        idempotency_key (str):
        body (MonitorRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[BalanceMonitor | Problem]
    """

    kwargs = _get_kwargs(
        wallet_id=wallet_id,
        body=body,
        idempotency_key=idempotency_key,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    wallet_id: UUID,
    *,
    client: AuthenticatedClient,
    body: MonitorRequest,
    idempotency_key: str,
) -> BalanceMonitor | Problem | None:
    """Watch a wallet's available balance against a threshold

     `wallet.balance_below` fires when the available balance in `currency` goes from at or above
    `threshold` to below it; `wallet.balance_above` from at or below to above. Once per crossing,
    not on every movement while past it; a balance already past the threshold fires nothing until
    it crosses.

    Requires scope: `webhook:manage`.

    Args:
        wallet_id (UUID):
        idempotency_key (str):
        body (MonitorRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        BalanceMonitor | Problem
    """

    return sync_detailed(
        wallet_id=wallet_id,
        client=client,
        body=body,
        idempotency_key=idempotency_key,
    ).parsed


async def asyncio_detailed(
    wallet_id: UUID,
    *,
    client: AuthenticatedClient,
    body: MonitorRequest,
    idempotency_key: str,
) -> Response[BalanceMonitor | Problem]:
    """Watch a wallet's available balance against a threshold

     `wallet.balance_below` fires when the available balance in `currency` goes from at or above
    `threshold` to below it; `wallet.balance_above` from at or below to above. Once per crossing,
    not on every movement while past it; a balance already past the threshold fires nothing until
    it crosses.

    Requires scope: `webhook:manage`.

    Args:
        wallet_id (UUID):
        idempotency_key (str):
        body (MonitorRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[BalanceMonitor | Problem]
    """

    kwargs = _get_kwargs(
        wallet_id=wallet_id,
        body=body,
        idempotency_key=idempotency_key,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    wallet_id: UUID,
    *,
    client: AuthenticatedClient,
    body: MonitorRequest,
    idempotency_key: str,
) -> BalanceMonitor | Problem | None:
    """Watch a wallet's available balance against a threshold

     `wallet.balance_below` fires when the available balance in `currency` goes from at or above
    `threshold` to below it; `wallet.balance_above` from at or below to above. Once per crossing,
    not on every movement while past it; a balance already past the threshold fires nothing until
    it crosses.

    Requires scope: `webhook:manage`.

    Args:
        wallet_id (UUID):
        idempotency_key (str):
        body (MonitorRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        BalanceMonitor | Problem
    """

    return (
        await asyncio_detailed(
            wallet_id=wallet_id,
            client=client,
            body=body,
            idempotency_key=idempotency_key,
        )
    ).parsed

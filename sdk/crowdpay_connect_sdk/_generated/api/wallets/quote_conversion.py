from http import HTTPStatus
from typing import Any
from urllib.parse import quote
from uuid import UUID

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.problem import Problem
from ...models.quote import Quote
from ...models.quote_request import QuoteRequest
from ...types import Response


def _get_kwargs(
    wallet_id: UUID,
    *,
    body: QuoteRequest,
    idempotency_key: str,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    headers["Idempotency-Key"] = idempotency_key

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/wallets/{wallet_id}/quotes".format(
            wallet_id=quote(str(wallet_id), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Problem | Quote | None:
    if response.status_code == 201:
        response_201 = Quote.from_dict(response.json())

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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Problem | Quote]:
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
    body: QuoteRequest,
    idempotency_key: str,
) -> Response[Problem | Quote]:
    """Quote a conversion inside a wallet

     Fix the rate for converting `amount` of `from_currency` into `to_currency` in this wallet:
    the rate (a decimal string) and its source, the converted amount rounded down to the minor
    unit, and when the quote expires (`FX_QUOTE_TTL_SECONDS`, 30 s by default). Nothing moves
    yet, and funds are not checked until the conversion. Like every write it takes an
    Idempotency-Key: a retry with the same key answers the same quote. Errors: the same
    currency twice or an unknown one (400), a frozen or closed wallet (422), no rate for the
    pair (422 `fx_rate_unavailable`), the FX service down (503 `fx_unavailable`).

    Requires scope: `wallet:transfer`.

    Args:
        wallet_id (UUID):
        idempotency_key (str):
        body (QuoteRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | Quote]
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
    body: QuoteRequest,
    idempotency_key: str,
) -> Problem | Quote | None:
    """Quote a conversion inside a wallet

     Fix the rate for converting `amount` of `from_currency` into `to_currency` in this wallet:
    the rate (a decimal string) and its source, the converted amount rounded down to the minor
    unit, and when the quote expires (`FX_QUOTE_TTL_SECONDS`, 30 s by default). Nothing moves
    yet, and funds are not checked until the conversion. Like every write it takes an
    Idempotency-Key: a retry with the same key answers the same quote. Errors: the same
    currency twice or an unknown one (400), a frozen or closed wallet (422), no rate for the
    pair (422 `fx_rate_unavailable`), the FX service down (503 `fx_unavailable`).

    Requires scope: `wallet:transfer`.

    Args:
        wallet_id (UUID):
        idempotency_key (str):
        body (QuoteRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | Quote
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
    body: QuoteRequest,
    idempotency_key: str,
) -> Response[Problem | Quote]:
    """Quote a conversion inside a wallet

     Fix the rate for converting `amount` of `from_currency` into `to_currency` in this wallet:
    the rate (a decimal string) and its source, the converted amount rounded down to the minor
    unit, and when the quote expires (`FX_QUOTE_TTL_SECONDS`, 30 s by default). Nothing moves
    yet, and funds are not checked until the conversion. Like every write it takes an
    Idempotency-Key: a retry with the same key answers the same quote. Errors: the same
    currency twice or an unknown one (400), a frozen or closed wallet (422), no rate for the
    pair (422 `fx_rate_unavailable`), the FX service down (503 `fx_unavailable`).

    Requires scope: `wallet:transfer`.

    Args:
        wallet_id (UUID):
        idempotency_key (str):
        body (QuoteRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | Quote]
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
    body: QuoteRequest,
    idempotency_key: str,
) -> Problem | Quote | None:
    """Quote a conversion inside a wallet

     Fix the rate for converting `amount` of `from_currency` into `to_currency` in this wallet:
    the rate (a decimal string) and its source, the converted amount rounded down to the minor
    unit, and when the quote expires (`FX_QUOTE_TTL_SECONDS`, 30 s by default). Nothing moves
    yet, and funds are not checked until the conversion. Like every write it takes an
    Idempotency-Key: a retry with the same key answers the same quote. Errors: the same
    currency twice or an unknown one (400), a frozen or closed wallet (422), no rate for the
    pair (422 `fx_rate_unavailable`), the FX service down (503 `fx_unavailable`).

    Requires scope: `wallet:transfer`.

    Args:
        wallet_id (UUID):
        idempotency_key (str):
        body (QuoteRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | Quote
    """

    return (
        await asyncio_detailed(
            wallet_id=wallet_id,
            client=client,
            body=body,
            idempotency_key=idempotency_key,
        )
    ).parsed

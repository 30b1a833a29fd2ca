from http import HTTPStatus
from typing import Any
from urllib.parse import quote
from uuid import UUID

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.debit_request import DebitRequest
from ...models.operation import Operation
from ...models.operation_problem import OperationProblem
from ...models.problem import Problem
from ...types import Response


def _get_kwargs(
    wallet_id: UUID,
    *,
    body: DebitRequest,
    idempotency_key: str,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    headers["Idempotency-Key"] = idempotency_key

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/wallets/{wallet_id}/debit".format(
            wallet_id=quote(str(wallet_id), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Operation | OperationProblem | Problem | None:
    if response.status_code == 200:
        response_200 = Operation.from_dict(response.json())

        return response_200

    if response.status_code == 202:
        response_202 = Operation.from_dict(response.json())

        return response_202

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
        response_422 = OperationProblem.from_dict(response.json())

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
) -> Response[Operation | OperationProblem | Problem]:
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
    body: DebitRequest,
    idempotency_key: str,
) -> Response[Operation | OperationProblem | Problem]:
    """Debit a wallet (withdrawal)

     Start a WithdrawSaga: screening, a hold, the payout, then the capture (or the release of
    the hold if the payout fails). The worker runs those steps, so this answers 202 with the
    PENDING Operation; a repeat of a finished saga answers its outcome (200 / 422).

    Requires scope: `wallet:debit`.

    Args:
        wallet_id (UUID):
        idempotency_key (str):
        body (DebitRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Operation | OperationProblem | Problem]
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
    body: DebitRequest,
    idempotency_key: str,
) -> Operation | OperationProblem | Problem | None:
    """Debit a wallet (withdrawal)

     Start a WithdrawSaga: screening, a hold, the payout, then the capture (or the release of
    the hold if the payout fails). The worker runs those steps, so this answers 202 with the
    PENDING Operation; a repeat of a finished saga answers its outcome (200 / 422).

    Requires scope: `wallet:debit`.

    Args:
        wallet_id (UUID):
        idempotency_key (str):
        body (DebitRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Operation | OperationProblem | Problem
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
    body: DebitRequest,
    idempotency_key: str,
) -> Response[Operation | OperationProblem | Problem]:
    """Debit a wallet (withdrawal)

     Start a WithdrawSaga: screening, a hold, the payout, then the capture (or the release of
    the hold if the payout fails). The worker runs those steps, so this answers 202 with the
    PENDING Operation; a repeat of a finished saga answers its outcome (200 / 422).

    Requires scope: `wallet:debit`.

    Args:
        wallet_id (UUID):
        idempotency_key (str):
        body (DebitRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Operation | OperationProblem | Problem]
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
    body: DebitRequest,
    idempotency_key: str,
) -> Operation | OperationProblem | Problem | None:
    """Debit a wallet (withdrawal)

     Start a WithdrawSaga: screening, a hold, the payout, then the capture (or the release of
    the hold if the payout fails). The worker runs those steps, so this answers 202 with the
    PENDING Operation; a repeat of a finished saga answers its outcome (200 / 422).

    Requires scope: `wallet:debit`.

    Args:
        wallet_id (UUID):
        idempotency_key (str):
        body (DebitRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Operation | OperationProblem | Problem
    """

    return (
        await asyncio_detailed(
            wallet_id=wallet_id,
            client=client,
            body=body,
            idempotency_key=idempotency_key,
        )
    ).parsed

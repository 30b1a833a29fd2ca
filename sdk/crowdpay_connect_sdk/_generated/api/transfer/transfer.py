from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.operation import Operation
from ...models.operation_problem import OperationProblem
from ...models.problem import Problem
from ...models.transfer_request import TransferRequest
from ...types import Response


def _get_kwargs(
    *,
    body: TransferRequest,
    idempotency_key: str,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    headers["Idempotency-Key"] = idempotency_key

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/transfer",
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
    *,
    client: AuthenticatedClient,
    body: TransferRequest,
    idempotency_key: str,
) -> Response[Operation | OperationProblem | Problem]:
    """Transfer between wallets

     Move money from one of the caller's wallets to any wallet (`TransferInitiated` then
    `TransferCompleted` on the source). A same-currency transfer completes in the request: 200
    with the SUCCEEDED Operation. A refusal on its merits (funds, frozen wallet, velocity limit,
    a screening decline) is decided here too: 422 problem+json with its code, `operation_id` and
    `operation`. 202 only while something is pending: a conversion's FX step, or a review.

    Requires scope: `wallet:transfer`.

    Args:
        idempotency_key (str):
        body (TransferRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Operation | OperationProblem | Problem]
    """

    kwargs = _get_kwargs(
        body=body,
        idempotency_key=idempotency_key,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    body: TransferRequest,
    idempotency_key: str,
) -> Operation | OperationProblem | Problem | None:
    """Transfer between wallets

     Move money from one of the caller's wallets to any wallet (`TransferInitiated` then
    `TransferCompleted` on the source). A same-currency transfer completes in the request: 200
    with the SUCCEEDED Operation. A refusal on its merits (funds, frozen wallet, velocity limit,
    a screening decline) is decided here too: 422 problem+json with its code, `operation_id` and
    `operation`. 202 only while something is pending: a conversion's FX step, or a review.

    Requires scope: `wallet:transfer`.

    Args:
        idempotency_key (str):
        body (TransferRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Operation | OperationProblem | Problem
    """

    return sync_detailed(
        client=client,
        body=body,
        idempotency_key=idempotency_key,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: TransferRequest,
    idempotency_key: str,
) -> Response[Operation | OperationProblem | Problem]:
    """Transfer between wallets

     Move money from one of the caller's wallets to any wallet (`TransferInitiated` then
    `TransferCompleted` on the source). A same-currency transfer completes in the request: 200
    with the SUCCEEDED Operation. A refusal on its merits (funds, frozen wallet, velocity limit,
    a screening decline) is decided here too: 422 problem+json with its code, `operation_id` and
    `operation`. 202 only while something is pending: a conversion's FX step, or a review.

    Requires scope: `wallet:transfer`.

    Args:
        idempotency_key (str):
        body (TransferRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Operation | OperationProblem | Problem]
    """

    kwargs = _get_kwargs(
        body=body,
        idempotency_key=idempotency_key,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    body: TransferRequest,
    idempotency_key: str,
) -> Operation | OperationProblem | Problem | None:
    """Transfer between wallets

     Move money from one of the caller's wallets to any wallet (`TransferInitiated` then
    `TransferCompleted` on the source). A same-currency transfer completes in the request: 200
    with the SUCCEEDED Operation. A refusal on its merits (funds, frozen wallet, velocity limit,
    a screening decline) is decided here too: 422 problem+json with its code, `operation_id` and
    `operation`. 202 only while something is pending: a conversion's FX step, or a review.

    Requires scope: `wallet:transfer`.

    Args:
        idempotency_key (str):
        body (TransferRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Operation | OperationProblem | Problem
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
            idempotency_key=idempotency_key,
        )
    ).parsed

from http import HTTPStatus
from typing import Any
from urllib.parse import quote
from uuid import UUID

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.operation import Operation
from ...models.problem import Problem
from ...types import UNSET, Response, Unset


def _get_kwargs(
    operation_id: UUID,
    *,
    wait: int | Unset = 0,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["wait"] = wait

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/operations/{operation_id}".format(
            operation_id=quote(str(operation_id), safe=""),
        ),
        "params": params,
    }

    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Operation | Problem | None:
    if response.status_code == 200:
        response_200 = Operation.from_dict(response.json())

        return response_200

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

    if response.status_code == 503:
        response_503 = Problem.from_dict(response.json())

        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Operation | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    operation_id: UUID,
    *,
    client: AuthenticatedClient,
    wait: int | Unset = 0,
) -> Response[Operation | Problem]:
    """Read an operation (long-poll with ?wait=N)

     The Operation. With `wait=N` (N ≤ 30) the answer waits until the operation is SUCCEEDED
    or FAILED, or its status changes, or N seconds pass, whichever comes first. No database
    transaction is open while it waits (each look is its own autocommit query).

    Requires scope: `wallet:read`.

    Args:
        operation_id (UUID):
        wait (int | Unset):  Default: 0.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Operation | Problem]
    """

    kwargs = _get_kwargs(
        operation_id=operation_id,
        wait=wait,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    operation_id: UUID,
    *,
    client: AuthenticatedClient,
    wait: int | Unset = 0,
) -> Operation | Problem | None:
    """Read an operation (long-poll with ?wait=N)

     The Operation. With `wait=N` (N ≤ 30) the answer waits until the operation is SUCCEEDED
    or FAILED, or its status changes, or N seconds pass, whichever comes first. No database
    transaction is open while it waits (each look is its own autocommit query).

    Requires scope: `wallet:read`.

    Args:
        operation_id (UUID):
        wait (int | Unset):  Default: 0.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Operation | Problem
    """

    return sync_detailed(
        operation_id=operation_id,
        client=client,
        wait=wait,
    ).parsed


async def asyncio_detailed(
    operation_id: UUID,
    *,
    client: AuthenticatedClient,
    wait: int | Unset = 0,
) -> Response[Operation | Problem]:
    """Read an operation (long-poll with ?wait=N)

     The Operation. With `wait=N` (N ≤ 30) the answer waits until the operation is SUCCEEDED
    or FAILED, or its status changes, or N seconds pass, whichever comes first. No database
    transaction is open while it waits (each look is its own autocommit query).

    Requires scope: `wallet:read`.

    Args:
        operation_id (UUID):
        wait (int | Unset):  Default: 0.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Operation | Problem]
    """

    kwargs = _get_kwargs(
        operation_id=operation_id,
        wait=wait,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    operation_id: UUID,
    *,
    client: AuthenticatedClient,
    wait: int | Unset = 0,
) -> Operation | Problem | None:
    """Read an operation (long-poll with ?wait=N)

     The Operation. With `wait=N` (N ≤ 30) the answer waits until the operation is SUCCEEDED
    or FAILED, or its status changes, or N seconds pass, whichever comes first. No database
    transaction is open while it waits (each look is its own autocommit query).

    Requires scope: `wallet:read`.

    Args:
        operation_id (UUID):
        wait (int | Unset):  Default: 0.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Operation | Problem
    """

    return (
        await asyncio_detailed(
            operation_id=operation_id,
            client=client,
            wait=wait,
        )
    ).parsed

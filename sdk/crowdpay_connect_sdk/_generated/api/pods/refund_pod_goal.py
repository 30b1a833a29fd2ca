from http import HTTPStatus
from typing import Any
from urllib.parse import quote
from uuid import UUID

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.pod_refund import PodRefund
from ...models.problem import Problem
from ...types import Response


def _get_kwargs(
    pod_id: UUID,
    goal_id: UUID,
    *,
    idempotency_key: str,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    headers["Idempotency-Key"] = idempotency_key

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/pods/{pod_id}/goals/{goal_id}/refund".format(
            pod_id=quote(str(pod_id), safe=""),
            goal_id=quote(str(goal_id), safe=""),
        ),
    }

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Problem | list[PodRefund] | None:
    if response.status_code == 200:
        response_200 = []
        _response_200 = response.json()
        for response_200_item_data in _response_200:
            response_200_item = PodRefund.from_dict(response_200_item_data)

            response_200.append(response_200_item)

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
) -> Response[Problem | list[PodRefund]]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    pod_id: UUID,
    goal_id: UUID,
    *,
    client: AuthenticatedClient,
    idempotency_key: str,
) -> Response[Problem | list[PodRefund]]:
    """Refund a reached goal

     Owners: the goal's captured money goes back to its pledgers pro rata (largest remainder).

    Requires scope: `pod:write`.

    Args:
        pod_id (UUID):
        goal_id (UUID):
        idempotency_key (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | list[PodRefund]]
    """

    kwargs = _get_kwargs(
        pod_id=pod_id,
        goal_id=goal_id,
        idempotency_key=idempotency_key,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    pod_id: UUID,
    goal_id: UUID,
    *,
    client: AuthenticatedClient,
    idempotency_key: str,
) -> Problem | list[PodRefund] | None:
    """Refund a reached goal

     Owners: the goal's captured money goes back to its pledgers pro rata (largest remainder).

    Requires scope: `pod:write`.

    Args:
        pod_id (UUID):
        goal_id (UUID):
        idempotency_key (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | list[PodRefund]
    """

    return sync_detailed(
        pod_id=pod_id,
        goal_id=goal_id,
        client=client,
        idempotency_key=idempotency_key,
    ).parsed


async def asyncio_detailed(
    pod_id: UUID,
    goal_id: UUID,
    *,
    client: AuthenticatedClient,
    idempotency_key: str,
) -> Response[Problem | list[PodRefund]]:
    """Refund a reached goal

     Owners: the goal's captured money goes back to its pledgers pro rata (largest remainder).

    Requires scope: `pod:write`.

    Args:
        pod_id (UUID):
        goal_id (UUID):
        idempotency_key (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | list[PodRefund]]
    """

    kwargs = _get_kwargs(
        pod_id=pod_id,
        goal_id=goal_id,
        idempotency_key=idempotency_key,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    pod_id: UUID,
    goal_id: UUID,
    *,
    client: AuthenticatedClient,
    idempotency_key: str,
) -> Problem | list[PodRefund] | None:
    """Refund a reached goal

     Owners: the goal's captured money goes back to its pledgers pro rata (largest remainder).

    Requires scope: `pod:write`.

    Args:
        pod_id (UUID):
        goal_id (UUID):
        idempotency_key (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | list[PodRefund]
    """

    return (
        await asyncio_detailed(
            pod_id=pod_id,
            goal_id=goal_id,
            client=client,
            idempotency_key=idempotency_key,
        )
    ).parsed

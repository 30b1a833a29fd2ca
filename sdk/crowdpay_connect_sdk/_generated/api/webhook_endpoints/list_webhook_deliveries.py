from http import HTTPStatus
from typing import Any
from urllib.parse import quote
from uuid import UUID

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.list_webhook_deliveries_status import ListWebhookDeliveriesStatus
from ...models.problem import Problem
from ...models.webhook_delivery_page import WebhookDeliveryPage
from ...types import UNSET, Response, Unset


def _get_kwargs(
    endpoint_id: UUID,
    *,
    before: int | Unset = UNSET,
    limit: int | Unset = 50,
    status: ListWebhookDeliveriesStatus | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["before"] = before

    params["limit"] = limit

    json_status: str | Unset = UNSET
    if not isinstance(status, Unset):
        json_status = status.value

    params["status"] = json_status

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/webhook-endpoints/{endpoint_id}/deliveries".format(
            endpoint_id=quote(str(endpoint_id), safe=""),
        ),
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Problem | WebhookDeliveryPage | None:
    if response.status_code == 200:
        response_200 = WebhookDeliveryPage.from_dict(response.json())

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


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Problem | WebhookDeliveryPage]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    endpoint_id: UUID,
    *,
    client: AuthenticatedClient,
    before: int | Unset = UNSET,
    limit: int | Unset = 50,
    status: ListWebhookDeliveriesStatus | Unset = UNSET,
) -> Response[Problem | WebhookDeliveryPage]:
    """Read a webhook endpoint's delivery log

     Newest first: each delivery with every attempt (status code, latency, the first bytes of
    the answer). Follow `next_before` until it is null.

    Requires scope: `webhook:manage`.

    Args:
        endpoint_id (UUID):
        before (int | Unset):
        limit (int | Unset):  Default: 50.
        status (ListWebhookDeliveriesStatus | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | WebhookDeliveryPage]
    """

    kwargs = _get_kwargs(
        endpoint_id=endpoint_id,
        before=before,
        limit=limit,
        status=status,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    endpoint_id: UUID,
    *,
    client: AuthenticatedClient,
    before: int | Unset = UNSET,
    limit: int | Unset = 50,
    status: ListWebhookDeliveriesStatus | Unset = UNSET,
) -> Problem | WebhookDeliveryPage | None:
    """Read a webhook endpoint's delivery log

     Newest first: each delivery with every attempt (status code, latency, the first bytes of
    the answer). Follow `next_before` until it is null.

    Requires scope: `webhook:manage`.

    Args:
        endpoint_id (UUID):
        before (int | Unset):
        limit (int | Unset):  Default: 50.
        status (ListWebhookDeliveriesStatus | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | WebhookDeliveryPage
    """

    return sync_detailed(
        endpoint_id=endpoint_id,
        client=client,
        before=before,
        limit=limit,
        status=status,
    ).parsed


async def asyncio_detailed(
    endpoint_id: UUID,
    *,
    client: AuthenticatedClient,
    before: int | Unset = UNSET,
    limit: int | Unset = 50,
    status: ListWebhookDeliveriesStatus | Unset = UNSET,
) -> Response[Problem | WebhookDeliveryPage]:
    """Read a webhook endpoint's delivery log

     Newest first: each delivery with every attempt (status code, latency, the first bytes of
    the answer). Follow `next_before` until it is null.

    Requires scope: `webhook:manage`.

    Args:
        endpoint_id (UUID):
        before (int | Unset):
        limit (int | Unset):  Default: 50.
        status (ListWebhookDeliveriesStatus | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | WebhookDeliveryPage]
    """

    kwargs = _get_kwargs(
        endpoint_id=endpoint_id,
        before=before,
        limit=limit,
        status=status,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    endpoint_id: UUID,
    *,
    client: AuthenticatedClient,
    before: int | Unset = UNSET,
    limit: int | Unset = 50,
    status: ListWebhookDeliveriesStatus | Unset = UNSET,
) -> Problem | WebhookDeliveryPage | None:
    """Read a webhook endpoint's delivery log

     Newest first: each delivery with every attempt (status code, latency, the first bytes of
    the answer). Follow `next_before` until it is null.

    Requires scope: `webhook:manage`.

    Args:
        endpoint_id (UUID):
        before (int | Unset):
        limit (int | Unset):  Default: 50.
        status (ListWebhookDeliveriesStatus | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | WebhookDeliveryPage
    """

    return (
        await asyncio_detailed(
            endpoint_id=endpoint_id,
            client=client,
            before=before,
            limit=limit,
            status=status,
        )
    ).parsed

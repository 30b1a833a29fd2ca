from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.funding_webhook import FundingWebhook
from ...models.funding_webhook_receipt import FundingWebhookReceipt
from ...models.problem import Problem
from ...types import Response


def _get_kwargs(
    *,
    body: FundingWebhook,
    webhook_id: str,
    webhook_signature: str,
    webhook_timestamp: int,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    headers["webhook-id"] = webhook_id

    headers["webhook-signature"] = webhook_signature

    headers["webhook-timestamp"] = str(webhook_timestamp)

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/hooks/funding",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> FundingWebhookReceipt | Problem | None:
    if response.status_code == 200:
        response_200 = FundingWebhookReceipt.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = Problem.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())

        return response_401

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
) -> Response[FundingWebhookReceipt | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: FundingWebhook,
    webhook_id: str,
    webhook_signature: str,
    webhook_timestamp: int,
) -> Response[FundingWebhookReceipt | Problem]:
    """Payment provider webhook (signed)

     Record the provider's word on a charge once (by `webhook-id`) and wake the funding that
    waits for it. A replay answers 200 with `duplicate: true` and changes nothing.

    Args:
        webhook_id (str):
        webhook_signature (str):
        webhook_timestamp (int):
        body (FundingWebhook):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[FundingWebhookReceipt | Problem]
    """

    kwargs = _get_kwargs(
        body=body,
        webhook_id=webhook_id,
        webhook_signature=webhook_signature,
        webhook_timestamp=webhook_timestamp,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    body: FundingWebhook,
    webhook_id: str,
    webhook_signature: str,
    webhook_timestamp: int,
) -> FundingWebhookReceipt | Problem | None:
    """Payment provider webhook (signed)

     Record the provider's word on a charge once (by `webhook-id`) and wake the funding that
    waits for it. A replay answers 200 with `duplicate: true` and changes nothing.

    Args:
        webhook_id (str):
        webhook_signature (str):
        webhook_timestamp (int):
        body (FundingWebhook):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        FundingWebhookReceipt | Problem
    """

    return sync_detailed(
        client=client,
        body=body,
        webhook_id=webhook_id,
        webhook_signature=webhook_signature,
        webhook_timestamp=webhook_timestamp,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: FundingWebhook,
    webhook_id: str,
    webhook_signature: str,
    webhook_timestamp: int,
) -> Response[FundingWebhookReceipt | Problem]:
    """Payment provider webhook (signed)

     Record the provider's word on a charge once (by `webhook-id`) and wake the funding that
    waits for it. A replay answers 200 with `duplicate: true` and changes nothing.

    Args:
        webhook_id (str):
        webhook_signature (str):
        webhook_timestamp (int):
        body (FundingWebhook):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[FundingWebhookReceipt | Problem]
    """

    kwargs = _get_kwargs(
        body=body,
        webhook_id=webhook_id,
        webhook_signature=webhook_signature,
        webhook_timestamp=webhook_timestamp,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: FundingWebhook,
    webhook_id: str,
    webhook_signature: str,
    webhook_timestamp: int,
) -> FundingWebhookReceipt | Problem | None:
    """Payment provider webhook (signed)

     Record the provider's word on a charge once (by `webhook-id`) and wake the funding that
    waits for it. A replay answers 200 with `duplicate: true` and changes nothing.

    Args:
        webhook_id (str):
        webhook_signature (str):
        webhook_timestamp (int):
        body (FundingWebhook):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        FundingWebhookReceipt | Problem
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
            webhook_id=webhook_id,
            webhook_signature=webhook_signature,
            webhook_timestamp=webhook_timestamp,
        )
    ).parsed

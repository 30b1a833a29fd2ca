from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.kyc_callback import KycCallback
from ...models.kyc_callback_receipt import KycCallbackReceipt
from ...models.problem import Problem
from ...types import Response


def _get_kwargs(
    *,
    body: KycCallback,
    kyc_webhook_id: str,
    kyc_webhook_signature: str,
    kyc_webhook_timestamp: str,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    headers["kyc-webhook-id"] = kyc_webhook_id

    headers["kyc-webhook-signature"] = kyc_webhook_signature

    headers["kyc-webhook-timestamp"] = kyc_webhook_timestamp

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/hooks/kyc",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> KycCallbackReceipt | Problem | None:
    if response.status_code == 200:
        response_200 = KycCallbackReceipt.from_dict(response.json())

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
) -> Response[KycCallbackReceipt | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: KycCallback,
    kyc_webhook_id: str,
    kyc_webhook_signature: str,
    kyc_webhook_timestamp: str,
) -> Response[KycCallbackReceipt | Problem]:
    """The KYC provider's signed callback

     Verified before anything is read: a bad signature, a stale or future timestamp is 401 and
    nothing is written. A callback id already processed answers `duplicate` and changes nothing.

    Args:
        kyc_webhook_id (str):
        kyc_webhook_signature (str):
        kyc_webhook_timestamp (str):
        body (KycCallback): The body of the provider's callback (signed; see compliance.webhooks).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[KycCallbackReceipt | Problem]
    """

    kwargs = _get_kwargs(
        body=body,
        kyc_webhook_id=kyc_webhook_id,
        kyc_webhook_signature=kyc_webhook_signature,
        kyc_webhook_timestamp=kyc_webhook_timestamp,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    body: KycCallback,
    kyc_webhook_id: str,
    kyc_webhook_signature: str,
    kyc_webhook_timestamp: str,
) -> KycCallbackReceipt | Problem | None:
    """The KYC provider's signed callback

     Verified before anything is read: a bad signature, a stale or future timestamp is 401 and
    nothing is written. A callback id already processed answers `duplicate` and changes nothing.

    Args:
        kyc_webhook_id (str):
        kyc_webhook_signature (str):
        kyc_webhook_timestamp (str):
        body (KycCallback): The body of the provider's callback (signed; see compliance.webhooks).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        KycCallbackReceipt | Problem
    """

    return sync_detailed(
        client=client,
        body=body,
        kyc_webhook_id=kyc_webhook_id,
        kyc_webhook_signature=kyc_webhook_signature,
        kyc_webhook_timestamp=kyc_webhook_timestamp,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: KycCallback,
    kyc_webhook_id: str,
    kyc_webhook_signature: str,
    kyc_webhook_timestamp: str,
) -> Response[KycCallbackReceipt | Problem]:
    """The KYC provider's signed callback

     Verified before anything is read: a bad signature, a stale or future timestamp is 401 and
    nothing is written. A callback id already processed answers `duplicate` and changes nothing.

    Args:
        kyc_webhook_id (str):
        kyc_webhook_signature (str):
        kyc_webhook_timestamp (str):
        body (KycCallback): The body of the provider's callback (signed; see compliance.webhooks).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[KycCallbackReceipt | Problem]
    """

    kwargs = _get_kwargs(
        body=body,
        kyc_webhook_id=kyc_webhook_id,
        kyc_webhook_signature=kyc_webhook_signature,
        kyc_webhook_timestamp=kyc_webhook_timestamp,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: KycCallback,
    kyc_webhook_id: str,
    kyc_webhook_signature: str,
    kyc_webhook_timestamp: str,
) -> KycCallbackReceipt | Problem | None:
    """The KYC provider's signed callback

     Verified before anything is read: a bad signature, a stale or future timestamp is 401 and
    nothing is written. A callback id already processed answers `duplicate` and changes nothing.

    Args:
        kyc_webhook_id (str):
        kyc_webhook_signature (str):
        kyc_webhook_timestamp (str):
        body (KycCallback): The body of the provider's callback (signed; see compliance.webhooks).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        KycCallbackReceipt | Problem
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
            kyc_webhook_id=kyc_webhook_id,
            kyc_webhook_signature=kyc_webhook_signature,
            kyc_webhook_timestamp=kyc_webhook_timestamp,
        )
    ).parsed

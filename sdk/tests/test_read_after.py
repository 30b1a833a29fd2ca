"""Read-your-writes (crowdpay_connect_sdk.consistency): the client remembers the highest
`CrowdPay-Read-After` it was sent and echoes it on every later request, async and sync."""

from __future__ import annotations

import asyncio
import uuid

import httpx
from crowdpay_connect_sdk.consistency import READ_AFTER_HEADER, ReadAfter, lsn_position
from crowdpay_connect_sdk.wallet import WalletClient


def _service(seen: list[str | None], answers: list[str | None]):
    """A stand-in for the service: records the header of each request, answers the next LSN."""

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get(READ_AFTER_HEADER))
        lsn = answers.pop(0)
        body = {"id": str(uuid.uuid4()), "kind": "credit", "status": "SUCCEEDED"}
        return httpx.Response(200, json=body, headers={READ_AFTER_HEADER: lsn} if lsn else {})

    return handle


def test_positions_compare_as_the_wal_does():
    assert lsn_position("1/0") > lsn_position("0/FFFFFFFF")
    assert lsn_position("0/A") > lsn_position("0/9")
    assert lsn_position("garbage") is None


def test_the_async_client_echoes_the_highest_position_it_has_seen():
    seen: list[str | None] = []
    answers = [None, "0/16B3748", "0/1000000", None, None]  # the third answer is older than the second
    handler = _service(seen, answers)

    async def scenario() -> WalletClient:
        client = WalletClient(
            base_url="http://wallet.test",
            api_key="token",
            httpx_args={"transport": httpx.MockTransport(handler)},
        )
        async with client:
            http = client.low_level.get_async_httpx_client()  # what every facade call sends through
            for _ in range(5):
                await http.get(f"/v1/operations/{uuid.uuid4()}")
        return client

    client = asyncio.run(scenario())
    assert seen == [None, None, "0/16B3748", "0/16B3748", "0/16B3748"]
    assert client.read_after.value == "0/16B3748"


def test_the_sync_low_level_client_shares_the_same_position():
    seen: list[str | None] = []
    handler = _service(seen, ["1/0", None])
    client = WalletClient(
        base_url="http://wallet.test", api_key="token", httpx_args={"transport": httpx.MockTransport(handler)}
    )
    sync = client.low_level.get_httpx_client()
    sync.get("/v1/operations/x")
    sync.get("/v1/operations/y")
    assert seen == [None, "1/0"]
    assert client.read_after.value == "1/0"


def test_the_callers_own_hooks_still_run():
    calls: list[str] = []
    args = ReadAfter().install({"event_hooks": {"request": [lambda r: calls.append("mine")]}})
    assert len(args["event_hooks"]["request"]) == 2 and len(args["event_hooks"]["response"]) == 1

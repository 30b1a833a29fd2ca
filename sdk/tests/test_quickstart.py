"""The quick start of issue 8, as written (but for BASE_URL and the token), against the live
service and worker; then the balances and the streams it leaves behind."""

from __future__ import annotations

import asyncio
import itertools
import re
import uuid
from pathlib import Path

import pytest
from crowdpay_connect_sdk.wallet import WalletClient

from wallets import chain, services
from wallets.integrity import reconcile
from wallets.models import Wallet
from wallets.tests.factories import balance_of

from .conftest import token

pytestmark = pytest.mark.slow

README = Path(__file__).resolve().parents[1] / "README.md"
OWNER = uuid.UUID("3946fb93-9f9a-4c79-b264-6592b8ab4c67")
TARGET = uuid.UUID("c5333751-6d63-49b9-91af-37933f163f98")

# The block, with a sandbox test token as the charge (a charge funds once, hence a fresh
# one per run): the README must carry exactly this block.
QUICK_START = """import asyncio
import uuid
from crowdpay_connect_sdk.wallet import WalletClient
from crowdpay_connect_sdk.models import NewWalletRequest, CreditRequest, TransferRequest

async def demo():
    async with WalletClient(base_url=BASE_URL, api_key=API_KEY) as client:
        pod_wallet = await client.create_wallet(NewWalletRequest(
            owner_id="3946fb93-9f9a-4c79-b264-6592b8ab4c67", kind="POD",
            base_currency="USD", metadata={"name": "Summer Trip 2024"}))
        op = await client.credit_wallet(pod_wallet.id, CreditRequest(
            amount=500_00, currency="USD", source="CARD", reference=f"ch_test_ok_{uuid.uuid4().hex}"))
        await op.wait()
        await client.transfer(TransferRequest(
            from_wallet_id=pod_wallet.id, to_wallet_id="c5333751-6d63-49b9-91af-37933f163f98",
            amount=100_00, currency="USD", memo="Deposit for hotel"))

asyncio.run(demo())
"""


def readme_quick_start() -> str:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    return next(block for block in blocks if "asyncio.run(demo())" in block)


def test_the_readme_carries_the_quick_start_verbatim():
    assert readme_quick_start() == QUICK_START


def test_the_quick_start_runs_as_written(service):
    # The transfer's target must exist. The API never lets a client choose a wallet id, so the
    # test opens it through the ledger service, as an operator would (see sdk/README.md).
    services.wallet_open(owner_id=uuid.uuid4(), kind="USER", base_currency="USD", wallet_id=TARGET)
    api_key = token(OWNER, "wallet:create wallet:read wallet:credit wallet:transfer")

    exec(compile(readme_quick_start(), str(README), "exec"), {"BASE_URL": service.url, "API_KEY": api_key})  # noqa: S102

    pod = Wallet.objects.get(owner_id=OWNER)
    assert (pod.kind, pod.base_currency, pod.metadata) == ("POD", "USD", {"name": "Summer Trip 2024"})
    assert balance_of(pod) == (400_00, 0)
    assert balance_of(Wallet.objects.get(pk=TARGET)) == (100_00, 0)
    assert reconcile() == []

    async def read_back():
        async with WalletClient(base_url=service.url, api_key=api_key) as client:
            wallet = await client.get_wallet(pod.id)
            listed = await client.list_wallets()
            events = [event async for event in client.events(pod.id, page_size=2)]
            return wallet, listed, events

    wallet, listed, events = asyncio.run(read_back())
    assert [(b.currency, b.posted, b.held, b.available) for b in wallet.balances] == [("USD", 400_00, 0, 400_00)]
    assert wallet.metadata["name"] == "Summer Trip 2024"
    assert [w.id for w in listed] == [pod.id]
    # the whole stream, across pages of two, in version order, each event with its link chain
    assert [e.version for e in events] == list(range(1, pod.version + 1))
    assert [e.type for e in events][:2] == ["WalletOpened", "WalletCredited"]
    assert "TransferCompleted" in [e.type for e in events]
    assert all(e.link == chain.next_link(prior.link, e.mac, e.version) for prior, e in itertools.pairwise(events))

"""Onboarding through the SDK against the live service and worker: the sandbox provider decides
from its documented test values after the submission commits."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from crowdpay_connect_sdk.errors import Conflict
from crowdpay_connect_sdk.models import BeneficialOwner
from crowdpay_connect_sdk.wallet import WalletClient

from compliance.models import KycProfile

from .conftest import token

pytestmark = pytest.mark.slow

SCOPES = "kyc:read kyc:write"


async def _settled(client: WalletClient):
    for _ in range(200):  # the worker sends the check after commit; the sandbox answers at once
        status = await client.kyc_status()
        if status.status != "PENDING":
            return status
        await asyncio.sleep(0.05)
    raise AssertionError("the check stayed pending")


def test_a_person_is_verified_by_the_sandbox(service):
    caller = uuid.uuid4()

    async def scenario():
        async with WalletClient(base_url=service.url, api_key=token(caller, SCOPES)) as client:
            before = await client.kyc_status()
            submitted = await client.submit_person(
                legal_name="Ada Lovelace",
                date_of_birth="1985-12-10",
                address="12 St James's Square, London",
                country="GB",
                document_reference="X1234567",
            )
            settled = await _settled(client)
            with pytest.raises(Conflict) as again:
                await client.submit_person(
                    legal_name="Ada Lovelace",
                    date_of_birth="1985-12-10",
                    address="x",
                    country="GB",
                    document_reference="1",
                )
            return before, submitted, settled, again.value

    before, submitted, settled, again = asyncio.run(scenario())
    assert (before.status, before.next_step) == ("UNVERIFIED", "submit")
    assert submitted.status == "PENDING" and submitted.legal_name == "A••••••••••e"
    assert (settled.status, settled.next_step) == ("VERIFIED", "none")
    assert again.code == "invalid_transition"
    assert KycProfile.objects.get(owner_id=caller).legal_name == "Ada Lovelace"


def test_a_business_rejected_by_the_sandbox_shows_why_and_resubmits(service):
    caller = uuid.uuid4()
    owners = [
        BeneficialOwner("Ada Lovelace", "1985-12-10", 75),
        {"name": "Charles Babbage", "date_of_birth": "1971-12-26", "ownership_percent": "25"},
    ]
    company = {"name": "Engines Ltd", "country": "DE", "address": "Berlin", "beneficial_owners": owners}

    async def scenario():
        async with WalletClient(base_url=service.url, api_key=token(caller, SCOPES)) as client:
            await client.submit_business(registration_number="REJECT-1", **company)
            rejected = await _settled(client)
            await client.submit_business(registration_number="HRB-1", **company)
            return rejected, await _settled(client)

    rejected, verified = asyncio.run(scenario())
    assert (rejected.status, rejected.kind, rejected.next_step) == ("REJECTED", "BUSINESS", "resubmit")
    assert rejected.reasons == ["sandbox: the identity document could not be verified"]
    assert verified.status == "VERIFIED"
    assert [o.ownership_percent for o in verified.beneficial_owners] == ["75.00", "25.00"]

"""Payouts: the built-in queue (`Payout`, settled by finance staff in the admin) or a remote
settlement service. A payout is requested once per saga: the request is idempotent by reference."""

from __future__ import annotations

import uuid

from django.db import IntegrityError, transaction

from crowdpay.gateways import GatewayUnavailable, HttpGateway

from ..models import Payout

PENDING, PAID, FAILED = "PENDING", "PAID", "FAILED"
STATUSES = (PENDING, PAID, FAILED)


class QueueSettlementGateway:
    name = "payout-queue"

    def payout_request(
        self, *, reference: str, amount: int, currency: str, destination: str, saga_id: uuid.UUID | None = None
    ) -> str:
        """Queue the payout (once per reference) and answer its status."""
        payout = Payout.objects.filter(reference=reference).first()
        if payout is None:
            try:
                with transaction.atomic():
                    payout = Payout.objects.create(
                        reference=reference, saga_id=saga_id, amount=amount, currency=currency, destination=destination
                    )
            except IntegrityError:
                payout = Payout.objects.get(reference=reference)
        return payout.status

    def payout_status(self, *, reference: str) -> str:
        payout = Payout.objects.filter(reference=reference).first()
        if payout is None:
            raise GatewayUnavailable(f"payout {reference} is not in the queue")
        return payout.status


class HttpSettlementGateway(HttpGateway):
    """`POST {SETTLEMENT_SERVICE_ENDPOINT}/payouts` (with `Idempotency-Key: <reference>`) and
    `GET /payouts/{reference}`, both answering `{"status": "PENDING"|"PAID"|"FAILED"}`."""

    name = "settlement-http"

    def _status(self, body: dict) -> str:
        status = body.get("status")
        if status not in STATUSES:
            raise GatewayUnavailable(f"settlement-http: unknown payout status {status!r}")
        return status

    def payout_request(
        self, *, reference: str, amount: int, currency: str, destination: str, saga_id: uuid.UUID | None = None
    ) -> str:
        body = self.request(
            "POST",
            "/payouts",
            json={"reference": reference, "amount": amount, "currency": currency, "destination": destination},
            headers={"Idempotency-Key": reference},
        )
        return self._status(body)

    def payout_status(self, *, reference: str) -> str:
        return self._status(self.request("GET", f"/payouts/{reference}"))

"""Through real Celery worker processes on the real Redis: a worker killed with SIGKILL in the middle
of a delivery (the receiver holds the request), and the message still arrives, with the same
`webhook-id`, once another worker's sweep finds the lease run out."""

from __future__ import annotations

import time
import uuid

import pytest
from standardwebhooks.webhooks import Webhook

from crowdpay.webhooks import services
from crowdpay.webhooks.models import Delivery
from sagas import services as sagas
from sagas.tests.test_worker import broker, start_worker  # noqa: F401  (fixtures)
from wallets.tests.factories import funded

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _delivered(timeout: float = 90) -> Delivery | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        delivery = Delivery.objects.filter(status=Delivery.Status.DELIVERED).first()
        if delivery is not None:
            return delivery
        time.sleep(0.2)
    return None


def test_a_worker_killed_mid_delivery_loses_nothing(receiver, start_worker):  # noqa: F811
    env = {"WEBHOOK_LEASE_SECONDS": "3", "WEBHOOK_READ_TIMEOUT_SECONDS": "60", "WEBHOOK_SWEEP_SECONDS": "1"}
    worker = start_worker(**env)
    owner = uuid.uuid4()
    endpoint = services.endpoint_create(owner_id=owner, url=receiver.url, event_types=["operation.succeeded"])
    receiver.script = [("sleep", 30)]  # the first attempt hangs: the worker is in the middle of it
    sagas.transfer_start(
        from_wallet_id=funded(amount=100_00, owner_id=owner).id, to_wallet_id=funded(amount=1).id,
        amount=10_00, currency="USD", memo="", reference=str(uuid.uuid4()), requested_by="test",
    )  # fmt: skip
    assert len(receiver.wait_for(1, timeout=60)) == 1, worker.log.read_text()[-3000:]
    worker.kill()
    assert Delivery.objects.get().status == Delivery.Status.PENDING

    start_worker(beat=True, **env)
    delivery = _delivered()
    assert delivery is not None, worker.log.read_text()[-3000:]
    first, second = receiver.received[:2]
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == delivery.message.webhook_id
    Webhook(endpoint.secret).verify(second.body, second.headers)
    assert delivery.attempts == 2

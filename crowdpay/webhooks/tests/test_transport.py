"""Connection reuse per origin (crowdpay.webhooks.transport.pool) against the loopback receiver:
deliveries share one kept-alive connection, a connection the receiver dropped while idle costs a
new one (the message still arrives once per attempt), and the SSRF rule still holds for a reused
connection."""

from __future__ import annotations

import uuid

import pytest

from crowdpay.webhooks import services, transport
from crowdpay.webhooks.models import Attempt
from sagas import services as sagas
from wallets.tests.factories import funded

from .conftest import drain

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("inline")]


def _transfers(owner, count):
    source, target = funded(amount=100_00, owner_id=owner), funded(amount=1)
    for _ in range(count):
        sagas.transfer_start(
            from_wallet_id=source.id, to_wallet_id=target.id, amount=1_00, currency="USD", memo="",
            reference=str(uuid.uuid4()), requested_by="test",
        )  # fmt: skip


def test_deliveries_to_one_origin_reuse_one_connection(receiver):
    owner = uuid.uuid4()
    services.endpoint_create(owner_id=owner, url=receiver.url, event_types=["operation.succeeded"])
    _transfers(owner, 3)
    assert drain() == ["delivered"] * 3
    assert len({r.client_port for r in receiver.received}) == 1  # one TCP connection for the three
    assert len(transport.pool) == 1


def test_a_connection_the_receiver_dropped_is_replaced_and_the_message_arrives(receiver):
    receiver.drop_idle = True  # closes after each answer, without `Connection: close`
    owner = uuid.uuid4()
    services.endpoint_create(owner_id=owner, url=receiver.url, event_types=["operation.succeeded"])
    _transfers(owner, 3)
    assert drain() == ["delivered"] * 3
    assert len(receiver.received) == 3  # each once
    assert len({r.client_port for r in receiver.received}) == 3
    assert [a.outcome for a in Attempt.objects.order_by("id")] == ["delivered"] * 3


def test_a_kept_connection_is_not_reused_once_its_address_is_refused(receiver, settings):
    owner = uuid.uuid4()
    services.endpoint_create(owner_id=owner, url=receiver.url, event_types=["operation.succeeded"])
    _transfers(owner, 1)
    assert drain() == ["delivered"] and len(transport.pool) == 1
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False  # production rules: loopback is refused
    settings.WEBHOOK_RETRY_SCHEDULE = [0.0]
    _transfers(owner, 1)
    assert drain() == ["refused"]
    assert len(receiver.received) == 1 and len(transport.pool) == 0
    assert "non-public" in Attempt.objects.order_by("-id").first().error


def test_an_answer_longer_than_the_cap_does_not_keep_the_connection(receiver, settings):
    settings.WEBHOOK_RESPONSE_MAX_BYTES = 1  # the receiver's "ok" is two bytes: not read to its end
    owner = uuid.uuid4()
    services.endpoint_create(owner_id=owner, url=receiver.url, event_types=["operation.succeeded"])
    _transfers(owner, 2)
    assert drain() == ["delivered"] * 2
    assert len({r.client_port for r in receiver.received}) == 2 and len(transport.pool) == 0

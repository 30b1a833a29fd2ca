from __future__ import annotations

import pytest

from crowdpay.webhooks import outbox, services, transport

from .receiver import Receiver


@pytest.fixture
def receiver():
    r = Receiver().start()
    yield r
    transport.pool.clear()  # no kept-alive connection outlives its receiver
    r.stop()


@pytest.fixture
def inline(monkeypatch, settings):
    """No broker: the tests run the dispatcher and the attempts themselves (`drain`)."""
    settings.WEBHOOK_RETRY_SCHEDULE = [0.0, 0.0, 0.0, 0.0]
    monkeypatch.setattr(services, "_send", lambda ids, countdown=None: None)
    monkeypatch.setattr(outbox, "dispatch_soon", lambda: None)
    yield


def drain(rounds: int = 20) -> list[str | None]:
    """Fan out and attempt every due delivery until nothing is due."""
    outcomes: list[str | None] = []
    for _ in range(rounds):
        services.messages_dispatch()
        heads = services.due_heads()
        if not heads:
            break
        outcomes += [services.delivery_attempt(delivery_id=d) for d in heads]
    return outcomes

"""The write throttle on Redis: one atomic window per caller, shared by every process."""

from __future__ import annotations

import multiprocessing as mp
import uuid
from types import SimpleNamespace

import pytest
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache

from crowdpay.api.throttling import CallerWriteThrottle

redis_only = pytest.mark.skipif(
    not isinstance(caches["default"], RedisCache), reason="the atomic window is the Redis cache's (set REDIS_URL)"
)


def _request(caller: str, method: str = "POST"):
    return SimpleNamespace(method=method, user=SimpleNamespace(pk=caller, is_authenticated=True))


def _admitted(caller: str, attempts: int, barrier, queue) -> None:
    """Runs in a child process: its own Redis connections (redis-py opens new ones after a fork)."""
    barrier.wait()
    queue.put(sum(CallerWriteThrottle().allow_request(_request(caller), None) for _ in range(attempts)))


@redis_only
def test_concurrent_writes_of_one_caller_share_one_budget(settings):
    """Eight processes each try ten writes at once against a limit of ten: exactly ten get through
    (read-then-write throttles let every process through on the same empty history)."""
    settings.API_WRITE_THROTTLE_RATE = "10/minute"
    caches["default"].clear()
    caller = str(uuid.uuid4())
    ctx = mp.get_context("fork")
    barrier, queue = ctx.Barrier(8), ctx.Queue()
    procs = [ctx.Process(target=_admitted, args=(caller, 10, barrier, queue)) for _ in range(8)]
    for proc in procs:
        proc.start()
    admitted = sum(queue.get(timeout=60) for _ in procs)
    for proc in procs:
        proc.join(timeout=30)
        assert proc.exitcode == 0
    assert admitted == 10
    refused = CallerWriteThrottle()
    assert refused.allow_request(_request(caller), None) is False
    assert 0 < refused.wait() <= 60  # seconds until the oldest write leaves the window


@redis_only
def test_reads_and_other_callers_are_not_counted(settings):
    settings.API_WRITE_THROTTLE_RATE = "1/minute"
    caches["default"].clear()
    throttle = CallerWriteThrottle()
    assert throttle.allow_request(_request("a"), None) is True
    assert throttle.allow_request(_request("a"), None) is False
    assert throttle.allow_request(_request("a", method="GET"), None) is True
    assert throttle.allow_request(_request("b"), None) is True

"""Periodic jobs run once however many beats start (crowdpay/beat.py), and the queues by kind
(crowdpay/queues.py).

The slow test starts TWO real `celery beat` processes on one Redis with a one-second probe job
(crowdpay/tests/beat_probe.py) and a worker that runs it: over 15 s the job runs once a second,
not twice; then the leader is killed with SIGKILL and the standby takes the schedule over."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import redis
from django.conf import settings

from crowdpay import queues
from crowdpay.celery import app

ROOT = Path(__file__).resolve().parents[2]
CELERY = Path(sys.executable).with_name("celery")
LOCK_TIMEOUT = 6


def test_tasks_are_routed_to_the_queue_of_their_kind():
    assert queues.queue_of("sagas.tasks.saga_advance") == "sagas"
    assert queues.queue_of("crowdpay.webhooks.tasks.delivery_attempt") == "webhooks"
    assert queues.queue_of("compliance.tasks.kyc_check_send") == "compliance"
    assert queues.queue_of("crowdpay.tests.probe.unrouted") is None  # the default queue
    router = app.amqp.router
    assert router.route({}, "sagas.tasks.saga_advance")["queue"].name == "sagas"
    assert router.route({}, "crowdpay.tests.probe.unrouted")["queue"].name == "celery"


def test_every_periodic_job_goes_to_the_periodic_queue_and_every_queue_is_consumed_by_default():
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        assert queues.queue_of(entry["task"]) == "periodic", name
    # `celery worker` without -Q consumes the app's task_queues: every queue of crowdpay/queues.py
    assert {q.name for q in app.conf.task_queues} == set(queues.QUEUES)
    assert "-Q" not in (ROOT / "Makefile").read_text().split("worker: $(STAMP)")[1].split("\n")[1]


def test_beat_uses_the_single_leader_scheduler_when_there_is_a_broker():
    if not settings.REDIS_URL:
        pytest.skip("no REDIS_URL: tasks run in-process, no beat")
    assert settings.CELERY_BEAT_SCHEDULER == "crowdpay.beat.LeaderScheduler"
    assert settings.CELERY_BEAT_MAX_LOOP_INTERVAL * 3 <= settings.BEAT_LOCK_TIMEOUT_SECONDS


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    with open(log, "wb") as out:
        return subprocess.Popen(
            [str(CELERY), "-A", "crowdpay", *args], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )


def _wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def _led(log: Path) -> bool:
    """The beat's log says it took the leader lock (RedBeat at start, or LeaderScheduler later)."""
    text = log.read_bytes()
    return b"Acquired lock" in text or b"beat: leading" in text


def _runs(client: redis.Redis, key: str) -> list[float]:
    return sorted(float(v) for v in client.lrange(key, 0, -1))


@pytest.mark.slow
def test_two_beats_run_each_periodic_slot_once_and_the_standby_takes_over(tmp_path):
    if not settings.REDIS_URL:
        pytest.skip("needs Redis (REDIS_URL)")
    client = redis.Redis.from_url(settings.REDIS_URL)
    tag = uuid.uuid4().hex[:10]
    key, queue, prefix = f"beat-probe:{tag}:runs", f"beat-probe-{tag}", f"crowdpay-test-beat-{tag}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "crowdpay.tests.beat_probe",
        "REDIS_URL": settings.REDIS_URL,
        "BEAT_REDIS_KEY_PREFIX": prefix,
        "BEAT_LOCK_TIMEOUT_SECONDS": str(LOCK_TIMEOUT),
        "BEAT_PROBE_QUEUE": queue,
        "BEAT_PROBE_KEY": key,
        "LOG_LEVEL": "INFO",
    }
    worker_log, logs = tmp_path / "worker.log", [tmp_path / "beat-a.log", tmp_path / "beat-b.log"]
    worker = _start(
        ["worker", "--pool=solo", "-Q", queue, "--include", "crowdpay.tests.beat_probe", "--without-gossip",
         "--without-mingle", "--without-heartbeat", "-n", f"beat-probe-{tag}@%h", "--loglevel=INFO"],
        env, worker_log,
    )  # fmt: skip
    beats: list[subprocess.Popen] = []
    try:
        _wait_for(lambda: b" ready." in worker_log.read_bytes() or worker.poll() is not None, 120, "the worker")
        assert worker.poll() is None, worker_log.read_text()[-3000:]
        beat_args = ["beat", "-S", "crowdpay.beat.LeaderScheduler", "--loglevel=INFO"]
        beats = [_start([*beat_args, "-s", str(tmp_path / f"s{n}")], env, log) for n, log in enumerate(logs)]
        _wait_for(lambda: len(_runs(client, key)) >= 1, 120, "the first run of the probe")
        time.sleep(15)
        runs = _runs(client, key)
        for beat, log in zip(beats, logs, strict=True):
            assert beat.poll() is None, log.read_text()[-3000:]

        # once per one-second slot: about 15 runs in 15 s (not 30), never two in the same slot
        assert 12 <= len(runs) <= 18, runs
        gaps = [b - a for a, b in itertools.pairwise(runs)]
        assert min(gaps) > 0.5, gaps
        leaders = [n for n, log in enumerate(logs) if _led(log)]
        assert len(leaders) == 1, [log.read_text()[-1500:] for log in logs]

        # the leader dies without releasing its lock: the standby leads within the lock's timeout
        leader, standby = leaders[0], 1 - leaders[0]
        beats[leader].send_signal(signal.SIGKILL)
        beats[leader].wait(timeout=10)
        killed_at = time.time()
        time.sleep(LOCK_TIMEOUT + 8)
        after = [t for t in _runs(client, key) if t > killed_at]
        assert len(after) >= 4, (after, logs[standby].read_text()[-3000:])
        assert _led(logs[standby])
        runs = _runs(client, key)
        gaps = [b - a for a, b in itertools.pairwise(runs)]
        assert min(gaps) > 0.5, gaps
    finally:
        for process in [*beats, worker]:
            if process.poll() is None:
                process.terminate()
        for process in [*beats, worker]:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        client.delete(key, queue)
        for stale in client.scan_iter(f"{prefix}*"):
            client.delete(stale)


@pytest.mark.slow
def test_a_beat_started_while_redis_is_down_leads_once_redis_is_back(tmp_path):
    """A worker restarted during a Redis outage (the reliability stress test kills one, then stops
    Redis) must not lose its beat for good: RedBeat writes the schedule while the scheduler is
    built, and that error used to end the beat thread, so no sweeper ever ran again."""
    import socket

    with socket.socket() as probe:  # a port nothing listens on, yet
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"redis://127.0.0.1:{port}/0"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "crowdpay.tests.beat_probe",
        "REDIS_URL": url,
        "BEAT_LOCK_TIMEOUT_SECONDS": str(LOCK_TIMEOUT),
        "BEAT_PROBE_QUEUE": "beat-probe-down",
        "BEAT_PROBE_KEY": "beat-probe-down:runs",
        "LOG_LEVEL": "INFO",
    }
    log = tmp_path / "beat.log"
    beat = _start(
        ["beat", "-S", "crowdpay.beat.LeaderScheduler", "--loglevel=INFO", "-s", str(tmp_path / "s")], env, log
    )
    server = None
    try:
        _wait_for(lambda: b"Redis unavailable" in log.read_bytes() or beat.poll() is not None, 60, "the beat to start")
        assert beat.poll() is None, log.read_text()[-3000:]
        server = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        _wait_for(lambda: _led(log) and b"Sending due task" in log.read_bytes(), 60, "the beat to lead and send")
        assert beat.poll() is None, log.read_text()[-3000:]
    finally:
        for process in (beat, server):
            if process is not None and process.poll() is None:
                process.terminate()
                process.wait(timeout=30)

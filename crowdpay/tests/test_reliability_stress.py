"""The small version of `make reliability`, inside `make test`: 8 API clients for 12 s against
gunicorn and a real Celery worker on a private PostgreSQL and Redis, with the worker killed -9
once and Redis stopped for 5 s mid-run. Afterwards nothing is lost, nothing is counted twice,
the service never answered 500 or hung, and `reconcile` passes. The figures are printed."""

from __future__ import annotations

import pytest

from crowdpay.tests.reliability.stress import Config, print_report, run

pytestmark = pytest.mark.slow


def test_stress_with_a_worker_kill_and_a_redis_outage_loses_nothing(capsys):
    config = Config(
        clients=8,
        seconds=12,
        wallets=10,
        pods=1,
        faults=[(2.0, "kill_worker", 0.5), (4.0, "stop_redis", 5.0)],
        drain_seconds=300,
    )
    report = run(config)
    with capsys.disabled():
        print_report("reliability (small): stress + faults", report)
    assert report["problems"] == []
    assert report["money_lost_or_duplicated"] == 0
    assert report["duplicated_effects"] == 0 and report["missing_effects"] == 0
    assert report["lost_or_stuck_operations"] == 0 and report["phantom_operations"] == 0
    assert report["http_5xx_other_than_503"] == 0, report["http_statuses"]
    assert report["hung_requests"] == 0 and report["errors_not_problem_json"] == 0
    assert report["replay_mismatches"] == 0
    assert {f["kind"] for f in report["faults_injected"]} == {"kill_worker", "stop_redis"}
    assert report["operations_accepted"] > 0
    # the outage was seen and answered: 503 dependency_unavailable, never a 500
    assert report["http_503"] > 0 and set(report["http_503_codes"]) == {"dependency_unavailable"}

"""The domain metrics: recording functions, the ledger gauge at /metrics, multiprocess export."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import httpx
import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from crowdpay import metrics
from wallets.metrics import LedgerCollector


def sample(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def scrape(client) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.content.decode())
        for s in family.samples
    }


def test_saga_failure_counts_by_kind_and_code_and_observes_duration():
    before_fail = sample("saga_failure_total", kind="withdraw", code="payout_rejected")
    before_ops = sample("operations_total", kind="withdraw", status="failed")
    before_count = sample("saga_duration_seconds_count", kind="withdraw", status="failed")
    before_sum = sample("saga_duration_seconds_sum", kind="withdraw", status="failed")

    metrics.record_saga_finished("WITHDRAW", "FAILED", "payout_rejected", 2.5)

    assert sample("saga_failure_total", kind="withdraw", code="payout_rejected") == before_fail + 1
    assert sample("operations_total", kind="withdraw", status="failed") == before_ops + 1
    assert sample("saga_duration_seconds_count", kind="withdraw", status="failed") == before_count + 1
    assert sample("saga_duration_seconds_sum", kind="withdraw", status="failed") == pytest.approx(before_sum + 2.5)


def test_a_succeeded_saga_is_no_failure():
    before = sum(s.value for f in REGISTRY.collect() if f.name == "saga_failure" for s in f.samples)
    metrics.record_saga_started("FUNDING")
    metrics.record_saga_finished("FUNDING", "SUCCEEDED", None, 0.1)
    after = sum(s.value for f in REGISTRY.collect() if f.name == "saga_failure" for s in f.samples)
    assert after == before


def test_label_values_are_bounded():
    before = sample("saga_failure_total", kind="transfer", code="weird_code_with_spaces")
    metrics.record_saga_finished("Transfer", "Failed", "Weird Code (with spaces)!")
    assert sample("saga_failure_total", kind="transfer", code="weird_code_with_spaces") == before + 1
    assert metrics._label("x" * 500) == "x" * 64
    assert metrics._label(None) == "none"
    assert metrics._label("", default="unknown") == "unknown"


def test_risk_decisions_and_velocity_declines():
    before_decl = sample("risk_decisions_total", outcome="decline", code="velocity_limit_exceeded")
    before_vel = sample("velocity_declines_total", operation="withdraw")
    before_ok = sample("risk_decisions_total", outcome="approve", code="none")

    metrics.record_risk_decision("decline", "velocity_limit_exceeded", operation="withdraw")
    metrics.record_risk_decision("approve", None, operation="credit")

    assert sample("risk_decisions_total", outcome="decline", code="velocity_limit_exceeded") == before_decl + 1
    assert sample("velocity_declines_total", operation="withdraw") == before_vel + 1
    assert sample("risk_decisions_total", outcome="approve", code="none") == before_ok + 1


def test_idempotent_replays_and_review_status():
    before = sample("idempotent_replays_total")
    before_review = sample("operations_total", kind="funding", status="in_review")
    metrics.record_idempotent_replay()
    metrics.record_saga_status("FUNDING", "IN_REVIEW")
    assert sample("idempotent_replays_total") == before + 1
    assert sample("operations_total", kind="funding", status="in_review") == before_review + 1


@pytest.mark.django_db
def test_metrics_endpoint_shows_balances_per_currency_and_request_metrics(client):
    from wallets.selectors import balance_totals
    from wallets.tests.factories import funded

    funded(amount=1234_56)
    funded(amount=100_00)
    funded(amount=5000, currency="JPY")
    expected = balance_totals()
    metrics.record_idempotent_replay()

    scraped = scrape(client)

    assert scraped[("wallet_balance_total", (("currency", "USD"),))] == expected["USD"] == 1334_56
    assert scraped[("wallet_balance_total", (("currency", "JPY"),))] == expected["JPY"] == 5000
    assert scraped[("wallet_balance_up", ())] == 1
    assert scraped[("idempotent_replays_total", ())] >= 1
    # django-prometheus' own request metrics are still there
    assert any(name.startswith("django_http_requests_total") for name, _ in scraped)


def test_ledger_collector_reports_down_when_the_database_is_unreachable(monkeypatch):
    import wallets.selectors

    def broken():
        raise RuntimeError("database unavailable")

    monkeypatch.setattr(wallets.selectors, "balance_totals", broken)
    families = {f.name: f for f in LedgerCollector().collect()}
    assert "wallet_balance_total" not in families
    assert families["wallet_balance_up"].samples[0].value == 0


MULTIPROC_CHILD = textwrap.dedent(
    """
    import sys
    from crowdpay import metrics
    for _ in range(int(sys.argv[1])):
        metrics.record_saga_finished("funding", "failed", "gateway_timeout", 1.0)
    metrics.record_idempotent_replay()
    """
)


def test_multiprocess_mode_aggregates_every_process_and_the_worker_exporter_serves_it(tmp_path):
    """Two processes write samples to PROMETHEUS_MULTIPROC_DIR; the exporter sums them."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "crowdpay.settings.test"}
    for count in (2, 3):
        subprocess.run([sys.executable, "-c", MULTIPROC_CHILD, str(count)], env=env, check=True, timeout=60)

    exporter = textwrap.dedent(
        """
        import sys, urllib.request
        from crowdpay import metrics
        port = metrics.start_worker_exporter(port=0, addr="127.0.0.1")
        sys.stdout.write(urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode())
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", exporter], env=env, check=True, timeout=60, capture_output=True, text=True
    ).stdout
    values = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(out)
        for s in family.samples
    }
    assert values[("saga_failure_total", (("code", "gateway_timeout"), ("kind", "funding")))] == 5
    assert values[("idempotent_replays_total", ())] == 2
    assert values[("saga_duration_seconds_count", (("kind", "funding"), ("status", "failed")))] == 5


def test_worker_exporter_is_off_without_a_port(monkeypatch):
    monkeypatch.delenv("CELERY_METRICS_PORT", raising=False)
    assert metrics.start_worker_exporter() is None


def test_worker_exporter_in_one_process(monkeypatch):
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    monkeypatch.setenv("CELERY_METRICS_PORT", "0")
    assert metrics.start_worker_exporter() is None  # "0" means off
    port = metrics.start_worker_exporter(port=0, addr="127.0.0.1")
    metrics.record_idempotent_replay()
    body = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    assert "idempotent_replays_total" in body
    metrics.mark_process_dead(os.getpid())  # a no-op outside multiprocess mode

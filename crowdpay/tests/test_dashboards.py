"""The Grafana dashboards load, and every panel queries a metric the service really exports."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from crowdpay import metrics

DASHBOARDS = sorted((Path(__file__).resolve().parents[2] / "grafana" / "dashboards").glob("*.json"))
PROMQL_WORDS = {
    "sum", "by", "without", "rate", "irate", "increase", "delta", "histogram_quantile", "clamp_min", "min",
    "max", "avg", "count", "topk", "on", "ignoring", "group_left", "group_right", "and", "or", "unless",
    "le", "offset", "bool",
}  # fmt: skip


def metric_names(expr: str) -> set[str]:
    expr = re.sub(r"\{[^}]*\}", "", expr)  # label matchers
    expr = re.sub(r"\[[^\]]*\]", "", expr)  # range selectors
    expr = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", "", expr)  # grouping labels
    names = set(re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", expr))
    return {n for n in names if n not in PROMQL_WORDS and not re.fullmatch(r"e\d*", n)}


@pytest.fixture
def exported(client, db):
    """Every metric name /metrics exposes once each domain metric has a sample."""
    from wallets.tests.factories import funded

    funded(amount=100)
    metrics.record_saga_started("funding")
    metrics.record_saga_finished("funding", "failed", "declined", 1.0)
    metrics.record_saga_status("funding", "in_review")
    metrics.record_idempotent_replay()
    metrics.record_risk_decision("decline", "velocity_limit_exceeded", operation="withdraw")
    from crowdpay.webhooks.metrics import record_delivery

    record_delivery("delivered")
    client.get("/healthz")
    body = client.get("/metrics").content.decode()
    return {s.name for family in text_string_to_metric_families(body) for s in family.samples}


def test_there_is_a_dashboard_for_each_area():
    assert [p.stem for p in DASHBOARDS] == ["api", "compliance", "ledger", "sagas"]


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_each_panel_queries_exported_metrics(path, exported):
    dashboard = json.loads(path.read_text())
    assert dashboard["uid"] and dashboard["title"] and dashboard["panels"]
    for panel in dashboard["panels"]:
        assert panel["datasource"]["uid"] == "prometheus", panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            names = metric_names(target["expr"])
            assert names, f"{panel['title']}: no metric in {target['expr']}"
            assert names <= exported, f"{panel['title']}: {names - exported} not exported"


def test_metric_name_extraction():
    expr = 'histogram_quantile(0.99, sum by (le, view) (rate(x_bucket{job="web",a=~"5.."}[5m]))) / 1e-9'
    assert metric_names(expr) == {"x_bucket"}

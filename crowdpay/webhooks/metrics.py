"""Webhook metrics: deliveries by outcome (a counter, recorded once an attempt is committed) and,
at scrape time, the queue depth and the age of the oldest undelivered message (`WebhookCollector`,
registered with `crowdpay.metrics` by the webhooks app at start-up)."""

from __future__ import annotations

import logging

from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily

log = logging.getLogger(__name__)

DELIVERIES = Counter(
    "webhook_deliveries",
    "Webhook delivery attempts, by outcome (delivered, failed, gone, refused).",
    ["outcome"],
)
_OUTCOMES = {"delivered", "failed", "gone", "refused"}


def record_delivery(outcome: str) -> None:
    DELIVERIES.labels(outcome=outcome if outcome in _OUTCOMES else "other").inc()


class WebhookCollector:
    """`webhook_queue_depth{state}`: deliveries pending and messages not yet fanned out;
    `webhook_oldest_undelivered_seconds`: how long the oldest of them has waited."""

    def collect(self):
        from .selectors import queue_figures

        try:
            pending, undispatched, oldest = queue_figures()
        except Exception:
            log.warning("could not read the webhook queue for /metrics", exc_info=True)
            return
        depth = GaugeMetricFamily("webhook_queue_depth", "Webhook work waiting, by state.", labels=["state"])
        depth.add_metric(["pending_delivery"], pending)
        depth.add_metric(["undispatched_message"], undispatched)
        yield depth
        yield GaugeMetricFamily(
            "webhook_oldest_undelivered_seconds",
            "Age of the oldest message not yet delivered to (or given up by) every endpoint, 0 if none.",
            value=oldest,
        )

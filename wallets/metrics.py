"""The ledger's figures for Prometheus, read at scrape time (registered with `crowdpay.metrics` by
the app at start-up)."""

from __future__ import annotations

import logging

from prometheus_client.core import GaugeMetricFamily

logger = logging.getLogger(__name__)


class LedgerCollector:
    """`wallet_balance_total{currency}`: customer money per currency, from the balance projection.

    One aggregate query per scrape (an index-only GROUP BY over the small balance table), so the
    figure is always current and no process has to keep a gauge in step with the ledger.
    """

    def collect(self):
        from .selectors import balance_totals

        up = GaugeMetricFamily("wallet_balance_up", "1 if the ledger figures could be read at this scrape.")
        try:
            totals = balance_totals()
        except Exception:
            logger.warning("could not read balance totals for /metrics", exc_info=True)
            up.add_metric([], 0)
            yield up
            return
        balance = GaugeMetricFamily(
            "wallet_balance_total",
            "Posted customer balances summed per currency, in minor units of that currency.",
            labels=["currency"],
        )
        for currency, total in sorted(totals.items()):
            balance.add_metric([currency], int(total or 0))
        up.add_metric([], 1)
        yield balance
        yield up

# Engine v2 (issue 18): the trailing 24 h outflow is counted by the ledger itself, in the base
# currency (wallets.VelocityBucket, written by the executor under the wallet lock). The buckets of the
# last 24 hours carry over, converted to the base currency at the rates table's rate (rounded up, as
# the ledger counts), so deploying never resets anyone's window; an outflow in a currency with no
# rate in the table is left out (logged), as the ledger would leave it out.

import logging
import time
from collections import defaultdict
from types import SimpleNamespace

from django.db import migrations

log = logging.getLogger(__name__)
WINDOW_MINUTES = 24 * 60


def carry_over(apps, schema_editor):
    from crowdpay.gateways import GatewayRejected
    from wallets.errors import LedgerError
    from wallets.fx import to_base

    OutflowBucket = apps.get_model("compliance", "OutflowBucket")
    VelocityBucket = apps.get_model("wallets", "VelocityBucket")
    FxRate = apps.get_model("sagas", "FxRate")

    class TableRates:
        """The rates table as it stands in this migration (direct pair, else its inverse)."""

        def quote(self, *, base, quote):
            row = FxRate.objects.filter(base=base, quote=quote).first()
            if row is not None:
                return SimpleNamespace(rate=row.rate)
            row = FxRate.objects.filter(base=quote, quote=base).first()
            if row is not None:
                return SimpleNamespace(rate=1 / row.rate)
            raise GatewayRejected(f"no {base}/{quote} rate in the table")

    rates = TableRates()
    since = int(time.time()) // 60 - WINDOW_MINUTES
    totals: dict[tuple, int] = defaultdict(int)
    for bucket in OutflowBucket.objects.filter(minute__gt=since).iterator():
        try:
            amount = to_base(bucket.amount, bucket.currency, rates=rates)
        except LedgerError:
            log.warning(
                "no %s rate: an outflow bucket of wallet %s is not carried over", bucket.currency, bucket.wallet_id
            )
            continue
        totals[(bucket.wallet_id, bucket.minute)] += amount
    for (wallet_id, minute), amount in totals.items():
        row, created = VelocityBucket.objects.get_or_create(
            wallet_id=wallet_id, minute=minute, defaults={"amount": amount}
        )
        if not created:
            row.amount += amount
            row.save(update_fields=["amount"])


class Migration(migrations.Migration):
    dependencies = [
        ("compliance", "0007_admin_list_indexes"),
        ("wallets", "0009_ledger_execute"),
        ("sagas", "0007_admin_list_indexes"),
    ]

    operations = [
        migrations.RunPython(carry_over, migrations.RunPython.noop),
        migrations.DeleteModel(
            name="OutflowBucket",
        ),
    ]

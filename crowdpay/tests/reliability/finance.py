"""Finance staff settling the built-in payout queue, through the same service the admin calls
(`sagas.services.payout_mark`). Run in the stack's environment: `python -m crowdpay.tests.reliability.finance`.
Every `--fail-every`-th pending payout is marked failed (its withdrawal compensates); the rest paid.
Prints one JSON line: {"paid": n, "failed": n}."""

from __future__ import annotations

import argparse
import json


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fail-every", type=int, default=0)
    args = parser.parse_args()

    import django

    django.setup()
    from sagas.models import Payout
    from sagas.services import payout_mark

    paid = failed = 0
    pending = Payout.objects.filter(status=Payout.Status.PENDING).order_by("created_at").values_list("id", flat=True)
    for n, payout_id in enumerate(list(pending), start=1):
        fail = bool(args.fail_every) and n % args.fail_every == 0
        payout_mark(payout_id=payout_id, paid=not fail, actor="finance:reliability", reason="refused by the bank")
        failed += fail
        paid += not fail
    print(json.dumps({"paid": paid, "failed": failed}))


if __name__ == "__main__":
    main()

"""Seal every queued wallet head now (what the beat task does every EVENT_SEAL_INTERVAL_SECONDS), or,
with --every, keep sealing at that interval until stopped: a sealer without Celery (the bench runs
one beside its ledger parts)."""

import signal
import time

from django.core.management.base import BaseCommand

from wallets.sealing import seal_all


class Command(BaseCommand):
    help = "Certify each wallet's new chain head with a seal (wallets.sealing); prints how many were sealed."

    def add_arguments(self, parser):
        parser.add_argument("--batch", type=int, default=1000, help="heads sealed per transaction")
        parser.add_argument(
            "--every", type=float, metavar="SECONDS", help="keep sealing at this interval until SIGTERM or SIGINT"
        )

    def handle(self, *args, batch=1000, every=None, **options):
        if every is None:
            self.stdout.write(f"sealed {seal_all(batch=batch)} wallet head(s)")
            return
        stopping = []
        signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
        total = 0
        try:
            while not stopping:
                started = time.monotonic()
                total += seal_all(batch=batch)
                time.sleep(max(0.0, every - (time.monotonic() - started)))
        except KeyboardInterrupt:
            pass
        total += seal_all(batch=batch)  # what arrived before the stop
        self.stdout.write(f"sealed {total} wallet head(s)")

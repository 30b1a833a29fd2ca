"""Rebuild the balance projection from the event streams."""

import sys
import uuid

from django.core.management.base import BaseCommand

from wallets.integrity import Progress, replay


class Command(BaseCommand):
    help = "Replay the events and rebuild any balance that differs from them (--dry-run only reports)."

    def add_arguments(self, parser):
        parser.add_argument("--wallet", type=uuid.UUID, help="replay only this wallet")
        parser.add_argument("--dry-run", action="store_true", help="report differences, change nothing")

    def handle(self, *args, wallet=None, dry_run=False, **options):
        result = replay(wallet_id=wallet, dry_run=dry_run, progress=Progress.for_command(self))
        for problem in result.mismatches:
            self.stderr.write(f"{'DIFF' if dry_run else 'REBUILT'} wallet {problem.wallet_id}: {problem.detail}")
        self.stdout.write(
            f"replayed {result.events} events of {result.wallets} wallets; "
            f"{len(result.mismatches)} differed, {result.repaired} rebuilt"
        )
        if dry_run and result.mismatches:
            sys.exit(1)

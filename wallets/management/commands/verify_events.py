"""Verify every wallet's HMAC chain; exit 1 naming the first bad event of each broken stream."""

import sys
import uuid

from django.core.management.base import BaseCommand

from wallets.integrity import verify_chains


class Command(BaseCommand):
    help = "Verify the HMAC chains of the event streams (all, or one wallet's)."

    def add_arguments(self, parser):
        parser.add_argument("--wallet", type=uuid.UUID, help="verify only this wallet's stream")

    def handle(self, *args, wallet=None, **options):
        problems = verify_chains(wallet_id=wallet)
        for problem in problems:
            where = f"wallet {problem.wallet_id}" + (
                f" event #{problem.event_version}" if problem.event_version else ""
            )
            self.stderr.write(f"BAD {where}: {problem.detail}")
        if problems:
            sys.exit(1)
        self.stdout.write(self.style.SUCCESS("all event chains verify"))

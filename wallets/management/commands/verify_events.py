"""Verify every wallet's event chain and its seals; exit 1 naming the first bad event of each broken
stream, each bad seal, and each unsealed tail older than EVENT_SEAL_MAX_AGE_SECONDS."""

import json
import sys
import uuid

from django.core.management.base import BaseCommand

from wallets.integrity import Progress, verify


class Command(BaseCommand):
    help = (
        "Verify the event streams (all, or one wallet's): every mac, every link, every seal, and the "
        "unsealed tail of each stream with its age."
    )

    def add_arguments(self, parser):
        parser.add_argument("--wallet", type=uuid.UUID, help="verify only this wallet's stream")
        parser.add_argument("--json", action="store_true", help="print the report as JSON")

    def handle(self, *args, wallet=None, json=False, **options):
        result = verify(wallet_id=wallet, progress=Progress.for_command(self))
        if json:
            report = {
                "ok": not result.problems,
                "events": result.events,
                "wallets": result.wallets,
                "seals": result.seals,
                "problems": [p.as_dict() for p in result.problems],
                "unsealed": [t.as_dict() for t in result.tails],
            }
            self.stdout.write(_json.dumps(report, indent=2))
        else:
            for problem in result.problems:
                where = f"wallet {problem.wallet_id}" + (
                    f" event #{problem.event_version}" if problem.event_version else ""
                )
                self.stderr.write(f"BAD {where}: {problem.detail}")
            for tail in result.tails:
                if not tail.stale:  # a stale one is among the problems above
                    self.stdout.write(
                        f"unsealed wallet {tail.wallet_id} events #{tail.first_version}..#{tail.last_version}, "
                        f"{tail.age_seconds:.1f} s old (within EVENT_SEAL_MAX_AGE_SECONDS)"
                    )
        if result.problems:
            sys.exit(1)
        if not json:
            self.stdout.write(
                self.style.SUCCESS(
                    f"all event chains verify: {result.events} events of {result.wallets} wallets, "
                    f"{result.seals} seals, {len(result.tails)} unsealed tail(s) within the window"
                )
            )


_json = json

"""Prove the ledger's invariants (DESIGN.md 1-4); exit 1 with a report on any break."""

import json
import sys

from django.core.management.base import BaseCommand

from wallets.integrity import Progress, reconcile


class Command(BaseCommand):
    help = "Check double entry, non-negative balances, projection = replay = postings, and the chains."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="print the report as JSON")

    def handle(self, *args, json=False, **options):
        problems = reconcile(progress=Progress.for_command(self))
        if json:
            self.stdout.write(_json.dumps({"ok": not problems, "problems": [p.as_dict() for p in problems]}, indent=2))
        elif problems:
            self.stderr.write(f"reconcile found {len(problems)} problem(s):")
            for p in problems:
                self.stderr.write(f"  [{p.check}] {'wallet ' + p.wallet_id + ': ' if p.wallet_id else ''}{p.detail}")
        else:
            self.stdout.write(self.style.SUCCESS("reconcile: every invariant holds"))
        if problems:
            sys.exit(1)


_json = json

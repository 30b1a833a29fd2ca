"""`manage.py seed_demo --wallets 100000 --events 1000000`: a realistic back-office data set, loaded
with COPY in a few minutes, that `verify_events` and `reconcile` accept (see crowdpay.demo_data).

PostgreSQL only. Refuses a database that already holds wallets unless `--force` (which adds a
second data set on top: every id and reference is new). The demo officers (`demo-officer-1..4`, in
the compliance officers' group) have no usable password: `manage.py changepassword demo-officer-1`
to sign in as one."""

import json

from django.core.management.base import BaseCommand, CommandError

from crowdpay import demo_data


class Command(BaseCommand):
    help = "Load a realistic demo data set (wallets, events, sagas, cases, KYC, audit) with COPY."

    def add_arguments(self, parser):
        parser.add_argument("--wallets", type=int, default=1000, help="wallets to open (about 1 in 10 a CrowdPod)")
        parser.add_argument("--events", type=int, default=10_000, help="events to write, about (WalletOpened included)")
        parser.add_argument("--seed", type=int, default=1, help="seed of the random mix")
        parser.add_argument("--force", action="store_true", help="add a data set to a database that has wallets")
        parser.add_argument("--json", action="store_true", help="print the summary as JSON")

    def handle(self, *args, wallets, events, seed, force, json, **options):
        if wallets < 1 or events < 1:
            raise CommandError("--wallets and --events must be positive")
        say = (lambda message: None) if json else (lambda message: self.stdout.write(message))
        try:
            summary = demo_data.seed(wallets=wallets, events=events, seed=seed, force=force, say=say)
        except demo_data.SeedRefused as exc:
            raise CommandError(str(exc)) from None
        if json:
            self.stdout.write(_json.dumps(summary, indent=2))
        else:
            self.stdout.write(
                self.style.SUCCESS(
                    f"seed_demo: {summary['wallets']:,} wallets, {summary['events']:,} events in "
                    f"{summary['seconds_total']} s (loading {summary['seconds_loading']} s, then VACUUM ANALYZE)"
                )
            )


_json = json

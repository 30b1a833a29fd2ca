"""Settle a payout of the built-in queue from the shell, as finance staff do in the admin
(Sagas > Payouts, "Mark selected payouts paid" / "... failed"): both call `sagas.services.payout_mark`,
which records who decided and why on the payout and resumes the waiting withdrawal."""

from __future__ import annotations

import getpass

from django.core.management.base import BaseCommand, CommandError

from crowdpay.errors import DomainError
from sagas import selectors, services
from sagas.models import Saga


def _default_actor() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no login name (a container without a passwd entry)
        user = "unknown"
    return f"{user} (manage.py payout_settle)"


class Command(BaseCommand):
    help = (
        "Mark a payout of the built-in queue PAID or FAILED (what finance staff do in the admin): the "
        "waiting withdrawal then captures its hold (paid) or releases it (failed)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "payout",
            help="the payout's id, its reference, or the withdrawal's operation id (the same as the reference)",
        )
        outcome = parser.add_mutually_exclusive_group(required=True)
        outcome.add_argument("--paid", action="store_true", help="the money left: capture the withdrawal's hold")
        outcome.add_argument(
            "--failed", action="store_true", help="the payout failed: release the hold (needs --reason)"
        )
        parser.add_argument("--reason", default="", help="why; required with --failed, recorded on the payout")
        parser.add_argument("--actor", default="", help="who decides (default: the OS user), recorded on the payout")

    def handle(self, *args, payout, paid, failed, reason, actor, **options):
        actor = (actor or "").strip() or _default_actor()
        if paid and not reason.strip():
            reason = "marked paid with manage.py payout_settle"
        try:
            found = selectors.payout_find(key=payout)
            before = found.status
            settled = services.payout_mark(payout_id=found.id, paid=paid, actor=actor, reason=reason)
        except DomainError as exc:
            raise CommandError(f"{exc.code}: {exc.detail}") from None
        if settled.status == before:
            self.stdout.write(f"payout {settled.id} was already {settled.status}: nothing changed")
            return
        line = f"payout {settled.id} ({settled.amount} {settled.currency} to {settled.destination}) {settled.status}"
        saga = Saga.objects.filter(pk=settled.saga_id).first() if settled.saga_id else None
        if saga is not None:
            # With a worker the withdrawal resumes there; without REDIS_URL it already ran in-process.
            line += f"; withdrawal {saga.id} is {selectors.operation_status(saga)}"
        self.stdout.write(self.style.SUCCESS(line))

"""Re-enqueue every running saga whose next attempt is due (what the beat sweeper does)."""

from datetime import timedelta

from django.core.management.base import BaseCommand
from django.utils import timezone

from sagas.services import sagas_resume_due


class Command(BaseCommand):
    help = "Re-enqueue stuck sagas: every running saga whose next attempt (lease or backoff) is due."

    def add_arguments(self, parser):
        parser.add_argument(
            "--all",
            action="store_true",
            help="re-enqueue every running saga now, whatever its next attempt time and its queued mark",
        )

    def handle(self, *args, all=False, **options):
        now = timezone.now() + (timedelta(days=36500) if all else timedelta(0))
        count = sagas_resume_due(now=now, force=all)
        self.stdout.write(self.style.SUCCESS(f"resume_sagas: {count} saga(s) re-enqueued"))

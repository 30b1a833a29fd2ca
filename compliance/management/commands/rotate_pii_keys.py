"""Re-encrypt every personal-data value under the newest PII key (the last of PII_ENCRYPTION_KEYS).

Safe to run while the service runs and safe to re-run: rows are re-encrypted in small batches, each
in its own transaction under a row lock, and a value already under the newest key is left alone.
Once it reports zero stale values, older keys may be removed from PII_ENCRYPTION_KEYS.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.db import transaction
from django.db.models import Q

from compliance import crypto
from compliance.fields import EncryptedTextField
from compliance.models import KycProfile

MODELS = (KycProfile,)


def stale_query(model, current_id: str) -> Q:
    """Rows with at least one encrypted value under a key other than `current_id`."""
    prefix = f"{crypto.PREFIX}:{current_id}:"
    query = Q()
    for field in model._meta.concrete_fields:
        if isinstance(field, EncryptedTextField):
            query |= (
                Q(**{f"{field.name}__isnull": False})
                & ~Q(**{field.name: ""})
                & ~Q(**{f"{field.name}__startswith": prefix})
            )
    return query


def rotate(*, batch_size: int = 200) -> dict[str, int]:
    current = crypto.key_ring().current_id
    counts: dict[str, int] = {}
    for model in MODELS:
        names = [f.name for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
        done = 0
        while True:
            with transaction.atomic():
                rows = list(
                    model.objects.select_for_update(skip_locked=True)
                    .filter(stale_query(model, current))
                    .order_by("pk")[:batch_size]
                )
                for row in rows:
                    row.save(update_fields=names)  # saving encrypts under the newest key
            done += len(rows)
            if len(rows) < batch_size:
                break
        counts[model._meta.label] = done
    return counts


class Command(BaseCommand):
    help = "Re-encrypt personal data under the newest key of PII_ENCRYPTION_KEYS."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=200)

    def handle(self, *args, batch_size: int, **options):
        current = crypto.key_ring().current_id
        for label, count in rotate(batch_size=batch_size).items():
            self.stdout.write(f"{label}: {count} row(s) re-encrypted under key {current!r}")
        left = sum(m.objects.filter(stale_query(m, current)).count() for m in MODELS)
        self.stdout.write(f"{left} row(s) still under an older key")

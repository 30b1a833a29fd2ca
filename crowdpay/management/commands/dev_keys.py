"""Create the development RSA key pair for tokens if it is missing."""

from django.conf import settings
from django.core.management.base import BaseCommand

from crowdpay.keys import ensure_dev_keys


class Command(BaseCommand):
    help = "Write a development RSA key pair for JWTs under JWT_KEY_DIR (var/keys) if none exists."

    def handle(self, *args, **options):
        if ensure_dev_keys():
            self.stdout.write(f"wrote a development key pair to {settings.JWT_KEY_DIR}")
        else:
            self.stdout.write(f"development key pair present in {settings.JWT_KEY_DIR}")

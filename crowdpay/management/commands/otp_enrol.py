"""Enrol a TOTP device for a staff user (the admin's second factor, `ADMIN_REQUIRE_OTP`).

    manage.py otp_enrol <username> [--name phone]

Prints the otpauth:// URL (paste it into an authenticator app, or make a QR code of it); the key is
shown this once. A superuser can also add a device in the admin (OTP_TOTP → TOTP devices)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django_otp.plugins.otp_totp.models import TOTPDevice


class Command(BaseCommand):
    help = "Enrol a TOTP device for a staff user and print its otpauth:// URL."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="authenticator", help="the device's name (default: authenticator)")

    def handle(self, *args, username: str, name: str, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user {username!r}")
        if not user.is_staff:
            raise CommandError(f"{username!r} is not staff: the admin's second factor is for staff")
        device = TOTPDevice.objects.create(user=user, name=name, confirmed=True)
        self.stdout.write(device.config_url)

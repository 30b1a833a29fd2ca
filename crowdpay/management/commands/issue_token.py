"""Mint a development bearer token signed with the local private key (see `manage.py dev_keys`)."""

import uuid

from django.core.management.base import BaseCommand, CommandError

from crowdpay.api.permissions import SCOPES
from crowdpay.api.tokens import token_issue


class Command(BaseCommand):
    help = "Print an RS256 JWT for --sub with --scope, valid for --ttl seconds (development only)."

    def add_arguments(self, parser):
        parser.add_argument("--sub", required=True, help="the caller's user id (a UUID)")
        parser.add_argument(
            "--scope",
            default="wallet:create wallet:read wallet:credit wallet:debit wallet:transfer",
            help=f"space-separated scopes, among: {' '.join(SCOPES)}",
        )
        parser.add_argument("--ttl", type=int, default=3600, help="lifetime in seconds (default 3600)")

    def handle(self, *args, sub, scope, ttl, **options):
        try:
            sub = uuid.UUID(sub)
        except ValueError:
            raise CommandError(f"--sub must be a UUID, not {sub!r}") from None
        if ttl <= 0:
            raise CommandError("--ttl must be a positive number of seconds")
        unknown = sorted(set(scope.split()) - set(SCOPES))
        if unknown:
            raise CommandError(f"unknown scope(s): {', '.join(unknown)}; known: {' '.join(SCOPES)}")
        self.stdout.write(token_issue(sub=sub, scope=scope, ttl=ttl))

"""Per-caller throttling of writes. Reads (long-polls included) are not counted."""

from __future__ import annotations

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle


class CallerWriteThrottle(SimpleRateThrottle):
    scope = "write"

    def get_rate(self) -> str:
        # Read at request time (not import time) so the environment and tests can change it.
        return settings.API_WRITE_THROTTLE_RATE

    def allow_request(self, request, view) -> bool:
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return True
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request, view) -> str | None:
        user = getattr(request, "user", None)
        if user is None or not getattr(user, "is_authenticated", False):
            return None  # anonymous writes are refused with 401 anyway
        return self.cache_format % {"scope": self.scope, "ident": user.pk}

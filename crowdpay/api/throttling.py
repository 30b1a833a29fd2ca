"""Per-caller throttling of writes. Reads (long-polls included) are not counted.

With the Redis cache (every deployment with REDIS_URL) the caller's window is a sorted set of the
times of its allowed writes, and one Lua script drops what left the window, counts, and admits the
request or not: one round trip, atomic. DRF's own throttle reads the history and writes it back in
two round trips, so concurrent writes of one caller all read the same history and were all let
through (a caller with a limit of 10 got far more than 10 through at once). The script takes the
time from Redis itself, so web servers with skewed clocks share one window. Without Redis (the
embedded single-process default) DRF's throttle over the local-memory cache is used as it is.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.core.exceptions import ImproperlyConfigured
from rest_framework.throttling import SimpleRateThrottle

# KEYS[1]: the caller's window. ARGV: window length (ms), limit, a member unique to this request.
# Returns {1, 0} when admitted, else {0, milliseconds until the oldest write leaves the window}.
_ADMIT = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local window, limit = tonumber(ARGV[1]), tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now_ms - window)
if redis.call('ZCARD', KEYS[1]) >= limit then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {0, tonumber(oldest[2]) + window - now_ms}
end
redis.call('ZADD', KEYS[1], now_ms, ARGV[3])
redis.call('PEXPIRE', KEYS[1], window)
return {1, 0}
"""


_scripts: dict[str, object] = {}


def _script(cache: RedisCache):
    """The registered script on a client of the cache's own connection pool, built once per process
    and Redis location (Django's cache builds a client on every call)."""
    location = ",".join(cache._servers)  # type: ignore[attr-defined]  # set by Django, absent from the stubs
    script = _scripts.get(location)
    if script is None:
        script = _scripts[location] = cache._cache.get_client(None, write=True).register_script(_ADMIT)
    return script


class CallerWriteThrottle(SimpleRateThrottle):
    scope = "write"
    _retry_after: float | None = None

    def get_rate(self) -> str:
        # Read at request time (not import time) so the environment and tests can change it.
        return settings.API_WRITE_THROTTLE_RATE

    def allow_request(self, request, view) -> bool:
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return True
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        cache = caches["default"]
        if not isinstance(cache, RedisCache):
            return super().allow_request(request, view)
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        if self.duration is None:  # parse_rate gives one for every rate string (get_rate returns one)
            raise ImproperlyConfigured(f"API_WRITE_THROTTLE_RATE {self.rate!r} has no duration")
        admitted, wait_ms = _script(cache)(
            keys=[cache.make_key(key)], args=[self.duration * 1000, self.num_requests, uuid.uuid4().hex]
        )
        if admitted:
            return True
        self._retry_after = max(int(wait_ms), 0) / 1000
        return False

    def wait(self) -> float | None:
        if self._retry_after is not None:
            return self._retry_after
        return super().wait()

    def get_cache_key(self, request, view) -> str | None:
        user = getattr(request, "user", None)
        if user is None or not getattr(user, "is_authenticated", False):
            return None  # anonymous writes are refused with 401 anyway
        return self.cache_format % {"scope": self.scope, "ident": user.pk}

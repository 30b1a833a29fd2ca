"""Liveness and readiness probes."""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.http import JsonResponse


def healthz(request):
    """The process is up and serving requests."""
    return JsonResponse({"status": "ok"})


def _check_database() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def _check_broker() -> str | None:
    if not settings.REDIS_URL:
        return None  # tasks run in-process: there is no broker to wait for
    import redis

    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1).ping()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def readyz(request):
    """The database and the broker answer; 503 names the dependency that does not."""
    failures = {name: error for name, error in (("database", _check_database()), ("broker", _check_broker())) if error}
    if failures:
        return JsonResponse(
            {
                "type": "about:blank",
                "title": "Service not ready",
                "status": 503,
                "code": "dependency_unavailable",
                "detail": "not ready: " + ", ".join(sorted(failures)),
                "failures": failures,
            },
            status=503,
            content_type="application/problem+json",
        )
    return JsonResponse({"status": "ready", "database": "ok", "broker": "ok" if settings.REDIS_URL else "in-process"})

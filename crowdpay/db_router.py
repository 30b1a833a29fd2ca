"""Read replicas: which database a query goes to, and read-your-writes across requests.

`REPLICA_DATABASE_URLS` adds the databases `replica_0`, `replica_1` … (PostgreSQL streaming
replicas of `default`). Nothing reads from them unless a request opts in: `ReplicaReadsMiddleware`
marks a GET/HEAD of a read-only view (`REPLICA_VIEW_NAMES`: wallet reads, event pages, operation
polls, the admin's changelists) as replica-readable, and `PrimaryReplicaRouter` then sends its reads
of the ledger's models to one healthy replica, chosen once per request so that its reads share one
snapshot in time. Everything else goes to the primary:

* every write (the router's `db_for_write`), every lock (`select_for_update` runs in a transaction)
  and every read inside a transaction or atomic block: a read that decides a write must see the
  rows it will lock, not a copy that is milliseconds old;
* every read in a request that has written (a statement other than a plain SELECT on the primary);
* reads of auth, sessions, content types, the admin log and idempotency keys (`PRIMARY_ONLY_APPS`):
  an officer who just signed in must not look signed out, a key just stored must be found.

**Read-your-writes.** After a request that wrote, the response carries
`CrowdPay-Read-After: <LSN>`, the primary's WAL insert position read after the commit (it is at or
past the commit record). A client that echoes the highest LSN it has seen on its later requests
(the SDK does) is served from a replica only once that replica's `pg_last_wal_replay_lsn()` has
reached it; until then from the primary. Browsers get the same value in a cookie of that name, so
an officer's next changelist shows the freeze they just made.

**Health.** A replica's replay position and lag are read with one query and kept for
`REPLICA_STATUS_CACHE_SECONDS` (100 ms) in this process. The replay position only moves forward,
so a cached value can only be too old, which sends a read to the primary: never a stale answer.
A replica that lags more than `REPLICA_MAX_LAG_SECONDS`, is not in recovery, or does not answer is
skipped for the request (metric `db_replica_skipped_total{reason}`, a warning in the log); one that
fails mid-request (stopped, connection cut) makes the middleware run the (safe, read-only) request
again on the primary. The user never sees a replica's failure.

**Stateless web processes.** The only per-process state here is that 100 ms status cache, a hint
that errs towards the primary; the routing of one request lives in a context variable that dies
with it. Shared state (throttle counters, idempotency keys, saga marks) is in Redis or PostgreSQL.
"""

from __future__ import annotations

import contextvars
import logging
import random
import re
import threading
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.http import JsonResponse
from prometheus_client import Counter

log = logging.getLogger(__name__)

HEADER = "CrowdPay-Read-After"
COOKIE = "crowdpay-read-after"
_META = "HTTP_CROWDPAY_READ_AFTER"
_SAFE_METHODS = ("GET", "HEAD")  # the methods whose reads may go to a replica (and be run again)
_NO_WRITE_METHODS = ("GET", "HEAD", "OPTIONS")  # no WAL position is read after these unless they wrote
_LSN_RE = re.compile(r"^([0-9A-Fa-f]{1,8})/([0-9A-Fa-f]{1,8})$")

# The read-only views whose reads may come from a replica (URL names, see each app's api/urls.py);
# every admin changelist too. A view not named here reads from the primary.
REPLICA_VIEW_NAMES = frozenset({"wallet-list", "wallet-detail", "wallet-events", "operation"})
PRIMARY_ONLY_APPS = frozenset({"auth", "sessions", "contenttypes", "admin", "crowdpay"})
# A replica that refused a connection or failed a query is not asked again for this long.
DOWN_BACKOFF_SECONDS = 1.0

REPLICA_SKIPPED = Counter(
    "db_replica_skipped",
    "Replica-readable requests whose reads went to the primary instead of a replica, by reason "
    "(lag, down, behind = not yet at the client's CrowdPay-Read-After, not_in_recovery, failed = died mid-request).",
    ["reason"],
)


def parse_lsn(text: str) -> int:
    """'16/B374D848' -> the 64-bit WAL position; ValueError when it is not an LSN."""
    match = _LSN_RE.match(text.strip())
    if not match:
        raise ValueError(f"not a PostgreSQL LSN: {text!r}")
    return (int(match.group(1), 16) << 32) | int(match.group(2), 16)


def format_lsn(position: int) -> str:
    return f"{position >> 32:X}/{position & 0xFFFFFFFF:X}"


def replica_aliases() -> list[str]:
    return [alias for alias in settings.DATABASES if alias.startswith("replica_")]


# --- replica status (per process, a short-lived hint) -------------------------------------------


@dataclass(frozen=True)
class ReplicaStatus:
    checked_at: float
    replay_lsn: int | None = None
    lag_seconds: float = 0.0
    skip_reason: str | None = None  # None: usable (subject to the caller's LSN)


_STATUS_SQL = """
SELECT pg_is_in_recovery(),
       pg_last_wal_replay_lsn()::text,
       CASE WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0
            ELSE COALESCE(EXTRACT(EPOCH FROM clock_timestamp() - pg_last_xact_replay_timestamp()), 0)
       END::float8
"""
_statuses: dict[str, ReplicaStatus] = {}
_statuses_lock = threading.Lock()


def _read_status(alias: str) -> ReplicaStatus:
    """One query on the replica. Lag is the age of the last replayed transaction while WAL received
    is still waiting to be replayed, and 0 when the replica has replayed all it received (an idle
    primary sends nothing, which is no lag)."""
    now = time.monotonic()
    conn = connections[alias]
    try:
        if conn.connection is not None and conn.errors_occurred:
            conn.close()
        with conn.cursor() as cursor:
            cursor.execute(_STATUS_SQL)
            in_recovery, replay, lag = cursor.fetchone()
    except DatabaseError as exc:
        log.warning("replica %s does not answer: %s", alias, str(exc).strip()[:200])
        try:
            conn.close()
        except DatabaseError:
            pass
        return ReplicaStatus(checked_at=now + DOWN_BACKOFF_SECONDS, skip_reason="down")
    if not in_recovery or replay is None:
        return ReplicaStatus(checked_at=now + DOWN_BACKOFF_SECONDS, skip_reason="not_in_recovery")
    status = ReplicaStatus(checked_at=now, replay_lsn=parse_lsn(replay), lag_seconds=float(lag))
    if status.lag_seconds > settings.REPLICA_MAX_LAG_SECONDS:
        return ReplicaStatus(now, status.replay_lsn, status.lag_seconds, skip_reason="lag")
    return status


def replica_status(alias: str, *, fresh: bool = False) -> ReplicaStatus:
    cached = _statuses.get(alias)
    ttl = settings.REPLICA_STATUS_CACHE_SECONDS
    if not fresh and cached is not None and time.monotonic() - cached.checked_at < ttl:
        return cached
    status = _read_status(alias)
    with _statuses_lock:
        _statuses[alias] = status
    return status


def mark_down(alias: str) -> None:
    with _statuses_lock:
        _statuses[alias] = ReplicaStatus(checked_at=time.monotonic() + DOWN_BACKOFF_SECONDS, skip_reason="down")


def _skip(alias: str, reason: str, detail: str = "") -> None:
    REPLICA_SKIPPED.labels(reason=reason).inc()
    log.warning("replica %s skipped (%s)%s", alias, reason, f": {detail}" if detail else "")


def choose_replica(min_lsn: int | None) -> str | None:
    """A replica that is up, within the lag bound and at or past `min_lsn`; None: the primary.
    Replicas are tried from a random one on, so several spread the load."""
    aliases = replica_aliases()
    if not aliases:
        return None
    start = random.randrange(len(aliases))  # load spreading, not security  # nosec B311
    for alias in aliases[start:] + aliases[:start]:
        status = replica_status(alias)
        if status.skip_reason is None and min_lsn is not None and (status.replay_lsn or 0) < min_lsn:
            status = replica_status(alias, fresh=True)  # it may have caught up since it was cached
            if status.skip_reason is None and (status.replay_lsn or 0) < min_lsn:
                _skip(alias, "behind", f"replayed {format_lsn(status.replay_lsn or 0)} < {format_lsn(min_lsn)}")
                continue
        if status.skip_reason is not None:
            _skip(alias, status.skip_reason, f"lag {status.lag_seconds:.1f} s" if status.skip_reason == "lag" else "")
            continue
        if connections[alias].connection is None:
            connections[alias].errors_occurred = False  # a closed connection's flag from an earlier request
        return alias
    return None


# --- the routing of one request ------------------------------------------------------------------

_UNSET = "<unset>"
# EXECUTE: a statement prepared by `crowdpay.prepared`, used on the write path only: taken for a write.
_WRITE_RE = re.compile(
    r"^\s*(INSERT|UPDATE|DELETE|MERGE|COPY|TRUNCATE|CREATE|ALTER|DROP|LOCK|EXECUTE)\b", re.IGNORECASE
)
_LOCK_RE = re.compile(r"\bFOR\s+(NO\s+KEY\s+)?(UPDATE|SHARE|KEY\s+SHARE)\b", re.IGNORECASE)
# A write or a lock behind a SELECT: the ledger's movement (`wallets.executor`, one call that writes
# in autocommit) and advisory locks.
_CALL_RE = re.compile(r"^\s*SELECT\s+(ledger_execute|pg_advisory_\w*lock\w*)\s*\(", re.IGNORECASE)


@dataclass
class RequestRoute:
    replica_readable: bool = False
    min_lsn: int | None = None
    wrote: bool = False
    alias: str = _UNSET
    used: set[str] = field(default_factory=set)

    def replica_for_read(self) -> str | None:
        if not self.replica_readable or self.wrote or connections[DEFAULT_DB_ALIAS].in_atomic_block:
            return None
        if self.alias == _UNSET:
            chosen = choose_replica(self.min_lsn)
            self.alias = chosen or DEFAULT_DB_ALIAS
        if self.alias == DEFAULT_DB_ALIAS:
            return None
        self.used.add(self.alias)
        return self.alias

    def watch_primary(self, execute, sql, params, many, context):
        """execute_wrapper on the primary: a write or a lock ends replica reads for this request."""
        if not self.wrote and (_WRITE_RE.match(sql) or _CALL_RE.match(sql) or _LOCK_RE.search(sql)):
            self.wrote = True
        return execute(sql, params, many, context)


_route: contextvars.ContextVar[RequestRoute | None] = contextvars.ContextVar("crowdpay_db_route", default=None)


class PrimaryReplicaRouter:
    """Django database router (DATABASE_ROUTERS): replica reads only inside a replica-readable
    request and outside any transaction; everything else, and every write, on `default`."""

    def db_for_read(self, model, **hints):
        route = _route.get()
        if route is None or model._meta.app_label in PRIMARY_ONLY_APPS:
            return DEFAULT_DB_ALIAS
        return route.replica_for_read() or DEFAULT_DB_ALIAS

    def db_for_write(self, model, **hints):
        route = _route.get()
        if route is not None:
            route.wrote = True
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        # A replica holds the primary's rows: objects read from either may be related.
        return True

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        # The schema reaches the replicas through replication, never by `migrate`.
        return db == DEFAULT_DB_ALIAS


def current_insert_lsn() -> str | None:
    """The primary's WAL insert position, read after the request's commit; None when unreadable."""
    try:
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute("SELECT pg_current_wal_insert_lsn()::text")
            return cursor.fetchone()[0]
    except DatabaseError:
        log.warning("WAL position not read: no %s header on this response", HEADER, exc_info=True)
        return None


def _invalid_header(request, value: str) -> JsonResponse:
    from crowdpay.api.problems import CONTENT_TYPE, problem

    body = problem(
        400,
        "invalid_read_after",
        f"the {HEADER} header must be a PostgreSQL LSN as this service sent it (e.g. 16/B374D848), not {value[:40]!r}",
        instance=request.path,
    )
    return JsonResponse(body, status=400, content_type=CONTENT_TYPE)


class ReplicaReadsMiddleware:
    """Opens a request's routing (above), answers the WAL position after a write, and runs a
    replica-readable request again on the primary when its replica failed during it.

    Placed before the session middleware, so the LSN is read after every write of the request,
    the session's included."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response
        self.enabled = bool(replica_aliases()) and connections[DEFAULT_DB_ALIAS].vendor == "postgresql"

    def __call__(self, request):
        raw = request.META.get(_META, "")
        min_lsn = None
        if raw:
            try:
                min_lsn = parse_lsn(raw)
            except ValueError:
                return _invalid_header(request, raw)
        if not self.enabled:
            return self.get_response(request)
        cookie = request.COOKIES.get(COOKIE, "")
        if cookie:
            try:
                min_lsn = max(min_lsn or 0, parse_lsn(cookie))
            except ValueError:
                pass  # a cookie is ours to ignore: the next write sets a good one
        route = RequestRoute(min_lsn=min_lsn)
        token = _route.set(route)
        try:
            with connections[DEFAULT_DB_ALIAS].execute_wrapper(route.watch_primary):
                response = self.get_response(request)
                failed = [alias for alias in route.used if connections[alias].errors_occurred]
                if failed and request.method in _SAFE_METHODS:
                    for alias in failed:
                        mark_down(alias)
                        _skip(alias, "failed", f"{request.method} {request.path} runs again on the primary")
                        try:
                            connections[alias].close()
                        except DatabaseError:
                            pass
                    route.replica_readable, route.alias = False, DEFAULT_DB_ALIAS
                    response = self.get_response(request)
            if route.wrote or request.method not in _NO_WRITE_METHODS:
                lsn = current_insert_lsn()
                if lsn:
                    response[HEADER] = lsn
                    if not request.path.startswith("/v1/"):
                        response.set_cookie(COOKIE, lsn, max_age=60, httponly=True, samesite="Lax")
        finally:
            _route.reset(token)
        return response

    def process_view(self, request, view_func, view_args, view_kwargs):
        route = _route.get()
        if route is None or request.method not in _SAFE_METHODS:
            return None
        match = request.resolver_match
        name = match.url_name if match else None
        if name in REPLICA_VIEW_NAMES or (match and match.app_name == "admin" and (name or "").endswith("_changelist")):
            route.replica_readable = True
        return None

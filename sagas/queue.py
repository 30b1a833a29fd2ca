"""Getting a saga to a worker: the message on commit, the lease, and the sweeper.

A saga row is its own outbox: every write that leaves it running sets `next_attempt_at`, a lease
(`lease()`), and sends `saga_advance` once the transaction commits (`enqueue`). A lost message loses
nothing: the sweeper (`sagas_resume_due`, on Celery beat and `manage.py resume_sagas`) re-enqueues
a saga once its lease is due, within seconds of a worker's death (the worst case is worked out
there). While a step runs, `lease_kept` renews its lease so the sweeper never resends a saga whose
step is still running.

**Queued marks.** A message for a saga waits in the queue: its mark, in the cache (Redis), lets the
sweeper leave the saga alone instead of sending it again each time its lease runs out while the
workers are behind (which only lengthened the backlog). The task takes the mark off as it starts,
so a worker that dies mid-step leaves no mark and the sweeper resends at the lease; a send that
fails takes its mark off too. A mark the sweeper can prove stale does not hold it back (it used to
trust every mark for five leases: a worker killed with messages it had taken but not started, which
the broker gives back only after its visibility timeout of an hour, delayed their sagas by minutes):
  - a mark records the message's place in the order of sends (a counter in the cache). While the
    message waits in the queue (FIFO) fewer sends came after it than the queue holds; once as many
    came after it as the queue holds, it has left the queue;
  - a worker that takes a message (`task_received`, before any countdown or a free pool process)
    writes its name into the mark, and keeps a key of its own alive (SAGA_WORKER_ALIVE_SECONDS,
    renewed every third of that) while it runs. A mark whose worker's key is gone is stale.
A wrong "stale" (a send and a receipt racing the sweeper) costs one duplicate message: a no-op run.
Where neither proof can be made (no counter, the queue cannot be read) a mark is trusted for its
life: its countdown plus SAGA_QUEUED_MARK_SECONDS. `resume_sagas --all` ignores marks. The marks are
an optimisation of the sweeper, never needed for a saga to move: when the cache cannot be reached
the sweeper sends as it did without them.

This module knows saga rows only by id and lease: it never changes a saga's state.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone

from .models import Saga

log = logging.getLogger(__name__)


def _setting(name: str, default):
    return getattr(settings, name, default)


def max_attempts() -> int:
    return _setting("SAGA_MAX_ATTEMPTS", 5)


def lease() -> timedelta:
    """How long a running saga may go without a step (or a renewal of its running step's lease, see
    `lease_kept`) before the sweeper re-enqueues it."""
    return timedelta(seconds=_setting("SAGA_LEASE_SECONDS", 20))


def payout_poll() -> timedelta:
    return timedelta(seconds=_setting("SAGA_PAYOUT_POLL_SECONDS", 60))


def backoff(attempt: int) -> float:
    """Seconds before try `attempt + 1`: exponential from SAGA_RETRY_BASE_SECONDS, capped at
    SAGA_RETRY_MAX_SECONDS, with jitter (a uniform draw from the upper half) so retries spread."""
    base = _setting("SAGA_RETRY_BASE_SECONDS", 2.0)
    cap = _setting("SAGA_RETRY_MAX_SECONDS", 300.0)
    delay = min(cap, base * 2 ** max(attempt - 1, 0))
    return random.uniform(delay / 2, delay)  # retry jitter, not a secret  # nosec B311


def eager() -> bool:
    """Tasks run in-process (no broker): a delayed message would run at once."""
    from .tasks import saga_advance as task

    return bool(task.app.conf.task_always_eager)


def enqueue(saga_id: uuid.UUID, *, countdown: float | None = None, marked: bool = False) -> None:
    """Send the saga to the worker once the current transaction commits (at once outside one),
    marking it queued (`queued_mark`) unless the caller did. A lost message loses nothing: the
    sweeper finds the saga by its lease."""
    from .tasks import saga_advance as task

    def send() -> None:
        if not marked:
            queued_mark(saga_id, countdown=countdown)
        try:
            task.apply_async(args=[str(saga_id)], countdown=countdown)
        except Exception:
            queued_unmark(saga_id)  # no message went out: the sweeper must not wait for one
            raise

    transaction.on_commit(send, robust=True)


# --- queued marks (see the module docstring) ------------------------------------------------------

_SENDS_KEY = "saga-queued-sends"


def queued_key(saga_id: uuid.UUID | str) -> str:
    """The cache key of a saga's queued mark: `(place in the order of sends, holding worker)`."""
    return f"saga-queued:{saga_id}"


def _alive_key(worker: str) -> str:
    return f"saga-worker:{worker}"


def _mark_life() -> float:
    return _setting("SAGA_QUEUED_MARK_SECONDS", None) or 600.0


def _next_send() -> int | None:
    """The next number in the order of sends (one INCR), or None when the cache cannot count."""
    try:
        key = cache.make_and_validate_key(_SENDS_KEY)
        client = getattr(getattr(cache, "_cache", None), "get_client", None)
        if client is not None:  # Redis: one atomic INCR (Django's incr is two round trips)
            return int(client(key, write=True).incr(key))
        try:
            return cache.incr(_SENDS_KEY)
        except ValueError:
            cache.add(_SENDS_KEY, 0, None)
            return cache.incr(_SENDS_KEY)
    except Exception:
        log.warning("saga send not counted", exc_info=True)
        return None


def queued_mark(saga_id: uuid.UUID | str, *, countdown: float | None = None, only_if_absent: bool = False) -> bool:
    """Mark the saga queued (its place in the order of sends) for its message's countdown plus the
    mark's life. With `only_if_absent`, False when a mark was already there: nothing is sent."""
    timeout = (countdown or 0) + _mark_life()
    value = (_next_send(), None)
    try:
        if only_if_absent:
            return bool(cache.add(queued_key(saga_id), value, timeout))
        cache.set(queued_key(saga_id), value, timeout)
    except Exception:  # the cache is down: send without the mark (a duplicate only costs a no-op run)
        log.warning("saga queued mark not written", extra={"saga_id": str(saga_id)}, exc_info=True)
    return True


def queued_unmark(saga_id: uuid.UUID | str) -> None:
    """The saga's message was taken by a worker (called as its task starts)."""
    try:
        cache.delete(queued_key(saga_id))
    except Exception:  # its mark then expires on its own; the saga runs all the same
        log.warning("saga queued mark not removed", extra={"saga_id": str(saga_id)}, exc_info=True)


def queued_held(saga_id: uuid.UUID | str, *, countdown: float | None = None) -> None:
    """A worker received the saga's message (it may wait for its countdown or a free process): the
    mark names this worker, so it stands only while the worker is alive (`worker_alive_start`)."""
    worker = worker_alive_start()
    try:
        cache.set(queued_key(saga_id), (None, worker), max(countdown or 0, 0) + _mark_life())
    except Exception:
        log.warning("saga queued mark not written", extra={"saga_id": str(saga_id)}, exc_info=True)


_worker_lock = threading.Lock()
_worker: dict = {"pid": None, "name": None}


def worker_alive_start() -> str:
    """This worker process's name for the marks (unique per start: a worker restarted under the same
    host name is not its dead predecessor), kept alive in the cache by a daemon thread."""
    with _worker_lock:
        if _worker["pid"] == os.getpid():
            return _worker["name"]
        name = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        _worker.update(pid=os.getpid(), name=name)
    ttl = _setting("SAGA_WORKER_ALIVE_SECONDS", 10.0)

    def keep_alive() -> None:
        while True:
            try:
                cache.set(_alive_key(name), 1, ttl)
            except Exception:  # the cache is down: its marks look stale, the sweeper sends again
                log.warning("saga worker key not renewed", exc_info=True)
            time.sleep(ttl / 3)

    try:
        cache.set(_alive_key(name), 1, ttl)
    except Exception:
        log.warning("saga worker key not written", exc_info=True)
    threading.Thread(target=keep_alive, name="saga-worker-alive", daemon=True).start()
    return name


def _queue_place() -> tuple[int, int] | None:
    """(sends counted so far, messages in the broker's queue), read in that order; None when either
    cannot be read (eager mode, no counter, the broker unreachable)."""
    from kombu.exceptions import ChannelError

    from crowdpay import queues

    from .tasks import saga_advance as task

    app = task.app
    if app.conf.task_always_eager:
        return None
    try:
        sends = cache.get(_SENDS_KEY)
        if not isinstance(sends, int):
            return None
        # the queue saga_advance is routed to (crowdpay/queues.py), not the default one
        queue = queues.queue_of(task.name) or app.conf.task_default_queue
        with app.pool.acquire(block=True, timeout=_setting("BROKER_TIMEOUT_SECONDS", 2.0)) as conn:
            try:
                size = conn.default_channel.queue_declare(queue=queue, passive=True)[1]
            except ChannelError:
                size = 0  # Redis: an empty queue does not exist
        return sends, size
    except Exception:
        log.warning("saga queue not read", exc_info=True)
        return None


def _queued_waiting(saga_ids: list) -> set:
    """The sagas among `saga_ids` whose mark still stands for a message that will run: one held by a
    live worker, or one that has not left the queue (above). A mark neither proof covers is trusted."""
    try:
        found = cache.get_many([queued_key(s) for s in saga_ids])
    except Exception:  # the cache is down: send them all, as without marks
        log.warning("saga queued marks not read", exc_info=True)
        return set()
    marks = {}
    for saga_id in saga_ids:
        value = found.get(queued_key(saga_id))
        if value is not None:
            marks[saga_id] = value if isinstance(value, tuple) and len(value) == 2 else (None, None)
    holders = {holder for _, holder in marks.values() if holder}
    try:
        alive = cache.get_many([_alive_key(h) for h in holders]) if holders else {}
    except Exception:
        alive = {_alive_key(h): 1 for h in holders}
    place = _queue_place() if any(s is not None and not h for s, h in marks.values()) else None
    waiting = set()
    for saga_id, (sent, holder) in marks.items():
        if holder:
            stands = _alive_key(holder) in alive
        elif sent is None or place is None:
            stands = True
        else:
            stands = place[0] - sent < place[1]  # fewer sends after it than the queue holds
        if stands:
            waiting.add(saga_id)
    return waiting


# --- leases ---------------------------------------------------------------------------------------


@contextmanager
def lease_kept(saga: Saga) -> Iterator[None]:
    """While a step runs (a gateway call may take GATEWAY_TIMEOUT_SECONDS, and more with its own
    tries), keep its lease: a daemon thread moves `next_attempt_at` to a full lease from now whenever
    less than half of it is left (at once when the step starts late), so the sweeper never resends a
    saga whose step is still running, and a dead worker's saga is due within one lease. Each renewal
    is a compare-and-set on the lease it last wrote: once the step has recorded itself (a new state,
    a backoff, the end) or someone else moved the lease, the thread stops touching the saga. A step
    that ends within half a lease of its last record costs nothing (the thread only waits)."""
    if saga.next_attempt_at is None:
        yield
        return
    held: datetime = saga.next_attempt_at
    stop = threading.Event()
    margin = lease() / 2

    def keep() -> None:
        nonlocal held
        try:
            while not stop.wait(max((held - margin - timezone.now()).total_seconds(), 0.0)):
                renewed = timezone.now() + lease()
                if not Saga.objects.filter(pk=saga.id, state=saga.state, next_attempt_at=held).update(
                    next_attempt_at=renewed
                ):
                    return
                held = renewed
        except Exception:  # the database is away: the lease runs out, the sweeper resends (idempotent)
            log.warning("saga lease not renewed", extra={"saga_id": str(saga.id)}, exc_info=True)
        finally:
            connection.close()

    thread = threading.Thread(target=keep, name=f"saga-lease-{saga.id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()


def retry_delay(saga: Saga | None) -> float | None:
    """Seconds until a saga backing off from a transient error should run again, else None."""
    if saga is None or saga.is_terminal or saga.state == Saga.State.IN_REVIEW or not saga.attempts:
        return None
    if saga.next_attempt_at is None:
        return None
    return max((saga.next_attempt_at - timezone.now()).total_seconds(), 0.0)


def sagas_resume_due(*, now: datetime | None = None, limit: int = 500, force: bool = False) -> int:
    """The sweeper: re-enqueue every running saga whose next attempt is due (its lease ran out or its
    backoff elapsed) and has no message waiting in the queue or held by a live worker (its mark, see
    `queued_mark`; `force` sends whatever the marks say), renewing the lease so the next sweep does
    not look at it again at once. Returns how many were sent.

    Worst case from a worker's death (kill -9) to its saga's resend, with a live worker there:
      - the saga's step was running: its lease, kept by `lease_kept`, ends at most SAGA_LEASE_SECONDS
        after the death, and the next sweep (SAGA_SWEEP_SECONDS) sends it: L + S = 20 + 5 = 25 s;
      - the saga's message was taken but not started (prefetched, or a retry's countdown): its mark
        names the dead worker, whose key lapses within SAGA_WORKER_ALIVE_SECONDS; a sweep in that
        time may have renewed the lease once more: A + L + S = 10 + 20 + 5 = 35 s (a retry never
        runs before its backoff ran out, whatever happens);
      - the message was lost between the broker and the worker's receipt: it has left the queue,
        which its mark proves as soon as no message sent after it waits there: L + S.
    The broker's visibility timeout (an hour) is not on this path: the message it gives back later
    finds its saga ended and is a no-op."""
    now = now or timezone.now()
    due = list(
        Saga.objects.filter(next_attempt_at__lte=now)
        .exclude(state__in=[*Saga.TERMINAL, *Saga.WAITING])
        .order_by("next_attempt_at")
        .values_list("id", flat=True)[:limit]
    )
    if not due:
        return 0
    Saga.objects.filter(pk__in=due).update(next_attempt_at=max(now, timezone.now()) + lease())
    waiting = set() if force else _queued_waiting(due)
    sent = [saga_id for saga_id in due if saga_id not in waiting]
    for saga_id in sent:
        if not force:
            queued_mark(saga_id)  # replaces a stale mark
        enqueue(saga_id, marked=True)
    return len(sent)


def connect_worker_signals() -> None:
    """Connected by the sagas app at start-up: a worker that takes a saga's message names itself in
    the message's mark (`queued_held`), and a worker keeps its alive key from the moment it is ready."""
    from celery import signals

    signals.task_received.connect(_message_held, weak=False, dispatch_uid="sagas.queue.task_received")
    signals.worker_ready.connect(_worker_ready, weak=False, dispatch_uid="sagas.queue.worker_ready")


def _message_held(request=None, **kwargs) -> None:
    if request is not None and request.name == "sagas.tasks.saga_advance" and request.args:
        countdown = (request.eta - datetime.now(UTC)).total_seconds() if request.eta else None
        queued_held(request.args[0], countdown=countdown)


def _worker_ready(**kwargs) -> None:
    worker_alive_start()

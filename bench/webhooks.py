"""Part "webhooks": (a) how fast deliveries reach a receiver on loopback, and (b) what subscribed
endpoints cost the ledger's hot path.

(a) Delivery throughput. A receiver (`http.server`, threaded, HTTP/1.1 keep-alive, answering 200
"ok") runs in a forked process of its own on 127.0.0.1; each sending thread reuses its connection
to it from one delivery to the next (crowdpay.webhooks.transport's per-process pool). One owner's
endpoint subscribes to `operation.succeeded`; the outbox is filled with messages of that owner
spread over several wallets (rows inserted in bulk: writing them is (b)'s business), fanned out by
`services.messages_dispatch` (timed), then delivered
**in-process by N threads** calling `services.delivery_attempt` — the service the Celery task runs:
claim under a lease, sign, POST with no transaction open, record the attempt — each thread with its
own database connection and its own wallets, so the order per wallet holds and no thread waits for
another. No broker: the "send the next one" hand-offs to Celery are switched off, the threads walk
the queues themselves. Messages delivered per second, with every attempt's latency.

(b) The hot path with subscribers. Transfers through `sagas.services.transfer_start` (screening, the
instant transfer, the SUCCEEDED saga row and, when someone subscribes, the `operation.succeeded`
outbox row in the ledger's write batch) from forked processes, among wallets each of its own owner,
in three phases of the same length: no endpoint, then **three endpoints subscribed to
`operation.succeeded` for every transferring owner**, then none again. The ratio divides the middle
phase by the mean of the two around it (the machine drifts within a run). With subscribers each
commit also asks the broker for a dispatch (at most ten a second per process, `outbox.dispatch_soon`),
sent to a queue of this part's own that no worker reads and that is deleted afterwards: nothing is
delivered during (b), so its figure is the hot path's cost alone.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import random
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator

from .stats import percentile, ratio, summary

CURRENCY = "USD"
ENDPOINTS_PER_OWNER = 3
SAMPLE_OPERATION = {  # about the size of a real operation.succeeded's data
    "kind": "TRANSFER",
    "status": "SUCCEEDED",
    "amount": 12_34,
    "currency": CURRENCY,
    "memo": "bench",
    "error": None,
    "fx": None,
    "review": None,
}


# --- (a) delivery throughput -------------------------------------------------------------------------


def _serve(port_pipe) -> None:
    """Runs in the receiver's process."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real receivers: the sender reuses its connections
        disable_nagle_algorithm = True  # as real servers: headers and body are two writes

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.request_queue_size = 128
    port_pipe.send(server.server_address[1])
    server.serve_forever()


@contextlib.contextmanager
def receiver() -> Iterator[str]:
    from django.db import connections

    connections.close_all()  # the child must not inherit a live database socket
    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_serve, args=(child,), daemon=True)
    proc.start()
    try:
        if not parent.poll(30):
            raise RuntimeError("the webhook receiver did not start")
        yield f"http://127.0.0.1:{parent.recv()}/hooks"
    finally:
        proc.terminate()
        proc.join(timeout=10)


def _fill_outbox(owner: uuid.UUID, wallets: list[uuid.UUID], count: int) -> None:
    from django.utils import timezone

    from crowdpay.webhooks.models import Message

    now = timezone.now()
    rows = [
        Message(
            owner_id=owner,
            wallet_id=wallets[n % len(wallets)],
            type="operation.succeeded",
            data={**SAMPLE_OPERATION, "id": str(uuid.uuid4()), "wallet_id": str(wallets[n % len(wallets)])},
            created_at=now,
        )
        for n in range(count)
    ]
    Message.objects.bulk_create(rows, batch_size=1000)


def _deliver(delivery_ids: list[int], outcomes: list, latencies: list) -> None:
    from django.db import connections

    from crowdpay.webhooks import services

    try:
        for delivery_id in delivery_ids:
            started = time.perf_counter()
            outcome = services.delivery_attempt(delivery_id=delivery_id)
            latencies.append(time.perf_counter() - started)
            outcomes.append(outcome)
    except Exception as exc:  # counted and reported: a bench must not hide failures
        outcomes.append(repr(exc))
    finally:
        connections.close_all()


def _no_send(delivery_ids: list[int], countdown: float | None = None) -> None:
    return None


def delivery_throughput(*, messages: int, threads: int, wallets_per_thread: int = 8) -> dict:
    from crowdpay.webhooks import outbox, services
    from crowdpay.webhooks.models import Attempt, Delivery

    owner = uuid.uuid4()
    wallets = [uuid.uuid4() for _ in range(threads * wallets_per_thread)]
    figures: dict = {"messages": messages, "threads": threads, "wallets": len(wallets), "how": "in-process threads"}
    send, soon = services._send, outbox.dispatch_soon
    services._send = _no_send  # no broker: the threads walk the queues
    outbox.dispatch_soon = lambda: None
    try:
        with receiver() as url:
            endpoint = services.endpoint_create(owner_id=owner, url=url, event_types=["operation.succeeded"])
            _fill_outbox(owner, wallets, messages)
            started = time.perf_counter()
            while services.messages_dispatch():
                pass
            fan_out = time.perf_counter() - started
            figures["fan_out_per_second"] = round(messages / fan_out, 1) if fan_out > 0 else None

            queues: dict[uuid.UUID | None, list[int]] = defaultdict(list)
            for delivery_id, wallet_id in (
                Delivery.objects.filter(endpoint=endpoint).order_by("message_id").values_list("id", "wallet_id")
            ):
                queues[wallet_id].append(delivery_id)
            shares: list[list[int]] = [[] for _ in range(threads)]
            for n, wallet_id in enumerate(sorted(queues, key=str)):
                shares[n % threads] += queues[wallet_id]
            outcomes: list = []
            latencies: list[float] = []
            workers = [threading.Thread(target=_deliver, args=(share, outcomes, latencies)) for share in shares]
            started = time.perf_counter()
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join()
            elapsed = time.perf_counter() - started
    finally:
        services._send, outbox.dispatch_soon = send, soon
    delivered = outcomes.count("delivered")
    figures.update(summary(latencies, elapsed))
    figures.update(
        delivered=delivered,
        per_second=round(delivered / elapsed, 1) if elapsed > 0 else None,
        errors=len(outcomes) - delivered,
        error_samples=[o for o in outcomes if o != "delivered"][:5],
        delivered_in_log=Delivery.objects.filter(endpoint=endpoint, status=Delivery.Status.DELIVERED).count(),
        attempts_logged=Attempt.objects.filter(delivery__endpoint=endpoint).count(),
        receiver_latency_p50_ms=_logged_latency_p50(endpoint),
    )
    endpoint.delete()  # (b) starts with nobody subscribed anywhere
    return figures


def _logged_latency_p50(endpoint) -> float | None:
    from crowdpay.webhooks.models import Attempt

    values = list(Attempt.objects.filter(delivery__endpoint=endpoint).values_list("latency_ms", flat=True))
    p50 = percentile(values, 50)
    return None if p50 is None else float(p50)


# --- (b) the ledger's transfer rate with and without subscribers ---------------------------------------


def _transferring(wallets: list[uuid.UUID], seconds: float, barrier, queue, seed: int) -> None:
    """Runs in a child process: its own connection is opened by the first query."""
    from sagas import services as sagas
    from sagas.selectors import operation_status

    rng = random.Random(seed)

    def one() -> str:
        source, target = rng.sample(wallets, 2)
        saga = sagas.transfer_start(
            from_wallet_id=source,
            to_wallet_id=target,
            amount=rng.randint(1, 10_00),
            currency=CURRENCY,
            memo="bench",
            reference=str(uuid.uuid4()),
            requested_by="bench",
        )
        return operation_status(saga)

    one()  # connect and warm up outside the measured window
    barrier.wait()
    deadline = time.perf_counter() + seconds
    latencies: list[float] = []
    errors = 0
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        try:
            status = one()
        except Exception as exc:
            errors += 1
            queue.put(("error", repr(exc)))
            continue
        if status != "SUCCEEDED":
            errors += 1
            queue.put(("error", f"operation {status}"))
            continue
        latencies.append(time.perf_counter() - started)
    queue.put(("done", latencies, errors))


def _phase(wallets: list[uuid.UUID], processes: int, seconds: float) -> dict:
    from django.db import connections

    from crowdpay.webhooks.models import Message

    before = Message.objects.count()
    connections.close_all()
    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(processes + 1)
    queue = ctx.Queue()
    procs = [
        ctx.Process(target=_transferring, args=(wallets, seconds, barrier, queue, n), daemon=True)
        for n in range(processes)
    ]
    for proc in procs:
        proc.start()
    barrier.wait(timeout=120)
    started = time.perf_counter()
    latencies: list[float] = []
    errors, samples, finished = 0, [], 0
    while finished < processes:
        item = queue.get(timeout=seconds + 120)
        if item[0] == "error":
            samples.append(item[1])
            continue
        finished += 1
        latencies += item[1]
        errors += item[2]
    elapsed = time.perf_counter() - started
    for proc in procs:
        proc.join(timeout=30)
    figures = summary(latencies, elapsed)
    # Includes the warm-up transfer of each process (one message each when someone subscribes).
    figures.update(errors=errors, error_samples=samples[:5], messages_written=Message.objects.count() - before)
    return figures


@contextlib.contextmanager
def _broker_queue() -> Iterator[dict]:
    """The dispatch requests of (b) go to a queue of its own on the bench's Redis, deleted afterwards
    (no worker reads it). Without a reachable broker they are not sent at all (said in the JSON)."""
    import redis

    from crowdpay.celery import app
    from crowdpay.webhooks import outbox, tasks

    from . import config

    url = app.conf.broker_url if not app.conf.task_always_eager else config.redis_url()
    name = f"bench-webhooks-{uuid.uuid4().hex[:8]}"
    task = tasks.messages_dispatch
    original_apply, original_soon = task.apply_async, outbox.dispatch_soon
    eager, broker = app.conf.task_always_eager, app.conf.broker_url
    info: dict = {"queue": None, "sent": 0}
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=2)
        client.ping()
    except Exception:
        outbox.dispatch_soon = lambda: None
        try:
            yield info
        finally:
            outbox.dispatch_soon = original_soon
        return
    app.conf.task_always_eager, app.conf.broker_url = False, url
    task.apply_async = lambda *args, **kwargs: original_apply(*args, queue=name, **kwargs)
    info["queue"] = f"{url.rsplit('@', 1)[-1]} {name}"
    try:
        yield info
    finally:
        del task.apply_async  # the instance attribute set above: the class's method again
        app.conf.task_always_eager, app.conf.broker_url = eager, broker
        info["sent"] = client.llen(name)
        client.delete(name, f"_kombu.binding.{name}")


def _subscribe(owners: list[uuid.UUID], url: str) -> int:
    from crowdpay.webhooks import services

    for owner in owners:
        for n in range(ENDPOINTS_PER_OWNER):
            services.endpoint_create(
                owner_id=owner, url=f"{url}/{n}", event_types=["operation.succeeded"], description="bench"
            )
    return len(owners) * ENDPOINTS_PER_OWNER


def transfer_rate(*, wallets: int, processes: int, seconds: float) -> dict:
    from django.test import override_settings

    from crowdpay.webhooks.models import Endpoint
    from wallets import services

    from .transfers import SEED_AMOUNT

    ids, owners = [], []
    for _ in range(wallets):  # each of its own owner; amounts stay within an unverified owner's tier
        wallet = services.wallet_open(owner_id=uuid.uuid4(), kind="USER", base_currency=CURRENCY)
        services.wallet_credit(
            wallet_id=wallet.id, amount=SEED_AMOUNT, currency=CURRENCY, reference=f"bench-seed:{wallet.id}"
        )
        ids.append(wallet.id)
        owners.append(wallet.owner_id)
    # As part 4's server: screening runs, but its review/decline thresholds and the 24 h limit are
    # out of reach (young wallets paying each other many times a minute is what they would catch).
    quiet = override_settings(
        RISK_REVIEW_SCORE=101, RISK_DECLINE_SCORE=101, RISK_FREEZE_SCORE=101, WALLET_DEFAULT_LIMIT=10**15
    )
    with quiet, _broker_queue() as dispatch:
        without = _phase(ids, processes, seconds)
        endpoints = _subscribe(owners, "http://127.0.0.1:9/hooks")  # nothing is delivered during (b)
        subscribed = _phase(ids, processes, seconds)
        Endpoint.objects.filter(owner_id__in=owners).delete()
        without_again = _phase(ids, processes, seconds)
    baseline = [p["per_second"] for p in (without, without_again) if p["per_second"]]
    mean = round(sum(baseline) / len(baseline), 1) if baseline else None
    return {
        "wallets": wallets,
        "processes": processes,
        "endpoints": endpoints,
        "endpoints_per_owner": ENDPOINTS_PER_OWNER,
        "dispatch_requests": dispatch,
        "without": without,
        "subscribed": subscribed,
        "without_again": without_again,
        "without_mean_per_second": mean,
        "ratio": ratio(subscribed["per_second"], mean),
        "p50_ratio": ratio(subscribed["p50_ms"], without["p50_ms"]),
    }


def run(*, messages: int, threads: int, wallets: int, processes: int, seconds: float) -> dict:
    delivery = delivery_throughput(messages=messages, threads=threads)
    rate = transfer_rate(wallets=wallets, processes=processes, seconds=seconds)
    return {"delivery": delivery, "transfer_rate": rate}

"""Parts 2 and 3: transfers through the service layer (`wallets.services.transfer_execute`, no HTTP),
from real processes, each with its own database connection.

Each process times every transfer (call to return, i.e. including the commit) and, by wrapping
`wallets.executor.PostgresExecutor.execute`, the moment the executor's one statement was sent and
the moment its answer came back. The rows are locked only inside that statement (engine v2), so
sent-to-commit bounds how long they stayed locked (alone, the statement is the transaction: the
two figures are the same; a movement with a service's own rows after it commits after them).
"""

from __future__ import annotations

import multiprocessing as mp
import random
import time
import uuid

from .stats import ms, percentile, summary

CURRENCY = "USD"
SEED_AMOUNT = 10_000_000_00  # plenty: the bench measures movement, not refusals


def open_wallets(count: int, *, kind: str = "USER", fund: bool = True) -> list[uuid.UUID]:
    return [wallet for wallet, _ in open_owned_wallets(count, kind=kind, fund=fund)]


def open_owned_wallets(count: int, *, kind: str = "USER", fund: bool = True) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """Open `count` wallets, each of its own KYC-verified owner (the HTTP parts go through screening,
    where unverified owners are capped), funded unless told not: [(wallet id, owner id)]."""
    from django.contrib.auth import get_user_model

    from compliance import services as compliance
    from compliance.models import KycProfile
    from wallets import services

    officer, _ = get_user_model().objects.get_or_create(username="bench-officer")
    ids = []
    for _ in range(count):
        owner = uuid.uuid4()
        profile = compliance.kyc_profile_submit(owner_id=owner, legal_name="Bench Member", country="DE")
        profile.refresh_from_db()
        # With no broker the sandbox KYC provider has already verified the owner (its check runs
        # in-process on commit); with one, an officer verifies, as the provider would.
        if profile.status != KycProfile.Status.VERIFIED:
            compliance.kyc_profile_verify(profile_id=profile.id, officer=officer, reason="benchmark owner")
        wallet = services.wallet_open(owner_id=owner, kind=kind, base_currency=CURRENCY)
        if fund:
            services.wallet_credit(
                wallet_id=wallet.id, amount=SEED_AMOUNT, currency=CURRENCY, reference=f"bench-seed:{wallet.id}"
            )
        ids.append((wallet.id, wallet.owner_id))
    return ids


def _worker(pairs_spec, seconds: float, barrier, queue, seed: int) -> None:
    """Runs in a child process: its own connection is opened by the first query."""
    from wallets import executor, services

    rng = random.Random(seed)
    marks: dict[str, float] = {}
    original_execute = executor.PostgresExecutor.execute

    def timed_execute(self, plan):
        # The rows are locked only inside the executor's one statement: from the moment it is sent
        # to the moment the movement's commit returns bounds the time they stay locked.
        marks["sent"] = time.perf_counter()
        try:
            return original_execute(self, plan)
        finally:
            marks["returned"] = time.perf_counter()

    executor.PostgresExecutor.execute = timed_execute  # type: ignore[method-assign]

    def one() -> tuple[float, float, float]:
        source, destination = pairs_spec(rng)
        start = time.perf_counter()
        services.transfer_execute(
            transfer_id=uuid.uuid4(),
            from_wallet_id=source,
            to_wallet_id=destination,
            amount=rng.randint(1, 100_00),
            currency=CURRENCY,
            memo="bench",
        )
        end = time.perf_counter()
        return end - start, end - marks["sent"], marks["returned"] - marks["sent"]

    one()  # connect and warm up outside the measured window
    barrier.wait()
    deadline = time.perf_counter() + seconds
    latencies, held, under_engine = [], [], []
    errors = 0
    while time.perf_counter() < deadline:
        try:
            total, lock_to_commit, lock_to_written = one()
        except Exception as exc:  # counted and reported: a bench must not hide failures
            errors += 1
            queue.put(("error", repr(exc)))
            continue
        latencies.append(total)
        held.append(lock_to_commit)
        under_engine.append(lock_to_written)
    queue.put(("done", latencies, held, under_engine, errors))


class _DistinctPair:
    """Two distinct random wallets among all of them."""

    def __init__(self, wallets):
        self.wallets = wallets

    def __call__(self, rng):
        return tuple(rng.sample(self.wallets, 2))


class _IntoPod:
    """This process's own members, in turn, paying into the one pod."""

    def __init__(self, members, pod):
        self.members, self.pod, self.i = members, pod, 0

    def __call__(self, rng):
        self.i += 1
        return self.members[self.i % len(self.members)], self.pod


def vacuum_analyze() -> None:
    """`VACUUM ANALYZE` the ledger's database: the server runs with autovacuum off, so after a bulk
    load (the wallets just opened and funded) nothing refreshes the planner's statistics or clears
    the dead rows by itself. The peer and pgbench get the same (their README; `pgbench -i`)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def _measured(specs, seconds: float, warm_seconds: float) -> dict:
    """The peer's protocol: the workload untimed for `warm_seconds`, `VACUUM ANALYZE`, then measured."""
    if warm_seconds > 0:
        _run_processes(specs, warm_seconds)
    vacuum_analyze()
    figures = _run_processes(specs, seconds)
    figures["warm_seconds"] = warm_seconds
    return figures


def _run_processes(specs, seconds: float) -> dict:
    from django.db import connections

    # Children must not share the parent's socket: close it; each child connects on its own.
    connections.close_all()
    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(len(specs) + 1)
    queue = ctx.Queue()
    procs = [
        ctx.Process(target=_worker, args=(spec, seconds, barrier, queue, n), daemon=True)
        for n, spec in enumerate(specs)
    ]
    for proc in procs:
        proc.start()
    barrier.wait(timeout=120)
    started = time.perf_counter()
    latencies, held, under_engine, errors, messages = [], [], [], 0, []
    finished = 0
    while finished < len(procs):
        item = queue.get(timeout=seconds + 120)
        if item[0] == "error":
            messages.append(item[1])
            continue
        finished += 1
        latencies += item[1]
        held += item[2]
        under_engine += item[3]
        errors += item[4]
    elapsed = time.perf_counter() - started
    for proc in procs:
        proc.join(timeout=30)
    figures = summary(latencies, elapsed)
    figures.update(
        processes=len(specs),
        errors=errors,
        error_samples=messages[:5],
        lock_held_p50_ms=ms(percentile(held, 50)),
        lock_held_p99_ms=ms(percentile(held, 99)),
        lock_to_last_message_p50_ms=ms(percentile(under_engine, 50)),
    )
    return figures


def ledger_transfers(*, wallets: int, processes: int, seconds: float, warm_seconds: float = 0) -> dict:
    ids = open_wallets(wallets)
    figures = _measured([_DistinctPair(ids)] * processes, seconds, warm_seconds)
    figures["wallets"] = wallets
    return figures


def hot_pod(*, processes: int, members_per_process: int, seconds: float, warm_seconds: float = 0) -> dict:
    (pod,) = open_wallets(1, kind="POD", fund=False)
    specs = [_IntoPod(open_wallets(members_per_process), pod) for _ in range(processes)]
    figures = _measured(specs, seconds, warm_seconds)
    figures["members"] = processes * members_per_process
    figures["pod_wallet_id"] = str(pod)
    return figures

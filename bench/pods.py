"""Part 7, "pod goal": processes pledging into one CrowdPod's goal, with the batch captures.

The same shape as part 3 (16 processes, each with its own 8 member wallets, into one pod), but the
money goes in through pledges (`wallets.pods.services.pledge_make`: a hold on the member's own
wallet and the goal's gate held shared, an advisory lock: not the goal's row, never the pod's
row) and, each time the pledges reach the goal, its capture (`goal_capture`): a short close (the
gate held exclusively, and the goal's row), then the pledges into the pod in batches of
`CAPTURE_BATCH` (one pod lock per batch, no goal-row lock), then the finish. A process whose
pledge found the capture due runs `goal_capture` at once, in-process (what the Celery task
enqueued on that pledge's commit does in production; here `_enqueue_capture` is replaced so that no
broker is needed). Several pledges may find it due before the close commits; all but one of those
calls find the capture's lease taken and return at once (counted as capture calls). The one that
captures sets the next goal as the pod's owner as soon as the goal closed, before the batches
(`_capture_batches` is wrapped for that: the pledgers move on while the money moves). Goal after
goal until the time is up; a process that finds no open goal looks again every `NEXT_GOAL_POLL`.

Reported: pledges + captures per second (each capture counted once, from the goals REACHED during
the measured window), the pledge latency, the capture call's latency, pledges refused because they
raced a capture (`goal_reached`: the goal closed between the look-up and the gate; they are
retried on the next goal, not errors) and the ratio to pgbench's hot-row figure of the same run.
"""

from __future__ import annotations

import multiprocessing as mp
import time
import uuid
from datetime import timedelta

from .stats import ms, percentile, summary
from .transfers import CURRENCY, open_owned_wallets

PLEDGE = 1_00  # minor units per pledge
PLEDGES_PER_GOAL = {"full": 64, "smoke": 4}
NEXT_GOAL_POLL = 0.005  # seconds between two looks for the next goal while none is open


def _open_goal(pod_id: uuid.UUID) -> uuid.UUID | None:
    from wallets.pods.models import PodGoal

    return PodGoal.objects.filter(pod_id=pod_id, status=PodGoal.Status.OPEN).values_list("id", flat=True).first()


def _next_goal(pod_id: uuid.UUID, owner_id: uuid.UUID, amount: int) -> None:
    """Set the pod's next goal, unless another process already did (one open goal at a time)."""
    from django.utils import timezone

    from wallets.pods import services
    from wallets.pods.errors import PodError, PodErrorCode

    try:
        services.goal_set(
            pod_id=pod_id,
            actor_id=owner_id,
            amount=amount,
            currency=CURRENCY,
            deadline=timezone.now() + timedelta(days=1),
            title="bench",
        )
    except PodError as exc:
        if exc.code != PodErrorCode.GOAL_OPEN:
            raise


def _worker(pod_id, owner_id, members, goal_amount, seconds, barrier, queue) -> None:
    """Runs in a child process (its own connection, opened by its first query)."""
    from wallets.pods import services
    from wallets.pods.errors import PodError, PodErrorCode

    reached: list[uuid.UUID] = []
    services._enqueue_capture = reached.append  # the capture runs here, below, not on a broker
    batches = services._capture_batches

    def next_goal_then_batches(goal) -> None:  # the pod's owner sets the next goal once this one closed
        _next_goal(pod_id, owner_id, goal_amount)
        batches(goal)

    services._capture_batches = next_goal_then_batches

    refusals = (PodErrorCode.GOAL_REACHED, PodErrorCode.GOAL_EXPIRED, PodErrorCode.GOAL_NOT_FOUND)
    state = {"goal": _open_goal(pod_id), "i": 0}

    def one() -> tuple[str, float]:
        """One pledge (and the capture when it reached the goal): ("pledge" | "refused" | "wait", seconds)."""
        goal_id = state["goal"] or _open_goal(pod_id)
        if goal_id is None:  # between a goal's close and the next goal
            # Not a tight loop: 15 processes polling every millisecond took the CPU the process
            # closing the goal and setting the next one needed (2 shared cores).
            time.sleep(NEXT_GOAL_POLL)
            return "wait", 0.0
        state["goal"], state["i"] = goal_id, state["i"] + 1
        wallet_id, member_id = members[state["i"] % len(members)]
        start = time.perf_counter()
        try:
            services.pledge_make(
                pod_id=pod_id,
                goal_id=goal_id,
                member_id=member_id,
                wallet_id=wallet_id,
                amount=PLEDGE,
                reference=str(uuid.uuid4()),
            )
        except PodError as exc:
            if exc.code not in refusals:
                raise
            state["goal"] = None  # closed meanwhile: pledge towards the next one
            return "refused", time.perf_counter() - start
        return "pledge", time.perf_counter() - start

    def capture() -> float | None:
        if not reached:
            return None
        goal_id = reached.pop()
        reached.clear()
        start = time.perf_counter()
        services.goal_capture(goal_id=goal_id)  # what the task runs; the next goal is set after the close
        state["goal"] = None
        return time.perf_counter() - start

    one()  # connect and warm up outside the measured window
    capture()
    barrier.wait()
    deadline = time.perf_counter() + seconds
    pledges, captures = [], []
    refused = waits = errors = 0
    while time.perf_counter() < deadline:
        try:
            outcome, took = one()
            if outcome == "pledge":
                pledges.append(took)
            elif outcome == "refused":
                refused += 1
            else:
                waits += 1
            if (took := capture()) is not None:
                captures.append(took)
        except Exception as exc:  # counted and reported: a bench must not hide failures
            errors += 1
            reached.clear()
            state["goal"] = None
            queue.put(("error", repr(exc)))
    queue.put(("done", pledges, captures, refused, waits, errors))


def pod_goal(*, processes: int, members_per_process: int, seconds: float, smoke: bool) -> dict:
    from django.db import connections
    from django.utils import timezone

    from wallets.pods import services
    from wallets.pods.models import PodGoal

    pledges_per_goal = PLEDGES_PER_GOAL["smoke" if smoke else "full"]
    goal_amount = PLEDGE * pledges_per_goal
    ((pod_id, owner_id),) = open_owned_wallets(1, kind="POD", fund=False)
    services.pod_ensure(pod_id=pod_id)
    crews = []
    for _ in range(processes):
        members = open_owned_wallets(members_per_process)
        for _, member_id in members:
            services.member_invite(pod_id=pod_id, actor_id=owner_id, member_id=member_id, role="member")
            services.member_accept(pod_id=pod_id, member_id=member_id)
        crews.append(members)
    _next_goal(pod_id, owner_id, goal_amount)

    connections.close_all()  # children must not share the parent's socket
    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(processes + 1)
    queue = ctx.Queue()
    procs = [
        ctx.Process(target=_worker, args=(pod_id, owner_id, crew, goal_amount, seconds, barrier, queue), daemon=True)
        for crew in crews
    ]
    for proc in procs:
        proc.start()
    barrier.wait(timeout=120)
    started, started_at = time.perf_counter(), timezone.now()
    pledges, captures, messages = [], [], []
    refused = waits = errors = finished = 0
    while finished < len(procs):
        item = queue.get(timeout=seconds + 120)
        if item[0] == "error":
            messages.append(item[1])
            continue
        finished += 1
        pledges += item[1]
        captures += item[2]
        refused += item[3]
        waits += item[4]
        errors += item[5]
    elapsed = time.perf_counter() - started
    for proc in procs:
        proc.join(timeout=30)
    goals_reached = PodGoal.objects.filter(
        pod_id=pod_id, status=PodGoal.Status.REACHED, decided_at__gte=started_at
    ).count()
    figures = summary(pledges, elapsed)  # count, p50/p99: the pledges
    figures.update(
        pledges=len(pledges),
        captures=goals_reached,
        per_second=round((len(pledges) + goals_reached) / elapsed, 1) if elapsed > 0 else None,
        pledges_per_second=figures["per_second"],
        capture_call_p50_ms=ms(percentile(captures, 50)),
        capture_call_p99_ms=ms(percentile(captures, 99)),
        capture_calls=len(captures),
        pledges_per_goal=pledges_per_goal,
        refused_goal_closed=refused,
        waits_for_next_goal=waits,
        processes=processes,
        members=processes * members_per_process,
        errors=errors,
        error_samples=messages[:5],
        pod_wallet_id=str(pod_id),
    )
    return figures

"""The sagas' public entry points: what the API, the tasks, the hooks, the admin and the other apps
call. Each lives in the module of its concern, and is named here so that callers need not know the
layout:

- `sagas.state`: saga rows and their states (birth in STARTED, moves under the row lock, the log);
- `sagas.queue`: getting a saga to a worker (the message on commit, queued marks, leases, the
  sweeper `sagas_resume_due`);
- `sagas.steps`: the steps of each kind (`funding`, `withdraw`, `transfer`, and `common` ones);
- `sagas.review`: an officer's decision on a saga in review (compliance reaches it through the hook
  registered at start-up, `compliance.operations`, never by import).

`saga_advance` is the runner: the worker calls it for a saga id, and it runs the saga's steps until
the saga ends or must wait. A saga that stops moving (its worker died) is found again by its lease.
Transient gateway errors are retried with exponential backoff and full jitter; after
`SAGA_MAX_ATTEMPTS` tries the saga compensates (releases its hold or refunds its charge) and fails.
"""

from __future__ import annotations

import logging
import uuid

from . import queue
from .models import Saga
from .queue import (
    backoff,
    enqueue,
    queued_held,
    queued_mark,
    queued_unmark,
    retry_delay,
    sagas_resume_due,
    worker_alive_start,
)
from .review import saga_review_decide
from .steps import step_for, step_run
from .steps.funding import funding_start
from .steps.transfer import transfer_start
from .steps.withdraw import payout_mark, withdraw_start

__all__ = [
    "backoff",
    "enqueue",
    "funding_start",
    "payout_mark",
    "queued_held",
    "queued_mark",
    "queued_unmark",
    "retry_delay",
    "saga_advance",
    "saga_review_decide",
    "sagas_resume_due",
    "step_run",
    "transfer_start",
    "withdraw_start",
    "worker_alive_start",
]

log = logging.getLogger(__name__)
MAX_STEPS_PER_RUN = 16


def saga_advance(*, saga_id: uuid.UUID | str) -> Saga | None:
    """Run the saga's next steps until it is terminal or must wait (for a person, a payout, or a
    retry). Safe to call any number of times, from any number of workers at once."""
    saga = None
    for _ in range(MAX_STEPS_PER_RUN):
        saga = Saga.objects.filter(pk=saga_id).first()
        if saga is None:
            log.warning("saga_advance: no saga %s", saga_id)
            return None
        step = step_for(saga)
        if step is None:
            break
        with queue.lease_kept(saga):
            if not step(saga):
                break
    return Saga.objects.get(pk=saga_id)

"""Celery queues by kind of work, so each kind can get workers of its own.

| queue        | what                                                          | why apart                    |
|--------------|---------------------------------------------------------------|------------------------------|
| `sagas`      | saga steps, the sandbox's late captures, a pod goal's capture | money moves: latency matters |
| `webhooks`   | deliveries to subscribers and their dispatch                  | slow remote endpoints        |
| `compliance` | KYC checks sent to / polled from the provider                 | a provider's rate and outages|
| `periodic`   | every job the beat schedule runs (sweepers, prunes)           | bursts, never urgent         |
| `celery`     | anything else (the default queue)                             |                              |

`route_task` is the app's `task_routes`: a task named in `ROUTES` goes to its queue, a task the
beat schedule runs to `periodic` (so a new periodic job needs no routing of its own), anything
else to the default queue. A worker started without `-Q` (`make worker`, the tests, the
reliability harness) consumes every queue in `QUEUES`; docker-compose runs a worker per group.
"""

from __future__ import annotations

from django.conf import settings
from kombu import Queue

DEFAULT = "celery"
SAGAS = "sagas"
WEBHOOKS = "webhooks"
COMPLIANCE = "compliance"
PERIODIC = "periodic"
QUEUES = (SAGAS, WEBHOOKS, COMPLIANCE, PERIODIC, DEFAULT)

ROUTES = {
    "sagas.tasks.saga_advance": SAGAS,
    "sagas.tasks.funding_sandbox_capture": SAGAS,
    "pods.tasks.pod_goal_capture": SAGAS,
    "crowdpay.webhooks.tasks.delivery_attempt": WEBHOOKS,
    "crowdpay.webhooks.tasks.messages_dispatch": WEBHOOKS,
    "compliance.tasks.kyc_check_send": COMPLIANCE,
    "compliance.tasks.kyc_check_poll": COMPLIANCE,
}


def task_queues() -> list[Queue]:
    return [Queue(name, routing_key=name) for name in QUEUES]


def queue_of(task_name: str) -> str | None:
    """The queue `task_name` is sent to; None: the app's default queue."""
    if task_name in ROUTES:
        return ROUTES[task_name]
    if any(entry.get("task") == task_name for entry in getattr(settings, "CELERY_BEAT_SCHEDULE", {}).values()):
        return PERIODIC
    return None


def route_task(name, args, kwargs, options, task=None, **kw):
    """Celery router (`task_routes`): see the module docstring."""
    queue = queue_of(name)
    return {"queue": queue, "routing_key": queue} if queue else None

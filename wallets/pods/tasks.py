"""Thin Celery tasks of CrowdPods: take an id, call a service."""

from __future__ import annotations

import uuid

from celery import shared_task

from . import contributions, services


@shared_task(name="pods.tasks.pod_goal_capture", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def pod_goal_capture(goal_id: str) -> str:
    """Enqueued on the commit of the pledge that reached the goal; safe to run any number of times."""
    return services.goal_capture(goal_id=uuid.UUID(goal_id)).status


@shared_task(name="pods.tasks.pod_goals_sweep", acks_late=True, ignore_result=True)
def pod_goals_sweep() -> dict:
    """Beat: deadlines (expire and release), missed captures, pledges left on closed goals."""
    return services.goals_sweep()


@shared_task(name="pods.tasks.pod_contributions_catch_up", acks_late=True, ignore_result=True)
def pod_contributions_catch_up() -> int:
    """Beat: fold the events past each pod's contributions cursor (how many pods were behind)."""
    return contributions.catch_up_all()


@shared_task(name="pods.tasks.pod_outflows_sweep", acks_late=True, ignore_result=True)
def pod_outflows_sweep() -> dict:
    """Beat: expire pending outflows past their time, run approved ones that did not run."""
    return services.outflows_sweep()

"""Compliance's periodic tasks (thin: call a service)."""

from celery import shared_task

from . import services, velocity


@shared_task(name="compliance.tasks.outflow_buckets_prune", ignore_result=True)
def outflow_buckets_prune() -> int:
    return velocity.outflow_buckets_prune()


@shared_task(name="compliance.tasks.review_cases_open_missing", ignore_result=True)
def review_cases_open_missing() -> int:
    return services.review_cases_open_missing()

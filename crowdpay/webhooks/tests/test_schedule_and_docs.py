"""The retry schedule (crowdpay.webhooks.retries: about three days, jittered) and the webhooks'
OpenAPI documentation (every event type, only the answers a receiver gives)."""

from __future__ import annotations

import os

import pytest
import yaml
from django.conf import settings
from django.core.management import call_command

from crowdpay.webhooks import retries
from crowdpay.webhooks.events import EVENT_TYPES
from crowdpay.webhooks.schema import RESPONSES


def test_the_default_schedule_spans_about_three_days_over_ten_attempts():
    if "WEBHOOK_RETRY_SCHEDULE" not in os.environ:  # the setting's default is this schedule
        assert list(retries.DEFAULT_SCHEDULE) == settings.WEBHOOK_RETRY_SCHEDULE
    assert len(retries.DEFAULT_SCHEDULE) == 10 and retries.DEFAULT_SCHEDULE[0] == 0.0
    days = retries.total_seconds() / 86400
    assert 2.75 <= days <= 3.25, days
    assert list(retries.DEFAULT_SCHEDULE[1:]) == sorted(retries.DEFAULT_SCHEDULE[1:])  # never sooner
    assert retries.total_seconds() < settings.WEBHOOK_DISABLE_AFTER_SECONDS  # every retry runs first


def test_each_delay_is_jittered_within_ten_percent_and_the_schedule_ends():
    schedule = retries.DEFAULT_SCHEDULE
    for attempts in range(1, len(schedule)):
        delays = {retries.retry_in(attempts, schedule=schedule) for _ in range(50)}
        low, high = schedule[attempts] * (1 - retries.JITTER), schedule[attempts] * (1 + retries.JITTER)
        assert all(low <= d <= high for d in delays), (attempts, delays)
        assert len(delays) > 1  # spread, not one instant
    assert retries.retry_in(len(schedule), schedule=schedule) is None
    assert retries.retry_in(3, schedule=[0.0, 0.0, 0.0, 0.0]) == 0.0


@pytest.fixture(scope="module")
def x_webhooks(tmp_path_factory) -> dict:
    path = tmp_path_factory.mktemp("schema") / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(path))
    return yaml.safe_load(path.read_text())["x-webhooks"]


@pytest.mark.django_db
def test_every_event_type_is_documented_with_only_a_receivers_answers(x_webhooks):
    assert sorted(x_webhooks) == sorted(EVENT_TYPES)
    for name, item in x_webhooks.items():
        (operation,) = item.values()
        assert set(operation["responses"]) == set(RESPONSES), name
        assert "application/problem+json" not in str(operation["responses"])
        assert "three days" in operation["description"]
    goal = x_webhooks["pod.goal_reached"]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert goal.endswith("/PodGoalReachedEvent")

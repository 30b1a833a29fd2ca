"""The sweeper, the tasks, `manage.py resume_sagas`, the Operation view and the admin."""

from datetime import timedelta
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from sagas import queue as saga_queue
from sagas import services, tasks
from sagas.errors import SagaError
from sagas.models import FxRate, Payout, Saga
from sagas.selectors import operation_as_dict, operation_get
from sagas.tests.conftest import UNREACHABLE, advance
from wallets.tests.factories import balance_of

pytestmark = pytest.mark.django_db


def fund(wallet, reference="op-1"):
    return services.funding_start(
        wallet_id=wallet.id,
        amount=100,
        currency="USD",
        source="CARD",
        source_reference=f"ch_test_ok_{reference}",
        reference=reference,
        requested_by="u",
    )


def test_the_sweeper_resends_running_sagas_whose_lease_ran_out(wallet, django_capture_on_commit_callbacks):
    stuck = fund(wallet, "a")
    done = advance(fund(wallet, "b"))
    later = timezone.now() + timedelta(hours=1)
    assert services.sagas_resume_due() == 0
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert services.sagas_resume_due(now=later) == 1
    assert len(callbacks) == 1
    assert Saga.objects.get(pk=stuck.id).next_attempt_at > later  # the lease is renewed
    assert done.next_attempt_at is None


REAL_BROKER = settings.CELERY_BROKER_URL.startswith("redis")


@pytest.fixture
def queue():
    """The real broker's queue, empty before and after (no worker consumes it here)."""
    if REAL_BROKER:
        from crowdpay.celery import app

        app.control.purge()
        yield app
        app.control.purge()
    else:
        yield None


def send_unconsumed(saga) -> None:
    """What the start's send does: the saga is marked and its message waits in the queue."""
    services.queued_mark(saga.id)
    if REAL_BROKER:
        tasks.saga_advance.apply_async(args=[str(saga.id)])


def test_the_sweeper_does_not_resend_a_saga_whose_message_still_waits(
    wallet, queue, django_capture_on_commit_callbacks
):
    saga = fund(wallet, "q")
    later = timezone.now() + timedelta(hours=1)
    send_unconsumed(saga)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert services.sagas_resume_due(now=later) == 0  # the workers are behind: no second message
    assert callbacks == []
    services.queued_unmark(saga.id)  # a worker took the message, then died mid-step
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert services.sagas_resume_due(now=later + timedelta(hours=1)) == 1
    assert len(callbacks) == 1
    if REAL_BROKER:
        tasks.saga_advance.apply_async(args=[str(saga.id)])  # the captured send, made
    with django_capture_on_commit_callbacks(execute=False) as callbacks:  # the sweeper marked its own send
        assert services.sagas_resume_due(now=later + timedelta(hours=2)) == 0
    with django_capture_on_commit_callbacks(execute=False) as callbacks:  # `resume_sagas --all`
        assert services.sagas_resume_due(now=later + timedelta(hours=3), force=True) == 1
    assert len(callbacks) == 1


def test_a_mark_held_by_a_dead_worker_does_not_hold_the_sweeper_back(wallet, django_capture_on_commit_callbacks):
    """A message a worker took but had not started (prefetched, or waiting for its retry's countdown)
    is lost with the worker: the mark names the worker, and stands only while the worker's key does."""
    from django.core.cache import cache

    saga = fund(wallet, "h")
    later = timezone.now() + timedelta(hours=1)
    services.queued_held(saga.id, countdown=30)  # this process took it and is alive
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert services.sagas_resume_due(now=later) == 0
    cache.set(saga_queue.queued_key(saga.id), (None, "gone-host:1:0000"), 3600)  # its worker died
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert services.sagas_resume_due(now=later + timedelta(hours=1)) == 1
    assert len(callbacks) == 1


@pytest.mark.skipif(not REAL_BROKER, reason="the real broker (set REDIS_URL)")
def test_a_mark_whose_message_left_the_queue_unheld_is_stale(wallet, queue, django_capture_on_commit_callbacks):
    """A message taken from the queue by a worker that died before it could name itself in the mark:
    once as many sends came after it as the queue holds, it is not in the queue any more."""
    saga, other = fund(wallet, "l1"), fund(wallet, "l2")
    later = timezone.now() + timedelta(hours=1)
    send_unconsumed(saga)
    send_unconsumed(other)
    with django_capture_on_commit_callbacks(execute=False):
        assert services.sagas_resume_due(now=later) == 0  # both wait in the queue
    queue.control.purge()
    tasks.saga_advance.apply_async(args=[str(other.id)])  # only the later one is still there
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert services.sagas_resume_due(now=later + timedelta(hours=1)) == 1
    assert len(callbacks) == 1


@pytest.mark.skipif(not settings.CELERY_BROKER_URL.startswith("redis"), reason="the real broker (set REDIS_URL)")
def test_a_sent_saga_is_marked_queued_until_its_task_starts(wallet, django_capture_on_commit_callbacks):
    from crowdpay.celery import app

    app.control.purge()
    with django_capture_on_commit_callbacks(execute=True):
        saga = fund(wallet, "m")  # commits: its message goes to the real broker, marked
    try:
        assert services.sagas_resume_due(now=timezone.now() + timedelta(hours=1)) == 0
        assert services.queued_mark(saga.id, only_if_absent=True) is False  # its mark is there
        tasks.saga_advance.apply(args=[str(saga.id)])  # a worker takes it: the mark goes, the saga runs
        assert Saga.objects.get(pk=saga.id).state == Saga.State.SUCCEEDED
        assert services.queued_mark(saga.id, only_if_absent=True) is True  # no mark was left
    finally:
        app.control.purge()  # the published message, which no worker here consumes


@pytest.mark.skipif(not settings.CELERY_BROKER_URL.startswith("redis"), reason="the real broker (set REDIS_URL)")
def test_a_send_the_broker_refuses_leaves_no_mark(wallet, django_capture_on_commit_callbacks):
    """A mark stands for a message in the queue: when the send fails, the sweeper must not wait."""
    from crowdpay.celery import app

    saga = fund(wallet, "x")
    reachable = app.conf.broker_url
    # Connection and producer pools of their own for a broker where nothing listens (the app builds
    # them lazily for its broker URL; the reachable broker's are left open for the tests after).
    app.conf.broker_url, app._pool, app.amqp._producer_pool = "redis://127.0.0.1:1/0", None, None
    try:
        with django_capture_on_commit_callbacks(execute=True):  # robust: the failure is logged
            services.enqueue(saga.id)
    finally:
        app.conf.broker_url, app._pool, app.amqp._producer_pool = reachable, None, None
    assert services.queued_mark(saga.id, only_if_absent=True) is True  # no mark was left behind


def test_the_sweeper_leaves_sagas_in_review_alone(wallet, review_screening):
    advance(fund(wallet))
    assert services.sagas_resume_due(now=timezone.now() + timedelta(days=1)) == 0


def test_resume_sagas_command(wallet):
    fund(wallet)
    out = StringIO()
    call_command("resume_sagas", stdout=out)
    assert "0 saga(s)" in out.getvalue()
    call_command("resume_sagas", "--all", stdout=out)
    assert "1 saga(s)" in out.getvalue()


def test_the_advance_task_runs_the_saga(wallet):
    saga = fund(wallet)
    tasks.saga_advance.apply(args=[str(saga.id)])
    assert Saga.objects.get(pk=saga.id).state == Saga.State.SUCCEEDED
    tasks.saga_advance.apply(args=["00000000-0000-0000-0000-000000000000"])  # a deleted saga is skipped
    assert tasks.sagas_resume_due.apply().get() == 0


def test_the_advance_task_leaves_a_backing_off_saga_to_its_retry(wallet, settings, other_wallet):
    settings.SETTLEMENT_SERVICE_ENDPOINT = UNREACHABLE
    saga = services.withdraw_start(
        wallet_id=wallet.id, amount=100, currency="USD", destination="d", reference="w", requested_by="u"
    )
    tasks.saga_advance.apply(args=[str(saga.id)])
    saga = Saga.objects.get(pk=saga.id)
    assert (saga.state, saga.attempts) == (Saga.State.FUNDS_HELD, 1)
    assert 0 < services.retry_delay(saga) <= settings.SAGA_RETRY_BASE_SECONDS
    assert services.retry_delay(None) is None


def test_backoff_grows_exponentially_with_jitter_up_to_the_cap(settings):
    settings.SAGA_RETRY_BASE_SECONDS = 2
    settings.SAGA_RETRY_MAX_SECONDS = 20
    for attempt, ceiling in [(1, 2), (2, 4), (3, 8), (4, 16), (5, 20), (9, 20)]:
        delays = [services.backoff(attempt) for _ in range(50)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)


def test_an_operation_is_visible_to_its_wallet_owner_only(wallet, other_wallet):
    saga = fund(wallet)
    assert operation_get(operation_id=saga.id, owner_id=wallet.owner_id) == saga
    assert operation_get(operation_id=str(saga.id)) == saga
    for kwargs in [{"owner_id": other_wallet.owner_id}, {"owner_id": None}]:
        with pytest.raises(SagaError) as info:
            operation_get(operation_id=saga.id if kwargs["owner_id"] else "nope", **kwargs)
        assert (info.value.code, info.value.status) == ("operation_not_found", 404)


def test_the_operation_view_has_the_public_fields(wallet, other_wallet):
    saga = services.transfer_start(
        from_wallet_id=wallet.id,
        to_wallet_id=other_wallet.id,
        amount=5,
        currency="USD",
        memo="m",
        reference="t",
        requested_by="u",
    )
    op = operation_as_dict(saga)
    assert set(op) == {
        "id",
        "kind",
        "status",
        "amount",
        "currency",
        "wallet_id",
        "counterparty_wallet_id",
        "created_at",
        "updated_at",
        "error",
    }
    assert (op["kind"], op["status"], op["counterparty_wallet_id"]) == ("TRANSFER", "SUCCEEDED", str(other_wallet.id))


def test_the_admin_shows_sagas_read_only_with_their_steps(admin_client, wallet):
    saga = advance(fund(wallet))
    page = admin_client.get(reverse("admin:sagas_saga_change", args=[saga.id]))
    assert page.status_code == 200
    assert b"credit" in page.content and b"screen" in page.content
    assert admin_client.get(reverse("admin:sagas_saga_changelist")).status_code == 200
    assert admin_client.get(reverse("admin:sagas_saga_add")).status_code == 403


def test_fx_rates_are_edited_in_the_admin(admin_client):
    # with a reason, audited (compliance/tests/test_admin_v2_safeguards.py)
    response = admin_client.post(
        reverse("admin:sagas_fxrate_add"),
        {"base": "USD", "quote": "EUR", "rate": "0.91", "source": "treasury", "reason": "treasury's rate of the day"},
    )
    assert response.status_code == 302
    assert str(FxRate.objects.get()) == "1 USD = 0.910000000000 EUR"


def test_finance_marks_payouts_in_the_admin(admin_client, wallet):
    saga = advance(
        services.withdraw_start(
            wallet_id=wallet.id, amount=100, currency="USD", destination="d", reference="w", requested_by="u"
        )
    )
    payout = Payout.objects.get()
    url = reverse("admin:sagas_payout_changelist")
    assert admin_client.get(url).status_code == 200
    admin_client.post(url, {"action": "mark_paid", "_selected_action": [str(payout.id)]})
    assert Payout.objects.get().status == "PAID"
    admin_client.post(url, {"action": "mark_failed", "_selected_action": [str(payout.id)]})  # refused: already paid
    assert Payout.objects.get().status == "PAID"
    assert advance(saga).state == Saga.State.SUCCEEDED
    assert balance_of(wallet) == (1000_00 - 100, 0)


def test_a_payout_marked_failed_in_the_admin_compensates(admin_client, wallet):
    saga = advance(
        services.withdraw_start(
            wallet_id=wallet.id, amount=100, currency="USD", destination="d", reference="w", requested_by="u"
        )
    )
    url = reverse("admin:sagas_payout_changelist")
    admin_client.post(url, {"action": "mark_failed", "_selected_action": [str(Payout.objects.get().id)]})
    assert advance(saga).state == Saga.State.FAILED
    assert balance_of(wallet) == (1000_00, 0)

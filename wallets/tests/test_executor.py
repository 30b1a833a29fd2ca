"""The ledger engine v2: a `MovementPlan` run by the PostgreSQL function and by the ORM executor,
which must agree row for row; refusals that write nothing; velocity checked under the lock, in the
base currency."""

from __future__ import annotations

import os
import threading
import uuid
from decimal import Decimal

import pytest
from django.db import connection, connections, transaction

from sagas.models import FxRate
from wallets import chain, plan
from wallets.errors import LedgerError, LedgerErrorCode
from wallets.executor import OrmExecutor, PostgresExecutor, execute, executor
from wallets.fx import Quote, convert, to_base
from wallets.integrity import reconcile, verify_chains
from wallets.models import Balance, Event, Hold, JournalEntry, Posting, UnsealedHead, VelocityBucket, Wallet
from wallets.projection import EventType
from wallets.tests.factories import WalletFactory, balance_of, funded

ON_PG = os.environ.get("DATABASE_URL", "").startswith("postgres")

EXECUTORS = [
    pytest.param(PostgresExecutor, id="postgres", marks=pytest.mark.skipif(not ON_PG, reason="PostgreSQL")),
    pytest.param(OrmExecutor, id="orm"),
]


def _counts() -> tuple[int, ...]:
    return (
        Event.objects.count(),
        JournalEntry.objects.count(),
        Posting.objects.count(),
        Hold.objects.count(),
        VelocityBucket.objects.count(),
    )


@pytest.fixture(params=EXECUTORS)
def run(request):
    return request.param().execute


@pytest.mark.django_db
def test_the_executor_is_chosen_once_for_the_database():
    assert isinstance(executor(), PostgresExecutor if ON_PG else OrmExecutor)
    assert executor() is executor()


@pytest.mark.django_db
def test_a_credit_writes_balance_event_journal_and_unsealed_head(run):
    wallet = WalletFactory()
    outcome = run(plan.credit_plan(wallet_id=wallet.id, amount=500, currency="EUR", reference="c1"))
    assert balance_of(wallet, "EUR") == (500, 0)
    assert outcome.balances == [(wallet.id, "EUR", 0, 500)]
    assert outcome.events == [(wallet.id, 2, EventType.WALLET_CREDITED)]
    assert JournalEntry.objects.get(reference="c1").id == outcome.journal_id
    assert UnsealedHead.objects.get(wallet_id=wallet.id).version == 2
    assert verify_chains() == [] and reconcile() == []


@pytest.mark.django_db
def test_a_transfer_moves_funds_and_a_replay_writes_nothing(run):
    source, target = funded(amount=1000), WalletFactory()
    transfer_id = uuid.uuid4()

    def build():
        return plan.transfer_plan(
            transfer_id=transfer_id, from_wallet_id=source.id, to_wallet_id=target.id, amount=300, currency="USD"
        )

    first = run(build())
    assert (balance_of(source), balance_of(target)) == ((700, 0), (300, 0))
    assert sorted(first.balances) == sorted([(source.id, "USD", 1000, 700), (target.id, "USD", 0, 300)])
    before = _counts()
    again = run(build())
    assert again.replay and again.journal_id == first.journal_id
    assert _counts() == before and balance_of(source) == (700, 0)
    assert verify_chains() == [] and reconcile() == []


@pytest.mark.django_db
def test_a_refusal_writes_nothing_and_leaves_the_callers_transaction_usable(run):
    source, target = funded(amount=100), WalletFactory()
    before = _counts()
    with transaction.atomic():
        with pytest.raises(LedgerError) as refused:
            run(
                plan.transfer_plan(
                    transfer_id=uuid.uuid4(),
                    from_wallet_id=source.id,
                    to_wallet_id=target.id,
                    amount=101,
                    currency="USD",
                )
            )
        assert refused.value.code == LedgerErrorCode.INSUFFICIENT_FUNDS
        assert Balance.objects.filter(wallet_id=source.id).count() == 1  # the transaction still answers
    assert _counts() == before
    assert not Balance.objects.filter(wallet_id=target.id, currency="USD").exclude(posted=0).exists()


@pytest.mark.django_db
def test_statuses_are_checked_under_the_lock(run):
    from wallets import services

    source, target = funded(amount=100), WalletFactory()
    services.wallet_freeze(wallet_id=target.id, actor="test", reason="check")
    run(
        plan.transfer_plan(
            transfer_id=uuid.uuid4(), from_wallet_id=source.id, to_wallet_id=target.id, amount=10, currency="USD"
        )
    )
    assert balance_of(target) == (10, 0)  # a frozen wallet receives
    with pytest.raises(LedgerError) as refused:
        run(
            plan.transfer_plan(
                transfer_id=uuid.uuid4(), from_wallet_id=target.id, to_wallet_id=source.id, amount=1, currency="USD"
            )
        )
    assert refused.value.code == LedgerErrorCode.WALLET_FROZEN
    with pytest.raises(LedgerError) as missing:
        run(plan.credit_plan(wallet_id=uuid.uuid4(), amount=1, currency="USD", reference="nowhere"))
    assert missing.value.code == LedgerErrorCode.WALLET_NOT_FOUND


@pytest.mark.django_db
def test_a_hold_is_placed_once_captured_once_and_released_once(run):
    wallet = funded(amount=1000)
    place = plan.hold_plan(
        wallet_id=wallet.id,
        amount=400,
        currency="USD",
        reference="w1",
        purpose=Hold.Purpose.WITHDRAWAL,
        event=EventType.FUNDS_HELD,
        data={"saga_id": None},
    )
    placed = run(place)
    assert balance_of(wallet) == (1000, 400)
    assert run(place).replay and run(place).hold_id == placed.hold_id
    hold = Hold.objects.get(pk=placed.hold_id)
    capture = plan.capture_plan(hold_id=hold.id, wallet_id=wallet.id, amount=400, currency="USD")
    run(capture)
    assert balance_of(wallet) == (600, 0)
    assert Hold.objects.get(pk=hold.id).status == Hold.Status.CAPTURED
    release = plan.release_plan(
        hold_id=hold.id, wallet_id=wallet.id, amount=400, currency="USD", event=EventType.FUNDS_RELEASED, reason="x"
    )
    with pytest.raises(LedgerError) as refused:
        run(release)
    assert refused.value.code == LedgerErrorCode.HOLD_NOT_ACTIVE

    second = run(
        plan.hold_plan(
            wallet_id=wallet.id,
            amount=100,
            currency="USD",
            reference="w2",
            purpose=Hold.Purpose.WITHDRAWAL,
            event=EventType.FUNDS_HELD,
            data={},
        )
    )
    release = plan.release_plan(
        hold_id=second.hold_id,
        wallet_id=wallet.id,
        amount=100,
        currency="USD",
        event=EventType.FUNDS_RELEASED,
        reason="x",
    )
    run(release)
    assert run(release).noop
    assert balance_of(wallet) == (600, 0)
    assert verify_chains() == [] and reconcile() == []


@pytest.mark.django_db
def test_a_two_phase_transfer_captures_its_hold_once(run):
    source, target = funded(amount=1000), WalletFactory()
    transfer_id = uuid.uuid4()
    placed = run(
        plan.hold_plan(
            wallet_id=source.id,
            amount=250,
            currency="USD",
            reference=f"transfer:{transfer_id}",
            purpose=Hold.Purpose.TRANSFER,
            event=EventType.TRANSFER_INITIATED,
            data={"transfer_id": str(transfer_id), "to_wallet_id": str(target.id), "memo": ""},
        )
    )
    assert balance_of(source) == (1000, 250)

    def complete():
        return plan.transfer_complete_plan(
            transfer_id=transfer_id,
            hold_id=placed.hold_id,
            from_wallet_id=source.id,
            to_wallet_id=target.id,
            amount=250,
            currency="USD",
        )

    done = run(complete())
    assert (balance_of(source), balance_of(target)) == ((750, 0), (250, 0))
    assert Hold.objects.get(pk=placed.hold_id).status == Hold.Status.CAPTURED
    again = run(complete())
    assert again.replay and again.journal_id == done.journal_id
    assert balance_of(target) == (250, 0)
    assert verify_chains() == [] and reconcile() == []


@pytest.mark.django_db
def test_a_cross_currency_transfer_routes_through_the_fx_house_account(run):
    source, target = funded(amount=10_000), WalletFactory(base_currency="JPY")
    conversion = convert(10_000, Quote("USD", "JPY", Decimal("151.234"), "test"))
    outcome = run(
        plan.transfer_plan(
            transfer_id=uuid.uuid4(),
            from_wallet_id=source.id,
            to_wallet_id=target.id,
            amount=10_000,
            currency="USD",
            conversion=conversion,
        )
    )
    assert balance_of(source) == (0, 0)
    assert balance_of(target, "JPY") == (conversion.to_amount, 0) == (15_123, 0)
    legs = sorted(Posting.objects.filter(journal_id=outcome.journal_id).values_list("account", "currency", "amount"))
    assert ("fx:USD", "USD", 10_000) in legs and ("fx:JPY", "JPY", -15_123) in legs
    assert verify_chains() == [] and reconcile() == []


@pytest.mark.django_db
def test_a_conversion_inside_a_wallet_balances_per_currency(run):
    wallet = funded(amount=5_000)
    conversion = convert(5_000, Quote("USD", "EUR", Decimal("0.9213"), "test"))
    outcome = run(plan.convert_plan(wallet_id=wallet.id, conversion=conversion, reference="conv1"))
    assert (balance_of(wallet), balance_of(wallet, "EUR")) == ((0, 0), (4_606, 0))
    assert sorted(outcome.balances) == sorted([(wallet.id, "USD", 5_000, 0), (wallet.id, "EUR", 0, 4_606)])
    with pytest.raises(LedgerError) as short:
        run(plan.convert_plan(wallet_id=wallet.id, conversion=conversion, reference="conv2"))
    assert short.value.code == LedgerErrorCode.INSUFFICIENT_FUNDS
    assert verify_chains() == [] and reconcile() == []


@pytest.mark.django_db
def test_status_changes_follow_the_status_they_were_planned_on(run):
    wallet, other = funded(amount=10), WalletFactory()

    def change(name: str, current: str):
        return plan.status_plan(wallet_id=wallet.id, current=current, name=name, actor="officer", reason="check")

    def pay(amount: int):
        return plan.transfer_plan(
            transfer_id=uuid.uuid4(), from_wallet_id=wallet.id, to_wallet_id=other.id, amount=amount, currency="USD"
        )

    stale = change("close", "ACTIVE")
    run(change("freeze", "ACTIVE"))
    assert Wallet.objects.get(pk=wallet.id).status == Wallet.Status.FROZEN
    with pytest.raises(LedgerError) as moved_on:
        run(change("freeze", "ACTIVE"))  # planned on a status that is no longer the wallet's
    assert moved_on.value.code == LedgerErrorCode.INVALID_TRANSITION
    with pytest.raises(LedgerError) as frozen:
        run(
            plan.transfer_plan(
                transfer_id=uuid.uuid4(), from_wallet_id=wallet.id, to_wallet_id=other.id, amount=1, currency="USD"
            )
        )
    assert frozen.value.code == LedgerErrorCode.WALLET_FROZEN
    run(change("unfreeze", "FROZEN"))
    with pytest.raises(LedgerError) as not_empty:
        run(stale)
    assert not_empty.value.code == LedgerErrorCode.WALLET_NOT_EMPTY
    run(
        plan.transfer_plan(
            transfer_id=uuid.uuid4(), from_wallet_id=wallet.id, to_wallet_id=other.id, amount=10, currency="USD"
        )
    )
    run(change("close", "ACTIVE"))
    assert Wallet.objects.get(pk=wallet.id).status == Wallet.Status.CLOSED
    with pytest.raises(LedgerError) as invalid:
        change("unfreeze", "CLOSED")
    assert invalid.value.code == LedgerErrorCode.INVALID_TRANSITION
    last = Event.objects.filter(wallet_id=wallet.id).order_by("-version").values_list("type", flat=True).first()
    assert last == EventType.WALLET_CLOSED
    assert verify_chains() == [] and reconcile() == []


def test_plans_refuse_what_needs_no_lock():
    one = uuid.uuid4()
    with pytest.raises(LedgerError) as same:
        plan.transfer_plan(transfer_id=uuid.uuid4(), from_wallet_id=one, to_wallet_id=one, amount=1, currency="USD")
    assert same.value.code == LedgerErrorCode.SAME_WALLET
    for amount, code in ((0, LedgerErrorCode.INVALID_AMOUNT), (1.5, LedgerErrorCode.INVALID_AMOUNT)):
        with pytest.raises(LedgerError) as bad:
            plan.credit_plan(wallet_id=one, amount=amount, currency="USD", reference="r")  # type: ignore[arg-type]
        assert bad.value.code == code
    with pytest.raises(LedgerError) as currency:
        plan.credit_plan(wallet_id=one, amount=1, currency="XAU", reference="r")
    assert currency.value.code == LedgerErrorCode.UNSUPPORTED_CURRENCY


@pytest.mark.django_db
def test_the_postgres_function_and_the_orm_write_the_same_chain():
    if not ON_PG:
        pytest.skip("PostgreSQL")
    wallet = WalletFactory()
    for n, run in enumerate((PostgresExecutor().execute, OrmExecutor().execute)):
        run(plan.credit_plan(wallet_id=wallet.id, amount=10 + n, currency="USD", reference=f"same{n}"))
    links = list(Event.objects.filter(wallet_id=wallet.id).order_by("version").values_list("version", "mac", "link"))
    prev = chain.GENESIS_LINK
    for version, mac, link in links:
        assert link == chain.next_link(prev, mac, version)
        prev = link
    assert verify_chains() == []


# --- the plans the remaining services need: open, lock, append, pledge batches, refunds ------------


@pytest.mark.django_db
def test_an_open_starts_the_chain_an_append_extends_it_and_a_lock_writes_nothing(run):
    wallet = Wallet.objects.create(owner_id=uuid.uuid4(), kind=Wallet.Kind.POD, base_currency="EUR")
    Balance.objects.create(wallet=wallet, currency="EUR")
    opened = run(plan.open_plan(wallet_id=wallet.id, owner_id=wallet.owner_id, kind=wallet.kind, base_currency="EUR"))
    assert opened.events == [(wallet.id, 1, EventType.WALLET_OPENED)] and opened.balances == []
    member = str(wallet.owner_id)
    appended = run(
        plan.append_plan(
            wallet_id=wallet.id,
            events=[
                (EventType.POD_MEMBER_JOINED, {"member_id": member, "role": "owner", "actor": member}),
                (EventType.POD_POLICY_CHANGED, {"from": {}, "to": {"approvals": 2}, "actor": member}),
            ],
        )
    )
    assert appended.events == [
        (wallet.id, 2, EventType.POD_MEMBER_JOINED),
        (wallet.id, 3, EventType.POD_POLICY_CHANGED),
    ]
    before = (_counts(), Wallet.objects.values_list("version", "head_link").get(pk=wallet.id))
    with transaction.atomic():
        locked = run(plan.lock_plan(wallet_ids=[wallet.id]))
    assert (locked.events, locked.balances, locked.journal_id) == ([], [], None)
    assert (_counts(), Wallet.objects.values_list("version", "head_link").get(pk=wallet.id)) == before
    with pytest.raises(LedgerError) as missing:
        run(plan.lock_plan(wallet_ids=[wallet.id, uuid.uuid4()]))
    assert missing.value.code == LedgerErrorCode.WALLET_NOT_FOUND
    assert UnsealedHead.objects.get(wallet_id=wallet.id).version == 3
    assert verify_chains() == []


def test_an_append_plan_refuses_money_and_batches_refuse_a_wallet_paying_itself():
    one, other = uuid.uuid4(), uuid.uuid4()
    with pytest.raises(ValueError, match="moves money"):
        plan.append_plan(wallet_id=one, events=[(EventType.WALLET_CREDITED, {"amount": 1, "currency": "USD"})])
    with pytest.raises(ValueError):
        plan.append_plan(wallet_id=one, events=[])
    with pytest.raises(LedgerError) as itself:
        plan.pledge_capture_plan(pod_id=one, currency="USD", holds=[(uuid.uuid4(), one, 5)], reference="r")
    assert itself.value.code == LedgerErrorCode.SAME_WALLET
    with pytest.raises(ValueError, match="moves money"):
        plan.pledge_capture_plan(
            pod_id=one,
            currency="USD",
            holds=[(uuid.uuid4(), other, 5)],
            reference="r",
            extra_events=[(EventType.WALLET_DEBITED, {"amount": 1, "currency": "USD"})],
        )
    with pytest.raises(LedgerError) as refund:
        plan.refund_plan(from_wallet_id=one, to_wallet_id=one, amount=1, currency="USD", reference="r:0", refund="r")
    assert refund.value.code == LedgerErrorCode.SAME_WALLET


def _pledge(run, wallet: Wallet, amount: int, pod: Wallet) -> uuid.UUID:
    placed = run(
        plan.hold_plan(
            wallet_id=wallet.id,
            amount=amount,
            currency="USD",
            reference=f"pledge:{uuid.uuid4()}",
            purpose=Hold.Purpose.PLEDGE,
            event=EventType.PLEDGE_MADE,
            data={"pod_id": str(pod.id), "goal_id": None, "pledge_id": None},
        )
    )
    return placed.hold_id


@pytest.mark.django_db
def test_a_pledge_batch_is_captured_into_its_pod_in_one_movement_once(run):
    pod = WalletFactory(kind=Wallet.Kind.POD)
    first, second = funded(amount=500), funded(amount=300)
    holds = [(_pledge(run, first, 200, pod), first.id, 200), (_pledge(run, second, 100, pod), second.id, 100)]
    reached = (EventType.POD_GOAL_REACHED, {"goal_id": "g", "amount": 300, "currency": "USD"})

    chosen = uuid.uuid4()

    def build(reference: str = "podgoal:g:1"):
        return plan.pledge_capture_plan(
            pod_id=pod.id, currency="USD", holds=holds, reference=reference, extra_events=[reached], journal_id=chosen
        )

    outcome = run(build())
    assert outcome.journal_id == chosen
    assert (balance_of(pod), balance_of(first), balance_of(second)) == ((300, 0), (300, 0), (200, 0))
    assert set(Hold.objects.filter(pk__in=[h for h, _, _ in holds]).values_list("status", flat=True)) == {
        Hold.Status.CAPTURED
    }
    postings = dict(Posting.objects.filter(journal_id=outcome.journal_id).values_list("account", "amount"))
    assert postings == {f"wallet:{first.id}": -200, f"wallet:{second.id}": -100, f"wallet:{pod.id}": 300}
    pod_events = list(Event.objects.filter(wallet_id=pod.id).order_by("version").values_list("type", flat=True))
    assert pod_events[-3:] == [EventType.WALLET_CREDITED, EventType.WALLET_CREDITED, EventType.POD_GOAL_REACHED]
    before = _counts()
    assert run(build()).replay and _counts() == before
    with pytest.raises(LedgerError) as again:
        run(build("podgoal:g:2"))  # the holds were captured: a second batch is refused, writing nothing
    assert again.value.code == LedgerErrorCode.HOLD_NOT_ACTIVE and _counts() == before
    assert verify_chains() == []


@pytest.mark.django_db
def test_refunds_run_as_plans_after_one_lock_of_every_wallet_in_one_transaction(run):
    pod = WalletFactory(kind=Wallet.Kind.POD)
    run(plan.credit_plan(wallet_id=pod.id, amount=90, currency="USD", reference="seed-pod"))
    recipients = sorted((WalletFactory(), WalletFactory()), key=lambda w: w.id)
    with transaction.atomic():
        run(plan.lock_plan(wallet_ids=[pod.id, *(r.id for r in recipients)]))
        journal_ids = [
            run(
                plan.refund_plan(
                    from_wallet_id=pod.id,
                    to_wallet_id=recipient.id,
                    amount=amount,
                    currency="USD",
                    reference=f"refund:r:{n}",
                    refund="refund:r",
                    data={"pod_id": str(pod.id)},
                )
            ).journal_id
            for n, (recipient, amount) in enumerate(zip(recipients, (60, 30), strict=True))
        ]
    assert (balance_of(pod), balance_of(recipients[0]), balance_of(recipients[1])) == ((0, 0), (60, 0), (30, 0))
    assert list(JournalEntry.objects.filter(kind="refund").order_by("reference").values_list("id", flat=True)) == (
        journal_ids
    )
    credited = Event.objects.get(wallet_id=recipients[0].id, type=EventType.WALLET_CREDITED)
    assert credited.data["source"] == "pod_refund" and credited.data["from_wallet_id"] == str(pod.id)
    with pytest.raises(LedgerError) as empty:
        run(
            plan.refund_plan(
                from_wallet_id=pod.id,
                to_wallet_id=recipients[0].id,
                amount=1,
                currency="USD",
                reference="refund:r:9",
                refund="refund:r",
            )
        )
    assert empty.value.code == LedgerErrorCode.INSUFFICIENT_FUNDS
    assert verify_chains() == []


@pytest.mark.django_db
def test_each_movement_asks_for_one_seal_after_its_commit_when_celery_runs_eagerly(
    settings, django_capture_on_commit_callbacks
):
    """`make run` has no beat: every movement registers one seal after its commit, however many
    executor calls it makes (refunds: a lock plan, then one plan per refund)."""
    from wallets import sealing, services
    from wallets.models import EventSeal

    settings.CELERY_TASK_ALWAYS_EAGER = True
    pod = WalletFactory(kind=Wallet.Kind.POD)
    services.wallet_credit(wallet_id=pod.id, amount=90, currency="USD", reference="seed-pod")
    recipients = [WalletFactory(), WalletFactory()]
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.refunds_pay(
            from_wallet_id=pod.id, currency="USD", refunds=[(r.id, 45) for r in recipients], reference="refund:x"
        )
    assert [c for c in callbacks if c is sealing._seal_quietly] == [sealing._seal_quietly]
    pod.refresh_from_db()
    assert EventSeal.objects.filter(wallet_id=pod.id, version=pod.version).exists()
    assert not UnsealedHead.objects.exists()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        execute(plan.credit_plan(wallet_id=pod.id, amount=5, currency="USD", reference="after"))
    assert [c for c in callbacks if c is sealing._seal_quietly] == [sealing._seal_quietly]
    assert not UnsealedHead.objects.exists()

    settings.CELERY_TASK_ALWAYS_EAGER = False  # with a broker the beat seals: nothing is registered
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.wallet_credit(wallet_id=pod.id, amount=5, currency="USD", reference="beat")
    assert sealing._seal_quietly not in callbacks
    assert UnsealedHead.objects.filter(wallet_id=pod.id).exists()


# --- velocity -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_jpy_and_a_usd_outflow_count_against_one_usd_limit(run, settings):
    settings.VELOCITY_BASE_CURRENCY = "USD"
    settings.FX_SERVICE_ENDPOINT = ""
    FxRate.objects.create(base="JPY", quote="USD", rate=Decimal("0.0065"))
    wallet = funded(amount=10_000_000, currency="JPY")
    run(plan.credit_plan(wallet_id=wallet.id, amount=100_00, currency="USD", reference="usd"))
    limit = 100_00  # 100.00 USD

    def withdraw(amount: int, currency: str, reference: str):
        outflow = plan.Outflow(base_amount=to_base(amount, currency), limit=limit)
        return plan.hold_plan(
            wallet_id=wallet.id,
            amount=amount,
            currency=currency,
            reference=reference,
            purpose=Hold.Purpose.WITHDRAWAL,
            event=EventType.FUNDS_HELD,
            data={},
            outflow=outflow,
        )

    run(withdraw(10_000, "JPY", "jpy"))  # 65.00 USD
    assert sum(VelocityBucket.objects.values_list("amount", flat=True)) == 65_00
    run(withdraw(35_00, "USD", "usd1"))  # 100.00 USD in all: at the limit, allowed
    with pytest.raises(LedgerError) as refused:
        run(withdraw(1, "JPY", "jpy2"))  # 0.0065 USD, rounded up to one cent: over
    assert refused.value.code == LedgerErrorCode.VELOCITY_LIMIT_EXCEEDED
    # 1,000,000 JPY is not 10,000.00 USD: minor units of two currencies never add up raw
    assert plan.Outflow(base_amount=to_base(1_000_000, "JPY"), limit=limit).base_amount == 6500_00


RACERS = 20


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_twenty_withdrawals_racing_one_limit_never_pass_it_together():
    """Twenty threads, each with its own PostgreSQL connection, place a 30.00 USD withdrawal against
    a 100.00 USD limit at once: exactly three pass."""
    if not ON_PG:
        pytest.skip("real parallel PostgreSQL connections")
    wallet = funded(amount=1_000_000)
    plans = [
        plan.hold_plan(
            wallet_id=wallet.id,
            amount=30_00,
            currency="USD",
            reference=f"race:{n}",
            purpose=Hold.Purpose.WITHDRAWAL,
            event=EventType.FUNDS_HELD,
            data={},
            outflow=plan.Outflow(base_amount=30_00, limit=100_00),
        )
        for n in range(RACERS)
    ]
    start = threading.Barrier(RACERS)
    results: list[str] = []

    def racer(movement):
        try:
            start.wait()
            execute(movement)
            results.append("ok")
        except LedgerError as exc:
            results.append(exc.code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=racer, args=(p,)) for p in plans]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count("ok") == 3
    assert results.count(LedgerErrorCode.VELOCITY_LIMIT_EXCEEDED) == RACERS - 3
    assert sum(VelocityBucket.objects.filter(wallet_id=wallet.id).values_list("amount", flat=True)) == 90_00
    assert balance_of(wallet) == (1_000_000, 90_00)
    assert verify_chains() == [] and reconcile() == []


@pytest.mark.django_db(transaction=True)
def test_an_instant_transfer_is_one_round_trip_in_autocommit():
    if not ON_PG:
        pytest.skip("PostgreSQL")
    from bench.roundtrips import count

    source, target = funded(amount=1000), WalletFactory()
    movement = plan.transfer_plan(
        transfer_id=uuid.uuid4(), from_wallet_id=source.id, to_wallet_id=target.id, amount=5, currency="USD"
    )
    connection.ensure_connection()
    assert connection.get_autocommit()
    measured = count(lambda: PostgresExecutor().execute(movement))
    assert measured["round_trips"] == 1
    assert balance_of(target) == (5, 0)


@pytest.mark.django_db(transaction=True)
def test_a_transfer_through_the_service_is_one_round_trip_its_limit_read_under_the_lock():
    if not ON_PG:
        pytest.skip("PostgreSQL")
    from bench.roundtrips import count
    from wallets import services

    source, target = funded(amount=1000), WalletFactory()

    def transfer() -> None:
        services.transfer_execute(
            transfer_id=uuid.uuid4(), from_wallet_id=source.id, to_wallet_id=target.id, amount=5, currency="USD"
        )

    for _ in range(2):  # nothing is read before the call, the first time or any other
        measured = count(transfer)
        assert measured["round_trips"] == 1, measured["sql"]
    assert balance_of(target) == (10, 0)


@pytest.mark.django_db
def test_the_function_refuses_a_plan_whose_wallets_are_not_in_the_lock_order():
    # `MovementPlan.as_json` sorts them; a plan made any other way must not lock out of order.
    if not ON_PG:
        pytest.skip("PostgreSQL")
    import json

    from django.db import DatabaseError, transaction

    source, target = funded(amount=1000), WalletFactory()
    movement = plan.transfer_plan(
        transfer_id=uuid.uuid4(), from_wallet_id=source.id, to_wallet_id=target.id, amount=5, currency="USD"
    ).as_json()
    movement["wallets"].reverse()
    before = _counts()
    with pytest.raises(DatabaseError, match="ascending id order"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(PostgresExecutor.SQL, [json.dumps(movement)])
    assert _counts() == before and balance_of(target) == (0, 0)

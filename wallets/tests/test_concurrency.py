"""Real parallel database connections (separate processes) moving money among a few wallets and
into one hot CrowdPod: no negative balance, no lost update, no deadlock reaching a caller, exact
conservation, valid chains."""

import multiprocessing
import random
import uuid

import pytest
from django.db import connections

from wallets import services
from wallets.errors import LedgerError
from wallets.integrity import reconcile, verify_chains
from wallets.models import Balance, Event
from wallets.tests.factories import WalletFactory, funded

WORKERS = 8
MOVES_PER_WORKER = 40


def _mover(args):
    seed, wallet_ids, pod_id = args
    rng = random.Random(seed)
    done = refused = 0
    unexpected = []
    try:
        for _ in range(MOVES_PER_WORKER):
            # half the moves pay into the pod; the pod pays members back now and then
            source = pod_id if rng.random() < 0.15 else rng.choice(wallet_ids)
            target = (
                pod_id
                if source != pod_id and rng.random() < 0.5
                else rng.choice([w for w in wallet_ids if w != source])
            )
            amount = rng.randint(1, 400)
            try:
                if rng.random() < 0.8:
                    services.transfer_execute(
                        transfer_id=uuid.uuid4(),
                        from_wallet_id=source,
                        to_wallet_id=target,
                        amount=amount,
                        currency="USD",
                    )
                else:
                    transfer_id = uuid.uuid4()
                    hold = services.transfer_initiate(
                        transfer_id=transfer_id,
                        from_wallet_id=source,
                        to_wallet_id=target,
                        amount=amount,
                        currency="USD",
                    )
                    if rng.random() < 0.5:
                        services.transfer_complete(transfer_id=transfer_id, to_wallet_id=target)
                    else:
                        services.hold_release(hold_id=hold.id, reason="test")
                done += 1
            except LedgerError as exc:
                if exc.code != "insufficient_funds":
                    unexpected.append(repr(exc))
                refused += 1
            except Exception as exc:
                unexpected.append(repr(exc))
    finally:
        connections.close_all()
    return done, refused, unexpected


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_parallel_transfers_conserve_money_and_never_go_negative():
    wallets = [funded(amount=10_000) for _ in range(4)]
    pod = WalletFactory(kind="POD")
    wallet_ids = [w.id for w in wallets]
    total_before = sum(Balance.objects.values_list("posted", flat=True))

    connections.close_all()  # each process opens its own connection
    with multiprocessing.get_context("fork").Pool(WORKERS) as pool:
        results = pool.map(_mover, [(seed, wallet_ids, pod.id) for seed in range(WORKERS)])

    unexpected = [error for _, _, errors in results for error in errors]
    assert unexpected == []
    moved = sum(done for done, _, _ in results)
    assert moved > WORKERS * MOVES_PER_WORKER // 4  # most moves went through: the test exercised contention
    assert sum(Balance.objects.values_list("posted", flat=True)) == total_before
    assert not Balance.objects.filter(held__gt=0).exists()
    for balance in Balance.objects.all():
        assert balance.posted - balance.held >= 0
    assert verify_chains() == []
    assert reconcile() == []
    assert Event.objects.filter(wallet=pod, type="WalletCredited").count() > 0


def _crediter(args):
    pod_id, references = args
    try:
        return [services.wallet_credit(wallet_id=pod_id, amount=1, currency="USD", reference=r) for r in references]
    finally:
        connections.close_all()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_same_reference_from_parallel_connections_credits_once():
    pod = WalletFactory(kind="POD")
    references = [f"dup-{i}" for i in range(20)]
    connections.close_all()
    with multiprocessing.get_context("fork").Pool(4) as pool:
        results = pool.map(_crediter, [(pod.id, references)] * 4)
    assert all(r == results[0] for r in results)  # every racer got the same journal ids
    assert Balance.objects.get(wallet=pod, currency="USD").posted == 20
    assert reconcile() == []

"""Property: any sequence of ledger operations, refused or not, keeps invariants 1-4 and the
projection equal to the replay of the events."""

import uuid
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wallets import services
from wallets.errors import LedgerError
from wallets.fx import Quote, convert
from wallets.integrity import reconcile, replay
from wallets.models import Hold
from wallets.tests.factories import WalletFactory

WALLETS = 3
amounts = st.integers(min_value=1, max_value=3000)
slot = st.integers(min_value=0, max_value=WALLETS - 1)
operation = st.one_of(
    st.tuples(st.just("credit"), slot, amounts, st.sampled_from(["USD", "EUR"])),
    st.tuples(st.just("transfer"), slot, slot, amounts, st.booleans()),
    st.tuples(st.just("hold"), slot, amounts),
    st.tuples(st.just("settle_hold"), st.integers(min_value=0, max_value=20), st.booleans()),
    st.tuples(st.just("convert"), slot, amounts),
    st.tuples(st.just("freeze"), slot, st.booleans()),
)


def apply(op, wallets, step):
    kind = op[0]
    if kind == "credit":
        services.wallet_credit(
            wallet_id=wallets[op[1]].id, amount=op[2], currency=op[3], reference=f"c{step}-{uuid.uuid4()}"
        )
    elif kind == "transfer":
        _, a, b, amount, instant = op
        transfer_id = uuid.uuid4()
        source, target = wallets[a].id, wallets[b].id
        if instant:
            services.transfer_execute(
                transfer_id=transfer_id, from_wallet_id=source, to_wallet_id=target, amount=amount, currency="USD"
            )
        else:
            services.transfer_initiate(
                transfer_id=transfer_id, from_wallet_id=source, to_wallet_id=target, amount=amount, currency="USD"
            )
    elif kind == "hold":
        services.funds_hold(
            wallet_id=wallets[op[1]].id, amount=op[2], currency="USD", reference=f"h{step}-{uuid.uuid4()}"
        )
    elif kind == "settle_hold":
        holds = list(Hold.objects.filter(status="HELD").order_by("created_at"))
        if holds:
            hold = holds[op[1] % len(holds)]
            if hold.purpose == Hold.Purpose.TRANSFER:
                transfer_id = uuid.UUID(hold.reference.removeprefix("transfer:"))
                if op[2]:
                    target = next(w.id for w in wallets if w.id != hold.wallet_id)
                    services.transfer_complete(transfer_id=transfer_id, to_wallet_id=target)
                else:
                    services.hold_release(hold_id=hold.id, reason="property")
            elif op[2]:
                services.hold_capture(hold_id=hold.id)
            else:
                services.hold_release(hold_id=hold.id, reason="property")
    elif kind == "convert":
        conversion = convert(op[2], Quote("USD", "EUR", Decimal("0.9137"), "property"))
        services.currency_convert(
            wallet_id=wallets[op[1]].id, conversion=conversion, reference=f"x{step}-{uuid.uuid4()}"
        )
    elif kind == "freeze":
        if op[2]:
            services.wallet_freeze(wallet_id=wallets[op[1]].id, actor="property", reason="test")
        else:
            services.wallet_unfreeze(wallet_id=wallets[op[1]].id, actor="property", reason="test")


@pytest.mark.django_db
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(ops=st.lists(operation, min_size=1, max_size=25))
def test_random_operations_keep_every_invariant(ops):
    wallets = [WalletFactory() for _ in range(WALLETS)]
    for step, op in enumerate(ops):
        try:
            apply(op, wallets, step)
        except LedgerError:
            pass  # a refusal is a valid outcome; it must leave nothing half-written
    assert reconcile() == []
    assert replay(dry_run=True).mismatches == []

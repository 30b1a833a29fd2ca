"""`crowdpay.inserts.insert_statement`: the statement Django's insert compiler builds, compiled once
per model and row count, with the values prepared as the compiler prepares them."""

import uuid

import pytest
from django.db import connection
from django.db.models.sql import InsertQuery

from compliance.models import RiskAssessment
from crowdpay import inserts
from sagas.models import Saga, SagaStep
from wallets.tests.factories import WalletFactory

pytestmark = pytest.mark.django_db


def compiled_by_django(objs):
    model = type(objs[0])
    query = InsertQuery(model)
    query.insert_values(inserts._fields(model), objs, raw=True)
    ((sql, params),) = query.get_compiler(connection=connection).as_sql()
    return sql, list(params)


def same(statement, other) -> bool:
    return statement[0] == other[0] and inserts._comparable(statement[1]) == inserts._comparable(other[1])


def assessment(**kwargs):
    fields = {
        "operation": "transfer",
        "wallet_id": uuid.uuid4(),
        "owner_id": uuid.uuid4(),
        "amount": 12_34,
        "currency": "USD",
        "outcome": "approve",
        "score": 10,
        "source": "rules",
        "reasons": ["a reason", {"nested": [1, 2]}],
        **kwargs,
    }
    return RiskAssessment(**fields)


def test_a_cached_statement_is_the_compilers_own_and_inserts_the_same_row():
    inserts._compiled.clear()
    first = inserts.insert_statement([assessment()])
    row = assessment(counterparty_wallet_id=uuid.uuid4(), saga_id=uuid.uuid4(), code="x", score=None)
    cached = inserts.insert_statement([row])
    assert inserts._compiled[(RiskAssessment, 1, connection.vendor)] == (first[0], False)
    assert same(cached, compiled_by_django([row]))  # auto_now_add filled in once, then taken as is
    with connection.cursor() as cursor:
        cursor.execute(*cached)
    stored = RiskAssessment.objects.get(saga_id=row.saga_id)
    assert (stored.amount, stored.reasons, stored.score, stored.code) == (12_34, row.reasons, None, "x")
    assert stored.created_at == row.created_at


def test_several_rows_of_a_model_with_defaults():
    wallet = WalletFactory()
    saga = Saga(
        id=uuid.uuid4(),
        kind=Saga.Kind.TRANSFER,
        wallet_id=wallet.id,
        amount=5,
        currency="USD",
        reference=str(uuid.uuid4()),
    )
    steps = [SagaStep(saga=saga, step=name, result="ok", detail={"n": n}) for n, name in enumerate(("a", "b"))]
    for _ in range(2):  # compiled, then cached
        statements = [inserts.insert_statement([saga]), inserts.insert_statement(steps)]
        assert same(statements[1], compiled_by_django(steps))
    assert inserts._compiled[(Saga, 1, connection.vendor)] is not None
    assert inserts._compiled[(SagaStep, 2, connection.vendor)] is not None
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(*statement)
    assert list(SagaStep.objects.filter(saga_id=saga.id).order_by("step").values_list("step", "detail")) == [
        ("a", {"n": 0}),
        ("b", {"n": 1}),
    ]

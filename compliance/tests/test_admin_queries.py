"""The back-office stays fast as the tables grow: a bounded number of queries per page, and no
query that has to read the whole events table.

Query counts. Every registered admin's changelist and change page is opened over a data set with
several rows per list (the admin walk's world, plus review cases and frozen wallets decided by
several officers, and assessments): the count must stay under a bound
(`django_assert_max_num_queries`), and a changelist must make as many queries showing one row per
page as showing all of them, so a query per row (`decided_by`, `frozen_by`, a pod's members…)
cannot come back unnoticed.

Plans. On PostgreSQL the events changelist, searched by a wallet id and filtered by type, is run
and each of its queries on `wallets_event` EXPLAINed with sequential scans disabled: a plan that
still scans the table has no index it can use (the `UPPER(uuid::text)` search did exactly that).
"""

from __future__ import annotations

import functools

import pytest
from django.contrib import admin
from django.db import connection, transaction
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from compliance import screening, services
from compliance.models import ReviewCase
from compliance.tests.factories import officer_user, saga_row
from compliance.tests.test_admin_walk import _build_world
from crowdpay.admin import ExactSearchMixin
from crowdpay.admin_paging import EstimatedCountPaginator, LargeTableMixin, planner_estimate
from sagas.models import Saga
from wallets.models import Event, Wallet
from wallets.tests.factories import funded

# Queries a page may make, whatever the number of rows it lists: the session and user, the
# permission look-ups, the count(s), the page itself, its filters and the related rows it shows in
# bulk. A page with a query per row goes past it with the rows of this data set.
MAX_CHANGELIST_QUERIES = 20
MAX_CHANGE_PAGE_QUERIES = 30
# Pages that show more than one table of related rows (each one query, bounded by a slice).
MAX_QUERIES = {
    "wallets.wallet:change": 40,
    "pods.pod:change": 40,
}


def _extra_rows(world) -> None:
    """More rows per list than the walk's world has, decided by several officers: a query per row
    for who decided or who froze would show in the counts."""
    officers = [officer_user(f"scale-officer-{n}") for n in range(3)]
    for n, officer in enumerate(officers):
        wallet = funded(amount=50_00)
        services.wallet_freeze_by_officer(
            wallet_id=wallet.id, officer=officer, reason_code="other", reason=f"a spike of chargebacks, {n}"
        )
        screening.screen(operation="withdraw", wallet_id=wallet.id, amount=1_00 + n, currency="USD")
        # a lower limit than the default (a lift may need a second officer)
        services.wallet_limit_set(
            wallet_id=wallet.id, daily_limit=10_00, officer=officer, reason="lowered after the chargebacks"
        )
        for status in (ReviewCase.Status.APPROVED, ReviewCase.Status.REJECTED):
            saga = saga_row(kind=Saga.Kind.FUNDING, state=Saga.State.FAILED, wallet=wallet, amount=900_00)
            ReviewCase.objects.create(
                saga_id=saga.id,
                wallet_id=wallet.id,
                owner_id=wallet.owner_id,
                code="large_first_amount",
                reasons=["a large first amount"],
                status=status,
                decided_by=officer,
                decision_reason="documents checked by phone",
            )


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        made = _build_world()
        _extra_rows(made)
        yield made
        transaction.set_rollback(True)


def _admins() -> list[tuple[str, admin.ModelAdmin]]:
    return sorted(((m._meta.label_lower, a) for m, a in admin.site._registry.items()), key=lambda pair: pair[0])


def _request(user):
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


def _user_for(world, model_admin: admin.ModelAdmin):
    """The officer where an officer may open the page (what they open every day), else the superuser."""
    officer = world.users["officer"]
    return officer if model_admin.has_view_permission(_request(officer)) else world.users["superuser"]


def _queries(client: Client, url: str) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    return response.status_code, len(captured.captured_queries)


@pytest.mark.django_db
@pytest.mark.parametrize("label,model_admin", _admins(), ids=[label for label, _ in _admins()])
def test_a_changelist_makes_a_bounded_number_of_queries_whatever_its_rows(
    world, label, model_admin, django_assert_max_num_queries, monkeypatch
):
    user = _user_for(world, model_admin)
    client = Client()
    client.force_login(user)
    model = model_admin.model
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    client.get(url)  # the session, content types and permissions are cached from here on

    with django_assert_max_num_queries(MAX_QUERIES.get(f"{label}:changelist", MAX_CHANGELIST_QUERIES)):
        response = client.get(url)
    assert response.status_code == 200
    shown = len(response.context["cl"].result_list)
    if shown < 2:
        # only an officer's own pages must have several rows here; the superuser's tools may not
        assert user != world.users["officer"], f"the data set should show several {label} rows, it shows {shown}"
        return

    status, all_rows = _queries(client, url)
    monkeypatch.setattr(model_admin, "list_per_page", 1)
    status_one, one_row = _queries(client, url)
    assert (status, status_one) == (200, 200)
    assert all_rows == one_row, f"{label}: {one_row} queries for 1 row, {all_rows} for {shown} rows: a query per row"


@pytest.mark.django_db
@pytest.mark.parametrize("label,model_admin", _admins(), ids=[label for label, _ in _admins()])
def test_a_change_page_makes_a_bounded_number_of_queries(world, label, model_admin, django_assert_max_num_queries):
    user = _user_for(world, model_admin)
    client = Client()
    client.force_login(user)
    model = model_admin.model
    objects = list(model_admin.get_queryset(_request(user)).order_by("pk")[:3])
    if not objects:
        assert user != world.users["officer"], f"the data set has no {label} an officer opens"
        pytest.skip(f"no {label} in the data set (a superuser's tool)")
    for obj in objects:
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[obj.pk])
        client.get(url)
        with django_assert_max_num_queries(MAX_QUERIES.get(f"{label}:change", MAX_CHANGE_PAGE_QUERIES)):
            response = client.get(url)
        assert response.status_code in (200, 302), (label, obj.pk)


# --- plans on PostgreSQL --------------------------------------------------------------------------


def _event_plans(client: Client, url: str, table: str = "wallets_event") -> list[tuple[str, str]]:
    """EXPLAIN each query of the page that reads `table`, sequential scans disabled (the test
    tables are tiny: the planner would scan them whatever the indexes)."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    plans = []
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        for query in captured.captured_queries:
            sql = query["sql"]
            if f'"{table}"' not in sql or not sql.lstrip().upper().startswith("SELECT"):
                continue
            cursor.execute("EXPLAIN " + sql)
            plans.append((sql, "\n".join(row[0] for row in cursor.fetchall())))
        cursor.execute("SET LOCAL enable_seqscan = on")
    return plans


@pytest.mark.django_db
def test_the_events_changelist_reads_the_events_table_through_indexes_only(world):
    if connection.vendor != "postgresql":
        pytest.skip("plans are PostgreSQL's")
    client = Client()
    client.force_login(world.users["officer"])
    wallet = world.wallets[Wallet.Kind.USER, Wallet.Status.ACTIVE]
    base = reverse("admin:wallets_event_changelist")
    event_type = Event.objects.filter(wallet_id=wallet.pk).values_list("type", flat=True).first()
    urls = [
        base,
        f"{base}?q={wallet.pk}",
        f"{base}?type={event_type}",
        f"{base}?type={event_type}&q={wallet.pk}",
        f"{base}?wallet__id__exact={wallet.pk}",
    ]
    checked = 0
    for url in urls:
        for sql, plan in _event_plans(client, url):
            checked += 1
            assert "Seq Scan on wallets_event" not in plan, f"{url} scans the events table:\n{sql}\n{plan}"
            assert "upper(" not in sql.lower(), f"{url} searches with UPPER(), which no index serves:\n{sql}"
    assert checked >= len(urls), "the changelist read no events"


def _exact_searches() -> list[tuple[str, admin.ModelAdmin, str]]:
    return [
        (label, a, column) for label, a in _admins() if isinstance(a, ExactSearchMixin) for column in a.exact_search
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "label,model_admin,column", _exact_searches(), ids=[f"{label}.{column}" for label, _, column in _exact_searches()]
)
def test_an_exact_search_finds_its_row_through_an_index(world, label, model_admin, column):
    """Each column of a list's search box: the row whose value it is comes up, and on PostgreSQL
    every query of the page on that table has an index to use (no `UPPER(column::text)`)."""
    user = _user_for(world, model_admin)
    client = Client()
    client.force_login(user)
    model = model_admin.model
    row = model_admin.get_queryset(_request(user)).order_by("pk").first()
    assert row is not None, f"the data set has no {label} to search for"
    *relations, name = column.split("__")
    holder = functools.reduce(getattr, relations, row)
    value = getattr(holder, holder._meta.get_field(name).attname)
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist") + f"?q={value}"
    response = client.get(url)
    assert response.status_code == 200
    assert row.pk in {found.pk for found in response.context["cl"].result_list}
    if connection.vendor == "postgresql":
        plans = _event_plans(client, url, model._meta.db_table)
        assert plans, f"{url} read no {model._meta.db_table}"
        for sql, plan in plans:
            assert f"Seq Scan on {model._meta.db_table}" not in plan, f"{url} scans the table:\n{sql}\n{plan}"
            assert "upper(" not in sql.lower(), f"{url} searches with UPPER(), which no index serves:\n{sql}"


@pytest.mark.django_db
def test_a_term_no_column_can_hold_finds_nothing_and_is_not_an_error(world):
    client = Client()
    client.force_login(world.users["officer"])
    response = client.get(reverse("admin:wallets_event_changelist") + "?q=not-a-wallet-id")
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == []


def _large_admins() -> list[tuple[str, admin.ModelAdmin]]:
    return [(label, a) for label, a in _admins() if isinstance(a, LargeTableMixin)]


@pytest.mark.django_db
@pytest.mark.parametrize("label,model_admin", _large_admins(), ids=[label for label, _ in _large_admins()])
def test_a_big_tables_changelist_neither_counts_nor_lists_distinct_values_of_the_whole_table(
    world, label, model_admin, monkeypatch
):
    """Past EXACT_COUNT_LIMIT expected rows (here: any) the page count is the planner's estimate,
    never a COUNT(*); a text column's filter values come from the cache after the first view."""
    if connection.vendor != "postgresql":
        pytest.skip("estimates are PostgreSQL's planner's")
    monkeypatch.setattr(EstimatedCountPaginator, "exact_count_limit", 0)
    client = Client()
    client.force_login(_user_for(world, model_admin))
    model = model_admin.model
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    assert client.get(url).status_code == 200  # fills the filter values' cache
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    table = f'"{model._meta.db_table}"'
    sqls = [q["sql"] for q in captured.captured_queries if table in q["sql"]]
    assert not [s for s in sqls if "COUNT(" in s.upper()], f"{label} counted its table"
    assert not [s for s in sqls if s.upper().startswith("SELECT DISTINCT")], f"{label} listed distinct values"
    assert any(s.startswith("EXPLAIN (FORMAT JSON)") for s in sqls), f"{label} asked no estimate"
    paginator = response.context["cl"].paginator
    assert paginator.estimated and paginator.count >= 0


@pytest.mark.django_db
def test_a_small_result_is_counted_exactly(world):
    """Under EXACT_COUNT_LIMIT expected rows the count is exact: one wallet's events, say."""
    wallet = world.wallets[Wallet.Kind.USER, Wallet.Status.ACTIVE]
    events = Event.objects.filter(wallet_id=wallet.pk)
    paginator = EstimatedCountPaginator(events.order_by("version"), 100)
    assert paginator.count == events.count() and paginator.estimated is False
    if connection.vendor == "postgresql":
        assert planner_estimate(events) is not None
        assert planner_estimate(Event.objects.none()) is None


@pytest.mark.django_db
def test_the_dashboard_makes_as_many_queries_whatever_it_lists(world, django_assert_max_num_queries):
    """More frozen wallets, open cases and declines make no more queries (each tile and table is
    one query, not one per row)."""
    client = Client()
    client.force_login(world.users["officer"])
    url = reverse("admin:compliance_dashboard")
    client.get(url)
    status, before = _queries(client, url)
    officer = world.users["officer"]
    for n in range(3):
        wallet = funded(amount=20_00)
        services.wallet_freeze_by_officer(
            wallet_id=wallet.id, officer=officer, reason_code="fraud", reason=f"card testing from one device, {n}"
        )
        saga = saga_row(kind=Saga.Kind.TRANSFER, state=Saga.State.IN_REVIEW, wallet=wallet, amount=700_00)
        ReviewCase.objects.create(saga_id=saga.id, wallet_id=wallet.id, owner_id=wallet.owner_id, code="new_currency")
        screening.screen(operation="withdraw", wallet_id=funded(amount=1_00).id, amount=5_00, currency="USD")
    with django_assert_max_num_queries(MAX_QUERIES.get("dashboard", 40)):
        response = client.get(url)
    status_after, after = _queries(client, url)
    assert (status, response.status_code, status_after) == (200, 200, 200)
    assert after == before, f"the dashboard made {before} queries, then {after} with more rows"


@pytest.mark.django_db
def test_a_filter_reads_its_values_itself_when_the_cache_is_down(world, monkeypatch):
    from crowdpay import admin_paging

    def down(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(admin_paging.cache, "get_or_set", down)
    client = Client()
    client.force_login(world.users["officer"])
    response = client.get(reverse("admin:compliance_riskassessment_changelist"))
    assert response.status_code == 200
    codes = {spec.title: spec for spec in response.context["cl"].filter_specs}
    assert "kyc_required" in list(codes["code"].lookup_choices)

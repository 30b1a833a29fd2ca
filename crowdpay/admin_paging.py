"""Changelists over big tables (events, journal, wallets, sagas, holds, assessments, the audit log):
no `COUNT(*)` of a whole table on every page.

Django's changelist counts twice per page: the filtered rows (for the paginator) and, with
`show_full_result_count`, the whole table again ("5 of 1,000,000 selected"). On PostgreSQL an exact
count reads every visible row (an index-only scan at best): ~100 ms per million rows on this
machine, on every page view. `LargeTableMixin` turns the second count off, lists the values of a
plain text column's filter from a cache (`CachedValuesFilter`), never counts facets, and pages with
`EstimatedCountPaginator`, which asks the planner first (`EXPLAIN`, no rows read) and counts
exactly only when the planner expects at most `EXACT_COUNT_LIMIT` rows — so a filter that selects
a few rows (one wallet's events, the open cases) still shows the exact number, and a page over the
whole table shows the planner's estimate (kept fresh by ANALYZE; `paginator.estimated` says which).

SQLite (make run, some tests) has no row estimates: it always counts exactly.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any, cast

from django.contrib import admin
from django.core.cache import cache
from django.core.exceptions import EmptyResultSet
from django.core.paginator import Paginator
from django.db import connections, models
from django.db.models import QuerySet
from django.utils.functional import cached_property

log = logging.getLogger(__name__)

# Above this many expected rows the planner's estimate is shown instead of an exact count.
EXACT_COUNT_LIMIT = 20_000
# How long a list filter's distinct values are kept (see CachedValuesFilter).
FILTER_VALUES_SECONDS = 300


def planner_estimate(queryset: QuerySet) -> int | None:
    """The number of rows PostgreSQL's planner expects `queryset` to return, read from `EXPLAIN`
    without running it; None on another database or when the query cannot be compiled."""
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return None
    try:
        sql, params = queryset.order_by().query.sql_with_params()
    except EmptyResultSet:  # `.none()` has no SQL: nothing to estimate
        return None
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):  # psycopg returns json as text on some set-ups
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


class EstimatedCountPaginator(Paginator):
    """Counts exactly up to EXACT_COUNT_LIMIT expected rows, estimates above (see the module)."""

    exact_count_limit = EXACT_COUNT_LIMIT

    @cached_property
    def count(self) -> int:
        objects = self.object_list
        if isinstance(objects, QuerySet):
            estimate = planner_estimate(objects)
            if estimate is not None and estimate > self.exact_count_limit:
                self.estimated = True
                return estimate
        self.estimated = False
        return super().count

    estimated = False


class CachedValuesFilter(admin.AllValuesFieldListFilter):
    """Django's filter of a plain text column (a risk code, a currency, a journal kind) lists the
    column's distinct values, read with `SELECT DISTINCT` over the whole table on every page view.
    Here they are read once per FILTER_VALUES_SECONDS and kept in the cache: a value that first
    appears meanwhile is missing from the list (not from the results) for at most that long."""

    def __init__(self, field, request, params, model, model_admin, field_path):
        super().__init__(field, request, params, model, model_admin, field_path)
        database = connections[self.lookup_choices.db].settings_dict["NAME"]
        admin_name = f"{type(model_admin).__module__}.{type(model_admin).__name__}"
        key = f"admin-filter-values:{database}:{admin_name}:{field_path}"
        choices = self.lookup_choices
        try:
            values = cache.get_or_set(key, lambda: list(choices), FILTER_VALUES_SECONDS)
        except Exception:  # the cache is down: the page still opens, reading the values itself
            log.warning("admin filter values not cached (%s)", key, exc_info=True)
            values = list(choices)
        self.lookup_choices = cast(Any, values)


if TYPE_CHECKING:
    _Base = admin.ModelAdmin
else:
    _Base = object


class LargeTableMixin(_Base):
    """For the changelist of a table that grows without bound: no count of the whole table, and
    the filtered count estimated when it is large (see the module's docstring)."""

    show_full_result_count = False
    paginator = EstimatedCountPaginator
    show_facets = admin.ShowFacets.NEVER  # a count per filter value is a scan of the table each

    def get_list_filter(self, request):
        """Plain text columns (no choices, not a relation) filter through CachedValuesFilter."""
        filters = []
        for item in super().get_list_filter(request):
            if isinstance(item, str) and "__" not in item:
                field = self.model._meta.get_field(item)
                if isinstance(field, models.CharField) and not field.choices and not field.is_relation:
                    item = (item, CachedValuesFilter)
            filters.append(item)
        return filters

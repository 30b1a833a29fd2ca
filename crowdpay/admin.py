"""Admin building blocks shared by the apps: pages and inlines nobody can add to, change or delete
from. Money and history change only through services, never through a form."""

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.db.models.constants import LOOKUP_SEP


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyInline(admin.TabularInline):
    """A table of related rows, every listed field read-only."""

    extra = 0
    max_num = 0
    can_delete = False

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


# The related rows an exact search follows at most: a unique value matches one; an endpoint URL that
# many owners share matches one row each, and past this many the search would show only some.
RELATED_KEYS = 1000


class ExactSearchMixin:
    """A changelist's search box as exact equalities on indexed columns (`exact_search`): the term is
    converted to each column's type (a column it cannot be, say a reference typed into a uuid column,
    is skipped), so the filter is an OR of index lookups. A column may be a related row's, one
    relation away (`message__uid`). Django's own search compares `UPPER(column::text)` even for
    `=column` and reads the whole table. Keep `search_fields` non-empty (the admin shows the box for
    it); the search itself is this."""

    exact_search: tuple[str, ...] = ()

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        query = Q()
        for path in self.exact_search:
            relation, _, name = path.rpartition(LOOKUP_SEP)
            model = queryset.model._meta.get_field(relation).related_model if relation else queryset.model
            try:
                value = model._meta.get_field(name).to_python(term)
            except ValidationError:
                continue
            if relation:
                # The related rows first, by their own index; then this table's rows by its foreign
                # key's. One OR over a join would leave the planner a scan of this table.
                keys = list(model._default_manager.filter(**{name: value}).values_list("pk", flat=True)[:RELATED_KEYS])
                if keys:
                    query |= Q(**{f"{relation}__in": keys})
            else:
                query |= Q(**{name: value})
        return (queryset.filter(query) if query else queryset.none()), False

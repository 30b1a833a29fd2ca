"""One search box for the back-office: it reads what was typed and looks where that can be.

- a full UUID: any id of the row (wallet, owner, saga, case, profile), an index lookup;
- an email (holds "@"): owners through the blind index (`compliance.blind_index`);
- a wallet id prefix (4 to 31 hex digits, dashes allowed, e.g. the 8 shown in lists): a range on
  the uuid, `id >= 'abcd1234-0000-…' AND id <= 'abcd1234-ffff-…'`, which the primary key's index
  answers (never `UPPER(id::text)`, which reads the whole table);
- a name (letters and spaces): owners whose name holds every word, through the blind index;
- anything else without spaces: a saga's reference or its charge reference (`source_reference`:
  the card charge a funding is paid by).
A term can be more than one of these ("cafe" is both hex and a word): the matches are added up.

Name and email search is for officers only (`compliance.view_reviewcase`): for anyone else it
would reveal who is behind a name that they may only see masked.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from django.db.models import Q

from . import blind_index

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

_HEX = re.compile(r"^[0-9a-f-]+$")
_NAME = re.compile(r"^[^\W\d_]+(?:[\s'.-][^\W\d_]+)*\.?$")
MIN_PREFIX, MAX_TERM = 4, 200


@dataclass(frozen=True)
class Term:
    """What a typed search term can be (any combination)."""

    text: str
    exact: uuid.UUID | None = None
    prefix: tuple[uuid.UUID, uuid.UUID] | None = None  # the lowest and highest uuid with the prefix
    email: bool = False
    name: bool = False
    reference: bool = False


def uuid_range(prefix: str) -> tuple[uuid.UUID, uuid.UUID] | None:
    digits = prefix.replace("-", "").lower()
    if not (MIN_PREFIX <= len(digits) < 32) or not _HEX.match(digits):
        return None
    return uuid.UUID(digits.ljust(32, "0")), uuid.UUID(digits.ljust(32, "f"))


def classify(raw: str) -> Term:
    text = " ".join(raw.split())[:MAX_TERM]
    if not text:
        return Term(text="")
    try:
        return Term(text=text, exact=uuid.UUID(text))
    except ValueError:
        pass
    lowered = text.lower()
    if "@" in text and " " not in text:
        return Term(text=text, email=True)
    prefix = uuid_range(lowered) if _HEX.match(lowered) else None
    name = bool(_NAME.match(text))
    reference = " " not in text and not name
    if prefix and not name:
        reference = True  # a hex-looking reference is possible too
    return Term(text=text, prefix=prefix, name=name, reference=reference)


MAX_IDS = 500  # ids a step of a search resolves to (owners of a name, wallets of the owners, sagas)


def saga_ids_by_reference(text: str) -> list[uuid.UUID]:
    """The sagas known by `text`: their own reference (idempotency key) or the charge they fund
    from (`source_reference`, the card charge of a funding), each an equality on an index."""
    from sagas.models import Saga

    return list(
        Saga.objects.filter(Q(reference=text) | Q(source_reference=text)).values_list("id", flat=True)[:MAX_IDS]
    )


def _wallets_of(owner_ids: list[uuid.UUID]) -> list[uuid.UUID]:
    from wallets.models import Wallet

    if not owner_ids:
        return []
    return list(Wallet.objects.filter(owner_id__in=owner_ids).values_list("id", flat=True)[:MAX_IDS])


@dataclass(frozen=True)
class Fields:
    """Where a model keeps each kind of id (None or empty: it has none of that kind)."""

    pk: str | None = "pk"
    wallet: tuple[str, ...] = ()
    owner: str | None = None
    saga: str | None = None
    reference: tuple[str, ...] = ()  # the model's own reference columns


def search_q(term: Term, fields: Fields, *, pii: bool) -> Q | None:
    """The filter for `term` on a model laid out as `fields`; None when nothing can match.

    Whatever must be looked up elsewhere (the owners of a name, their wallets, the sagas of a
    reference) is resolved first into a short list of ids, so the filter is an OR of equalities,
    ranges and IN-lists on indexed columns, which PostgreSQL answers with a bitmap OR of index
    scans: a subquery inside an OR would make it read the whole table instead."""
    from wallets.models import Wallet

    parts: list[Q] = []
    owners: list[uuid.UUID] = []
    if term.exact is not None:
        names = [fields.pk, *fields.wallet, fields.owner, fields.saga]
        parts += [Q(**{name: term.exact}) for name in names if name]
        if not fields.owner:
            owners.append(term.exact)  # the id may be an owner's: their wallets' rows
    if term.prefix is not None:
        low, high = term.prefix
        parts += [Q(**{f"{name}__gte": low, f"{name}__lte": high}) for name in fields.wallet]
        if fields.owner and not fields.wallet:  # a profile: the owners of the wallets in the range
            in_range = Wallet.objects.filter(id__gte=low, id__lte=high).values_list("owner_id", flat=True)
            parts.append(Q(**{f"{fields.owner}__in": list(in_range[:MAX_IDS])}))
    if pii and (term.email or term.name):
        matching = list(blind_index.owner_ids_matching(term.text)[:MAX_IDS])
        if fields.owner:
            parts.append(Q(**{f"{fields.owner}__in": matching}))
        else:
            owners += matching
    if owners and fields.wallet:
        wallets = _wallets_of(owners)
        parts += [Q(**{f"{name}__in": wallets}) for name in fields.wallet if wallets]
    if term.reference:
        parts += [Q(**{name: term.text}) for name in fields.reference]
        if fields.saga and not fields.reference:
            sagas = saga_ids_by_reference(term.text)
            if sagas:
                parts.append(Q(**{f"{fields.saga}__in": sagas}))
    if not parts:
        return None
    query = parts[0]
    for part in parts[1:]:
        query |= part
    return query


def may_search_pii(user) -> bool:
    return user.has_perm("compliance.view_reviewcase")


class SearchMixin:
    """A changelist whose search box is `compliance.search`: set `search_layout` (a `Fields`) and
    keep `search_fields` non-empty so the admin shows the box."""

    search_layout: Fields = Fields()
    search_help_text: ClassVar[StrOrPromise | None] = (
        "A name, an email, a wallet id or its first 8 characters, a saga id, a charge reference"
    )

    def get_search_results(self, request, queryset, search_term):
        term = classify(search_term)
        if not term.text:
            return queryset, False
        query = search_q(term, self.search_layout, pii=may_search_pii(request.user))
        return (queryset.none() if query is None else queryset.filter(query)), False


FOUND_PER_KIND = 20

# What the back-office's one search box looks through, and where each model keeps its ids.
LAYOUTS = {
    "profiles": Fields(pk="id", owner="owner_id"),
    "wallets": Fields(pk="id", wallet=("id",), owner="owner_id"),
    "cases": Fields(pk="id", wallet=("wallet_id",), owner="owner_id", saga="saga_id"),
    "sagas": Fields(
        pk="id", wallet=("wallet_id", "counterparty_wallet_id"), reference=("reference", "source_reference")
    ),
}


def find(raw: str, *, user) -> dict[str, list]:
    """Everything the term can name, by kind (the first FOUND_PER_KIND of each), for the search page."""
    from sagas.models import Saga
    from wallets.models import Wallet

    from .models import KycProfile, ReviewCase

    term = classify(raw)
    found: dict[str, list] = {name: [] for name in LAYOUTS}
    if not term.text:
        return found
    querysets = {
        "profiles": KycProfile.objects.order_by("-submitted_at"),
        "wallets": Wallet.objects.order_by("created_at"),
        "cases": ReviewCase.objects.order_by("-opened_at"),
        "sagas": Saga.objects.order_by("-created_at"),
    }
    pii = may_search_pii(user)
    for name, queryset in querysets.items():
        query = search_q(term, LAYOUTS[name], pii=pii)
        if query is not None:
            found[name] = list(queryset.filter(query)[:FOUND_PER_KIND])
    return found

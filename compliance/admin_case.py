"""The review case page: everything an officer needs to decide one case, on one page.

The amount and currency, where the money comes from and goes to (wallets with their owners, a
card charge, a payout destination), the operation (saga) and its state, the risk score with its
reasons, the source wallet's last 30 days (money in, money out, counterparties), the owner's KYC
status and their earlier cases; then approve or reject with a reason code from a list and the
officer's own words (at least REVIEW_REASON_MIN_LENGTH characters: `admin.CaseDecisionForm`).

Every read is bounded: a handful of index lookups by id, and the 30-day summary reads only the
wallet's postings of that window (through the postings' (wallet, currency) index), capped at
`WINDOW_JOURNALS` journal entries for the counterparties.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Count, Q, Sum
from django.utils import timezone

from sagas.models import Saga
from wallets.currencies import format_money
from wallets.models import JournalEntry, Posting, Wallet

from .models import KycProfile, ReviewCase, RiskAssessment

WINDOW = timedelta(days=30)
WINDOW_JOURNALS = 1000  # journal entries read for the counterparties (the most recent first)
EARLIER_CASES = 10
COUNTERPARTIES = 10


@dataclass
class Party:
    """One side of the operation: a wallet of ours (with its owner) or an outside account."""

    label: str
    wallet: Wallet | None = None
    profile: KycProfile | None = None
    outside: str = ""


@dataclass
class Flow:
    currency: str
    money_in: int
    money_out: int
    postings: int

    @property
    def shown_in(self) -> str:
        return format_money(self.money_in, self.currency)

    @property
    def shown_out(self) -> str:
        return format_money(self.money_out, self.currency)


@dataclass
class Counterparty:
    account: str
    wallet_id: uuid.UUID | None
    entries: int


@dataclass
class CaseView:
    case: ReviewCase
    saga: Saga | None
    amount: str
    source: Party
    destination: Party
    assessment: RiskAssessment | None
    flows: list[Flow] = field(default_factory=list)
    counterparties: list[Counterparty] = field(default_factory=list)
    since: datetime | None = None
    profile: KycProfile | None = None
    earlier: list[ReviewCase] = field(default_factory=list)


def _parties(saga: Saga | None, case: ReviewCase, profiles: dict) -> tuple[Party, Party]:
    def ours(label: str, wallet: Wallet | None) -> Party:
        return Party(label, wallet=wallet, profile=profiles.get(wallet.owner_id) if wallet else None)

    if saga is None:  # the saga row is always there; keep the page usable if it is not
        return ours("source", None), Party("destination", outside="unknown (no saga)")
    if saga.kind == Saga.Kind.FUNDING:
        charge = f"{saga.source or 'card'} charge {saga.source_reference}".strip()
        return Party("source", outside=charge), ours("destination", saga.wallet)
    if saga.kind == Saga.Kind.WITHDRAW:
        return ours("source", saga.wallet), Party("destination", outside=saga.source_reference or "payout")
    return ours("source", saga.wallet), ours("destination", saga.counterparty_wallet)


def wallet_window(wallet_id: uuid.UUID, *, now: datetime | None = None) -> tuple[list[Flow], list[Counterparty]]:
    """The wallet's last 30 days: money in and out per currency, and who the money went to or
    came from (other accounts of the same journal entries), busiest first."""
    since = (now or timezone.now()) - WINDOW
    mine = Posting.objects.filter(wallet_id=wallet_id, journal__created_at__gte=since)
    flows = [
        Flow(row["currency"], row["money_in"] or 0, -(row["money_out"] or 0), row["n"])
        for row in mine.values("currency")
        .annotate(
            money_in=Sum("amount", filter=Q(amount__gt=0)),
            money_out=Sum("amount", filter=Q(amount__lt=0)),
            n=Count("id"),
        )
        .order_by("currency")
    ]
    journals = JournalEntry.objects.filter(
        pk__in=mine.order_by("-journal__created_at").values("journal_id")[:WINDOW_JOURNALS]
    ).values("pk")
    others = (
        Posting.objects.filter(journal_id__in=journals)
        .exclude(wallet_id=wallet_id)
        .values("account", "wallet_id")
        .annotate(entries=Count("journal_id", distinct=True))
        .order_by("-entries", "account")[:COUNTERPARTIES]
    )
    return flows, [Counterparty(r["account"], r["wallet_id"], r["entries"]) for r in others]


def case_view(case: ReviewCase, *, now: datetime | None = None) -> CaseView:
    saga = Saga.objects.select_related("wallet", "counterparty_wallet").filter(pk=case.saga_id).first()
    wallets = (saga.wallet, saga.counterparty_wallet) if saga is not None else ()
    owner_ids = {case.owner_id} | {w.owner_id for w in wallets if w is not None}
    profiles = {p.owner_id: p for p in KycProfile.objects.filter(owner_id__in=[o for o in owner_ids if o])}
    source, destination = _parties(saga, case, profiles)
    assessment = RiskAssessment.objects.filter(saga_id=case.saga_id).order_by("-created_at").first()
    flows, counterparties = wallet_window(case.wallet_id, now=now)
    earlier_q = Q(wallet_id=case.wallet_id)
    if case.owner_id:
        earlier_q |= Q(owner_id=case.owner_id)
    earlier = list(
        ReviewCase.objects.filter(earlier_q)
        .exclude(pk=case.pk)
        .select_related("decided_by")
        .order_by("-opened_at")[:EARLIER_CASES]
    )
    return CaseView(
        case=case,
        saga=saga,
        amount=format_money(saga.amount, saga.currency) if saga else "—",
        source=source,
        destination=destination,
        assessment=assessment,
        flows=flows,
        counterparties=counterparties,
        since=(now or timezone.now()) - WINDOW,
        profile=profiles.get(case.owner_id) if case.owner_id else None,
        earlier=earlier,
    )

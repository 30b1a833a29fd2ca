"""Who paid what into a CrowdPod: the contributions projection.

A payment into a pod is a `WalletCredited` on the pod's stream that names the paying wallet
(`from_wallet_id`): a transfer (`source: transfer`, the instant path or a saga's) or a captured
pledge (`source: pledge`). A refund is, on the pod's stream, a `TransferCompleted` that carries
`refund` and names the recipient (`to_wallet_id`); on the recipient's stream, a `WalletCredited`
with `source: pod_refund` naming the pod. A contribution row per (pod, paying wallet, currency)
keeps `paid_in` and `refunded`; `net = paid_in - refunded` is what pro-rata refunds are
proportional to. The paying member is the paying wallet's owner.

The rows are the fold of the pod's own stream up to its `ContributionCursor`. A payment writes none
of them: it is one executor call, so a pod that many pay into at once holds its lock only inside
that call, not across more round trips for its projection. The rows are brought to the stream's
head (`catch_up`) before anything decides on them — refunds, under the pod's lock, and the API's
list — and by a beat job (`pods.tasks.pod_contributions_catch_up`, `POD_CONTRIBUTIONS_SECONDS`) so
that what is left to fold stays short; the admin shows the rows plus the fold of the events past the
cursor and writes nothing (`current`). A wallet's events commit in version order (each movement holds
the wallet's lock to its commit), so reading past the cursor never skips one.

`projection` is registered with `wallets.integrity`: `replay_events` rebuilds the rows from the
events and sets the cursor to the head; `reconcile` compares the replay — which reads the
recipients' credits, not the pod's debits: another path through the events — with the rows plus
their pending fold.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable

from django.db import transaction
from django.db.models import F, OuterRef, Subquery
from django.db.models.functions import Coalesce

from wallets import executor, integrity, ledger
from wallets import plan as plans
from wallets.models import Event, Wallet
from wallets.projection import EventType

from .models import ContributionCursor, PodContribution

PAID_IN_SOURCES = ("transfer", "pledge")
REFUND_SOURCE = "pod_refund"
TABLE = PodContribution._meta.db_table


def _change(append_wallet: object, data: dict) -> tuple[uuid.UUID, uuid.UUID, str, int, int] | None:
    """(pod, paying wallet, currency, paid in, refunded) for one WalletCredited, or None (the
    replay's reading: payments on the pod's stream, refunds on the recipients')."""
    source, other = data.get("source"), data.get("from_wallet_id")
    if not other:
        return None
    if source in PAID_IN_SOURCES:
        return ledger.as_uuid(append_wallet), ledger.as_uuid(other), data["currency"], data["amount"], 0
    if source == REFUND_SOURCE:
        return ledger.as_uuid(other), ledger.as_uuid(append_wallet), data["currency"], 0, data["amount"]
    return None


Change = dict[tuple[uuid.UUID, str], list[int]]  # (paying wallet, currency) -> [paid in, refunded]
FOLDED = (EventType.WALLET_CREDITED, EventType.TRANSFER_COMPLETED)


def _fold(events: Iterable[tuple[str, dict]]) -> Change:
    """What events of a pod's own stream add to its rows."""
    totals: Change = defaultdict(lambda: [0, 0])
    for type_, data in events:
        if type_ == EventType.WALLET_CREDITED and data.get("source") in PAID_IN_SOURCES and data.get("from_wallet_id"):
            totals[(ledger.as_uuid(data["from_wallet_id"]), data["currency"])][0] += data["amount"]
        elif type_ == EventType.TRANSFER_COMPLETED and data.get("refund") and data.get("to_wallet_id"):
            totals[(ledger.as_uuid(data["to_wallet_id"]), data["currency"])][1] += data["amount"]
    return totals


def _past(pod_id: uuid.UUID, version: int) -> list[tuple[int, str, dict]]:
    """The pod's events after `version`, in order: (version, type, data)."""
    return list(
        Event.objects.filter(wallet_id=pod_id, version__gt=version)
        .order_by("version")
        .values_list("version", "type", "data")
    )


def _owners(wallet_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
    return dict(Wallet.objects.filter(pk__in=set(wallet_ids)).values_list("id", "owner_id"))


def catch_up(pod_id: uuid.UUID) -> int:
    """Fold the pod's events past its cursor into its rows and move the cursor to the last one, in
    one transaction under the cursor's row lock (two catch-ups of one pod run one after the other;
    no wallet is locked here, so none waits on a movement). Inside a caller's transaction that
    holds the pod's wallet lock (refunds), the rows are exact as of that lock. Returns how many
    events were read."""
    ContributionCursor.objects.get_or_create(pod_id=pod_id)
    with transaction.atomic():
        cursor = ContributionCursor.objects.select_for_update().get(pk=pod_id)
        events = _past(pod_id, cursor.version)
        if not events:
            return 0
        changes = _fold((t, d) for _, t, d in events)
        stored = set(
            PodContribution.objects.filter(pod_id=pod_id, wallet_id__in={w for w, _ in changes}).values_list(
                "wallet_id", "currency"
            )
        )
        owners = _owners(w for w, c in changes if (w, c) not in stored)
        for (wallet_id, currency), (paid_in, refunded) in changes.items():
            if (wallet_id, currency) in stored:
                PodContribution.objects.filter(pod_id=pod_id, wallet_id=wallet_id, currency=currency).update(
                    paid_in=F("paid_in") + paid_in, refunded=F("refunded") + refunded
                )
            else:
                PodContribution.objects.create(
                    pod_id=pod_id,
                    wallet_id=wallet_id,
                    member_id=owners[wallet_id],
                    currency=currency,
                    paid_in=paid_in,
                    refunded=refunded,
                )
        cursor.version = events[-1][0]
        cursor.save(update_fields=["version"])
        return len(events)


def catch_up_all() -> int:
    """Every pod whose stream is past its cursor, caught up (the beat job). Returns how many."""
    folded = ContributionCursor.objects.filter(pod_id=OuterRef("pk")).values("version")
    behind = (
        Wallet.objects.filter(kind=Wallet.Kind.POD)
        .annotate(folded=Coalesce(Subquery(folded), 0))
        .filter(version__gt=F("folded"))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    pods = list(behind)
    for pod_id in pods:
        catch_up(pod_id)
    return len(pods)


def current(pod_id: uuid.UUID) -> list[PodContribution]:
    """The pod's rows plus the fold of its events past the cursor, written nowhere (the admin's
    read-only page): what `catch_up` would store now. Sorted by currency, then most paid in."""
    version = ContributionCursor.objects.filter(pod_id=pod_id).values_list("version", flat=True).first() or 0
    rows = {(r.wallet_id, r.currency): r for r in PodContribution.objects.filter(pod_id=pod_id)}
    pending = _fold((t, d) for _, t, d in _past(pod_id, version))
    owners = _owners(w for w, c in pending if (w, c) not in rows)
    for (wallet_id, currency), (paid_in, refunded) in pending.items():
        row = rows.get((wallet_id, currency))
        if row is None:
            row = rows[(wallet_id, currency)] = PodContribution(
                pod_id=pod_id, wallet_id=wallet_id, member_id=owners[wallet_id], currency=currency
            )
        row.paid_in += paid_in
        row.refunded += refunded
    return sorted(rows.values(), key=lambda r: (r.currency, -r.paid_in, str(r.wallet_id)))


Key = tuple[uuid.UUID, uuid.UUID, str]


def replayed(*, pod_id: uuid.UUID | None = None) -> dict[Key, list[int]]:
    """{(pod, paying wallet, currency): [paid_in, refunded]} replayed from the events."""
    pods = Wallet.objects.filter(kind=Wallet.Kind.POD)
    if pod_id is not None:
        pods = pods.filter(pk=pod_id)
    pod_ids = {ledger.as_uuid(p) for p in pods.values_list("id", flat=True)}
    if not pod_ids:
        return {}
    credits = Event.objects.filter(type=EventType.WALLET_CREDITED, data__source__in=[*PAID_IN_SOURCES, REFUND_SOURCE])
    if pod_id is not None:
        credits = credits.filter(wallet_id=pod_id) | credits.filter(data__from_wallet_id=str(pod_id))
    totals: dict[Key, list[int]] = defaultdict(lambda: [0, 0])
    for wallet_id, data in credits.values_list("wallet_id", "data").iterator(chunk_size=integrity.BATCH):
        change = _change(wallet_id, data)
        if change is None or change[0] not in pod_ids:
            continue
        row = totals[change[:3]]
        row[0] += change[3]
        row[1] += change[4]
    return dict(totals)


def _stored(pod_id: uuid.UUID | None) -> dict[Key, list[int]]:
    """The rows plus the fold of the events past each pod's cursor (one pod, or every pod)."""
    rows = PodContribution.objects.all() if pod_id is None else PodContribution.objects.filter(pod_id=pod_id)
    totals: dict[Key, list[int]] = {
        (ledger.as_uuid(p), ledger.as_uuid(w), c): [i, r]
        for p, w, c, i, r in rows.values_list("pod_id", "wallet_id", "currency", "paid_in", "refunded")
    }
    pods = Wallet.objects.filter(kind=Wallet.Kind.POD)
    if pod_id is not None:
        pods = pods.filter(pk=pod_id)
    cursors = dict(ContributionCursor.objects.filter(pod_id__in=pods.values("pk")).values_list("pod_id", "version"))
    events = Event.objects.filter(wallet_id__in=pods.values("pk"), type__in=FOLDED).values_list(
        "wallet_id", "version", "type", "data"
    )
    for wallet_id, version, type_, data in events.iterator(chunk_size=integrity.BATCH):
        if version > cursors.get(wallet_id, 0):
            for (payer, currency), (paid_in, refunded) in _fold([(type_, data)]).items():
                row = totals.setdefault((ledger.as_uuid(wallet_id), payer, currency), [0, 0])
                row[0] += paid_in
                row[1] += refunded
    return totals


def check(wallet_id: uuid.UUID | None = None) -> list[integrity.Problem]:
    """Differences between the contributions (the rows and their pending fold) and the replay (for
    one pod, or every pod). Writes nothing."""
    pod_id = wallet_id if wallet_id is None or Wallet.objects.filter(pk=wallet_id, kind="POD").exists() else None
    if wallet_id is not None and pod_id is None:
        return []
    expected, stored = replayed(pod_id=pod_id), _stored(pod_id)
    problems = []
    for key in sorted(set(expected) | set(stored), key=str):
        if expected.get(key, [0, 0]) != stored.get(key, [0, 0]):
            problems.append(
                integrity.Problem(
                    "contributions",
                    f"{key[2]} from wallet {key[1]}: stored paid_in/refunded {stored.get(key, [0, 0])}"
                    f" but the events replay to {expected.get(key, [0, 0])}",
                    str(key[0]),
                )
            )
    return problems


def rebuild(wallet_id: uuid.UUID | None = None) -> int:
    """Rewrite the contributions of each pod (or the one given) from its events, under the pod's
    wallet lock (every payment into it and refund out of it holds that lock too), and set its
    cursor to the head read under that lock. Returns how many rows changed."""
    pods = Wallet.objects.filter(kind=Wallet.Kind.POD).order_by("pk")
    if wallet_id is not None:
        pods = pods.filter(pk=wallet_id)
    changed = 0
    for pod_id in pods.values_list("id", flat=True):
        with transaction.atomic():
            executor.executor().execute(plans.lock_plan(wallet_ids=[pod_id]))
            expected = replayed(pod_id=pod_id)
            stored = {(r.wallet_id, r.currency): r for r in PodContribution.objects.filter(pod_id=pod_id)}
            owners = dict(Wallet.objects.filter(pk__in=[k[1] for k in expected]).values_list("id", "owner_id"))
            for (_, payer, currency), (paid_in, refunded) in expected.items():
                row = stored.pop((payer, currency), None)
                if row is None:
                    row = PodContribution(pod_id=pod_id, wallet_id=payer, member_id=owners[payer], currency=currency)
                if row.pk is None or (row.paid_in, row.refunded) != (paid_in, refunded):
                    row.paid_in, row.refunded = paid_in, refunded
                    row.save()
                    changed += 1
            for row in stored.values():
                row.delete()
                changed += 1
            head = Wallet.objects.values_list("version", flat=True).get(pk=pod_id)
            ContributionCursor.objects.update_or_create(pod_id=pod_id, defaults={"version": head})
    return changed


projection = integrity.Projection(name="pod contributions", check=check, rebuild=rebuild)

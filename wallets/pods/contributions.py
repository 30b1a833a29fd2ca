"""Who paid what into a CrowdPod: the contributions projection.

A payment into a pod is a `WalletCredited` on the pod's stream that names the paying wallet
(`from_wallet_id`): a transfer (`source: transfer`, the instant path or a saga's) or a captured
pledge (`source: pledge`). A refund is a `WalletCredited` with `source: pod_refund` on the
recipient's stream, naming the pod. A contribution row per (pod, paying wallet, currency) keeps
`paid_in` and `refunded`; `net = paid_in - refunded` is what pro-rata refunds are proportional to.
The paying member is the paying wallet's owner.

`follower` is a `wallets.executor.FOLLOWERS` entry: after a movement that pays into (or refunds
out of) a pod, its upserts are written with the ORM in the movement's own transaction, under the
locks of both wallets (so the row lock they take is always behind those, inside the ledger's lock
order). A movement that touches no POD wallet is not followed; the kinds come from the executor's
answers (`wallets.executor.known_kinds`), with no query of their own. `projection` is registered with
`wallets.integrity`: `replay_events` rebuilds the rows from the events and `reconcile` reports
any difference.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Mapping

from django.db import transaction
from django.db.models import F

from wallets import executor, integrity, ledger
from wallets import plan as plans
from wallets.models import Event, Wallet
from wallets.plan import MovementPlan, Outcome
from wallets.projection import EventType

from .models import PodContribution

PAID_IN_SOURCES = ("transfer", "pledge")
REFUND_SOURCE = "pod_refund"
TABLE = PodContribution._meta.db_table


def _change(append_wallet: object, data: dict) -> tuple[uuid.UUID, uuid.UUID, str, int, int] | None:
    """(pod, paying wallet, currency, paid in, refunded) for one WalletCredited, or None."""
    source, other = data.get("source"), data.get("from_wallet_id")
    if not other:
        return None
    if source in PAID_IN_SOURCES:
        return ledger.as_uuid(append_wallet), ledger.as_uuid(other), data["currency"], data["amount"], 0
    if source == REFUND_SOURCE:
        return ledger.as_uuid(other), ledger.as_uuid(append_wallet), data["currency"], 0, data["amount"]
    return None


def _credits(plan: MovementPlan) -> list[tuple[uuid.UUID, uuid.UUID, str, int, int]]:
    """Every (pod?, paying wallet, currency, paid in, refunded) the movement's credits would be, if
    the wallet credited (paid in) or paying (refunded) is a pod."""
    changes = []
    for event in plan.events:
        change = _change(event.wallet_id, event.data) if event.type == EventType.WALLET_CREDITED else None
        if change is not None:
            changes.append(change)
    return changes


class Follower:
    """The ledger executor's follower (`wallets.executor.FOLLOWERS`): after a movement that pays into
    (or refunds out of) a pod, in its transaction and under the locks of both wallets, the
    contribution rows. A movement that touches no pod is not followed (it runs alone); one whose
    credited wallet's kind is not known in this process yet runs alone guarded: refused by the
    executor if that wallet is a pod, then run again followed (`wallets.executor.Follower`)."""

    def wants(self, plan: MovementPlan, kinds: Mapping[uuid.UUID, str]) -> bool:
        return any(kinds.get(change[0]) == Wallet.Kind.POD for change in _credits(plan))

    def guards(self, plan: MovementPlan, kinds: Mapping[uuid.UUID, str]) -> list[tuple[uuid.UUID, str]]:
        return [(change[0], Wallet.Kind.POD.value) for change in _credits(plan) if change[0] not in kinds]

    def write(self, plan: MovementPlan, outcome: Outcome) -> None:
        for pod, payer, currency, paid_in, refunded in _credits(plan):
            if outcome.kinds.get(pod) != Wallet.Kind.POD:
                continue
            updated = PodContribution.objects.filter(pod_id=pod, wallet_id=payer, currency=currency).update(
                paid_in=F("paid_in") + paid_in, refunded=F("refunded") + refunded
            )
            if not updated:
                owner = Wallet.objects.values_list("owner_id", flat=True).get(pk=payer)
                PodContribution.objects.create(
                    pod_id=pod, wallet_id=payer, member_id=owner, currency=currency, paid_in=paid_in, refunded=refunded
                )


follower = Follower()


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
    rows = PodContribution.objects.all() if pod_id is None else PodContribution.objects.filter(pod_id=pod_id)
    return {
        (ledger.as_uuid(p), ledger.as_uuid(w), c): [i, r]
        for p, w, c, i, r in rows.values_list("pod_id", "wallet_id", "currency", "paid_in", "refunded")
    }


def check(wallet_id: uuid.UUID | None = None) -> list[integrity.Problem]:
    """Differences between the stored contributions and the replay (for one pod, or every pod)."""
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
    wallet lock (every payment into it and refund out of it holds that lock too). Returns how
    many rows changed."""
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
    return changed


projection = integrity.Projection(name="pod contributions", check=check, rebuild=rebuild)

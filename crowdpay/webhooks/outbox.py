"""Writing the outbox: a `Message` row in the transaction of the change it reports.

Each writer is one INSERT … SELECT … WHERE EXISTS (an enabled endpoint of that owner subscribes to
that type): the subscription check costs no round trip of its own and a message is only stored when
someone will receive it. The apps that report changes call it in their own transaction — the sagas
an operation's (`owner_event`, or `owner_event_insert` inside a statement of their own: a new saga's
row, log and message go as one statement), the pods a pod's to its members (`owners_event`) — and
this app listens for the ledger's wallet status changes (`wallets.signals`). The balance monitors'
messages are written by the ledger's executor inside its one call, on the balances it has locked
(`wallets.monitors`: on PostgreSQL the SQL function `ledger_balance_moved`, whose body migration
0002 installs; on SQLite its twin here, `balances_moved`). So this module imports the ledger and
nothing above it: the apps that report are the ones that know their rows. The message table has no
foreign key, so these inserts lock nothing (wallets/ledger.py "Lock order").

Once committed, the dispatcher (`services.messages_dispatch`) is asked to fan the message out, at
most once per `_DEBOUNCE` seconds per process; the beat sweep is the safety net.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from wallets.models import Wallet

from .events import EventType
from .models import Endpoint, Message, Monitor

_MESSAGES = Message._meta.db_table
_ENDPOINTS = Endpoint._meta.db_table
_WALLETS = Wallet._meta.db_table
_ENABLED = Endpoint.Status.ENABLED.value

_SUBSCRIBED = (
    f"EXISTS (SELECT FROM {_ENDPOINTS} e WHERE e.owner_id = {{owner}} AND e.status = '{_ENABLED}'"
    " AND e.event_types ? {type})"
)
# An event of the owner of one wallet (operation.*, wallet.frozen …). Table names come from the
# models, every value is a parameter.
_OWNER_EVENT_SQL = (
    f"INSERT INTO {_MESSAGES} (uid, owner_id, wallet_id, type, data, created_at)"  # noqa: S608
    f" SELECT gen_random_uuid(), w.owner_id, w.id, $1::text, $2::jsonb, $3::timestamptz FROM {_WALLETS} w"
    " WHERE w.id = $4::uuid AND " + _SUBSCRIBED.format(owner="w.owner_id", type="$1::text")
)
_OWNER_EVENT_PLAIN = _OWNER_EVENT_SQL.replace("$1", "%(type)s").replace("$2", "%(data)s")
_OWNER_EVENT_PLAIN = _OWNER_EVENT_PLAIN.replace("$3", "%(now)s").replace("$4", "%(wallet)s") + " RETURNING id"


def _pg() -> bool:
    return connection.vendor == "postgresql"


def _json(data: object) -> str:
    return json.dumps(data, default=str, separators=(",", ":"))


# --- asking the dispatcher ------------------------------------------------------------------------

_DEBOUNCE = 0.1  # seconds: at most ten dispatch tasks a second from one process


class _State(threading.local):
    dispatch_at = 0.0  # monotonic time the last dispatch this thread asked for runs at


_state = _State()


def dispatch_soon() -> None:
    """Ask for a dispatch that runs after now (so it sees what this process just committed), unless
    one already asked for will."""
    now = time.monotonic()
    if _state.dispatch_at > now:
        return
    _state.dispatch_at = now + _DEBOUNCE
    from . import tasks

    try:
        tasks.messages_dispatch.apply_async(countdown=_DEBOUNCE)
    except Exception:  # the broker is down: the beat sweep dispatches it
        _state.dispatch_at = 0.0


# --- an owner's event: the writers' interface ---------------------------------------------------------


def owner_event(*, wallet_id: uuid.UUID, type: str, data: dict) -> bool:
    """In the caller's transaction: the message of `type` to the owner of `wallet_id`, when an enabled
    endpoint of theirs subscribes to it (sagas: `operation.*`; this module: `wallet.*`). Whether it
    was written."""
    now = timezone.now()
    if _pg():
        with connection.cursor() as cursor:
            cursor.execute(
                _OWNER_EVENT_PLAIN, {"type": str(type), "data": _json(data), "now": now, "wallet": wallet_id}
            )
            written = cursor.fetchone() is not None
    else:
        owner_id = Wallet.objects.filter(pk=wallet_id).values_list("owner_id", flat=True).first()
        written = owner_id is not None and _subscribed(owner_id, str(type))
        if written:
            Message.objects.create(owner_id=owner_id, wallet_id=wallet_id, type=str(type), data=data, created_at=now)
    if written:
        transaction.on_commit(dispatch_soon)
    return written


def owner_event_insert(*, wallet_id: uuid.UUID, type: str, data: dict) -> tuple[str, dict]:
    """PostgreSQL only: what `owner_event` runs, as an `INSERT … SELECT … WHERE EXISTS (a subscriber)
    RETURNING id` and its named parameters (`%(type)s`, `%(data)s`, `%(now)s`, `%(wallet)s`), for a
    writer that sends it inside a statement of its own (a data-modifying `WITH`: `sagas.state.insert`
    writes a new saga, its log and its message in one round trip). The writer then calls
    `inserted(n)` with the rows it returned, so that a written message is dispatched after the commit."""
    params = {"type": str(type), "data": _json(data), "now": timezone.now(), "wallet": wallet_id}
    return _OWNER_EVENT_PLAIN, params


def inserted(count: int) -> None:
    """After an embedded `owner_event_insert`, or the ledger's executor (`wallets.monitors`), wrote
    `count` messages: dispatch them once committed."""
    if count:
        transaction.on_commit(dispatch_soon)


# --- wallets ----------------------------------------------------------------------------------------

_WALLET_EVENT = {
    Wallet.Status.FROZEN: EventType.WALLET_FROZEN,
    Wallet.Status.CLOSED: EventType.WALLET_CLOSED,
}


def wallet_status_changed(*, wallet: Wallet, before: str, actor: str, reason: str, **kwargs) -> None:
    """In the transaction of a wallet's status transition: the receiver of `wallets.signals.wallet_status_changed`."""
    event = _WALLET_EVENT.get(wallet.status)
    if wallet.status == Wallet.Status.ACTIVE and before == Wallet.Status.FROZEN:
        event = EventType.WALLET_UNFROZEN
    if event is None:
        return
    data = {
        "wallet_id": str(wallet.id),
        "owner_id": str(wallet.owner_id),
        "from_status": before,
        "to_status": wallet.status,
        "reason": reason,
    }
    owner_event(wallet_id=wallet.id, type=event, data=data)


def _subscribed(owner_id: uuid.UUID, type: str) -> bool:
    types = Endpoint.objects.filter(owner_id=owner_id, status=_ENABLED).values_list("event_types", flat=True)
    return any(type in listed for listed in types)


# --- a group's event (CrowdPods) ---------------------------------------------------------------------

# One message per recipient with an enabled endpoint subscribing to the type, all keyed by one wallet
# (a pod's: one order per pod). The recipients are given (the pod's active members, read by the pods
# app); the statement reads the endpoints and locks nothing.
_OWNERS_EVENT_SQL = (
    f"INSERT INTO {_MESSAGES} (uid, owner_id, wallet_id, type, data, created_at)"  # noqa: S608
    " SELECT gen_random_uuid(), o.id, %(wallet)s, %(type)s, %(data)s, %(now)s"
    " FROM unnest(%(owners)s::uuid[]) AS o(id) WHERE "
    + _SUBSCRIBED.format(owner="o.id", type="%(type)s")
    + " ORDER BY o.id RETURNING id"
)


def owners_event(*, owner_ids: list[uuid.UUID], wallet_id: uuid.UUID, type: str, data: dict) -> int:
    """In the caller's transaction: the message of `type` about `wallet_id` to each of `owner_ids`
    with an enabled endpoint subscribing to it. Returns how many were written."""
    now = timezone.now()
    owners = sorted(set(owner_ids))
    if not owners:
        return 0
    if _pg():
        with connection.cursor() as cursor:
            cursor.execute(
                _OWNERS_EVENT_SQL,
                {"type": str(type), "data": _json(data), "now": now, "wallet": wallet_id, "owners": owners},
            )
            written = len(cursor.fetchall())
    else:
        recipients = [owner for owner in owners if _subscribed(owner, str(type))]
        for owner in recipients:
            Message.objects.create(owner_id=owner, wallet_id=wallet_id, type=str(type), data=data, created_at=now)
        written = len(recipients)
    if written:
        transaction.on_commit(dispatch_soon)
    return written


# --- balance monitors (wallets.monitors) ------------------------------------------------------------


def balances_moved(balances: list[tuple[uuid.UUID, str, int, int]], now: datetime) -> int:
    """The ORM executor's twin of the SQL function `ledger_balance_moved` (migration 0002), called
    inside its transaction after the balance writes: a message for each monitor whose threshold the
    available funds crossed (`balances`: wallet, currency, before, after), when an enabled endpoint
    of its owner subscribes to that event. Returns how many were written."""
    by_key = {(w, c): (o, n) for w, c, o, n in balances}
    written = 0
    for monitor in Monitor.objects.filter(wallet_id__in={w for w, *_ in balances}).order_by("created_at", "id"):
        change = by_key.get((monitor.wallet_id, monitor.currency))
        if change is None:
            continue
        before, after = change
        below = monitor.direction == Monitor.Direction.BELOW
        crossed = (before >= monitor.threshold > after) if below else (before <= monitor.threshold < after)
        event = EventType.WALLET_BALANCE_BELOW if below else EventType.WALLET_BALANCE_ABOVE
        if not crossed or not _subscribed(monitor.owner_id, event):
            continue
        data = {
            "monitor_id": str(monitor.id),
            "wallet_id": str(monitor.wallet_id),
            "currency": monitor.currency,
            "direction": monitor.direction.lower(),
            "threshold": monitor.threshold,
            "previous_available": before,
            "available": after,
        }
        Message.objects.create(
            owner_id=monitor.owner_id, wallet_id=monitor.wallet_id, type=str(event), data=data, created_at=now
        )
        written += 1
    return written

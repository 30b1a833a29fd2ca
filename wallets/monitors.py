"""Where the ledger writes the balance monitors' messages: with the movement, in its one call.

The webhooks app owns the monitors (`wallet.balance_below` / `wallet.balance_above` when a wallet's
available funds in a currency cross a threshold) and their messages; the ledger decides them on the
balances it has locked, with no round trip of its own, so that no crossing is missed and none is
told of a movement that did not commit. So that wallets imports no webhooks code, webhooks registers
at start-up (`register`, from its AppConfig.ready):

- `moved(balances, now)`: for the ORM executor (SQLite), inside its transaction after the balance
  writes: each changed balance as `(wallet, currency, available before, available after)`; writes
  the messages of the monitors crossed and returns how many. On PostgreSQL `ledger_execute` calls
  the SQL function `ledger_balance_moved(moved jsonb, now_ts timestamptz)` instead: wallets installs
  it writing nothing (migration 0012) and webhooks' migration 0002 gives it its body. The two are
  tested to write alike.
- `written(count)`: after either executor wrote `count` > 0 messages, to have them delivered once
  the movement commits (`transaction.on_commit`: at once in autocommit, where the executor's call
  was its own transaction; at the caller's commit inside a `transaction.atomic()`).

With nothing registered, no message is written.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime

Moved = list[tuple[uuid.UUID, str, int, int]]

_registered: dict[str, Callable] = {}


def register(*, moved: Callable[[Moved, datetime], int], written: Callable[[int], None]) -> None:
    """Called once at start-up; a second call replaces the first."""
    _registered.update(moved=moved, written=written)


def moved(balances: Moved, now: datetime) -> int:
    source = _registered.get("moved")
    return source(balances, now) if source is not None and balances else 0


def written(count: int) -> None:
    source = _registered.get("written")
    if source is not None and count:
        source(count)

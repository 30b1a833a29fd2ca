"""Where the ledger reads a wallet's 24 h outflow limit (minor units of `VELOCITY_BASE_CURRENCY`).

Compliance owns the limits — a default (`WALLET_DEFAULT_LIMIT`) and a wallet's own override
(`compliance.WalletLimit`) — and the ledger enforces them under the wallet's lock. So that wallets
imports no compliance code, compliance registers at start-up (`register`, from its AppConfig.ready):

- `default()`: the limit of a wallet with none of its own, read with no query. It goes into the plan
  (`PlanVelocity.limit`), built before any transaction.
- `own(wallet_id)`: the wallet's own limit, or None. It is read **under the wallet's lock, inside the
  executor's one call**, never before it: no extra round trip per movement, and a limit an officer
  lowers is in force for the next movement. On PostgreSQL the executor calls the SQL function
  `wallet_outflow_limit(uuid)`: wallets installs it returning NULL (no wallet has its own limit) and
  compliance's migration 0009 replaces its body with the read of its own table. The ORM executor
  (SQLite) calls `own` instead; the two are tested to agree.

With nothing registered, no limit is checked (the outflows are still counted).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

_registered: dict[str, Callable] = {}


def register(*, default: Callable[[], int | None], own: Callable[[uuid.UUID], int | None]) -> None:
    """Called once at start-up; a second call replaces the first."""
    _registered.update(default=default, own=own)


def default() -> int | None:
    source = _registered.get("default")
    return source() if source is not None else None


def own(wallet_id: uuid.UUID) -> int | None:
    source = _registered.get("own")
    return source(wallet_id) if source is not None else None

"""What the ledger tells the apps above it, without importing them.

`wallet_status_changed` is sent in the transaction of a wallet's status transition (frozen,
unfrozen, closed), after the ledger has written it: `sender` is `Wallet`, with `wallet` (the row as
it is now), `before` (its previous status), `actor` and `reason`. A receiver writes in that
transaction (the webhooks app: the owner's `wallet.*` message), so it commits or rolls back with it.
"""

from __future__ import annotations

from django.dispatch import Signal

wallet_status_changed = Signal()

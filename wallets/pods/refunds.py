"""Pro-rata shares with largest-remainder rounding (Hamilton's method), exact to the minor unit."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import TypeVar

K = TypeVar("K", bound=Hashable)


def pro_rata(total: int, weights: Mapping[K, int]) -> dict[K, int]:
    """Split `total` minor units in proportion to `weights` (each member's net contribution).

    Each share is first floor(total * w / W); the units left over (fewer than the number of
    shares) go one each to the largest fractional remainders, ties broken by the key's order so the
    split is deterministic. The shares sum to `total` exactly, and with total <= W (a pod never
    refunds more than was put in) no share exceeds its weight: a share that gets the extra unit
    had a fractional remainder, so floor(total * w / W) < w. Integer arithmetic only."""
    if total < 0 or any(w < 0 for w in weights.values()):
        raise ValueError("amounts and weights are non-negative minor units")
    whole = sum(weights.values())
    if total == 0:
        return dict.fromkeys(weights, 0)
    if whole <= 0:
        raise ValueError("nothing to be proportional to")
    if total > whole:
        raise ValueError(f"cannot refund {total}: only {whole} was contributed")
    shares: dict[K, int] = {}
    remainders: list[tuple[int, str, K]] = []
    for key, weight in weights.items():
        quotient, remainder = divmod(total * weight, whole)
        shares[key] = quotient
        remainders.append((remainder, str(key), key))
    left = total - sum(shares.values())
    remainders.sort(key=lambda item: (-item[0], item[1]))
    for _, _, key in remainders[:left]:
        shares[key] += 1
    return shares

"""Small statistics over latency samples (seconds)."""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile(samples: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile; None for no samples."""
    if not samples:
        return None
    ordered = sorted(samples)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 3)


def summary(samples: Sequence[float], seconds: float) -> dict:
    return {
        "count": len(samples),
        "seconds": round(seconds, 3),
        "per_second": round(len(samples) / seconds, 1) if seconds > 0 else None,
        "p50_ms": ms(percentile(samples, 50)),
        "p99_ms": ms(percentile(samples, 99)),
        "mean_ms": ms(sum(samples) / len(samples)) if samples else None,
    }


def ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a and b else None
